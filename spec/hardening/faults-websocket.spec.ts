// WebSocket faults on loopback: a peer that stops reading while the server sends (the producer
// is paused, memory stays bounded), and many connections opened and dropped at random (every
// counter back to idle).
import { expect } from "chai";
import * as net from "node:net";
import WebSocket from "ws";
import type { Failure } from "../../lib/internet/failure.js";
import type { IPushProducer } from "../../lib/internet/interfaces.js";
import { Resource } from "../../lib/web/resource.js";
import { Site } from "../../lib/web/server.js";
import { WebSocketResource } from "../../lib/web/websocket/resource.js";
import type { IWebSocketProtocol, WebSocketTransport } from "../../lib/web/websocket/transport.js";
import { loopback } from "../support/loopback.js";
import { later, until, within } from "../support/wait.js";

const HANDSHAKE =
  "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/** Sends 64 KiB binary messages for as long as it is not paused (a push producer on the WebSocket). */
class Flood implements IWebSocketProtocol, IPushProducer {
  t: WebSocketTransport | null = null;
  sent = 0;
  pauses = 0;
  paused = false;
  stopped = false;
  readonly lost = later<Failure>();
  private readonly chunk = Buffer.alloc(64 * 1024, 1);
  negotiationStarted(t: WebSocketTransport): void {
    this.t = t;
  }
  negotiationFinished(): void {
    this.t!.attachProducer(this, true);
    this.pump();
  }
  private pump(): void {
    // Writes until the transport pauses it (synchronously, from inside write) or 256 MiB.
    while (!this.paused && !this.stopped && this.sent < 256 * 1024 * 1024) {
      this.t!.sendBytesMessage(this.chunk);
      this.sent += this.chunk.length;
    }
  }
  pauseProducing(): void {
    this.paused = true;
    this.pauses++;
  }
  resumeProducing(): void {
    this.paused = false;
    setImmediate(() => this.pump());
  }
  stopProducing(): void {
    this.stopped = true;
  }
  connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

describe("faults: WebSocket", function () {
  this.timeout(60000);
  const lo = loopback();

  function serve(make: () => IWebSocketProtocol) {
    const resource = new WebSocketResource({ buildProtocol: make }, { clock: lo.reactor, closeTimeout: 1 });
    const root = new Resource();
    root.putChild("ws", resource);
    const site = new Site(root, { reactor: lo.reactor });
    const port = lo.listenTCP(site).getHost().port;
    return { port, resource, site };
  }

  it("a peer that stops reading pauses the producer: what the server holds stays bounded, and it resumes when the peer reads", async () => {
    const floods: Flood[] = [];
    const { port } = serve(() => (floods.push(new Flood()), floods.at(-1)!));
    const socket = net.connect(port, "127.0.0.1");
    lo.sockets.push(socket);
    socket.on("error", () => {});
    await within(new Promise((resolve) => socket.once("connect", resolve)), 2, "the connection");
    socket.write(HANDSHAKE);
    socket.pause(); // reads nothing from now on
    await until(() => floods[0]?.paused === true, 5, "the producer to be paused");
    const flood = floods[0]!;
    await within(new Promise((resolve) => lo.reactor.callLater(0.3, () => resolve(null))), 2, "a while");
    // The kernel's buffers and the transport's high-water mark hold a few MiB; nothing more was produced.
    expect(flood.sent).to.be.lessThan(32 * 1024 * 1024);
    const sentWhilePaused = flood.sent;
    expect(flood.paused).to.equal(true);
    // The peer reads again: the producer resumes and sends more.
    let read = 0;
    socket.on("data", (d: Buffer) => (read += d.length));
    socket.resume();
    await until(() => flood.sent > sentWhilePaused, 5, "the producer to resume");
    expect(read).to.be.greaterThan(0);
    socket.destroy();
    await within(flood.lost.promise, 5, "connectionLost");
  });

  it("1,000 connections opened and dropped at random points, 50 at a time: every counter back to idle", async () => {
    const { port, resource, site } = serve(() => ({ connectionLost: () => {}, textMessageReceived() {} }));
    const total = Number(process.env.WS_FAULT_CONNECTIONS ?? 1000);
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < total) {
        const i = started++;
        await new Promise<void>((resolve) => {
          const c = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          const end = (): void => {
            c.terminate();
            resolve();
          };
          c.on("error", () => resolve());
          c.on("close", () => resolve());
          // Dropped before the handshake answer, right after it, or after a message.
          if (i % 3 === 0) setImmediate(end);
          else
            c.once("open", () => {
              if (i % 3 === 1) end();
              else c.send("hello", () => end());
            });
        });
      }
    };
    await within(Promise.all(Array.from({ length: 50 }, lane)), 50, "every connection");
    await until(() => resource.statistics().open === 0, 10, "no WebSocket left open");
    const closed = Object.values(resource.statistics().closed).reduce((a, b) => a + b, 0);
    expect(closed + resource.statistics().refused).to.be.at.most(total);
    expect(resource.statistics().open).to.equal(0);
    await until(() => site.statistics().openChannels === 0, 10, "no connection left open on the Site");
  });
});
