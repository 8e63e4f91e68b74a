/**
 * Web server benchmark: torsion's Site against node:http and, where python3-twisted is
 * installed, Twisted's own Site, in the same run, on 127.0.0.1, interleaved rounds; prints
 * medians and the ratios.
 *
 * 1. hello world: a leaf Resource on a Site (node:http: a handler), autocannon as a library,
 *    CONNECTIONS keep-alive connections, SECONDS a round; requests per second.
 * 2. a 1 GiB static download: torsion's static.File, node:http piping fs.createReadStream into
 *    the response (with Content-Length), Twisted's static.File; one client in this process
 *    counts the bytes (nothing is written to disk); MiB per second. The file is sparse (made
 *    once in a temp dir, removed at the end), so the figures measure the servers, not the disk.
 * 3. a push producer written the Twisted way, streaming PUSH_BYTES (256 MiB): each turn it
 *    writes up to 16 chunks of 64 KiB while not paused, then reschedules itself with
 *    callLater(0); the transport pauses it and resumeProducing() starts it again. node:http:
 *    a Readable of the same chunks piped into the response (Readable.pipe). MiB per second.
 *    This measures the reactor's callLater(0) as much as the transport.
 * 4. a slow reader: a fresh server per implementation, one client reading the 1 GiB file at
 *    SLOW_MIBS MiB/s (pausing its socket) for SLOW_SECONDS, then going away; the server's
 *    VmRSS is sampled every 100 ms (and its VmHWM read at the end) from /proc/<pid>/status, and
 *    the peak above the idle RSS (measured just before) is printed. A server that respects
 *    back-pressure holds a few chunks of the file, not what the client has not read yet.
 *
 * Each server runs in a child process of its own (this file with "server <impl> <path>", or
 * bench/web_twisted.py), so each gets its share of the CPU; every child is killed at the end,
 * on error too, and a watchdog ends the run after WATCHDOG_SECONDS.
 *
 *     node build/bench/web.js [rounds] [seconds]        (defaults 4 and 3)
 */

import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline, Readable } from "node:stream";
import type { IDelayedCall, IPushProducer } from "../lib/internet/interfaces.js";
import { reactor } from "../lib/internet/reactor.js";
import type { IRequest } from "../lib/web/iweb.js";
import { Resource } from "../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../lib/web/server.js";
import { File } from "../lib/web/static.js";
import { autocannonRound } from "./support/load.js";
import { interleave } from "./support/rounds.js";
import { atExit, listenNode, listenTorsion, nodeServer, twistedServer, watchdog, withServer, withServers, type ServerSpec } from "./support/servers.js";
import { figureTable, median, type FigureRow } from "./support/stats.js";

const CONNECTIONS = 50;
const HELLO = Buffer.from("Hello, world!\n");
const BIG_BYTES = 1024 * 1024 * 1024;
const DOWNLOAD_ROUNDS = 3;
const SLOW_MIBS = 64;
const SLOW_SECONDS = 6;
const WATCHDOG_SECONDS = 200;
const MiB = 1024 * 1024;
const PUSH_BYTES = 256 * MiB;
const PUSH_CHUNK = Buffer.alloc(64 * 1024, 0x78);
const PUSH_CHUNKS_PER_TURN = 16;

type Impl = "torsion" | "node" | "twisted";
const LABEL: Record<Impl, string> = { torsion: "torsion Site", node: "node:http", twisted: "Twisted Site" };

// ---------------------------------------------------------------------------
// Servers (child processes)

class Hello extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): Uint8Array {
    request.setHeader("content-type", "text/plain");
    return HELLO;
  }
}

/**
 * A push producer the way a Twisted program writes one: while not paused, up to 16 chunks a
 * turn, then callLater(0) for the next turn; resumeProducing() reschedules it.
 */
class TwistedStylePush implements IPushProducer {
  private sent = 0;
  private paused = false;
  private stopped = false;
  private call: IDelayedCall | null = null;

  constructor(private readonly request: IRequest) {}

  start(): void {
    this.request.registerProducer(this, true);
    this.schedule();
  }

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    this.paused = false;
    this.schedule();
  }

  stopProducing(): void {
    this.stopped = true;
    if (this.call !== null && this.call.active()) this.call.cancel();
    this.call = null;
  }

  private schedule(): void {
    if (this.call === null && !this.paused && !this.stopped) this.call = reactor.callLater(0, this.tick);
  }

  private readonly tick = (): void => {
    this.call = null;
    for (let i = 0; i < PUSH_CHUNKS_PER_TURN && !this.paused && !this.stopped && this.sent < PUSH_BYTES; i++) {
      this.request.write(PUSH_CHUNK);
      this.sent += PUSH_CHUNK.length;
    }
    if (this.stopped) return;
    if (this.sent >= PUSH_BYTES) {
      this.request.unregisterProducer();
      this.request.finish();
      return;
    }
    this.schedule();
  };
}

class Push extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): typeof NOT_DONE_YET {
    request.setHeader("content-type", "application/octet-stream");
    request.setHeader("content-length", String(PUSH_BYTES));
    new TwistedStylePush(request).start();
    return NOT_DONE_YET;
  }
}

