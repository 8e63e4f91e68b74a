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

/** Echoes per second from the server on `port`, over SECONDS. */
function echoRound(port: number): Promise<number> {
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
        resolve(replies / seconds);
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
    return interleave(impls, rounds, (impl) => echoRound(servers[impl].port));
  });
  const m = (impl: Impl): number => median(results[impl]);
  console.log(`bench/udp: ${rounds} interleaved rounds of ${SECONDS} s, ${WINDOW} datagrams of ${SIZE} B in flight, medians (servers in child processes, 127.0.0.1)`);
  const prefix = `${"echo datagrams".padEnd(16)} `;
  console.log(versusLine({ prefix, unit: "dgram/s", width: 7, ours: ["torsion", m("torsion")], theirs: ["node:dgram", m("node")] }));
  if (twisted) console.log(versusLine({ prefix, unit: "dgram/s", width: 7, ours: ["torsion", m("torsion")], theirs: ["Twisted listenUDP", m("twisted")] }));
  clearTimeout(dog);
}

if (process.argv[2] === "server") {
  if (process.argv[3] === "torsion") serveTorsion();
  else serveNode();
} else {
  await main();
}
