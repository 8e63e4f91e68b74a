/**
 * HTTP client benchmark: torsion's Agent (pooled) against undici (Pool), node:http's request
 * with a keep-alive agent, and Twisted's Agent (bench/client_twisted.py, where python3-twisted
 * is installed), in the same run, interleaved rounds, against one node:http server in a child
 * process on 127.0.0.1.
 *
 *   (1) keep-alive GET /hello from 1 and from 50 concurrent lanes, for ROUND_SECONDS a round:
 *       requests per second;
 *   (2) one GET of a large body (1 GiB by default; BIG_MIB bounds it): MiB/s.
 *
 *     node build/bench/client.js [rounds]      (default 5; BIG_MIB=256 for a shorter run)
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as http from "node:http";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { Deferred } from "../lib/internet/deferred.js";
import type { Failure } from "../lib/internet/failure.js";
import type { Bytes, IProtocol, ITransport } from "../lib/internet/interfaces.js";
import { reactor } from "../lib/internet/reactor.js";
import { Agent } from "../lib/web/client/agent.js";
import { ResponseDone } from "../lib/web/client/errors.js";
import { HTTPConnectionPool } from "../lib/web/client/pool.js";
import { readBody } from "../lib/web/client/read-body.js";
import { writeBulk } from "./support/bulk.js";
import { inLanes } from "./support/load.js";
import { interleave } from "./support/rounds.js";
import { listenNode, nodeServer, watchdog, withServer } from "./support/servers.js";
import { median } from "./support/stats.js";

const ROUND_SECONDS = 2;
const BIG = Number(process.env.BIG_MIB ?? 1024) << 20;
const CHUNK = Buffer.alloc(64 << 10, 0x61);
const HELLO = Buffer.from("Hello, world!\n");
const PYTHON = "/usr/bin/python3";
const TWISTED_SCRIPT = fileURLToPath(new URL("../../bench/client_twisted.py", import.meta.url));

type Side = "torsion" | "undici" | "node:http" | "twisted";

// ---------------------------------------------------------------------------
// The server (child process)

function serve(): void {
  const server = http.createServer((req, res) => {
    if (req.url === "/big") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(BIG) });
      writeBulk(res, CHUNK, BIG);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(HELLO.length) });
    res.end(HELLO);
  });
  server.keepAliveTimeout = 60_000;
  listenNode(server);
}

// ---------------------------------------------------------------------------
// The clients (this process)

interface Client {
  hello(): Promise<unknown>;
  download(): Promise<number>;
  close(): Promise<void>;
}

/** Counts a body delivered by torsion's Response.deliverBody. */
class Counter implements IProtocol {
  count = 0;
  constructor(private readonly done: Deferred<number>) {}
  makeConnection(_t: ITransport): void {}
  connectionMade(): void {}
  dataReceived(data: Bytes): void {
    this.count += data.length;
  }
  connectionLost(reason: Failure): void {
    if (reason.check(ResponseDone)) this.done.callback(this.count);
    else this.done.errback(reason);
  }
}

function torsionClient(base: string, lanes: number): Client {
  const pool = new HTTPConnectionPool(reactor);
  pool.maxPersistentPerHost = lanes;
  const agent = new Agent(reactor, { pool });
  return {
    hello: async () => readBody(await agent.request("GET", `${base}/hello`)),
    download: async () => {
      const response = await agent.request("GET", `${base}/big`);
      const done = new Deferred<number>();
      response.deliverBody(new Counter(done));
      return done;
    },
    close: async () => {
      await pool.closeCachedConnections();
    },
  };
}

function undiciClient(base: string, lanes: number): Client {
  const pool = new Pool(base, { connections: lanes, pipelining: 1 });
  return {
    hello: async () => {
      const { body } = await pool.request({ path: "/hello", method: "GET" });
      return body.arrayBuffer();
    },
    download: async () => {
      const { body } = await pool.request({ path: "/big", method: "GET" });
      let n = 0;
      for await (const chunk of body) n += (chunk as Buffer).length;
      return n;
    },
    close: () => pool.close(),
  };
}