function serveTorsion(bigPath: string): void {
  const root = new Resource();
  root.putChild("hello", new Hello());
  root.putChild("push", new Push());
  root.putChild("big", new File(bigPath));
  listenTorsion(new Site(root));
}

function serveNode(bigPath: string): void {
  const server = http.createServer((req, res) => {
    if (req.url === "/push") {
      res.setHeader("content-type", "application/octet-stream");
      res.setHeader("content-length", String(PUSH_BYTES));
      let sent = 0;
      const source = new Readable({
        read(): void {
          if (sent >= PUSH_BYTES) {
            this.push(null);
            return;
          }
          sent += PUSH_CHUNK.length;
          this.push(PUSH_CHUNK);
        },
      });
      source.pipe(res);
      res.on("close", () => source.destroy());
      return;
    }
    if (req.url === "/big") {
      res.setHeader("content-type", "application/octet-stream");
      res.setHeader("content-length", String(statSync(bigPath).size));
      // pipeline, not pipe: a client that goes away must close the file too.
      pipeline(createReadStream(bigPath), res, () => {});
      return;
    }
    res.setHeader("content-type", "text/plain");
    res.setHeader("content-length", String(HELLO.length));
    res.end(HELLO);
  });
  server.keepAliveTimeout = 60_000;
  listenNode(server);
}

// ---------------------------------------------------------------------------
// Client (this process)

/** The temp dir holding the 1 GiB file, removed on every way out (atExit). */
let tempDir: string | null = null;

function removeTempDir(): void {
  if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
  tempDir = null;
}

async function hello(port: number, seconds: number): Promise<number> {
  const result = await autocannonRound(`http://127.0.0.1:${port}/hello`, CONNECTIONS, seconds);
  return result.requests.total / seconds;
}

interface DownloadResult {
  bytes: number;
  seconds: number;
}

/**
 * GET /big on a raw socket, counting body bytes. With `rateMiBs`, the socket is paused whenever
 * the client is ahead of that rate; with `maxSeconds`, the connection is destroyed then (a
 * client going away). Otherwise the whole body must arrive within `timeoutSeconds`.
 */
