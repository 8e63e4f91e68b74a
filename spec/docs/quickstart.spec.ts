/**
 * docs/quickstart.md, done as a new user does it: `npm pack` the repository, install the tarball
 * into an empty project (offline: torsion has no runtime dependencies), write the page's
 * tsconfig.json and the README's three tour programs into src/, compile them with TypeScript,
 * and run each: start it, make one request, stop it by its PID.
 *
 * TypeScript and @types/node come from the repository's node_modules (the page installs them
 * from the registry, which a spec must not need).
 */

import { expect } from "chai";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get, Torsion } from "../cli/cli-helpers.js";
import { repoRoot, tsBlocks } from "../support/snippets.js";
import { within } from "../support/wait.js";

/** The first ```json block of `file`: the page's tsconfig.json. */
function jsonBlock(file: string): unknown {
  const text = readFileSync(join(repoRoot, file), "utf8");
  const m = /^```json\n([\s\S]*?)^```$/m.exec(text);
  if (!m) throw new Error(`${file} has no \`\`\`json block (its tsconfig.json)`);
  return JSON.parse(m[1]!);
}

/** A port free on 127.0.0.1 a moment ago (the tour's programs take their port as an argument). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Connect to 127.0.0.1:`port`, retrying while the program starts (at most `seconds`). */
async function connectWhenUp(port: number, seconds: number): Promise<net.Socket> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
        socket.once("error", reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${seconds} s: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

describe("docs/quickstart.md: a project of one's own from npm pack's tarball", function () {
  this.timeout(180_000);
  let dir: string;
  let project: string;
  const running = new Set<Torsion>();

  /** Start `node args...` in the project; stopped by PID after the test if still running. */
  function start(command: string, args: string[]): Torsion {
    const t = new Torsion(spawn(command, args, { cwd: project, stdio: ["ignore", "pipe", "pipe"] }));
    running.add(t);
    return t;
  }

  before(function () {
    dir = mkdtempSync(join(tmpdir(), "torsion-quickstart-"));
    // 1. The package: the tarball a registry would serve (build/ is already built by npm test).
    const packed = execFileSync(npm, ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { cwd: repoRoot, encoding: "utf8" }).trim().split("\n").pop()!;
    // 2. A project.
    project = join(dir, "hello");
    mkdirSync(project);
    execFileSync(npm, ["init", "-y"], { cwd: project, stdio: "ignore" });
    execFileSync(npm, ["pkg", "set", "type=module"], { cwd: project, stdio: "ignore" });
    execFileSync(npm, ["install", "--offline", "--no-audit", "--no-fund", join(dir, packed)], { cwd: project, stdio: "pipe" });
    for (const name of ["typescript", join("@types", "node")]) {
      mkdirSync(join(project, "node_modules", "@types"), { recursive: true });
      symlinkSync(join(repoRoot, "node_modules", name), join(project, "node_modules", name), "dir");
    }
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(jsonBlock("docs/quickstart.md"), null, 2));
    // 3. The programs: the README's tour, one file each.
    const [echo, hello, app] = tsBlocks("README.md");
    mkdirSync(join(project, "src"));
    writeFileSync(join(project, "src", "echo.ts"), echo!.code);
    writeFileSync(join(project, "src", "hello.ts"), hello!.code);
    writeFileSync(join(project, "src", "app.ts"), app!.code);
  });

  afterEach(async () => {
    for (const t of running) t.signal("SIGKILL");
    await Promise.all([...running].map((t) => t.exit(5).catch(() => undefined)));
    running.clear();
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("installs the tarball: torsion in node_modules with its declarations and its command, no other package", () => {
    const installed = join(project, "node_modules", "torsion");
    expect(readdirSync(join(installed, "build", "lib"))).to.include.members(["index.js", "index.d.ts"]);
    const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages).filter((p) => p !== "")).to.deep.equal(["node_modules/torsion"]);
    expect(readdirSync(join(project, "node_modules", ".bin"))).to.include("torsion");
  });

  it("compiles the tour's programs with the page's tsconfig.json (NodeNext)", () => {
    const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", "."], { cwd: project, encoding: "utf8" });
    } catch (err) {
      expect.fail(`tsc failed in the quick-start project:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
    expect(readdirSync(join(project, "build")).sort()).to.deep.equal(["app.js", "echo.js", "hello.js"]);
  });

  it("runs the echo server: what is sent comes back; SIGTERM stops it with status 0", async () => {
    const port = await freePort();
    const server = start(process.execPath, ["build/echo.js", String(port)]);
    const socket = await connectWhenUp(port, 15);
    const echoed = new Promise<string>((resolve) => socket.once("data", (d: Buffer) => resolve(d.toString())));
    socket.write("hello, torsion\r\n");
    expect(await within(echoed, 10, "the echo")).to.equal("hello, torsion\r\n");
    socket.destroy();
    server.signal("SIGTERM");
    expect(await server.exit(10)).to.equal(0);
  });

  it("runs the web resource: GET /some/path says hello and names the path", async () => {
    const port = await freePort();
    const server = start(process.execPath, ["build/hello.js", String(port)]);
    (await connectWhenUp(port, 15)).destroy();
    const got = await get(`http://127.0.0.1:${port}/some/path`);
    expect(got.status).to.equal(200);
    expect(got.body).to.equal("Hello, world! You asked for /some/path\n");
    server.signal("SIGTERM");
    expect(await server.exit(10)).to.equal(0);
  });

  it("serves the WSGI application with the installed torsion command; a client hanging up releases the cursor", async () => {
    const port = await freePort();
    const bin = join(project, "node_modules", ".bin", "torsion");
    const server = start(bin, ["web", "--listen", `tcp:${port}:interface=127.0.0.1`, "--wsgi", "./build/app.js:application"]);
    await server.urls(1, 15);
    let request: { destroy(): void } | null = null;
    const first = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      request = socket;
      let seen = "";
      socket.on("data", (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('{"id":1}')) resolve(seen);
      });
      socket.on("error", reject);
    });
    expect(first).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    request!.destroy(); // the browser went away
    await server.until("the application's finally block", () => /cursor released after \d+ rows/.test(server.stderr), 15);
    server.signal("SIGTERM");
    expect(await server.exit(20)).to.equal(0);
  });
});