function nodeClient(base: string, lanes: number): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
  const url = new URL(base);
  const get = (path: string, onData: (d: Buffer) => void): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path, agent }, (res) => {
        res.on("data", onData);
        res.on("end", resolve);
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  return {
    hello: () => {
      const chunks: Buffer[] = [];
      return get("/hello", (d) => chunks.push(d)).then(() => Buffer.concat(chunks));
    },
    download: async () => {
      let n = 0;
      await get("/big", (d) => (n += d.length));
      return n;
    },
    close: async () => agent.destroy(),
  };
}

/** Twisted's Agent in a Python process of its own: its figure is what it prints. */
function twisted(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-W", "ignore::DeprecationWarning", TWISTED_SCRIPT, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      const m = /RESULT (\S+)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`client_twisted.py ${args[0]} exited with ${code}: ${out}`));
    });
  });
}

async function helloRate(side: Side, base: string, lanes: number): Promise<number> {
  if (side === "twisted") return twisted(["hello", `${base}/hello`, String(lanes), String(ROUND_SECONDS)]);
  const make = side === "torsion" ? torsionClient : side === "undici" ? undiciClient : nodeClient;
  const client = make(base, lanes);
  try {
    await inLanes({ lanes, seconds: 0.3 }, () => client.hello()); // warm the connections
    const start = performance.now();
    const n = await inLanes({ lanes, seconds: ROUND_SECONDS }, () => client.hello());
    return n / ((performance.now() - start) / 1000);
  } finally {
    await client.close();
  }
}

async function downloadRate(side: Side, base: string): Promise<number> {
  if (side === "twisted") return twisted(["download", `${base}/big`]);
  const make = side === "torsion" ? torsionClient : side === "undici" ? undiciClient : nodeClient;
  const client = make(base, 1);
  try {
    const start = performance.now();
    const n = await client.download();
    if (n !== BIG) throw new Error(`${side}: downloaded ${n} bytes, not ${BIG}`);
    return n / (1 << 20) / ((performance.now() - start) / 1000);
  } finally {
    await client.close();
  }
}

async function hasTwisted(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  const probe = spawn(PYTHON, ["-c", "import twisted.web.client"], { stdio: "ignore" });
  return new Promise((resolve) => {
    probe.on("exit", (code) => resolve(code === 0));
    probe.on("error", () => resolve(false));
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const dog = watchdog("bench/client", 900);
  const sides: Side[] = ["torsion", "undici", "node:http"];
  if (await hasTwisted()) sides.push("twisted");
  else console.log("bench/client: Twisted's Agent skipped (needs the Debian package python3-twisted)");
  await withServer(nodeServer("node:http", import.meta.url, "server"), async (server) => {
    const base = `http://127.0.0.1:${server.port}`;
    console.log(`bench/client: ${rounds} interleaved rounds of ${ROUND_SECONDS} s, medians; a node:http server in a child process, 127.0.0.1`);
    for (const lanes of [1, 50]) {
      const results = await interleave(sides, rounds, (side) => helloRate(side, base, lanes));
      const m = Object.fromEntries(sides.map((s) => [s, median(results[s])])) as Record<Side, number>;
      console.log(`keep-alive GET /hello, ${lanes} concurrent:`);
      for (const side of sides) {
        const ratio = side === "torsion" ? "" : `   torsion/${side} ${(m.torsion / m[side]).toFixed(2)}`;
        console.log(`  ${side.padEnd(10)} ${m[side].toFixed(0).padStart(8)} req/s${ratio}`);
      }
    }
    const downloadRounds = Math.max(1, Math.min(3, rounds));
    const results = await interleave(sides, downloadRounds, (side) => downloadRate(side, base));
    const m = Object.fromEntries(sides.map((s) => [s, median(results[s])])) as Record<Side, number>;
    console.log(`download of ${BIG >> 20} MiB (${downloadRounds} rounds):`);
    for (const side of sides) {
      const ratio = side === "torsion" ? "" : `   torsion/${side} ${(m.torsion / m[side]).toFixed(2)}`;
      console.log(`  ${side.padEnd(10)} ${m[side].toFixed(0).padStart(8)} MiB/s${ratio}`);
    }
  });
  clearTimeout(dog);
  process.exit(0);
}

if (process.argv[2] === "server") serve();
else void main();
