/**
 * torsion behind nginx, with the configuration docs/deploying.md quotes
 * (examples/deploy/nginx.conf): Debian's nginx is started on loopback in a temporary directory
 * (its own prefix, pid file, logs and temp paths) as a reverse proxy to the demo site, and a
 * client that leaves mid-response at nginx must reach torsion as a disconnect: the /stream
 * producer is stopped and notifyFinish() errbacks, the WSGI application is stopped and closed.
 */

import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { reactor } from "../../lib/internet/reactor.js";
import type { Port as TCPPort } from "../../lib/internet/tcp.js";
import { ThreadPool } from "../../lib/internet/threadpool.js";
import { Site } from "../../lib/web/server.js";
import { makeDemo, type Demo } from "../../examples/demo/site.js";

const NGINX = "/usr/sbin/nginx";
const NGINX_MISSING = `${NGINX} is missing: install the Debian package nginx-light (or nginx) to run the deployment specs`;
/** This file runs as build/spec/deploy/nginx.spec.js: the repository is three levels up. */
const SNIPPET = new URL("../../../examples/deploy/nginx.conf", import.meta.url);

/** A port nobody listens on right now (bound to 0, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * The whole nginx.conf: the tested snippet, with its two addresses changed, inside an http block
 * whose every path (pid, logs, temp directories) is in `dir`.
 */
export function nginxConfig(snippet: string, dir: string, listenPort: number, upstreamPort: number): string {
  const upstream = "server 127.0.0.1:8080;";
  const listen = "listen 80;";
  if (!snippet.includes(upstream) || !snippet.includes(listen)) {
    throw new Error(`examples/deploy/nginx.conf no longer has "${upstream}" and "${listen}": update nginxConfig()`);
  }
  const http = snippet.replace(upstream, `server 127.0.0.1:${upstreamPort};`).replace(listen, `listen 127.0.0.1:${listenPort};`);
  const tmp = (name: string): string => join(dir, "tmp", name);
  // As root, nginx's workers would switch to "nobody", who cannot use this root-owned directory.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : "";
  return (
    `${user}daemon off;\nmaster_process on;\nworker_processes 1;\n` +
    `pid ${join(dir, "nginx.pid")};\nerror_log ${join(dir, "error.log")} info;\n` +
    `events { worker_connections 64; }\n` +
    `http {\n` +
    `    access_log ${join(dir, "access.log")};\n` +
    `    client_body_temp_path ${tmp("client_body")};\n    proxy_temp_path ${tmp("proxy")};\n` +
    `    fastcgi_temp_path ${tmp("fastcgi")};\n    uwsgi_temp_path ${tmp("uwsgi")};\n    scgi_temp_path ${tmp("scgi")};\n` +
    http.replace(/^/gm, "    ") +
    `\n}\n`
  );
}

interface Nginx {
  dir: string;
  port: number;
  child: ChildProcess;
  output: string[];
}

async function waitFor(what: string, seconds: number, test: () => boolean | Promise<boolean>, details: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s${details() ? `\n${details()}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function startNginx(upstreamPort: number, edit: (snippet: string) => string = (x) => x): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "torsion-nginx-"));
  for (const d of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, "tmp", d), { recursive: true });
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, nginxConfig(edit(readFileSync(SNIPPET, "utf8")), dir, port, upstreamPort));
  const child = spawn(NGINX, ["-p", dir + "/", "-c", conf, "-e", join(dir, "error.log")], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const nginx = { dir, port, child, output };
  const log = (): string => output.join("") + (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");
  try {
    await waitFor("nginx listening", 10, async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${log()}`);
      return existsSync(join(dir, "nginx.pid")) && (await canConnect(port));
    }, log);
  } catch (err) {
    await stopNginx(nginx);
    throw err;
  }
  return nginx;
}

/** Stop nginx by the pid in its pid file (fast shutdown, then SIGKILL after 10 s), and remove its directory. */
async function stopNginx(nginx: Nginx | null): Promise<void> {
  if (nginx === null) return;
  const { child, dir } = nginx;
  const pidFile = join(dir, "nginx.pid");
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : child.pid;
  if (child.exitCode === null && child.signalCode === null && pid !== undefined && pid > 0) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(pid, "SIGTERM");
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
    }, 10000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * GET `path` through nginx on a raw socket; resolve with what arrived once `until` is in it,
 * and leave the socket open for the caller to close. Bounded by `seconds`.
 */
function getUntil(port: number, path: string, until: string, seconds = 10): Promise<{ socket: Socket; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`GET ${path} through nginx: ${JSON.stringify(until)} did not arrive within ${seconds} s; got ${JSON.stringify(text.slice(0, 300))}`));
    }, seconds * 1000);
    socket.setEncoding("latin1");
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    socket.on("data", (d: string) => {
      text += d;
      if (text.includes(until)) {
        clearTimeout(timer);
        resolve({ socket, text });
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (!text.includes(until)) reject(new Error(`GET ${path} through nginx: closed before ${JSON.stringify(until)}; got ${JSON.stringify(text.slice(0, 300))}`));
    });
  });
}

/** A file of examples/deploy/ without its leading comment: the part docs/deploying.md quotes. */
function quotedPart(name: string): string {
  const text = readFileSync(new URL(`../../../examples/deploy/${name}`, import.meta.url), "utf8");
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length && (lines[i].startsWith("#") || lines[i].trim() === "")) i++;
  return lines.slice(i).join("\n").trimEnd() + "\n";
}

