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

import * as http from "node:http";
import * as net from "node:net";
import { HTTPFactory } from "../lib/web/http-factory.js";
import { Request } from "../lib/web/http-request.js";
import { interleave } from "./support/rounds.js";
import { listenNode, listenTorsion, nodeServer, withServers } from "./support/servers.js";
import { median, versusLine } from "./support/stats.js";

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
  listenTorsion(new HTTPFactory({ requestFactory: Hello }));
}

function serveNode(): void {
  const server = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/plain");
    res.setHeader("content-length", "14");
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  listenNode(server);
}

// ---------------------------------------------------------------------------
// Client (this process)

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

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const seconds = Number(process.argv[3] ?? 2);
  const impls: Impl[] = ["torsion", "node"];
  const results = await withServers(impls, (impl) => nodeServer(impl, import.meta.url, "server", impl), async (servers) => {
    for (const impl of impls) await round(servers[impl].port, 1); // warm-up, not counted
    return interleave(impls, rounds, (impl) => round(servers[impl].port, seconds));
  });
  console.log(`bench/http: ${rounds} interleaved rounds of ${seconds} s, medians (servers in child processes, 127.0.0.1)`);
  console.log(
    versusLine({
      prefix: `${`hello world, ${CONNECTIONS} keep-alive connections`.padEnd(44)} `,
      unit: "req/s",
      width: 7,
      ours: ["torsion", median(results.torsion)],
      theirs: ["node:http", median(results.node)],
    }),
  );
}

if (process.argv[2] === "server") {
  if (process.argv[3] === "torsion") serveTorsion();
  else serveNode();
} else {
  await main();
}
