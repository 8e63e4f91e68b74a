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

import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import type { Bytes, IPushProducer } from "../lib/internet/interfaces.js";
import { Factory, Protocol } from "../lib/internet/protocol.js";
import { reactor } from "../lib/internet/reactor.js";
import type { FileDescriptor } from "../lib/internet/abstract.js";

const ECHO_COUNT = 20_000;
const ECHO_MESSAGE = Buffer.alloc(64, 0x78);
const BULK = 512 << 20;
const CHUNK = Buffer.alloc(64 << 10, 0x61);

type Impl = "torsion" | "node";

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

class BulkSender extends Protocol implements IPushProducer {
  private sent = 0;
  private paused = false;
  override connectionMade(): void {
    const t = this.transport as FileDescriptor;
    t.registerProducer(this, true);
    this.resumeProducing();
  }
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
    const t = this.transport as FileDescriptor;
    while (!this.paused && this.sent < BULK) {
      this.sent += CHUNK.length;
      t.write(CHUNK);
    }
    if (this.sent >= BULK && !this.paused) {
      t.unregisterProducer();
      t.loseConnection();
    }
  }
  stopProducing(): void {
    this.paused = true;
  }
}

function serveTorsion(kind: string): void {
  const factory = Factory.forProtocol(kind === "echo" ? Echo : BulkSender);
  factory.noisy = false;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  void reactor.run();
  process.stdout.write(`${port.getHost().port}\n`);
}

function serveNode(kind: string): void {
  const server = net.createServer((socket) => {
    if (kind === "echo") {
      socket.setNoDelay(true);
      socket.on("data", (d) => socket.write(d));
      return;
    }
    let sent = 0;
    const pump = (): void => {
      while (sent < BULK) {
        sent += CHUNK.length;
        if (!socket.write(CHUNK)) {
          socket.once("drain", pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
}

// ---------------------------------------------------------------------------
// Client (this process)

function startServer(kind: string, impl: Impl): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "server", kind, impl], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.on("exit", (code) => reject(new Error(`${impl} ${kind} server exited (${code})`)));
  });
}

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const impls: Impl[] = ["torsion", "node"];
  const servers = new Map<string, { port: number; child: ChildProcess }>();
  for (const kind of ["echo", "bulk"]) for (const impl of impls) servers.set(`${kind}/${impl}`, await startServer(kind, impl));
  const results: Record<string, number[]> = {};
  try {
    // warm-up, not counted
    for (const impl of impls) {
      await echoRound(servers.get(`echo/${impl}`)!.port);
      await bulkRound(servers.get(`bulk/${impl}`)!.port);
    }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...impls].reverse() : impls;
      for (const impl of order) {
        (results[`echo/${impl}`] ??= []).push(await echoRound(servers.get(`echo/${impl}`)!.port));
        (results[`bulk/${impl}`] ??= []).push(await bulkRound(servers.get(`bulk/${impl}`)!.port));
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const line = (name: string, unit: string, key: string): void => {
    const t = median(results[`${key}/torsion`]);
    const n = median(results[`${key}/node`]);
    console.log(
      `${name.padEnd(40)} torsion ${t.toFixed(0).padStart(8)} ${unit}   node:net ${n.toFixed(0).padStart(8)} ${unit}   ratio ${(t / n).toFixed(3)}`,
    );
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
