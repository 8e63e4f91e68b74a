/**
 * Load and leak check: a Site serving a static File, a streaming resource and a streaming WSGI
 * application (a WSGIResource over a pool of 4 workers), driven on 127.0.0.1 by many keep-alive
 * connections, then by many requests aborted mid-response, then by a mixed soak; requests go to
 * the three in turn. After each phase (once the server is quiet and has run a forced GC) it
 * prints the server's counters: open connections, producers stopped, live producers, timers,
 * file descriptors, RSS, and the WSGI ones (responses running, responses started, close()
 * calls, the pool's busy workers and queue). What must hold: open connections, live producers,
 * timers, WSGI responses running, busy workers and queued tasks return to their idle values,
 * file descriptors to their baseline, close() was called once for every WSGI response started,
 * and RSS after a forced GC at the end of the soak is no more than 10% above its value at the
 * start (it may fall: memory the first phases grew into is given back).
 *
 * The server runs in a child process ("server" argument) with --expose-gc; the load comes from
 * this process. Every count and duration is bounded.
 *
 *     node build/bench/load.js [connections] [aborts] [soakSeconds]    (defaults 500 2000 60)
 *     LOAD_SOAK_SECONDS=5 node build/bench/load.js 200 500              (a quick run)
 */

import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
import type { IPushProducer } from "../lib/internet/interfaces.js";
import { reactor } from "../lib/internet/reactor.js";
import { ThreadPool } from "../lib/internet/threadpool.js";
import { workRef } from "../lib/internet/work-ref.js";
import type { IRequest, RenderResult } from "../lib/web/iweb.js";
import { Resource } from "../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../lib/web/server.js";
import { File } from "../lib/web/static.js";
import { WSGIResource, type StartResponse, type WSGIEnviron } from "../lib/web/wsgi/resource.js";
import { inLanes } from "./support/load.js";
import { listenTorsion, withServer } from "./support/servers.js";

const PATHS = ["/static/big.bin", "/stream", "/wsgi"];
const STATIC_SIZE = 1024 * 1024;
const STREAM_CHUNKS = 64;
const STREAM_CHUNK = Buffer.alloc(16 * 1024, 0x73);

// ---------------------------------------------------------------------------
// The WSGI application (run in the server's pool workers, which import this module)

/** The same body as Stream below, from a generator: 64 chunks of 16 KiB, each sent when the transport has room. */
export function* wsgiStream(_environ: WSGIEnviron, startResponse: StartResponse): Generator<Uint8Array> {
  startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
  for (let i = 0; i < STREAM_CHUNKS; i++) yield STREAM_CHUNK;
}

// ---------------------------------------------------------------------------
// The server (child process)

let liveProducers = 0;

/** 64 chunks of 16 KiB from a push producer, one chunk a turn of the loop while not paused. */
class Stream extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): RenderResult {
    let sent = 0;
    let paused = false;
    let done = false;
    let scheduled = false;
    liveProducers++;
    const end = () => {
      if (done) return;
      done = true;
      liveProducers--;
    };
    const step = () => {
      scheduled = false;
      if (done || paused) return;
      request.write(STREAM_CHUNK);
      if (++sent === STREAM_CHUNKS) {
        end();
        request.unregisterProducer();
        request.finish();
        return;
      }
      schedule();
    };
    const schedule = () => {
      if (!scheduled && !done && !paused) {
        scheduled = true;
        setImmediate(step);
      }
    };
    const producer: IPushProducer = {
      pauseProducing: () => {
        paused = true;
      },
      resumeProducing: () => {
        paused = false;
        schedule();
      },
      stopProducing: end,
    };
    request.registerProducer(producer, true);
    schedule();
    return NOT_DONE_YET;
  }
}

/** A WSGIResource that counts the responses it starts (each must see its close() called). */
class CountingWSGIResource extends WSGIResource {
  started = 0;
  override render(request: IRequest): RenderResult {
    this.started++;
    return super.render(request);
  }
}

let wsgi: CountingWSGIResource | null = null;
let pool: ThreadPool | null = null;

