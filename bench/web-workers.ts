/**
 * Multi-process serving: `torsion web --workers 2` (a hello-world --resource) against node:http
 * under node:cluster with 2 workers, in the same run, on 127.0.0.1, interleaved rounds, driven by
 * autocannon; prints medians and the ratio torsion/node (requests per second, higher is better;
 * latency, lower is better).
 *
 * Both servers are child processes (a primary and two workers each), started once and kept up
 * for every round; autocannon runs in this process with CONNECTIONS keep-alive connections.
 *
 *     node build/bench/web-workers.js [rounds] [seconds]      (defaults 5 and 3)
 */

import autocannon from "autocannon";
import { spawn, type ChildProcess } from "node:child_process";
import cluster from "node:cluster";
import { realpathSync } from "node:fs";
import * as http from "node:http";
import { fileURLToPath } from "node:url";
import type { IRequest } from "../lib/web/iweb.js";
import { Resource } from "../lib/web/resource.js";

const CONNECTIONS = 50;
const WORKERS = 2;
const BODY = Buffer.from("Hello, world!\n");

/** The resource `torsion web --resource ./build/bench/web-workers.js:hello` serves. */
class Hello extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): Buffer {
    request.setHeader("content-type", "text/plain");
    return BODY;
  }
}
export const hello = new Hello();

type Impl = "torsion" | "node";

const HERE = fileURLToPath(import.meta.url);
const MAIN = fileURLToPath(new URL("../lib/cli/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

// ---------------------------------------------------------------------------
// The node:http peer: node:cluster with WORKERS workers (a child process of this file)

function serveNode(): void {
  if (cluster.isPrimary) {
    let listening = 0;
    let port = 0;
    for (let i = 0; i < WORKERS; i++) cluster.fork();
    cluster.on("listening", (_worker, address) => {
      port = address.port;
      if (++listening === WORKERS) process.stdout.write(`node: serving http://127.0.0.1:${port}/\n`);
    });
    const stop = (): void => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
      process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    return;
  }
  const server = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/plain");
    res.setHeader("content-length", BODY.length);
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1");
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

// ---------------------------------------------------------------------------
// The driver (this process)

function start(impl: Impl): Promise<{ url: string; child: ChildProcess }> {
  const args =
    impl === "torsion"
      ? [MAIN, "web", "--workers", String(WORKERS), "--listen", "tcp:0:interface=127.0.0.1", "--resource", `${HERE}:hello`]
      : [HERE, "node-server"];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${impl} did not start within 20 s`)), 20_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /serving (http:\/\/\S+)/.exec(out);
      // torsion prints the worker line after the URLs: wait for it, so both workers are up.
      if (m && (impl === "node" || /workers \(pids/.test(out))) {
        clearTimeout(timer);
        resolve({ url: m[1], child });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${impl} server exited (${code})`));
    });
  });
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
}

async function round(url: string, seconds: number): Promise<Round> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, pipelining: 1 });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const seconds = Number(process.argv[3] ?? 3);
  const impls: Impl[] = ["torsion", "node"];
  const servers = new Map<Impl, { url: string; child: ChildProcess }>();
  const results: Record<Impl, Round[]> = { torsion: [], node: [] };
  try {
    for (const impl of impls) servers.set(impl, await start(impl));
    for (const impl of impls) await round(servers.get(impl)!.url, 1); // warm-up, not counted
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...impls].reverse() : impls;
      for (const impl of order) results[impl].push(await round(servers.get(impl)!.url, seconds));
    }
  } finally {
    for (const { child } of servers.values()) child.removeAllListeners("exit");
    await Promise.all([...servers.values()].map(({ child }) => stop(child)));
  }
  const t = { rps: median(results.torsion.map((x) => x.rps)), p50: median(results.torsion.map((x) => x.p50)), p99: median(results.torsion.map((x) => x.p99)) };
  const n = { rps: median(results.node.map((x) => x.rps)), p50: median(results.node.map((x) => x.p50)), p99: median(results.node.map((x) => x.p99)) };
  console.log(
    `bench/web-workers: ${rounds} interleaved rounds of ${seconds} s, autocannon ${CONNECTIONS} connections, ` +
      `${WORKERS} worker processes each, 127.0.0.1, medians`,
  );
  console.log(`  torsion web --workers ${WORKERS}   ${t.rps.toFixed(0).padStart(7)} req/s   p50 ${t.p50} ms   p99 ${t.p99} ms`);
  console.log(`  node:http + node:cluster   ${n.rps.toFixed(0).padStart(7)} req/s   p50 ${n.p50} ms   p99 ${n.p99} ms`);
  console.log(`  ratio torsion/node: ${(t.rps / n.rps).toFixed(3)} (req/s)`);
}

function isProgram(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(HERE);
  } catch {
    return false;
  }
}

// Imported by torsion's workers for `hello`: only run when this file is the program.
if (isProgram()) {
  if (process.argv[2] === "node-server") serveNode();
  else await main();
}
