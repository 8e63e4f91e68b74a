/**
 * UDP echo benchmark: datagrams per second echoed by torsion's listenUDP, by a node:dgram
 * program doing the same, and by Twisted's listenUDP (bench/udp_twisted.py, where
 * /usr/bin/python3 has Twisted), each server in a child process of its own, on 127.0.0.1.
 * The client (node:dgram, the same for all) keeps WINDOW datagrams of SIZE bytes in flight for
 * SECONDS a round, topping the window up if datagrams are lost; rounds are interleaved and the
 * medians and ratios printed.
 *
 *     node build/bench/udp.js [rounds]        (default 5)
 */

import * as dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { DatagramProtocol } from "../lib/internet/datagram-protocol.js";
import type { Bytes, UDPPeer } from "../lib/internet/interfaces.js";
import { reactor } from "../lib/internet/reactor.js";
import { interleave } from "./support/rounds.js";
import { announcePort, nodeServer, twistedServer, watchdog, withServers, type ServerSpec } from "./support/servers.js";
import { median, versusLine } from "./support/stats.js";

const WINDOW = 32;
const SIZE = 64;
const SECONDS = 2;

type Impl = "torsion" | "node" | "twisted";

// ---------------------------------------------------------------------------
// Servers (child processes)

class Echo extends DatagramProtocol {
  override datagramReceived(datagram: Bytes, addr: UDPPeer): void {
    this.transport!.write(datagram, addr);
  }
}

function serveTorsion(): void {
  const port = reactor.listenUDP(0, new Echo(), { interface: "127.0.0.1" });
  void reactor.run();
  announcePort(port.getHost().port);
}

function serveNode(): void {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  socket.bind(0, "127.0.0.1", () => announcePort(socket.address().port));
}

// ---------------------------------------------------------------------------
// Client (this process)

/** CPU seconds the process `pid` has used in user space and in the kernel, from /proc (ticks of 1/100 s). */
function cpuSeconds(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

interface Round {
  /** Echoes per second. */
  rate: number;
  /** The server's CPU microseconds per echoed datagram (user and system). */
  cpu: number;
  /** The same, in user space only: the cost of the server's own code and runtime. */
  user: number;
}

/** One round against the server `pid` on `port`: its rate and what each echo cost its CPU. */
async function measure(pid: number, port: number): Promise<Round> {
  const before = cpuSeconds(pid);
  const { rate, count } = await echoRound(port);
  const after = cpuSeconds(pid);
  const user = after.user - before.user;
  return { rate, cpu: ((user + after.system - before.system) * 1e6) / count, user: (user * 1e6) / count };
}

/** Echoes per second from the server on `port`, over SECONDS, and how many there were. */
function echoRound(port: number): Promise<{ rate: number; count: number }> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const payload = Buffer.alloc(SIZE, 0x78);
    let replies = 0;
    let lastReply = performance.now();
    let start = 0;
    socket.on("error", reject);
    socket.on("message", () => {
      replies++;
      lastReply = performance.now();
      socket.send(payload);
    });
    socket.connect(port, "127.0.0.1", () => {
      start = performance.now();
      for (let i = 0; i < WINDOW; i++) socket.send(payload);
      // datagrams may be lost (a full socket buffer): refill the window when the echoes stall
      const refill = setInterval(() => {
        if (performance.now() - lastReply > 20) for (let i = 0; i < WINDOW; i++) socket.send(payload);
      }, 20);
      setTimeout(() => {
        clearInterval(refill);
        const seconds = (performance.now() - start) / 1000;
        socket.close();
        resolve({ rate: replies / seconds, count: replies });
      }, SECONDS * 1000);
    });
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const dog = watchdog("bench/udp", 60 + rounds * 3 * (SECONDS + 1));
  const twisted = await twistedServer("udp_twisted.py", "twisted.internet.udp");
  const impls: Impl[] = twisted ? ["torsion", "node", "twisted"] : ["torsion", "node"];
  if (!twisted) console.log("bench/udp: Twisted is not installed for /usr/bin/python3 (Debian: python3-twisted); comparing with node:dgram only");
  const spec = (impl: Impl): ServerSpec => (impl === "twisted" ? twisted! : nodeServer(impl, import.meta.url, "server", impl));
  const results = await withServers(impls, spec, async (servers) => {
    for (const impl of impls) await echoRound(servers[impl].port); // warm-up, not counted
    return interleave(impls, rounds, (impl) => measure(servers[impl].pid, servers[impl].port));
  });
  const m = (impl: Impl): number => median(results[impl].map((r) => r.rate));
  // per datagram, less is better: the ratio printed is theirs over ours, as for a rate
  const c = (impl: Impl): number => 1 / median(results[impl].map((r) => r.cpu));
  const u = (impl: Impl): number => 1 / median(results[impl].map((r) => r.user));
  console.log(`bench/udp: ${rounds} interleaved rounds of ${SECONDS} s, ${WINDOW} datagrams of ${SIZE} B in flight, medians (servers in child processes, 127.0.0.1)`);
  const prefix = `${"echo datagrams".padEnd(34)} `;
  console.log(versusLine({ prefix, unit: "dgram/s", width: 7, ours: ["torsion", m("torsion")], theirs: ["node:dgram", m("node")] }));
  if (twisted) console.log(versusLine({ prefix, unit: "dgram/s", width: 7, ours: ["torsion", m("torsion")], theirs: ["Twisted listenUDP", m("twisted")] }));
  // The client is one node:dgram socket doing what the server does, so the rates above are
  // bounded by the client too; the server's own CPU per echo shows what each server costs.
  const cpuPrefix = `${"echoes per server CPU s".padEnd(34)} `;
  console.log(versusLine({ prefix: cpuPrefix, unit: "/cpu-s", width: 7, ours: ["torsion", c("torsion") * 1e6], theirs: ["node:dgram", c("node") * 1e6] }));
  if (twisted) console.log(versusLine({ prefix: cpuPrefix, unit: "/cpu-s", width: 7, ours: ["torsion", c("torsion") * 1e6], theirs: ["Twisted listenUDP", c("twisted") * 1e6] }));
  const userPrefix = `${"echoes per server user-space CPU s".padEnd(34)} `;
  console.log(versusLine({ prefix: userPrefix, unit: "/cpu-s", width: 7, ours: ["torsion", u("torsion") * 1e6], theirs: ["node:dgram", u("node") * 1e6] }));
  if (twisted) console.log(versusLine({ prefix: userPrefix, unit: "/cpu-s", width: 7, ours: ["torsion", u("torsion") * 1e6], theirs: ["Twisted listenUDP", u("twisted") * 1e6] }));
  clearTimeout(dog);
}

if (process.argv[2] === "server") {
  if (process.argv[3] === "torsion") serveTorsion();
  else serveNode();
} else {
  await main();
}
