import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, topHelp, version } from "../../lib/cli/main.js";
import { WEB_OPTIONS } from "../../lib/cli/web.js";
import { LogLevel, eventsFromJSONLogFile, formatEvent } from "../../lib/internet/log.js";
import { FIXTURES, MAIN, SSL_LOCAL, get, killAll, torsion } from "./cli-helpers.js";

/** main() with its output captured. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/** One line, naming the command, and no stack trace. */
function expectOneLineError(stderr: string, ...fragments: string[]): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).to.have.length(1);
  expect(lines[0]).to.match(/^torsion( web)?: /);
  expect(stderr).not.to.match(/^\s+at /m);
  for (const f of fragments) expect(lines[0]).to.include(f);
}

const LOCAL = "tcp:0:interface=127.0.0.1";

describe("torsion (lib/cli/main.ts)", () => {
  describe("main() in this process", () => {
    it("--help lists the commands and exits 0", async () => {
      const r = await run(["--help"]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(topHelp());
      expect(r.stdout).to.include("Usage: torsion").and.include("  web ").and.include("--version");
    });

    it("--version prints the package's version", async () => {
      const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
      const r = await run(["--version"]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(`torsion ${pkg.version}\n`);
      expect(version()).to.equal(pkg.version);
    });

    it("web --help lists every option of torsion web with its default", async () => {
      const r = await run(["web", "--help"]);
      expect(r.code).to.equal(0);
      for (const spec of WEB_OPTIONS) {
        expect(r.stdout).to.include(`--${spec.name}`);
        if (spec.default !== undefined) expect(r.stdout).to.include(`[default: ${spec.default}]`);
      }
      expect(r.stdout).to.include("[default: tcp:8080]").and.include("[default: 10]");
    });

    it("help web is web --help", async () => {
      const a = await run(["help", "web"]);
      const b = await run(["web", "--help"]);
      expect(a).to.deep.equal(b);
    });

    it("no command, an unknown command, an unknown option: one line, exit 2", async () => {
      let r = await run([]);
      expect(r.code).to.equal(2);
      expectOneLineError(r.stderr, "no command");
      r = await run(["serve"]);
      expect(r.code).to.equal(2);
      expectOneLineError(r.stderr, '"serve"', "web");
      r = await run(["--verbose"]);
      expect(r.code).to.equal(2);
      expectOneLineError(r.stderr, "--verbose");
    });

    it("a bad web option: one line naming it on stderr, exit 2, nothing started", async () => {
      const r = await run(["web", "--path", ".", "--timeout", "soon"]);
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal("");
      expectOneLineError(r.stderr, "--timeout", '"soon"');
    });
  });

  describe("the program (node build/lib/cli/main.js)", function () {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "torsion-cli-"));
    });

    afterEach(async () => {
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    });

    it("starts with a shebang, so npm can link it as the torsion command", () => {
      expect(readFileSync(MAIN, "utf8").split("\n", 1)[0]).to.equal("#!/usr/bin/env node");
    });

    it("--version exits 0", async () => {
      const t = torsion(["--version"]);
      expect(await t.exit(), t.stderr).to.equal(0);
      expect(t.stdout).to.match(/^torsion \d+\.\d+\.\d+/);
    });

    it("an unreadable --path: one line, exit 2, no stack trace", async () => {
      const t = torsion(["web", "--path", join(dir, "missing")]);
      expect(await t.exit(), t.stderr).to.equal(2);
      expectOneLineError(t.stderr, "--path", "no such file or directory");
    });

    it("a --resource module that cannot be found: one line, exit 2", async () => {
      const t = torsion(["web", "--listen", LOCAL, "--resource", "./no/such/module.js:root"]);
      expect(await t.exit(), t.stderr).to.equal(2);
      expectOneLineError(t.stderr, "--resource ./no/such/module.js:root", "cannot find module");
    });

    it("a --resource module that throws while imported: one line with its message, exit 2", async () => {
      const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-broken.js:root`]);
      expect(await t.exit(), t.stderr).to.equal(2);
      expectOneLineError(t.stderr, "importing the module failed", "this module is broken");
    });

    it("a --resource export that does not exist: one line naming it, exit 2", async () => {
      const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:nope`]);
      expect(await t.exit(), t.stderr).to.equal(2);
      expectOneLineError(t.stderr, 'no export named "nope"', "hello");
    });

    it("a --wsgi export that is a class: one line at startup, exit 2, nothing served", async () => {
      const t = torsion(["web", "--listen", LOCAL, "--wsgi", `${FIXTURES}/cli-wsgi.js:SomeClass`]);
      expect(await t.exit(), t.stderr).to.equal(2);
      expectOneLineError(t.stderr, `--wsgi ${FIXTURES}/cli-wsgi.js:SomeClass: the export is a class`, "export a function (environ, startResponse)");
      expect(t.stdout).to.not.include("serving");
    });

    it("a port that is in use: one line naming the endpoint, exit 2", async () => {
      const first = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:hello`]);
      const [url] = await first.urls();
      const port = new URL(url).port;
      const second = torsion(["web", "--listen", `tcp:${port}:interface=127.0.0.1`, "--resource", `${FIXTURES}/cli-resources.js:hello`]);
      expect(await second.exit(), second.stderr).to.equal(2);
      expectOneLineError(second.stderr, `--listen tcp:${port}:interface=127.0.0.1`, "address already in use", "(EADDRINUSE)");
      first.signal("SIGTERM");
      expect(await first.exit(), first.stderr).to.equal(0);
    });

    it("--path serves the directory's files and prints the URL once listening", async () => {
      writeFileSync(join(dir, "hello.txt"), "hello from a file\n");
      writeFileSync(join(dir, "index.html"), "<h1>index</h1>\n");
      const t = torsion(["web", "--path", dir, "--listen", LOCAL]);
      const [url] = await t.urls();
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const file = await get(url + "hello.txt");
      expect(file.status).to.equal(200);
      expect(file.body).to.equal("hello from a file\n");
      expect(file.headers["content-type"]).to.equal("text/plain");
      const index = await get(url);
      expect(index.body).to.equal("<h1>index</h1>\n");
      expect((await get(url + "missing")).status).to.equal(404);
      t.signal("SIGTERM");
      expect(await t.exit(), t.stderr).to.equal(0);
    });

    it("--resource with a function export: the tree it returns is served, on every --listen", async () => {
      const t = torsion([
        "web",
        "--listen", LOCAL,
        "--listen", `unix:${join(dir, "web.sock")}`,
        "--resource", `${FIXTURES}/cli-resources.js:makeRoot`,
        "--threads", "1,3",
        "--add-header", "X-Served-By: torsion",
      ]);
      const urls = await t.urls(2);
      expect(urls[1]).to.equal(`http+unix://${encodeURIComponent(join(dir, "web.sock"))}/`);
      const hello = await get(urls[0] + "hello");
      expect(hello.body).to.equal("hello\n");
      expect(hello.headers["x-served-by"]).to.equal("torsion");
      const context = await get(urls[0] + "context");
      expect(JSON.parse(context.body)).to.deep.equal({ threads: { min: 1, max: 3 }, grace: 10 });
      t.signal("SIGINT");
      expect(await t.exit(), t.stderr).to.equal(0);
    });

    it("an ssl: endpoint serves HTTPS and announces an https URL", async () => {
      const t = torsion(["web", "--listen", SSL_LOCAL, "--resource", `${FIXTURES}/cli-resources.js:hello`]);
      const [url] = await t.urls();
      expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await get(url)).body).to.equal("hello\n");
      t.signal("SIGTERM");
      expect(await t.exit(), t.stderr).to.equal(0);
    });

    it("--wsgi serves a WSGI application from the reactor's thread pool", async () => {
      const t = torsion(["web", "--listen", LOCAL, "--wsgi", `${FIXTURES}/cli-wsgi.js:slow`, "--threads", "1,2"]);
      const [url] = await t.urls();
      const got = await get(url + "?chunks=3&interval=0");
      expect(got.status).to.equal(200);
      expect(got.body).to.equal("chunk 0\nchunk 1\nchunk 2\n");
      t.signal("SIGTERM");
      expect(await t.exit(), t.stderr).to.equal(0);
    });

    it("--access-log FILE writes one combined-log-format line per request", async () => {
      const log = join(dir, "access.log");
      const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:hello`, "--access-log", log]);
      const [url] = await t.urls();
      await get(url + "a?b=1", { headers: { "user-agent": "spec-agent/1.0", referer: "http://example.com/" } });
      await get(url + "c");
      t.signal("SIGTERM");
      expect(await t.exit(), t.stderr).to.equal(0);
      const lines = readFileSync(log, "utf8").trimEnd().split("\n");
      expect(lines).to.have.length(2);
      expect(lines[0]).to.match(
        /^"127\.0\.0\.1" - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\?b=1 HTTP\/1\.1" 200 6 "http:\/\/example\.com\/" "spec-agent\/1\.0"$/,
      );
      expect(lines[1]).to.match(/"GET \/c HTTP\/1\.1" 200 6 "-" "-"$/);
    });

    it("--access-log - writes the log to standard output", async () => {
      const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:hello`, "--access-log", "-"]);
      const [url] = await t.urls();
      await get(url + "x");
      await t.until("the access log line", () => /"GET \/x HTTP\/1\.1" 200 6/.test(t.stdout));
      t.signal("SIGTERM");
      expect(await t.exit(), t.stderr).to.equal(0);
    });

    describe("graceful shutdown", () => {
      it("SIGTERM while a response streams: the response completes and the process exits 0", async () => {
        const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:makeRoot`, "--shutdown-grace", "15"]);
        const [url] = await t.urls();
        const got = get(url + "slow?chunks=8&interval=0.1", { onFirstData: () => t.signal("SIGTERM") });
        const response = await got;
        expect(response.complete).to.equal(true);
        expect(response.body.split("\n").filter(Boolean)).to.have.length(8);
        expect(await t.exit(), t.stderr).to.equal(0);
        expect(t.stderr).to.include("waiting up to 15 s for 1 response(s) in flight");
      });

      it("--log-level warn (before the command, as twist's): the info line of the drain is not shown", async () => {
        const t = torsion(["--log-level", "warn", "web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:makeRoot`, "--shutdown-grace", "15"]);
        const [url] = await t.urls();
        const response = await get(url + "slow?chunks=4&interval=0.1", { onFirstData: () => t.signal("SIGTERM") });
        expect(response.complete).to.equal(true);
        expect(await t.exit(), t.stderr).to.equal(0);
        expect(t.stderr).to.not.include("in flight");
      });

      it("--log-format json: the log on stderr is Twisted's JSON records, read back by eventsFromJSONLogFile", async () => {
        const t = torsion(["web", "--log-format", "json", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:makeRoot`, "--shutdown-grace", "15"]);
        const [url] = await t.urls();
        await get(url + "slow?chunks=4&interval=0.1", { onFirstData: () => t.signal("SIGTERM") });
        expect(await t.exit(), t.stderr).to.equal(0);
        expect(t.stderr.startsWith("\x1e"), t.stderr).to.equal(true);
        const events = [...eventsFromJSONLogFile(t.stderr)];
        const drain = events.find((e) => e.log_namespace === "torsion.application.graceful");
        expect(drain, t.stderr).to.not.equal(undefined);
        expect(drain!.log_level).to.equal(LogLevel.info);
        expect(formatEvent(drain!)).to.equal("Shutting down: waiting up to 15 s for 1 response(s) in flight");
      });

      it("a response that outlasts the grace period is aborted, and the process still exits 0", async () => {
        const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:makeRoot`, "--shutdown-grace", "0.3"]);
        const [url] = await t.urls();
        const response = await get(url + "slow?chunks=100&interval=0.1", { onFirstData: () => t.signal("SIGTERM") });
        expect(response.complete).to.equal(false);
        expect(response.body).to.match(/^chunk 0\n/);
        expect(await t.exit(), t.stderr).to.equal(0);
        expect(t.stderr).to.include("aborted 1 connection(s) still open after the grace period of 0.3 s");
      });

      it("no new connection is accepted once shutdown has begun", async () => {
        const t = torsion(["web", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:makeRoot`, "--shutdown-grace", "15"]);
        const [url] = await t.urls();
        let refused: Promise<unknown> | null = null;
        const slow = get(url + "slow?chunks=10&interval=0.1", {
          onFirstData: () => {
            t.signal("SIGTERM");
            refused = t
              .until("the drain to begin", () => t.stderr.includes("in flight"))
              .then(() => get(url + "hello", { seconds: 5 }))
              .then(
                () => "answered",
                (err: NodeJS.ErrnoException) => err.code,
              );
          },
        });
        expect((await slow).complete).to.equal(true);
        expect(await refused).to.equal("ECONNREFUSED");
        expect(await t.exit(), t.stderr).to.equal(0);
      });

      it("a WSGI response in flight completes too", async () => {
        const t = torsion(["web", "--listen", LOCAL, "--wsgi", `${FIXTURES}/cli-wsgi.js:slow`, "--shutdown-grace", "15"]);
        const [url] = await t.urls();
        const response = await get(url + "?chunks=6&interval=0.1", { onFirstData: () => t.signal("SIGTERM") });
        expect(response.complete).to.equal(true);
        expect(response.body.split("\n").filter(Boolean)).to.have.length(6);
        expect(await t.exit(), t.stderr).to.equal(0);
      });
    });
  });
});
