/**
 * Reverse proxy benchmark: torsion's ReverseProxyResource against nginx's proxy_pass
 * (nginx-light) and Twisted's ReverseProxyResource (bench/proxy_twisted.py), each in a process of
 * its own in front of the same node:http upstream, on 127.0.0.1, interleaved rounds: 50
 * keep-alive connections of autocannon, GET /hello, requests per second.
 *
 * Then the disconnect chain measured, in this process: 1,000 browser requests through
 * ReverseProxyResource to a streaming torsion upstream, aborted at random points, 20 at a time:
 * how long the upstream takes to see each one lost, and that the proxy is idle afterwards.
 *
 *     node build/bench/proxy.js [rounds]        (default 5)
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { reactor } from "../lib/internet/reactor.js";
import type { IRequest } from "../lib/web/iweb.js";
import { ReverseProxyResource } from "../lib/web/proxy.js";
import { Resource } from "../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../lib/web/server.js";
import { autocannonRound } from "./support/load.js";
import { interleave } from "./support/rounds.js";
import { atExit, listenNode, listenTorsion, nodeServer, twistedServer, watchdog, withServer, withServers, type ServerSpec } from "./support/servers.js";
import { median } from "./support/stats.js";

const NGINX = "/usr/sbin/nginx";
const ROUND_SECONDS = 3;
const CONNECTIONS = 50;
const ABORTED = 1000;
const HELLO = Buffer.from("Hello, world!\n");

type Side = "torsion" | "nginx" | "twisted";

// ---------------------------------------------------------------------------
// Servers (child processes)

function serveUpstream(): void {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(HELLO.length) });
    res.end(HELLO);
  });
  server.keepAliveTimeout = 60_000;
  listenNode(server);
}

function serveTorsionProxy(upstreamPort: number): void {
  const site = new Site(new ReverseProxyResource("127.0.0.1", upstreamPort, ""));
  (site as unknown as { log: () => void }).log = () => {};
  listenTorsion(site);
}

/** nginx in a temporary directory, proxy_pass with upstream keepalive, one worker (as torsion has one process). */
function nginxSpec(upstreamPort: number, dir: string): ServerSpec {
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : "";
  writeFileSync(
    join(dir, "nginx.conf"),
    `${user}daemon off;\nmaster_process off;\nworker_processes 1;\npid ${join(dir, "nginx.pid")};\nerror_log ${join(dir, "error.log")} warn;\n` +
      `events { worker_connections 1024; }\nhttp {\n  access_log off;\n` +
      ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${join(dir, "tmp", t)};\n`).join("") +
      `  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }\n` +
      `  server { listen 127.0.0.1:0; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }\n}\n`,
  );
  return { name: "nginx", command: NGINX, args: ["-p", dir + "/", "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")] };
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

// ---------------------------------------------------------------------------
// The disconnect chain, in this process

async function disconnectChain(): Promise<string> {
  let started = 0;
  let lost = 0;
  const lostAfter: number[] = [];
  const aborts = new Map<number, number>();
  class Streaming extends Resource {
    override isLeaf = true;
    render_GET(request: IRequest): typeof NOT_DONE_YET {
      const id = Number(request.getHeader("x-id"));
      started++;
      const timer = setInterval(() => request.write(Buffer.alloc(4096, 0x63)), 2);
      request.notifyFinish().addBoth(() => {
        clearInterval(timer);
        return null;
      });
      request.notifyFinish().addErrback(() => {
        lost++;
        const at = aborts.get(id);
        if (at !== undefined) lostAfter.push(performance.now() - at);
      });
      return NOT_DONE_YET;
    }
  }
  const upstreamSite = new Site(new Streaming());
  upstreamSite.noisy = false;
  const upstream = reactor.listenTCP(0, upstreamSite, { interface: "127.0.0.1" });
  const proxy = new ReverseProxyResource("127.0.0.1", (upstream.getHost() as { port: number }).port, "");
  const proxySite = new Site(proxy);
  proxySite.noisy = false;
  const front = reactor.listenTCP(0, proxySite, { interface: "127.0.0.1" });
  const port = (front.getHost() as { port: number }).port;
  let next = 0;
  const start = performance.now();
  const one = (id: number): Promise<void> =>
    new Promise((resolve) => {
      const req = http.request({ host: "127.0.0.1", port, path: "/s", agent: false, headers: { "x-id": String(id) } });
      req.on("error", () => resolve());
      const abort = (): void => {
        aborts.set(id, performance.now());
        req.destroy();
        resolve();
      };
      if (Math.random() < 0.2) setTimeout(abort, Math.random() * 5);
      else {
        const limit = Math.floor(Math.random() * 64_000);
        req.on("response", (res) => {
          let got = 0;
          res.on("data", (d: Buffer) => {
            got += d.length;
            if (got >= limit) abort();
          });
        });
      }
      req.end();
    });
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < ABORTED) await one(next++);
    }),
  );
  const deadline = performance.now() + 10_000;
  while ((proxy.counters.inFlight > 0 || lost < started) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - start) / 1000;
  await front.stopListening();
  await proxy.pool.closeCachedConnections();
  await upstream.stopListening();
  lostAfter.sort((a, b) => a - b);
  const p = (q: number): string => (lostAfter.length ? lostAfter[Math.min(lostAfter.length - 1, Math.floor(q * lostAfter.length))].toFixed(1) : "n/a");
  return (
    `disconnect chain: ${ABORTED} requests aborted at random points, 20 at a time, in ${elapsed.toFixed(1)} s: ` +
    `upstream saw ${lost} of ${started} lost (after the abort: median ${p(0.5)} ms, p99 ${p(0.99)} ms); ` +
    `proxy in flight ${proxy.counters.inFlight}, idle pooled ${proxy.pool.idleConnections}, aborted by client ${proxy.counters.abortedByClient}`
  );
}

// ---------------------------------------------------------------------------

/** Start nginx on `port` (its readiness: a connection succeeds), stopped by its PID when the run ends. */
async function startNginx(upstreamPort: number, port: number, dir: string): Promise<ChildProcess> {
  const spec = nginxSpec(upstreamPort, dir);
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, readFileSync(conf, "utf8").replace("listen 127.0.0.1:0;", `listen 127.0.0.1:${port};`));
  const child = spawn(spec.command!, spec.args, { stdio: "ignore" });
  atExit(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  });
  const deadline = performance.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: see ${join(dir, "error.log")}`);
    if (performance.now() > deadline) throw new Error("nginx did not listen within 10 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const dog = watchdog("bench/proxy", 600);
  await withServer(nodeServer("upstream", import.meta.url, "upstream"), async (upstream) => {
    const dir = mkdtempSync(join(tmpdir(), "torsion-bench-nginx-"));
    const specs: Partial<Record<Side, ServerSpec>> = { torsion: nodeServer("torsion", import.meta.url, "torsion", String(upstream.port)) };
    const twisted = await twistedServer("proxy_twisted.py", "twisted.web.proxy", [String(upstream.port)]);
    if (twisted !== null) specs.twisted = twisted;
    else console.log("bench/proxy: Twisted skipped (needs the Debian package python3-twisted)");
    let nginx: ChildProcess | null = null;
    let nginxPort = 0;
    try {
      if (existsSync(NGINX)) {
        nginxPort = await freePort();
        nginx = await startNginx(upstream.port, nginxPort, dir);
      } else console.log("bench/proxy: nginx skipped (needs the Debian package nginx-light)");
      const spawned = Object.keys(specs) as Side[];
      await withServers(spawned, (side) => specs[side]!, async (servers) => {
        const ports: Partial<Record<Side, number>> = {};
        for (const side of spawned) ports[side] = servers[side].port;
        if (nginx !== null) ports.nginx = nginxPort;
        const sides = (["torsion", "nginx", "twisted"] as Side[]).filter((s) => ports[s] !== undefined);
        const results = await interleave(sides, rounds, async (side) => {
          const r = await autocannonRound(`http://127.0.0.1:${ports[side]}/hello`, CONNECTIONS, ROUND_SECONDS);
          return r.requests.average;
        });
        console.log(`bench/proxy: ${rounds} interleaved rounds of ${ROUND_SECONDS} s, ${CONNECTIONS} keep-alive connections (autocannon), GET /hello through each proxy to one node:http upstream, 127.0.0.1; medians`);
        const m = Object.fromEntries(sides.map((s) => [s, median(results[s])])) as Record<Side, number>;
        for (const side of sides) {
          const ratio = side === "torsion" ? "" : `   torsion/${side} ${(m.torsion / m[side]).toFixed(2)}`;
          console.log(`  ${side.padEnd(8)} ${m[side].toFixed(0).padStart(8)} req/s${ratio}`);
        }
      });
    } finally {
      if (nginx?.pid !== undefined && nginx.exitCode === null) process.kill(nginx.pid, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  });
  console.log(await disconnectChain());
  clearTimeout(dog);
  process.exit(0);
}

const [, , role, arg] = process.argv;
if (role === "upstream") serveUpstream();
else if (role === "torsion") serveTorsionProxy(Number(arg));
else void main();
