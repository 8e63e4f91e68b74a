import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError } from "../../lib/cli/options.js";
import {
  buildRoot,
  parseWebOptions,
  startWeb,
  urlFor,
  type ResourceContext,
  type StartedWeb,
  type WebOptions,
} from "../../lib/cli/web.js";
import { serverFromString } from "../../lib/internet/endpoint-descriptions.js";
import { LogLevel, captureLogEvents } from "../../lib/internet/log.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { stopThreadPool } from "../../lib/internet/threads.js";
import { AddHeadersResource } from "../../lib/web/add-headers-resource.js";
import { Resource } from "../../lib/web/resource.js";
import { File } from "../../lib/web/static.js";
import { WSGIResource } from "../../lib/web/wsgi/resource.js";
import { hello } from "../fixtures/cli-resources.js";
import { ROOT } from "./cli-helpers.js";

const FIXTURES = "./build/spec/fixtures";
const check = (d: string): void => void serverFromString(new NodeReactor(), d);

/** parseWebOptions with the repository as the current directory; --help is not expected. */
function parse(...argv: string[]): WebOptions {
  const options = parseWebOptions(argv, ROOT, check);
  if (options === null) throw new Error("--help");
  return options;
}

/** The UsageError message parse() raises. */
function usageError(...argv: string[]): string {
  try {
    parse(...argv);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).not.to.include("\n");
    return message;
  }
  throw new Error(`no UsageError for ${argv.join(" ")}`);
}

function contextFor(reactor: NodeReactor, options: WebOptions): ResourceContext {
  return { reactor, options, get threadPool() { return reactor.getThreadPool(); } };
}

async function rootError(options: WebOptions): Promise<string> {
  const reactor = new NodeReactor();
  try {
    await buildRoot(options, contextFor(reactor, options));
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  } finally {
    await stopThreadPool(reactor);
  }
  throw new Error("buildRoot did not fail");
}

