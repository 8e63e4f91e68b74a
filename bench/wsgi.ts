/**
 * WSGI benchmark: torsion's WSGIResource (the application in a pool worker) against an
 * in-loop torsion Resource on a Site, node:http and, where python3-twisted is installed,
 * Twisted's own WSGIResource, in the same run, on 127.0.0.1, interleaved rounds; prints
 * medians and the ratios.
 *
 * - hello world: autocannon (as a library), CONNECTIONS keep-alive connections, SECONDS a round,
 *   requests per second (Twisted's WSGIResource included).
 * - 100 MiB streamed: one client downloads the whole body, MiB per second. WSGI streams it from
 *   a generator with back-pressure; the in-loop Resource with a push producer; node:http with
 *   write()/'drain'.
 *
 * Each server runs in a child process of its own, so each gets a fair share of the CPU. The WSGI
 * pool has 2 workers with `pipeline` 8 (WSGI_BENCH_PIPELINE=1 shows the cost of one task per
 * worker at a time: the round trip between threads, about 0.18 of the Resource on two cores).
 *
 *     node build/bench/wsgi.js [rounds] [seconds]        (defaults 3 and 3)
 */

import autocannon from "autocannon";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import type { IPushProducer } from "../lib/internet/interfaces.js";
import { reactor } from "../lib/internet/reactor.js";
import { ThreadPool } from "../lib/internet/threadpool.js";
import { workRef } from "../lib/internet/work-ref.js";
import type { IRequest } from "../lib/web/iweb.js";
import { Resource } from "../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../lib/web/server.js";
import { WSGIResource } from "../lib/web/wsgi.js";
import { HELLO, STREAM_BYTES, STREAM_CHUNK } from "./wsgi-apps.js";

const CONNECTIONS = 50;
/** Tasks each worker may hold at once (ThreadPoolOptions.pipeline): hides the round trip between threads. */
const PIPELINE = Number(process.env.WSGI_BENCH_PIPELINE ?? 8);
const PYTHON = "/usr/bin/python3";
const TWISTED_SCRIPT = fileURLToPath(new URL("../../bench/wsgi_twisted.py", import.meta.url));

type Impl = "wsgi" | "resource" | "node" | "twisted";

// ---------------------------------------------------------------------------
// Servers (child processes)

class Hello extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): Uint8Array {
    request.setHeader("content-type", "text/plain");
    return HELLO;
  }
}

/** 100 MiB from the loop: a push producer writing 64 KiB chunks while the transport has room. */
class Stream extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): typeof NOT_DONE_YET {
    request.setHeader("content-type", "application/octet-stream");
    request.setHeader("content-length", String(STREAM_BYTES));
    new StreamProducer(request).start();
    return NOT_DONE_YET;
  }
}

class StreamProducer implements IPushProducer {
  private sent = 0;
  private paused = false;
  private stopped = false;
  private readonly chunk = new Uint8Array(STREAM_CHUNK).fill(120);
  constructor(private readonly request: IRequest) {}
  start(): void {
    this.request.registerProducer(this, true);
    this.request.notifyFinish().addErrback(() => {
      this.stopped = true;
      return null;
    });
    this.pump();
  }
  private pump(): void {
    while (!this.paused && !this.stopped && this.sent < STREAM_BYTES) {
      this.request.write(this.chunk);
      this.sent += STREAM_CHUNK;
    }
    if (this.sent >= STREAM_BYTES && !this.stopped) {
      this.stopped = true;
      this.request.unregisterProducer();
      this.request.finish();
    }
  }
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
    this.pump();
  }
  stopProducing(): void {
    this.stopped = true;
  }
}

function quiet(site: Site): Site {
  (site as { noisy?: boolean }).noisy = false;
  return site;
}

function serveWSGI(): void {
  const pool = new ThreadPool({ minthreads: 2, maxthreads: 2, pipeline: PIPELINE, name: "bench" });
  pool.start();
  const apps = new URL("./wsgi-apps.js", import.meta.url);
  const root = new Resource();
  root.putChild("hello", new WSGIResource(reactor, pool, workRef(apps, "hello")));
  root.putChild("stream", new WSGIResource(reactor, pool, workRef(apps, "stream")));
  listen(quiet(new Site(root)));
}

function serveResource(): void {
  const root = new Resource();
  root.putChild("hello", new Hello());
  root.putChild("stream", new Stream());
  listen(quiet(new Site(root)));
}

function listen(site: Site): void {
  const port = reactor.listenTCP(0, site, { interface: "127.0.0.1" });
  void reactor.run();
  process.stdout.write(`${(port.getHost() as { port: number }).port}\n`);
}

