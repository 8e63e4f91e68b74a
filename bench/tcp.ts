/**
 * TCP transport benchmark: torsion against a plain node:net program doing the same, in the same
 * run, on 127.0.0.1, interleaved rounds; prints medians and the ratio torsion/node:net.
 *
 *   (1) echo: round trips per second on one connection, small messages, ping-pong;
 *   (2) bulk: a server sends BULK bytes (torsion through a push producer, node:net with
 *       write()/'drain'); the client counts them.
 *
 * Each server runs in a child process of its own (this file, with "server <kind> <impl>"), so
 * the servers and the client (plain node:net, the same for both) do not share a CPU.
 *
 *     node build/bench/tcp.js [rounds]        (default 7)
 */

import * as net from "node:net";
import type { Bytes } from "../lib/internet/interfaces.js";
import { Factory, Protocol } from "../lib/internet/protocol.js";
import type { FileDescriptor } from "../lib/internet/abstract.js";
import { BulkProducer, writeBulk } from "./support/bulk.js";
import { interleave } from "./support/rounds.js";
import { listenNode, listenTorsion, nodeServer, withServers } from "./support/servers.js";
import { median, versusLine } from "./support/stats.js";

const ECHO_COUNT = 20_000;
const ECHO_MESSAGE = Buffer.alloc(64, 0x78);
const BULK = 512 << 20;
const CHUNK = Buffer.alloc(64 << 10, 0x61);

type Impl = "torsion" | "node";
type Kind = "echo" | "bulk";
const KINDS: Kind[] = ["echo", "bulk"];

// ---------------------------------------------------------------------------
// Servers (child processes)

class Echo extends Protocol {
  override connectionMade(): void {
    (this.transport as FileDescriptor & { setTcpNoDelay(on: boolean): void }).setTcpNoDelay(true);
  }
  override dataReceived(data: Bytes): void {
    this.transport!.write(data);
  }
}

class BulkSender extends Protocol {
  override connectionMade(): void {
    const t = this.transport as FileDescriptor;
    new BulkProducer(t, CHUNK, BULK, () => t.loseConnection()).start();
  }
}

function serveTorsion(kind: string): void {
  listenTorsion(Factory.forProtocol(kind === "echo" ? Echo : BulkSender));
}

function serveNode(kind: string): void {
  const server = net.createServer((socket) => {
    if (kind === "echo") {
      socket.setNoDelay(true);
      socket.on("data", (d) => socket.write(d));
      return;
    }
    writeBulk(socket, CHUNK, BULK);
  });
  listenNode(server);
}

// ---------------------------------------------------------------------------
// Client (this process)

function echoRound(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    s.setNoDelay(true);
    let left = ECHO_COUNT;
    let got = 0;
    let start = 0;
    s.on("error", reject);
    s.on("connect", () => {
      start = performance.now();
      s.write(ECHO_MESSAGE);
    });
    s.on("data", (d: Buffer) => {
      got += d.length;
      if (got < ECHO_MESSAGE.length) return;
      got -= ECHO_MESSAGE.length;
      if (--left === 0) {
        const secs = (performance.now() - start) / 1000;
        s.destroy();
        resolve(ECHO_COUNT / secs);
      } else {
        s.write(ECHO_MESSAGE);
      }
    });
  });
}

function bulkRound(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = 0;
    const start = performance.now();
    s.on("error", reject);
    s.on("data", (d: Buffer) => {
      got += d.length;
    });
    s.on("end", () => {
      const secs = (performance.now() - start) / 1000;
      if (got !== BULK) reject(new Error(`bulk: got ${got} bytes, expected ${BULK}`));
      else resolve(got / (1 << 20) / secs);
      s.destroy();
    });
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const impls: Impl[] = ["torsion", "node"];
  const sides = KINDS.flatMap((kind) => impls.map((impl) => `${kind} ${impl}` as const));
  const spec = (side: `${Kind} ${Impl}`) => nodeServer(side, import.meta.url, "server", ...side.split(" "));
  const results = await withServers(sides, spec, async (servers) => {
    const both = async (impl: Impl): Promise<Record<Kind, number>> => ({
      echo: await echoRound(servers[`echo ${impl}`].port),
      bulk: await bulkRound(servers[`bulk ${impl}`].port),
    });
    for (const impl of impls) await both(impl); // warm-up, not counted
    return interleave(impls, rounds, both);
  });
  const line = (name: string, unit: string, kind: Kind): void => {
    const m = (impl: Impl): number => median(results[impl].map((x) => x[kind]));
    console.log(versusLine({ prefix: `${name.padEnd(40)} `, unit, width: 8, ours: ["torsion", m("torsion")], theirs: ["node:net", m("node")] }));
  };
  console.log(`bench/tcp: ${rounds} interleaved rounds, medians (servers in child processes, 127.0.0.1)`);
  line(`echo round trips (${ECHO_COUNT} x ${ECHO_MESSAGE.length} B)`, "rt/s", "echo");
  line(`bulk throughput (${BULK >> 20} MiB, 64 KiB chunks)`, "MiB/s", "bulk");
}

if (process.argv[2] === "server") {
  const [, , , kind, impl] = process.argv;
  if (impl === "torsion") serveTorsion(kind);
  else serveNode(kind);
} else {
  await main();
}