/** GET /_stats: the counters, after a forced GC, as JSON. */
class StatsPage extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): RenderResult {
    const gc = (globalThis as { gc?: () => void }).gc;
    // Twice: the first pass can leave finalizer-held objects for the second.
    gc?.();
    gc?.();
    const w = wsgi!.statistics();
    const p = pool!.statistics();
    const c = reactor.counters;
    const stats = {
      // this very request's connection is open too
      openConnections: c.openConnections - 1,
      producersStopped: c.producersStopped,
      connectionsAborted: c.connectionsAborted,
      protocolErrors: c.protocolErrors,
      liveProducers,
      timers: reactor.getDelayedCalls().length,
      fds: readdirSync("/proc/self/fd").length,
      rssMB: Math.round(process.memoryUsage().rss / 1e5) / 10,
      wsgiActive: w.active,
      wsgiStarted: wsgi!.started,
      wsgiCloseCalls: w.closeCalls,
      wsgiCompleted: w.completed,
      wsgiStopped: w.stoppedByDisconnect,
      wsgiErrors: w.errors,
      poolBusy: p.busy,
      poolQueued: p.queued,
    };
    request.setHeader("content-type", "application/json");
    request.setHeader("connection", "close");
    return Buffer.from(JSON.stringify(stats));
  }
}

function serveSite(): void {
  const dir = mkdtempSync(join(tmpdir(), "torsion-load-"));
  writeFileSync(join(dir, "big.bin"), Buffer.alloc(STATIC_SIZE, 0x66));
  const root = new Resource();
  root.putChild("static", new File(dir));
  root.putChild("stream", new Stream());
  pool = new ThreadPool({ minthreads: 4, maxthreads: 4, name: "load-wsgi" });
  pool.start();
  wsgi = new CountingWSGIResource(reactor, pool, workRef(import.meta.url, "wsgiStream"));
  root.putChild("wsgi", wsgi);
  root.putChild("_stats", new StatsPage());
  listenTorsion(new Site(root, { timeOut: 30 }), { backlog: 4096 });
}

// ---------------------------------------------------------------------------
// The load (this process)

type Counters = Record<string, number>;