function download(port: number, options: { path?: string; rateMiBs?: number; maxSeconds?: number; timeoutSeconds?: number } = {}): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    const start = performance.now();
    let head: Buffer | null = Buffer.alloc(0);
    let length = -1;
    let body = 0;
    let done = false;
    let resumeTimer: NodeJS.Timeout | null = null;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      if (resumeTimer !== null) clearTimeout(resumeTimer);
      s.destroy();
      if (err) reject(err);
      else resolve({ bytes: body, seconds: (performance.now() - start) / 1000 });
    };
    const limit = setTimeout(() => {
      if (options.maxSeconds !== undefined) finish(null);
      else finish(new Error(`download timed out after ${options.timeoutSeconds ?? 60} s (${body} bytes)`));
    }, (options.maxSeconds ?? options.timeoutSeconds ?? 60) * 1000);
    s.on("connect", () => s.write(`GET ${options.path ?? "/big"} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nConnection: close\r\n\r\n`));
    s.on("error", (err) => finish(err));
    s.on("close", () => finish(length >= 0 && body >= length ? null : new Error(`connection closed after ${body} of ${length} bytes`)));
    s.on("data", (d: Buffer) => {
      if (head !== null) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        const text = head.subarray(0, end).toString("latin1");
        if (!/^HTTP\/1\.1 200 /.test(text)) return finish(new Error(`unexpected answer: ${text.split("\r\n")[0]}`));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
        if (!m) return finish(new Error("no Content-Length"));
        length = Number(m[1]);
        body = head.length - end - 4;
        head = null;
      } else {
        body += d.length;
      }
      if (body >= length) return finish(body === length ? null : new Error(`got ${body} bytes of ${length}`));
      if (options.rateMiBs !== undefined) {
        const rate = options.rateMiBs * MiB;
        const ahead = body - rate * ((performance.now() - start) / 1000);
        if (ahead > 0) {
          s.pause();
          resumeTimer = setTimeout(() => {
            resumeTimer = null;
            s.resume();
          }, (ahead / rate) * 1000);
        }
      }
    });
  });
}

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "latin1");
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s*(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface SlowResult {
  idle: number;
  peak: number;
  hwm: number;
  read: number;
}

/** A fresh server, warmed with hello requests; its RSS while a slow client reads /big. */
function slowReader(spec: ServerSpec): Promise<SlowResult> {
  return withServer(spec, async (server) => {
    const pid = server.pid;
    await hello(server.port, 1);
    await sleep(500);
    const idle = memoryOf(pid).rss;
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryOf(pid).rss);
    }, 100);
    let result: DownloadResult;
    try {
      result = await download(server.port, { rateMiBs: SLOW_MIBS, maxSeconds: SLOW_SECONDS });
      await sleep(300); // the server sees the client go away
    } finally {
      clearInterval(sampler);
    }
    const last = memoryOf(pid);
    peak = Math.max(peak, last.rss);
    return { idle, peak, hwm: last.hwm, read: result.bytes };
  });
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 4);
  const seconds = Number(process.argv[3] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), "torsion-bench-web-"));
  tempDir = dir;
  const bigPath = join(dir, "big.bin");
  writeFileSync(bigPath, "");
  truncateSync(bigPath, BIG_BYTES); // sparse: no disk I/O, the same bytes for every server
  const twisted = await twistedServer("web_twisted.py", "twisted.web.static, twisted.web.server", [bigPath]);
  const spec = (impl: Impl): ServerSpec => (impl === "twisted" ? twisted! : nodeServer(impl, import.meta.url, "server", impl, bigPath));
  const impls: Impl[] = twisted ? ["torsion", "node", "twisted"] : ["torsion", "node"];
  const slow = new Map<Impl, SlowResult>();
  const timer = watchdog("bench/web", WATCHDOG_SECONDS);
  const t0 = performance.now();
  let helloRps: Record<Impl, number[]>;
  let bigMiBs: Record<Impl, number[]>;
  let pushMiBs: Record<"torsion" | "node", number[]>;
  try {
    [helloRps, bigMiBs, pushMiBs] = await withServers(impls, spec, async (servers) => {
      for (const impl of impls) await hello(servers[impl].port, 1); // warm-up, not counted
      const rps = await interleave(impls, rounds, (impl) => hello(servers[impl].port, seconds));
      const mibs = await interleave(impls, DOWNLOAD_ROUNDS, async (impl) => {
        const { bytes, seconds: secs } = await download(servers[impl].port, { timeoutSeconds: 60 });
        return bytes / MiB / secs;
      });
      const push = await interleave(["torsion", "node"] as const, DOWNLOAD_ROUNDS, async (impl) => {
        const { bytes, seconds: secs } = await download(servers[impl].port, { path: "/push", timeoutSeconds: 60 });
        return bytes / MiB / secs;
      });
      return [rps, mibs, push] as const;
    });
    for (const impl of impls) slow.set(impl, await slowReader(spec(impl)));
  } finally {
    clearTimeout(timer);
    removeTempDir();
  }
  const rows = (figures: Record<Impl, number[]>, what: (impl: Impl) => string): FigureRow[] =>
    impls.map((impl) => ({ label: what(impl), value: median(figures[impl]), ratio: impl === "torsion" ? undefined : `torsion/${LABEL[impl]}` }));
  const elapsed = (performance.now() - t0) / 1000;
  console.log(`bench/web: servers in child processes, 127.0.0.1, medians of interleaved rounds (${elapsed.toFixed(0)} s in all)`);
  console.log(`1. hello world, ${CONNECTIONS} keep-alive connections, ${rounds} rounds of ${seconds} s (req/s, autocannon):`);
  for (const line of figureTable(rows(helloRps, (impl) => LABEL[impl]), { indent: "   ", labelWidth: 14, valueWidth: 8 })) console.log(line);
  if (!twisted) console.log("   Twisted Site   (python3-twisted not installed: skipped)");
  console.log(`2. 1 GiB static file (sparse), one client counting bytes, ${DOWNLOAD_ROUNDS} rounds (MiB/s):`);
  const what = (impl: Impl): string => `${LABEL[impl]} ${impl === "node" ? "createReadStream" : "static.File"}`;
  for (const line of figureTable(rows(bigMiBs, what), { indent: "   ", labelWidth: 31, valueWidth: 6 })) console.log(line);
  console.log(`3. push producer, Twisted style (16 x 64 KiB a turn, callLater(0)), ${PUSH_BYTES / MiB} MiB, ${DOWNLOAD_ROUNDS} rounds (MiB/s):`);
  const pushRows: FigureRow[] = [
    { label: "torsion Site callLater(0) producer", value: median(pushMiBs.torsion) },
    { label: "node:http Readable.pipe", value: median(pushMiBs.node), ratio: "torsion/node:http" },
  ];
  for (const line of figureTable(pushRows, { indent: "   ", labelWidth: 35, valueWidth: 6 })) console.log(line);
  console.log(`4. slow reader: 1 GiB file read at ${SLOW_MIBS} MiB/s for ${SLOW_SECONDS} s, then dropped; server RSS (MiB, fresh server):`);
  for (const impl of impls) {
    const m = slow.get(impl)!;
    console.log(
      `   ${LABEL[impl].padEnd(14)} idle ${mib(m.idle).padStart(6)}   peak ${mib(m.peak).padStart(6)} (+${mib(m.peak - m.idle)})` +
        `   VmHWM ${mib(m.hwm).padStart(6)} (+${mib(m.hwm - m.idle)})   client read ${mib(m.read)} MiB`,
    );
  }
  const torsionRise = slow.get("torsion")!.hwm - slow.get("torsion")!.idle;
  console.log(`   torsion peak above idle: ${mib(torsionRise)} MiB (aim: at most 64) ${torsionRise <= 64 * MiB ? "OK" : "OVER"}`);
}

if (process.argv[2] === "server") {
  const bigPath = process.argv[4];
  if (process.argv[3] === "torsion") serveTorsion(bigPath);
  else serveNode(bigPath);
} else {
  atExit(removeTempDir);
  await main();
}