describe("deploy: docs/deploying.md", () => {
  const guide = (): string => readFileSync(new URL("../../../docs/deploying.md", import.meta.url), "utf8");

  it("quotes examples/deploy/nginx.conf as the spec below runs it", () => {
    expect(guide()).to.include("```nginx\n" + quotedPart("nginx.conf") + "```\n");
  });

  it("quotes examples/deploy/torsion.service as it is", () => {
    expect(guide()).to.include("```ini\n" + quotedPart("torsion.service") + "```\n");
  });
});

describe("deploy: torsion behind nginx (examples/deploy/nginx.conf)", function () {
  this.timeout(30000);
  let nginx: Nginx | null = null;
  let upstreamPort = 0;
  let demo: Demo | null = null;
  let port: TCPPort | null = null;
  let pool: ThreadPool | null = null;
  let logs: LogCapture | null = null;

  before(async function () {
    if (!existsSync(NGINX)) {
      console.log(`      (skipped: ${NGINX_MISSING})`);
      this.skip();
    }
    logs = captureLogEvents();
    pool = new ThreadPool({ minthreads: 0, maxthreads: 4, name: "nginx-spec" });
    pool.start();
    demo = makeDemo({ reactor, threadPool: pool });
    port = reactor.listenTCP(0, new Site(demo.root), { interface: "127.0.0.1" });
    const host = port.getHost();
    upstreamPort = host.type === "TCP" ? host.port : 0;
    nginx = await startNginx(upstreamPort);
  });

  after(async () => {
    await stopNginx(nginx);
    nginx = null;
    await port?.stopListening();
    demo?.wsgi.stopResponses();
    await pool?.stop({ grace: 5 });
    logs?.stop();
  });

  /** Wait until no /stream response is in progress, so counts compared afterwards are this test's own. */
  const streamsIdle = (): Promise<void> => waitFor("no /stream response in progress", 10, () => demo!.streamStats.active === 0, () => JSON.stringify(demo!.streamStats));

  it("passes whole responses through, streamed ones included", async () => {
    const page = await getUntil(nginx!.port, "/", "</html>");
    page.socket.destroy();
    expect(page.text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(page.text).to.include("torsion is Twisted's networking model");
    const wsgi = await getUntil(nginx!.port, "/wsgi/?n=3&interval=0.01", '<p id="done">');
    wsgi.socket.destroy();
    expect(wsgi.text).to.include("<li>row 3 of 3 from worker thread");
  });

  it("forwards each chunk as it comes (proxy_buffering off): the first tick arrives long before the end", async () => {
    // 1000 ticks at 0.05 s would take 50 s: the first one can only be here in time if nothing buffers it.
    const { socket, text } = await getUntil(nginx!.port, "/stream?n=1000&interval=0.05", "<li>tick 1 of 1000");
    socket.destroy();
    expect(text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).not.to.include('<p id="done">');
    await streamsIdle();
  });

  it("a client leaving while torsion is silent mid-/stream reaches torsion at once: the producer is stopped, notifyFinish errbacks", async () => {
    // Tick 1 at once, then 2 s of silence before tick 2 and the end: only nginx watching the
    // client's connection (proxy_ignore_client_abort off) can tell torsion within that silence.
    const stats = demo!.streamStats;
    await streamsIdle();
    const before = stats.toJSON();
    const { socket } = await getUntil(nginx!.port, "/stream?n=2&interval=2", "<li>tick 1 of 2");
    socket.destroy();
    await waitFor("the /stream producer stopped after the client left nginx", 10, () => stats.stoppedByDisconnect > before.stoppedByDisconnect && stats.notifyFinishErrbacks > before.notifyFinishErrbacks, () => JSON.stringify(stats));
    expect(stats.completed).to.equal(before.completed);
    expect(stats.active).to.equal(0);
  });

  it("a client leaving mid-/wsgi/ at nginx stops the WSGI application and calls its close()", async () => {
    const wsgi = demo!.wsgi;
    const before = wsgi.statistics();
    const { socket } = await getUntil(nginx!.port, "/wsgi/?n=400&interval=0.05", "<li>row 2 of 400");
    socket.destroy();
    await waitFor(
      "the WSGI response stopped after the client left nginx",
      10,
      () => {
        const s = wsgi.statistics();
        return s.stoppedByDisconnect > before.stoppedByDisconnect && s.closeCalls > before.closeCalls && s.active === 0;
      },
      () => JSON.stringify(wsgi.statistics()),
    );
    expect(wsgi.statistics().errors).to.equal(before.errors);
    expect(pool!.busy).to.equal(0);
  });

  it("the control: with proxy_ignore_client_abort on, nginx notices only when it next writes, so torsion writes the silent /stream to its end", async () => {
    let ignoring: Nginx | null = null;
    try {
      ignoring = await startNginx(upstreamPort, (snippet) => {
        const edited = snippet.replace("proxy_ignore_client_abort off;", "proxy_ignore_client_abort on;");
        expect(edited).to.include("proxy_ignore_client_abort on;");
        return edited;
      });
      const stats = demo!.streamStats;
      await streamsIdle();
      const before = stats.toJSON();
      const { socket } = await getUntil(ignoring.port, "/stream?n=2&interval=2", "<li>tick 1 of 2");
      socket.destroy();
      await waitFor("the abandoned /stream written to its end", 10, () => stats.completed > before.completed, () => JSON.stringify(stats));
      expect(stats.stoppedByDisconnect).to.equal(before.stoppedByDisconnect);
      expect(stats.notifyFinishErrbacks).to.equal(before.notifyFinishErrbacks);
    } finally {
      await stopNginx(ignoring);
    }
  });
});
