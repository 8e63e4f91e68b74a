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
 * worker at a time: the round trip between threads). What WSGI costs the main thread per request
 * is one task message out (a flat array: the environ as one string, the response's channel) and
 * one answer back; the head and body come through the channel's shared memory, no message each.
 *
 *     node build/bench/wsgi.js [rounds] [seconds]        (defaults 3 and 3)
 */

import * as http from "node:http";
import { reactor } from "../lib/internet/reactor.js";
import { ThreadPool } from "../lib/internet/threadpool.js";
import { workRef } from "../lib/internet/work-ref.js";
import type { IRequest } from "../lib/web/iweb.js";
import { Resource } from "../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../lib/web/server.js";
import { WSGIResource } from "../lib/web/wsgi/resource.js";
import { BulkProducer, writeBulk } from "./support/bulk.js";
import { autocannonRound } from "./support/load.js";
import { roundOrder } from "./support/rounds.js";
import { listenNode, listenTorsion, nodeServer, twistedServer, withServers } from "./support/servers.js";
import { figureTable, median, type FigureRow } from "./support/stats.js";
import { HELLO, STREAM_BYTES, STREAM_CHUNK } from "./wsgi-apps.js";

const CONNECTIONS = 50;
/** Tasks each worker may hold at once (ThreadPoolOptions.pipeline): hides the round trip between threads. */
const PIPELINE = Number(process.env.WSGI_BENCH_PIPELINE ?? 8);
const CHUNK = new Uint8Array(STREAM_CHUNK).fill(120);

type Impl = "wsgi" | "resource" | "node" | "twisted";
const LABEL: Record<Impl, string> = { wsgi: "torsion WSGIResource", resource: "torsion Resource", node: "node:http", twisted: "Twisted WSGIResource" };
const RATIO_NAME: Record<Impl, string> = { wsgi: "WSGI", resource: "Resource", node: "node:http", twisted: "Twisted" };

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
    const producer = new BulkProducer(request, CHUNK, STREAM_BYTES, () => request.finish());
    request.notifyFinish().addErrback(() => {
      producer.stopProducing();
      return null;
    });
    producer.start();
    return NOT_DONE_YET;
  }
}

function serveWSGI(): void {
  const pool = new ThreadPool({ minthreads: 2, maxthreads: 2, pipeline: PIPELINE, name: "bench" });
  pool.start();
  const apps = new URL("./wsgi-apps.js", import.meta.url);
  const root = new Resource();
  root.putChild("hello", new WSGIResource(reactor, pool, workRef(apps, "hello")));
  root.putChild("stream", new WSGIResource(reactor, pool, workRef(apps, "stream")));
  listenTorsion(new Site(root));
}

function serveResource(): void {
  const root = new Resource();
  root.putChild("hello", new Hello());
  root.putChild("stream", new Stream());
  listenTorsion(new Site(root));
}

function serveNode(): void {
  const server = http.createServer((req, res) => {
    if (req.url === "/stream") {
      res.setHeader("content-type", "application/octet-stream");
      res.setHeader("content-length", String(STREAM_BYTES));
      writeBulk(res, CHUNK, STREAM_BYTES);
      return;
    }
    res.setHeader("content-type", "text/plain");
    res.setHeader("content-length", "14");
    res.end(HELLO);
  });
  server.keepAliveTimeout = 60_000;
  listenNode(server);
}

// ---------------------------------------------------------------------------
// Client (this process)

async function hello(port: number, seconds: number): Promise<number> {
  const result = await autocannonRound(`http://127.0.0.1:${port}/hello`, CONNECTIONS, seconds);
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

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 3);
  const twisted = await twistedServer("wsgi_twisted.py", "twisted.web.wsgi");
  const impls: Impl[] = twisted ? ["wsgi", "resource", "node", "twisted"] : ["wsgi", "resource", "node"];
  const streamers: Impl[] = ["wsgi", "resource", "node"];
  const helloRps: Record<Impl, number[]> = { wsgi: [], resource: [], node: [], twisted: [] };
  const streamMiBs: Record<Impl, number[]> = { wsgi: [], resource: [], node: [], twisted: [] };
  const spec = (impl: Impl) => (impl === "twisted" ? twisted! : nodeServer(impl, import.meta.url, "server", impl));
  await withServers(impls, spec, async (servers) => {
    for (const impl of impls) await hello(servers[impl].port, 1); // warm-up, not counted
    for (const impl of streamers) await download(servers[impl].port);
    // One round: hello world on every server, then the download from every streamer, each in roundOrder.
    for (let r = 0; r < rounds; r++) {
      for (const impl of roundOrder(impls, r)) helloRps[impl].push(await hello(servers[impl].port, seconds));
      for (const impl of roundOrder(streamers, r)) streamMiBs[impl].push(await download(servers[impl].port));
    }
  });
  const layout = { indent: "  ", labelWidth: 22, valueWidth: 8 };
  const rows = (figures: Record<Impl, number[]>, sides: readonly Impl[]): FigureRow[] =>
    sides.map((impl) => ({ label: LABEL[impl], value: median(figures[impl]), ratio: impl === "wsgi" ? undefined : `WSGI/${RATIO_NAME[impl]}` }));
  console.log(`bench/wsgi: ${rounds} interleaved rounds, medians (servers in child processes, 127.0.0.1)`);
  console.log(`hello world, ${CONNECTIONS} connections, ${seconds} s (req/s):`);
  for (const line of figureTable(rows(helloRps, impls), layout)) console.log(line);
  if (!twisted) console.log("  Twisted WSGIResource   (python3-twisted not installed: skipped)");
  console.log(`100 MiB streamed, one client (MiB/s):`);
  for (const line of figureTable(rows(streamMiBs, streamers), layout)) console.log(line);
}

if (process.argv[2] === "server") {
  const impl = process.argv[3] as Impl;
  if (impl === "wsgi") serveWSGI();
  else if (impl === "resource") serveResource();
  else serveNode();
} else {
  await main();
}
