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

import cluster from "node:cluster";
import { realpathSync } from "node:fs";
import * as http from "node:http";
import { fileURLToPath } from "node:url";
import type { IRequest } from "../lib/web/iweb.js";
import { Resource } from "../lib/web/resource.js";
import { autocannonRound } from "./support/load.js";
import { interleave } from "./support/rounds.js";
import { withServers, type PeerServer, type ServerSpec } from "./support/servers.js";
import { median } from "./support/stats.js";

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

function serverSpec(impl: Impl): ServerSpec {
  const args =
    impl === "torsion"
      ? [MAIN, "web", "--workers", String(WORKERS), "--listen", "tcp:0:interface=127.0.0.1", "--resource", `${HERE}:hello`]
      : [HERE, "node-server"];
  // Both print "serving http://127.0.0.1:<port>/"; torsion prints its worker line after the URLs: wait for it, so both workers are up.
  const ready = (out: string): number | undefined => {
    const m = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
    return m && (impl === "node" || /workers \(pids/.test(out)) ? Number(m[1]) : undefined;
  };
  return { name: impl, args, cwd: ROOT, ready };
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
}

async function round(server: PeerServer, seconds: number): Promise<Round> {
  const result = await autocannonRound(`http://127.0.0.1:${server.port}/`, CONNECTIONS, seconds);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const seconds = Number(process.argv[3] ?? 3);
  const impls: Impl[] = ["torsion", "node"];
  const results = await withServers(impls, serverSpec, async (servers) => {
    for (const impl of impls) await round(servers[impl], 1); // warm-up, not counted
    return interleave(impls, rounds, (impl) => round(servers[impl], seconds));
  });
  const medians = (rs: Round[]): Round => ({ rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)) });
  const t = medians(results.torsion);
  const n = medians(results.node);
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