describe("torsion web (lib/cli/web.ts)", () => {
  let dir: string;
  let reactors: NodeReactor[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "torsion-web-"));
    reactors = [];
  });

  afterEach(async () => {
    for (const r of reactors) await stopThreadPool(r);
    rmSync(dir, { recursive: true, force: true });
  });

  function newReactor(): NodeReactor {
    const r = new NodeReactor();
    reactors.push(r);
    return r;
  }

  // twisted/web/test/test_tap.py
  describe("ServiceTests", () => {
    it("test_path: --path makes a static File of that path the root", async () => {
      const options = parse("--path", dir);
      const root = await buildRoot(options, contextFor(newReactor(), options));
      expect(root).to.be.instanceOf(File);
      expect((root as File).path).to.equal(dir);
    });

    it("test_pathServer: --port unix:PATH --path listens on that UNIX socket with the File as the site's resource", async () => {
      const sock = join(dir, "s.sock");
      const options = parse("--port", `unix:${sock}`, "--path", dir);
      const started = await startWeb(options, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
      try {
        expect(started.site.resource).to.be.instanceOf(File);
        expect((started.site.resource as File).path).to.equal(dir);
        expect(statSync(sock).isSocket()).to.equal(true);
      } finally {
        await started.service.stopService();
      }
    });

    it("test_defaultPort: without --listen the site listens on tcp:8080", () => {
      expect(parse("--path", dir).listen).to.deep.equal(["tcp:8080"]);
    });

    it("test_twoPorts: --listen twice gives two endpoints, in order", () => {
      const options = parse("--listen", "tcp:8001", "--listen", "tcp:8002", "--path", dir);
      expect(options.listen).to.deep.equal(["tcp:8001", "tcp:8002"]);
    });

    it("test_wsgi: --wsgi makes a WSGIResource over the reactor's thread pool", async () => {
      const options = parse("--wsgi", `${FIXTURES}/cli-wsgi.js:slow`, "--threads", "1,2");
      const reactor = newReactor();
      const root = await buildRoot(options, contextFor(reactor, options));
      expect(root).to.be.instanceOf(WSGIResource);
      expect((root as WSGIResource).threadpool).to.equal(reactor.getThreadPool());
      expect((root as WSGIResource).application).to.deep.equal({
        module: pathToFileURL(join(ROOT, "build/spec/fixtures/cli-wsgi.js")).href,
        export: "slow",
      });
    });

    it("test_invalidApplication: --wsgi with a name that is not there, or not MODULE:EXPORT, is a usage error", async () => {
      expect(await rootError(parse("--wsgi", `${FIXTURES}/cli-wsgi.js:nosuchthing`))).to.include('no export named "nosuchthing"');
      expect(await rootError(parse("--wsgi", `${FIXTURES}/cli-wsgi.js:notAnApplication`))).to.include("not a WSGI application");
      expect(usageError("--wsgi", "foo.")).to.match(/^--wsgi foo\.: expected MODULE:EXPORT/);
    });

    it("test_add_header_parsing: --add-header values are split into name and value", () => {
      const options = parse("--add-header", "K1: V1", "--add-header", "K2: V2", "--path", dir);
      expect(options.addHeaders).to.deep.equal([["K1", "V1"], ["K2", "V2"]]);
    });

    it("test_add_header_resource: with --add-header the site's resource wraps the root", async () => {
      const options = parse("--add-header", "K1: V1", "--add-header", "K2: V2", "--path", dir, "--listen", "tcp:0:interface=127.0.0.1");
      const started = await startWeb(options, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
      try {
        const resource = started.site.resource as AddHeadersResource;
        expect(resource).to.be.instanceOf(AddHeadersResource);
        expect(resource.headers).to.deep.equal([["K1", "V1"], ["K2", "V2"]]);
        expect(resource.originalResource).to.be.instanceOf(File);
      } finally {
        await started.service.stopService();
      }
    });

    it("test_displayTracebacks: --display-tracebacks turns tracebacks on in the Site", async () => {
      const options = parse("--display-tracebacks", "--path", dir, "--listen", "tcp:0:interface=127.0.0.1");
      const started = await startWeb(options, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
      expect(started.site.displayTracebacks).to.equal(true);
      await started.service.stopService();
    });

    it("test_displayTracebacksNotGiven: without it the Site shows no tracebacks", async () => {
      const options = parse("--path", dir, "--listen", "tcp:0:interface=127.0.0.1");
      const started = await startWeb(options, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
      expect(started.site.displayTracebacks).to.equal(false);
      await started.service.stopService();
    });
  });

  describe("parseWebOptions", () => {
    it("--log-level takes a level, or NAMESPACE=LEVEL for one namespace; --log-format text or json", () => {
      const options = parse("--path", dir, "--log-level", "warn", "--log-level", "torsion.web=debug", "--log-format", "json");
      expect(options.log).to.deep.equal({ level: LogLevel.warn, namespaces: [["torsion.web", LogLevel.debug]], format: "json" });
    });

    it("a bad --log-level or --log-format is a usage error naming it", () => {
      expect(() => parse("--path", dir, "--log-level", "loud")).to.throw(UsageError, '--log-level expects debug, info, warn, error or critical, got "loud"');
      expect(() => parse("--path", dir, "--log-level", "=debug")).to.throw(UsageError, "NAMESPACE=LEVEL");
      expect(() => parse("--path", dir, "--log-format", "xml")).to.throw(UsageError, '--log-format expects text or json, got "xml"');
    });

    it("has Twisted's defaults and torsion's", () => {
      const options = parse("--path", dir);
      expect(options).to.deep.equal({
        listen: ["tcp:8080"],
        root: { kind: "path", path: dir },
        indexes: null,
        mimeType: null,
        listDirectories: false,
        addHeaders: [],
        threads: null,
        workers: 1,
        accessLog: null,
        timeout: 60,
        bodyTimeout: 30,
        maxBody: null,
        shutdownGrace: 10,
        displayTracebacks: false,
        log: { level: LogLevel.info, namespaces: [], format: "text" },
        warnings: [],
      });
    });

    it("returns null for --help and -h", () => {
      expect(parseWebOptions(["--help"], ROOT, check)).to.equal(null);
      expect(parseWebOptions(["--path", dir, "-h"], ROOT, check)).to.equal(null);
    });

    it("reads every option", () => {
      const options = parse(
        "--listen", "tcp:0:interface=127.0.0.1",
        "--path", dir,
        "--index", "home.html", "-i", "default.htm",
        "--mime-type", "text/plain",
        "--list-directories",
        "--threads", "2,16",
        "--workers", "3",
        "--access-log", join(dir, "access.log"),
        "--timeout", "2.5",
        "--body-timeout", "4",
        "--max-body", "1M",
        "--shutdown-grace", "0.5",
        "--display-tracebacks",
      );
      expect(options.indexes).to.deep.equal(["home.html", "default.htm"]);
      expect(options.mimeType).to.equal("text/plain");
      expect(options.listDirectories).to.equal(true);
      expect(options.threads).to.deep.equal({ min: 2, max: 16 });
      expect(options.workers).to.equal(3);
      expect(options.accessLog).to.equal(join(dir, "access.log"));
      expect(options.timeout).to.equal(2.5);
      expect(options.bodyTimeout).to.equal(4);
      expect(options.maxBody).to.equal(1024 * 1024);
      expect(options.shutdownGrace).to.equal(0.5);
      expect(options.displayTracebacks).to.equal(true);
    });

    it("--port is a deprecated alias of --listen, a bare number meaning tcp:NUMBER", () => {
      const options = parse("--port", "8081", "-p", "unix:/tmp/x.sock", "--listen", "tcp:8082", "--path", dir);
      expect(options.listen).to.deep.equal(["tcp:8082", "tcp:8081", "unix:/tmp/x.sock"]);
      expect(options.warnings).to.deep.equal([
        "--port is deprecated: use --listen tcp:8081",
        "--port is deprecated: use --listen unix:/tmp/x.sock",
      ]);
    });

    it("--access-log: relative to the current directory, '-' for stdout, Twisted's --logfile and -l", () => {
      expect(parse("--path", dir, "--access-log", "-").accessLog).to.equal("-");
      expect(parse("--path", dir, "--logfile", "-").accessLog).to.equal("-");
      expect(parse("--path", dir, "-l", "build/x.log").accessLog).to.equal(join(ROOT, "build/x.log"));
    });

    it("--threads MAX means 0,MAX; --timeout 0 means none; --workers auto is one per CPU", () => {
      expect(parse("--path", dir, "--threads", "4").threads).to.deep.equal({ min: 0, max: 4 });
      expect(parse("--path", dir, "--timeout", "0").timeout).to.equal(null);
      expect(parse("--path", dir, "--body-timeout", "0").bodyTimeout).to.equal(null);
      expect(parse("--path", dir, "--workers", "auto").workers).to.be.a("number").and.at.least(1);
      expect(parse("--path", dir, "--max-body", "512").maxBody).to.equal(512);
      expect(parse("--path", dir, "--max-body", "2k").maxBody).to.equal(2048);
    });

    it("--resource and --wsgi take MODULE:EXPORT, relative to the current directory", () => {
      const options = parse("--resource", `${FIXTURES}/cli-resources.js:hello`);
      expect(options.root).to.deep.equal({
        kind: "resource",
        text: `${FIXTURES}/cli-resources.js:hello`,
        ref: { module: pathToFileURL(join(ROOT, "build/spec/fixtures/cli-resources.js")).href, export: "hello" },
      });
    });

    it("refuses bad input with one line naming the option", () => {
      expect(usageError()).to.match(/^nothing to serve: give one of --path/);
      expect(usageError("--path", dir, "--resource", "./a.js:b")).to.equal("give only one of --path, --wsgi and --resource (got --path and --resource)");
      expect(usageError("--path", join(dir, "nope"))).to.equal(`--path ${join(dir, "nope")}: no such file or directory`);
      expect(usageError("--resource", "./a.js", "--listen", "tcp:1")).to.match(/^--resource \.\/a\.js: expected MODULE:EXPORT/);
      expect(usageError("--path", dir, "--listen", "tcp:99999")).to.match(/^--listen tcp:99999: .*port/);
      expect(usageError("--path", dir, "--listen", "udp:53")).to.match(/^--listen udp:53: Unknown endpoint type: 'udp'/);
      expect(usageError("--path", dir, "--threads", "5,2")).to.equal("--threads: MIN (5) is larger than MAX (2)");
      expect(usageError("--path", dir, "--threads", "a,b")).to.match(/^--threads expects an integer/);
      expect(usageError("--path", dir, "--threads", "0")).to.equal('--threads expects an integer from 1 to 1024, got "0"');
      expect(usageError("--path", dir, "--workers", "0")).to.equal('--workers expects an integer from 1 to 256, got "0"');
      expect(usageError("--path", dir, "--timeout", "-1")).to.equal('--timeout expects a number of seconds >= 0, got "-1"');
      expect(usageError("--path", dir, "--shutdown-grace", "soon")).to.equal('--shutdown-grace expects a number of seconds >= 0, got "soon"');
      expect(usageError("--path", dir, "--max-body", "lots")).to.match(/^--max-body expects a number of bytes/);
      expect(usageError("--path", dir, "--add-header", "no colon")).to.equal(`--add-header expects 'NAME: VALUE', got "no colon"`);
      expect(usageError("--resource", "./a.js:b", "--index", "x")).to.equal("--index applies only with --path");
      expect(usageError("--path", dir, "--access-log", join(dir, "no/such/dir/log"))).to.match(/^--access-log .*: cannot create it/);
      expect(usageError("--path", dir, "--bogus")).to.equal("unknown option --bogus (see --help)");
      expect(usageError("--path")).to.equal("--path needs a value: --path DIR");
      expect(usageError("--path", dir, "--path", dir)).to.equal("--path was given more than once");
      expect(usageError("--path", dir, "extra")).to.equal('unexpected argument "extra" (see --help)');
    });
  });

  describe("buildRoot with --resource", () => {
    it("takes a Resource instance as it is", async () => {
      const options = parse("--resource", `${FIXTURES}/cli-resources.js:hello`);
      expect(await buildRoot(options, contextFor(newReactor(), options))).to.equal(hello);
    });

    it("calls a function with { reactor, threadPool, options } and serves what it returns (or resolves to)", async () => {
      const options = parse("--resource", `${FIXTURES}/cli-resources.js:makeRoot`, "--threads", "2,5");
      const reactor = newReactor();
      let threadPoolRead = false;
      const context: ResourceContext = {
        reactor,
        options,
        get threadPool() {
          threadPoolRead = true;
          return reactor.getThreadPool();
        },
      };
      const root = await buildRoot(options, context);
      expect(root).to.be.instanceOf(Resource);
      expect((root as Resource).children.has("hello")).to.equal(true);
      expect(threadPoolRead).to.equal(false);
      const later = parse("--resource", `${FIXTURES}/cli-resources.js:makeRootLater`);
      expect(await buildRoot(later, contextFor(reactor, later))).to.equal(hello);
    });

    it("refuses what is not a Resource, a function that fails, and a class, in one line", async () => {
      expect(await rootError(parse("--resource", `${FIXTURES}/cli-resources.js:notAResource`))).to.equal(
        `--resource ${FIXTURES}/cli-resources.js:notAResource: the export is a object, not a Resource or a function returning one`,
      );
      expect(await rootError(parse("--resource", `${FIXTURES}/cli-resources.js:notAFactory`))).to.equal(
        `--resource ${FIXTURES}/cli-resources.js:notAFactory: the function returned number, not a Resource`,
      );
      expect(await rootError(parse("--resource", `${FIXTURES}/cli-resources.js:failingFactory`))).to.equal(
        `--resource ${FIXTURES}/cli-resources.js:failingFactory: the function failed: no database configured`,
      );
      expect(await rootError(parse("--resource", `${FIXTURES}/cli-resources.js:RootClass`))).to.match(/the export is a class: export an instance \(new RootClass\(\)\)/);
      expect(await rootError(parse("--resource", "build/spec/fixtures/cli-resources.js:hello"))).to.equal(
        "--resource build/spec/fixtures/cli-resources.js:hello: cannot find module build/spec/fixtures/cli-resources.js " +
          "(a bare name is a package: write ./build/spec/fixtures/cli-resources.js for the file)",
      );
    });
  });

  describe("urlFor", () => {
    it("gives http or https URLs from the bound address, http+unix for a socket", () => {
      expect(urlFor("tcp:0", { type: "TCP", family: "IPv4", host: "127.0.0.1", port: 8080 })).to.equal("http://127.0.0.1:8080/");
      expect(urlFor("tcp6:0", { type: "TCP", family: "IPv6", host: "::1", port: 80 })).to.equal("http://[::1]:80/");
      expect(urlFor("ssl:8443:certKey=a", { type: "TCP", family: "IPv4", host: "0.0.0.0", port: 8443 })).to.equal("https://0.0.0.0:8443/");
      expect(urlFor("unix:/run/a b.sock", { type: "UNIX", name: "/run/a b.sock" })).to.equal("http+unix://%2Frun%2Fa%20b.sock/");
    });
  });

  describe("startWeb", () => {
    let started: StartedWeb | null = null;

    afterEach(async () => {
      await started?.service.stopService();
      started = null;
    });

    function request(url: string, method: string, body: Buffer): Promise<number> {
      return new Promise((resolve, reject) => {
        const req = http.request(url, { method, agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer within 5 s`)));
        req.on("error", reject);
        req.end(body);
      });
    }

    it("gives the Site --max-body: a larger request body gets 413", async () => {
      const options = parse("--resource", `${FIXTURES}/cli-resources.js:hello`, "--listen", "tcp:0:interface=127.0.0.1", "--max-body", "16");
      started = await startWeb(options, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
      expect(started.urls).to.have.length(1);
      expect(await request(started.urls[0], "GET", Buffer.alloc(16))).to.equal(200);
      expect(await request(started.urls[0], "POST", Buffer.alloc(17))).to.equal(413);
    });

    it("undoes what it started when an endpoint cannot listen", async () => {
      const sock = join(dir, "taken.sock");
      const first = parse("--resource", `${FIXTURES}/cli-resources.js:hello`, "--listen", `unix:${sock}`);
      started = await startWeb(first, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
      const second = parse("--resource", `${FIXTURES}/cli-resources.js:hello`, "--listen", "tcp:0:interface=127.0.0.1", "--listen", `unix:${sock}`);
      const logs = captureLogEvents();
      try {
        await startWeb(second, newReactor(), { stdout: process.stdout, stderr: process.stderr, cwd: ROOT });
        expect.fail("startWeb listened twice on one socket");
      } catch (err) {
        expect(err).to.be.instanceOf(UsageError);
        expect((err as Error).message).to.match(new RegExp(`^--listen unix:${sock}: `));
      } finally {
        logs.stop();
      }
      expect(existsSync(sock)).to.equal(true);
    });
  });
});