function serveNode(): void {
  const chunk = new Uint8Array(STREAM_CHUNK).fill(120);
  const server = http.createServer((req, res) => {
    if (req.url === "/stream") {
      res.setHeader("content-type", "application/octet-stream");
      res.setHeader("content-length", String(STREAM_BYTES));
      let sent = 0;
      const pump = (): void => {
        while (sent < STREAM_BYTES) {
          sent += STREAM_CHUNK;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.setHeader("content-type", "text/plain");
    res.setHeader("content-length", "14");
    res.end(HELLO);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
}

// ---------------------------------------------------------------------------
// Client (this process)

async function twistedAvailable(): Promise<boolean> {
  if (!existsSync(PYTHON) || !existsSync(TWISTED_SCRIPT)) return false;
  const probe = spawn(PYTHON, ["-c", "import twisted.web.wsgi"], { stdio: "ignore" });
  return new Promise<boolean>((resolve) => {
    probe.on("exit", (code) => resolve(code === 0));
    probe.on("error", () => resolve(false));
  });
}

function startServer(impl: Impl): Promise<{ port: number; child: ChildProcess }> {
  const child =
    impl === "twisted"
      ? spawn(PYTHON, [TWISTED_SCRIPT], { stdio: ["ignore", "pipe", "inherit"] })
      : spawn(process.execPath, [fileURLToPath(import.meta.url), "server", impl], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.on("exit", (code) => reject(new Error(`${impl} server exited (${code})`)));
  });
}

async function hello(port: number, seconds: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/hello`,
    connections: CONNECTIONS,
    duration: seconds,
    pipelining: 1,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`hello: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.total / seconds;
}

/** Download the 100 MiB body once; MiB per second. */
function download(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: "127.0.0.1", port, path: "/stream", agent: false }, (res) => {
      let n = 0;
      res.on("data", (d: Buffer) => (n += d.length));
      res.on("end", () => {
        if (n !== STREAM_BYTES) reject(new Error(`got ${n} bytes of ${STREAM_BYTES}`));
        else resolve(STREAM_BYTES / (1024 * 1024) / ((performance.now() - start) / 1000));
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(60_000, () => req.destroy(new Error("download timed out")));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 3);
  const withTwisted = await twistedAvailable();
  const impls: Impl[] = withTwisted ? ["wsgi", "resource", "node", "twisted"] : ["wsgi", "resource", "node"];
  const streamers: Impl[] = ["wsgi", "resource", "node"];
  const servers = new Map<Impl, { port: number; child: ChildProcess }>();
  const helloRps: Record<Impl, number[]> = { wsgi: [], resource: [], node: [], twisted: [] };
  const streamMiBs: Record<Impl, number[]> = { wsgi: [], resource: [], node: [], twisted: [] };
  try {
    for (const impl of impls) servers.set(impl, await startServer(impl));
    for (const impl of impls) await hello(servers.get(impl)!.port, 1); // warm-up, not counted
    for (const impl of streamers) await download(servers.get(impl)!.port);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...impls].reverse() : impls;
      for (const impl of order) helloRps[impl].push(await hello(servers.get(impl)!.port, seconds));
      for (const impl of r % 2 ? [...streamers].reverse() : streamers) streamMiBs[impl].push(await download(servers.get(impl)!.port));
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const h = (impl: Impl): number => median(helloRps[impl]);
  const s = (impl: Impl): number => median(streamMiBs[impl]);
  console.log(`bench/wsgi: ${rounds} interleaved rounds, medians (servers in child processes, 127.0.0.1)`);
  console.log(`hello world, ${CONNECTIONS} connections, ${seconds} s (req/s):`);
  console.log(`  torsion WSGIResource   ${h("wsgi").toFixed(0).padStart(8)}`);
  console.log(`  torsion Resource       ${h("resource").toFixed(0).padStart(8)}   WSGI/Resource ${(h("wsgi") / h("resource")).toFixed(2)}`);
  console.log(`  node:http              ${h("node").toFixed(0).padStart(8)}   WSGI/node:http ${(h("wsgi") / h("node")).toFixed(2)}`);
  if (withTwisted) console.log(`  Twisted WSGIResource   ${h("twisted").toFixed(0).padStart(8)}   WSGI/Twisted ${(h("wsgi") / h("twisted")).toFixed(2)}`);
  else console.log("  Twisted WSGIResource   (python3-twisted not installed: skipped)");
  console.log(`100 MiB streamed, one client (MiB/s):`);
  console.log(`  torsion WSGIResource   ${s("wsgi").toFixed(0).padStart(8)}`);
  console.log(`  torsion Resource       ${s("resource").toFixed(0).padStart(8)}   WSGI/Resource ${(s("wsgi") / s("resource")).toFixed(2)}`);
  console.log(`  node:http              ${s("node").toFixed(0).padStart(8)}   WSGI/node:http ${(s("wsgi") / s("node")).toFixed(2)}`);
}

if (process.argv[2] === "server") {
  const impl = process.argv[3] as Impl;
  if (impl === "wsgi") serveWSGI();
  else if (impl === "resource") serveResource();
  else serveNode();
} else {
  await main();
}