function request(path: string, keepAlive: boolean): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${keepAlive ? "" : "Connection: close\r\n"}\r\n`);
}

async function stats(port: number): Promise<Counters> {
  const body = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => reject(new Error("no /_stats answer within 10 s")), 10_000);
    s.on("data", (d) => (data += d.toString()));
    s.on("end", () => {
      clearTimeout(timer);
      resolve(data.slice(data.indexOf("\r\n\r\n") + 4));
    });
    s.on("error", reject);
    s.write(request("/_stats", false));
  });
  return JSON.parse(body) as Counters;
}

/** Stats once the server is quiet: no connection or producer left from the load (bounded wait). */
async function quietStats(port: number): Promise<Counters> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = await stats(port);
    const quiet = s.openConnections === 0 && s.liveProducers === 0 && s.wsgiActive === 0 && s.poolBusy === 0 && s.poolQueued === 0;
    if (quiet || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Responses are counted by their end: a static file by its length, a stream by its last chunk.
 * Returns the number of complete responses read on one keep-alive connection.
 */
function keepAliveClient(port: number, requests: number): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let done = 0;
    let expectStream = false;
    let received = 0;
    let tail = "";
    const next = () => {
      if (done === requests) {
        s.end();
        return;
      }
      const path = PATHS[done % PATHS.length];
      expectStream = path !== "/static/big.bin";
      received = 0;
      tail = "";
      s.write(request(path, true));
    };
    s.on("connect", next);
    s.on("data", (d: Buffer) => {
      received += d.length;
      const complete = expectStream
        ? (tail = (tail + d.toString("latin1")).slice(-5)) === "0\r\n\r\n"
        : received >= STATIC_SIZE + 200 && d.toString("latin1").endsWith("f");
      if (complete) {
        done++;
        next();
      }
    });
    const timer = setTimeout(() => s.destroy(), 60_000);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(done);
    });
    s.on("error", () => {});
  });
}

/** Send a request, read a few bytes of the response, then reset the connection. */
function abortingClient(port: number, path: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on("connect", () => s.write(request(path, true)));
    s.once("data", () => s.resetAndDestroy());
    s.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    s.on("error", () => {});
  });
}

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? 500);
  const aborts = Number(process.argv[3] ?? 2000);
  const soakSeconds = Number(process.argv[4] ?? process.env.LOAD_SOAK_SECONDS ?? 60);
  const rows: [string, Counters, string][] = [];
  const spec = { name: "torsion", args: ["--expose-gc", fileURLToPath(import.meta.url), "server"] };
  await withServer(spec, async ({ port }) => {
    rows.push(["idle (before)", await quietStats(port), ""]);

    let t = Date.now();
    const counts = await Promise.all(Array.from({ length: connections }, () => keepAliveClient(port, 4)));
    const ok = counts.reduce((a, b) => a + b, 0);
    rows.push([`${connections} keep-alive x4`, await quietStats(port), `${ok}/${connections * 4} responses, ${Date.now() - t} ms`]);

    t = Date.now();
    await inLanes({ lanes: 200, count: aborts }, (i) => abortingClient(port, PATHS[i % PATHS.length]));
    rows.push([`${aborts} aborted`, await quietStats(port), `${Date.now() - t} ms`]);

    // The soak starts from the reading above (quiet, after a forced GC) and ends with the next.
    t = Date.now();
    let soakResponses = 0;
    let soakAborts = 0;
    // One lane in five aborts, the others run keep-alive clients.
    await inLanes({ lanes: 50, seconds: soakSeconds }, async (_, lane) => {
      if (lane % 5 === 0) {
        await abortingClient(port, PATHS[soakAborts++ % PATHS.length]);
      } else {
        const n = await keepAliveClient(port, 4); // not `+= await`: that reads the sum before awaiting
        soakResponses += n;
      }
    });
    rows.push([`soak ${soakSeconds} s`, await quietStats(port), `${soakResponses} responses, ${soakAborts} aborts, ${Date.now() - t} ms`]);
  });

  const keys = [
    "openConnections",
    "liveProducers",
    "producersStopped",
    "connectionsAborted",
    "protocolErrors",
    "timers",
    "fds",
    "rssMB",
    "wsgiActive",
    "wsgiStarted",
    "wsgiCloseCalls",
    "wsgiCompleted",
    "wsgiStopped",
    "wsgiErrors",
    "poolBusy",
    "poolQueued",
  ];
  const header = ["phase", ...keys, "load"];
  const table = [header, ...rows.map(([phase, s, note]) => [phase, ...keys.map((k) => String(s[k])), note])];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  "));
  const [first, last] = [rows[0][1], rows[rows.length - 1][1]];
  const leaks = ["openConnections", "liveProducers", "timers", "fds", "wsgiActive", "poolBusy", "poolQueued"].filter((k) => last[k] > first[k]);
  console.log(
    leaks.length === 0
      ? "no leak: connections, producers, timers, fds, WSGI responses, busy workers and queue back to idle"
      : `LEAK? ${leaks.join(", ")} above idle`,
  );
  console.log(
    last.wsgiCloseCalls === last.wsgiStarted
      ? `WSGI close(): ${last.wsgiCloseCalls} calls for ${last.wsgiStarted} responses started`
      : `CLOSE MISSED? ${last.wsgiCloseCalls} close() calls for ${last.wsgiStarted} WSGI responses started`,
  );
  if (rows.length >= 2) {
    const start = rows[rows.length - 2][1].rssMB;
    const end = last.rssMB;
    const pct = ((end - start) / start) * 100;
    console.log(
      `RSS after forced GC over the soak: ${start} MB -> ${end} MB (${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%; aim: at most 10% above the start, a fall is memory given back: ${pct <= 10 ? "met" : "MISSED"})`,
    );
  }
}

// Pool workers import this module for wsgiStream: they run neither the server nor the load.
if (!isMainThread) {
  // nothing: a worker only needs the export
} else if (process.argv[2] === "server") serveSite();
else await main();
