/**
 * WebSocket benchmark: torsion's WebSocketResource on a Site against the `ws` library's server
 * (what Node users pick) and Autobahn|Python on Twisted (python3-autobahn), in the same run, on
 * 127.0.0.1, interleaved rounds; prints medians and the ratios.
 *
 *   (1) small: 50 clients each echoing a 32-byte text message in a loop; messages/s;
 *   (2) large: one client echoing 1 MiB binary messages in a loop; MiB/s.
 *
 * Each server runs in a child process of its own; the clients are the `ws` library's, the
 * same for every server, in this process.
 *
 *     node build/bench/websocket.js [rounds]        (default 5)
 */

import WebSocket, { WebSocketServer } from "ws";
import type { Failure } from "../lib/internet/failure.js";
import { Resource } from "../lib/web/resource.js";
import { Site } from "../lib/web/server.js";
import { WebSocketResource } from "../lib/web/websocket/resource.js";
import type { IWebSocketProtocol, WebSocketTransport } from "../lib/web/websocket/transport.js";
import { interleave } from "./support/rounds.js";
import { listenNode, listenTorsion, nodeServer, twistedServer, watchdog, withServers, type ServerSpec } from "./support/servers.js";
import { median, versusLine } from "./support/stats.js";
import * as http from "node:http";

const CLIENTS = 50;
const SMALL = "x".repeat(32);
const LARGE = Buffer.alloc(1 << 20, 0x61);
const SECONDS = 2;

// ---------------------------------------------------------------------------
// Servers (child processes)

class Echo implements IWebSocketProtocol {
  private t: WebSocketTransport | null = null;
  negotiationStarted(t: WebSocketTransport): void {
    this.t = t;
  }
  textMessageReceived(text: string): void {
    this.t!.sendTextMessage(text);
  }
  bytesMessageReceived(data: Buffer): void {
    this.t!.sendBytesMessage(data);
  }
  connectionLost(_reason: Failure): void {}
}

function serveTorsion(): void {
  const root = new Resource();
  root.putChild("", new WebSocketResource({ buildProtocol: () => new Echo() }, { maxMessageSize: 2 << 20 }));
  listenTorsion(new Site(root));
}

function serveWs(): void {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 2 << 20 });
  wss.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
  listenNode(server);
}

// ---------------------------------------------------------------------------
// Clients (this process)

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const c = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 2 << 20 });
    c.once("open", () => resolve(c));
    c.once("error", reject);
  });
}

/** Echo `message` in a loop on each of `clients` clients for SECONDS; echoes per second. */
async function measure(port: number, clients: number, message: string | Buffer): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: clients }, () => connect(port)));
  let count = 0;
  let running = true;
  const done = sockets.map(
    (c) =>
      new Promise<void>((resolve) => {
        c.on("message", () => {
          count++;
          if (running) c.send(message);
          else resolve();
        });
        c.send(message);
      }),
  );
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  const counted = count;
  await Promise.race([Promise.all(done), new Promise((resolve) => setTimeout(resolve, 5000))]);
  for (const c of sockets) c.terminate();
  return counted / elapsed;
}

type Side = "torsion" | "ws" | "twisted";

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const guard = watchdog("bench/websocket", 600);
  const twisted = await twistedServer("websocket_twisted.py", "autobahn.twisted.websocket");
  const sides: Side[] = twisted ? ["torsion", "ws", "twisted"] : ["torsion", "ws"];
  if (!twisted) console.log("(Autobahn on Twisted skipped: install the Debian package python3-autobahn)");
  const spec = (side: Side): ServerSpec =>
    side === "twisted" ? twisted! : nodeServer(side, import.meta.url, "server", side);
  await withServers(sides, spec, async (servers) => {
    const small = await interleave(sides, rounds, (side) => measure(servers[side].port, CLIENTS, SMALL));
    const large = await interleave(sides, rounds, async (side) => (await measure(servers[side].port, 1, LARGE)));
    const pad = (s: string): string => s.padEnd(28);
    for (const other of sides.slice(1)) {
      console.log(versusLine({ prefix: pad(`small, ${CLIENTS} clients`), unit: "msg/s", width: 7, ours: ["torsion", median(small.torsion)], theirs: [other, median(small[other])] }));
    }
    for (const other of sides.slice(1)) {
      console.log(versusLine({ prefix: pad("1 MiB messages, 1 client"), unit: "MiB/s", width: 5, ours: ["torsion", median(large.torsion)], theirs: [other, median(large[other])] }));
    }
  });
  clearTimeout(guard);
}

if (process.argv[2] === "server") {
  if (process.argv[3] === "torsion") serveTorsion();
  else serveWs();
} else {
  await main();
}
