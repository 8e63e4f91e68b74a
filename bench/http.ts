/**
 * HTTP/1.1 benchmark: torsion's HTTPChannel/Request against node:http, serving the same
 * "hello world" over keep-alive connections, in the same run, on 127.0.0.1, interleaved rounds;
 * prints medians and the ratio torsion/node:http (requests per second, higher is better).
 *
 * Each server runs in a child process of its own (this file, with "server <impl>"); the load
 * comes from this process: CONNECTIONS keep-alive connections, each sending its next request
 * as soon as the previous response has arrived (no pipelining), for SECONDS per round. Both
 * servers answer with the same body and a Content-Length, as a hello-world handler does.
 *
 *     node build/bench/http.js [rounds] [seconds]        (defaults 5 and 2)
 */

import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { reactor } from "../lib/internet/reactor.js";
import { HTTPFactory } from "../lib/web/http-factory.js";
import { Request } from "../lib/web/http-request.js";

const CONNECTIONS = 50;
const BODY = Buffer.from("Hello, world!\n");
const REQUEST = Buffer.from("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");

type Impl = "torsion" | "node";

// ---------------------------------------------------------------------------
// Servers (child processes)

class Hello extends Request {
  override process(): void {
    this.setHeader("content-type", "text/plain");
    this.setHeader("content-length", "14");
    this.write(BODY);
    this.finish();
  }
}

function serveTorsion(): void {
  const factory = new HTTPFactory({ requestFactory: Hello });
  (factory as { noisy?: boolean }).noisy = false;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  void reactor.run();
  process.stdout.write(`${(port.getHost() as { port: number }).port}\n`);
}

function serveNode(): void {
  const server = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/plain");
    res.setHeader("content-length", "14");
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
}

// ---------------------------------------------------------------------------
// Client (this process)

function startServer(impl: Impl): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "server", impl], {
    stdio: ["ignore", "pipe", "inherit"],
  });
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

/** Requests per second over `seconds`, with CONNECTIONS keep-alive connections. */
function round(port: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let responses = 0;
    let open = 0;
    let stopping = false;
    const sockets: net.Socket[] = [];
    const marker = BODY;
    const start = performance.now();
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = net.connect(port, "127.0.0.1");
      s.setNoDelay(true);
      sockets.push(s);
      let tail: Buffer = Buffer.alloc(0);
      s.on("error", (err) => {
        if (!stopping) reject(err);
      });
      s.on("connect", () => {
        open++;
        s.write(REQUEST);
      });
      s.on("data", (d: Buffer) => {
        // Each response ends with BODY: count them, allowing for a body split across reads.
        const data = tail.length ? Buffer.concat([tail, d]) : d;
        let at = data.indexOf(marker);
        let done = 0;
        let last = -1;
        while (at !== -1) {
          done++;
          last = at + marker.length;
          at = data.indexOf(marker, last);
        }
        tail = last === -1 ? data.subarray(Math.max(0, data.length - marker.length)) : data.subarray(Math.max(last, data.length - marker.length));
        responses += done;
        if (done && !stopping) s.write(REQUEST);
      });
    }
    setTimeout(() => {
      stopping = true;
      const secs = (performance.now() - start) / 1000;
      for (const s of sockets) s.destroy();
      if (open !== CONNECTIONS) reject(new Error(`only ${open} of ${CONNECTIONS} connections opened`));
      else resolve(responses / secs);
    }, seconds * 1000);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const seconds = Number(process.argv[3] ?? 2);
  const impls: Impl[] = ["torsion", "node"];
  const servers = new Map<Impl, { port: number; child: ChildProcess }>();
  for (const impl of impls) servers.set(impl, await startServer(impl));
  const results: Record<Impl, number[]> = { torsion: [], node: [] };
  try {
    for (const impl of impls) await round(servers.get(impl)!.port, 1); // warm-up, not counted
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...impls].reverse() : impls;
      for (const impl of order) results[impl].push(await round(servers.get(impl)!.port, seconds));
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const t = median(results.torsion);
  const n = median(results.node);
  console.log(`bench/http: ${rounds} interleaved rounds of ${seconds} s, medians (servers in child processes, 127.0.0.1)`);
  console.log(
    `${`hello world, ${CONNECTIONS} keep-alive connections`.padEnd(44)} torsion ${t.toFixed(0).padStart(7)} req/s   ` +
      `node:http ${n.toFixed(0).padStart(7)} req/s   ratio ${(t / n).toFixed(3)}`,
  );
}

if (process.argv[2] === "server") {
  if (process.argv[3] === "torsion") serveTorsion();
  else serveNode();
} else {
  await main();
}
