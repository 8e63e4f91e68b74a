import { expect } from "chai";
import * as net from "node:net";
import WebSocket from "ws";
import type { Failure } from "../../../lib/internet/failure.js";
import { ConnectionDone } from "../../../lib/internet/error.js";
import type { IRequest } from "../../../lib/web/iweb.js";
import { Resource, StringResource } from "../../../lib/web/resource.js";
import { Site } from "../../../lib/web/server.js";
import type { IWebSocketProtocol, WebSocketTransport } from "../../../lib/web/websocket/transport.js";
import { WebSocketResource, type WebSocketResourceOptions } from "../../../lib/web/websocket/resource.js";
import { acceptKey } from "../../../lib/web/websocket/handshake.js";
import { loopback } from "../../support/loopback.js";
import { later, until, within } from "../../support/wait.js";

/** Echoes every message back, and records what it was told. */
class Echo implements IWebSocketProtocol {
  transport: WebSocketTransport | null = null;
  readonly events: string[] = [];
  readonly lost = later<Failure>();
  negotiationStarted(transport: WebSocketTransport): void {
    this.transport = transport;
    this.events.push("negotiationStarted");
  }
  negotiationFinished(): void {
    this.events.push("negotiationFinished");
  }
  textMessageReceived(text: string): void {
    this.events.push(`text ${text.length}`);
    this.transport!.sendTextMessage(text);
  }
  bytesMessageReceived(data: Buffer): void {
    this.events.push(`bytes ${data.length}`);
    this.transport!.sendBytesMessage(data);
  }
  connectionLost(reason: Failure): void {
    this.events.push("connectionLost");
    this.lost.resolve(reason);
  }
}

describe("WebSocketResource", () => {
  const lo = loopback();
  const clients: WebSocket[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.terminate();
  });

  function serve(options: WebSocketResourceOptions = {}, factory?: (request: IRequest) => IWebSocketProtocol | null) {
    const protocols: Echo[] = [];
    const ws = new WebSocketResource(
      {
        buildProtocol: factory ?? (() => {
          const p = new Echo();
          protocols.push(p);
          return p;
        }),
      },
      { clock: lo.reactor, ...options },
    );
    const root = new Resource();
    root.putChild("ws", ws);
    root.putChild("page", new StringResource("a page on the same port\n"));
    const site = new Site(root, { reactor: lo.reactor });
    const port = lo.listenTCP(site).getHost().port;
    return { port, resource: ws, protocols };
  }

  function open(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]): Promise<WebSocket> {
    const c = new WebSocket(url, protocols, options);
    clients.push(c);
    return within(
      new Promise((resolve, reject) => {
        c.once("open", () => resolve(c));
        c.once("error", reject);
        c.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      }),
      3,
      "the WebSocket to open",
    );
  }

  function next(c: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
    return within(new Promise((resolve) => c.once("message", (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))), 3, "a message");
  }

  for (const deflate of [false, true]) {
    describe(deflate ? "with permessage-deflate" : "without compression", () => {
      it("echoes text and binary messages to the ws library, small and 1 MiB, on the port that serves pages", async () => {
        const { port, protocols } = serve({ perMessageDeflate: deflate });
        const c = await open(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: deflate });
        expect(c.extensions.includes("permessage-deflate")).to.equal(deflate);
        c.send("héllo");
        const first = await next(c);
        expect(first.isBinary).to.equal(false);
        expect(first.data.toString("utf8")).to.equal("héllo");
        const big = Buffer.alloc(1024 * 1024, 7);
        big.write("start");
        c.send(big);
        const second = await next(c);
        expect(second.isBinary).to.equal(true);
        expect(second.data.equals(big)).to.equal(true);
        const page = await fetch(`http://127.0.0.1:${port}/page`);
        expect(await page.text()).to.equal("a page on the same port\n");
        expect(protocols[0]!.events.slice(0, 2)).to.deep.equal(["negotiationStarted", "negotiationFinished"]);
      });
    });
  }

  it("a close from the client ends in a clean close handshake: ConnectionDone with the code, counted by code", async () => {
    const { port, protocols, resource } = serve();
    const c = await open(`ws://127.0.0.1:${port}/ws`);
    await until(() => resource.statistics().open === 1, 2, "the connection to count as open");
    const closed = later<{ code: number; reason: string }>();
    c.on("close", (code, reason) => closed.resolve({ code, reason: reason.toString() }));
    c.close(4000, "bye now");
    const reason = await within(protocols[0]!.lost.promise, 3, "connectionLost");
    expect(reason.value).to.be.instanceOf(ConnectionDone);
    expect(protocols[0]!.transport!.closeCode).to.equal(4000);
    expect(protocols[0]!.transport!.closeReason).to.equal("bye now");
    expect(protocols[0]!.transport!.wasClean).to.equal(true);
    expect(await within(closed.promise, 3, "the client's close")).to.deep.equal({ code: 4000, reason: "" });
    expect(resource.statistics()).to.deep.equal({ open: 0, closed: { 4000: 1 }, refused: 0 });
  });

  it("loseConnection(1001) from the server is seen by the client with that code", async () => {
    const { port, protocols } = serve();
    const c = await open(`ws://127.0.0.1:${port}/ws`);
    const closed = later<number>();
    c.on("close", (code) => closed.resolve(code));
    await until(() => protocols.length === 1 && protocols[0]!.transport !== null, 2, "the protocol");
    protocols[0]!.transport!.loseConnection(1001, "going away");
    expect(await within(closed.promise, 3, "the client to see the close")).to.equal(1001);
    await within(protocols[0]!.lost.promise, 3, "connectionLost");
  });

  it("negotiates a subprotocol: the server's first preference that the client offers", async () => {
    const { port, protocols } = serve({ subprotocols: ["chat.v2", "chat.v1"] });
    const c = await open(`ws://127.0.0.1:${port}/ws`, {}, ["chat.v1", "chat.v2"]);
    expect(c.protocol).to.equal("chat.v2");
    await until(() => protocols[0]?.transport !== null && protocols[0]?.transport !== undefined, 2, "the protocol");
    expect(protocols[0]!.transport!.subprotocol).to.equal("chat.v2");
  });

  it("refuses an origin not allowed (403), and a factory's refusal with its status", async () => {
    const { port, resource } = serve({ allowedOrigins: ["http://good.example"] });
    await open(`ws://127.0.0.1:${port}/ws`, { origin: "http://good.example" });
    let refused: unknown = null;
    await open(`ws://127.0.0.1:${port}/ws`, { origin: "http://evil.example" }).catch((e: unknown) => (refused = e));
    expect(String(refused)).to.include("HTTP 403");
    expect(resource.statistics().refused).to.equal(1);
    const other = serve({}, (request) => {
      request.setResponseCode(401);
      return null;
    });
    refused = null;
    await open(`ws://127.0.0.1:${other.port}/ws`).catch((e: unknown) => (refused = e));
    expect(String(refused)).to.include("HTTP 401");
  });

  /** A raw handshake, for what no library client would send. */
  async function raw(port: number, head: string | Buffer): Promise<{ socket: net.Socket; response: () => string; closed: Promise<void> }> {
    const socket = await lo.connect(port);
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (text += d));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(head);
    return { socket, response: () => text, closed };
  }

  it("answers 426 with Sec-WebSocket-Version: 13 to another version, and 426 to a plain GET", async () => {
    const { port } = serve();
    const r = await raw(port, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    await until(() => r.response().includes("\r\n\r\n"), 2, "the response");
    expect(r.response()).to.match(/^HTTP\/1\.1 426 /);
    expect(r.response().toLowerCase()).to.include("sec-websocket-version: 13");
    const plain = await fetch(`http://127.0.0.1:${port}/ws`);
    expect(plain.status).to.equal(426);
  });

  it("answers the RFC's sample key with its accept value, and gives bytes sent right after the head to the protocol", async () => {
    const { port, protocols } = serve();
    // A masked text frame "Hello" (RFC 6455 §5.7), sent in the same write as the handshake.
    const frame = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    const head = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    const r = await raw(port, Buffer.concat([Buffer.from(head, "latin1"), frame]));
    await until(() => r.response().includes("Hello"), 3, "the echo of Hello");
    expect(r.response()).to.match(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(r.response().toLowerCase()).to.include(`sec-websocket-accept: ${acceptKey("dGhlIHNhbXBsZSBub25jZQ==")}`.toLowerCase());
    expect(acceptKey("dGhlIHNhbXBsZSBub25jZQ==")).to.equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect(r.response().toLowerCase()).to.not.include("transfer-encoding");
    expect(protocols[0]!.events).to.include("text 5");
  });

  it("an unmasked client frame is a protocol error: close 1002, and the connection ends", async () => {
    const { port, protocols } = serve();
    const r = await raw(port, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    await until(() => r.response().includes("\r\n\r\n"), 2, "the 101");
    r.socket.write(Buffer.from([0x81, 0x05, ...Buffer.from("Hello")]));
    await within(r.closed, 3, "the server to close");
    const after = Buffer.from(r.response().split("\r\n\r\n")[1]!, "latin1");
    expect(after[0]).to.equal(0x88);
    expect(after.readUInt16BE(2)).to.equal(1002);
    await within(protocols[0]!.lost.promise, 3, "connectionLost");
    expect(protocols[0]!.transport!.closeCode).to.equal(1002);
  });

  it("a client that vanishes without a FIN is found by the keep-alive ping and ends in connectionLost", async () => {
    const { port, protocols } = serve({ pingInterval: 0.2, pingTimeout: 0.2 });
    const r = await raw(port, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    await until(() => r.response().includes("\r\n\r\n"), 2, "the 101");
    // The raw client never answers pings: to the server it is a peer that went away.
    const reason = await within(protocols[0]!.lost.promise, 3, "connectionLost from the keep-alive");
    expect(reason.value).to.not.be.instanceOf(ConnectionDone);
    expect(protocols[0]!.transport!.closeCode).to.equal(1006);
  });

  it("closeAll() sends 1001 to every WebSocket (graceful shutdown)", async () => {
    const { port, resource } = serve();
    const codes: number[] = [];
    const a = await open(`ws://127.0.0.1:${port}/ws`);
    const b = await open(`ws://127.0.0.1:${port}/ws`);
    const both = Promise.all([a, b].map((c) => new Promise<void>((resolve) => c.on("close", (code) => (codes.push(code), resolve())))));
    await until(() => resource.statistics().open === 2, 2, "two open");
    resource.closeAll();
    await within(both, 3, "both to close");
    expect(codes).to.deep.equal([1001, 1001]);
    await until(() => resource.statistics().open === 0, 2, "the counters back to idle");
    expect(resource.statistics().closed).to.deep.equal({ 1001: 2 });
  });

  it("the reactor's shutdown closes every WebSocket with 1001 first, and waits for them", async () => {
    const { port } = serve();
    const c = await open(`ws://127.0.0.1:${port}/ws`);
    const closed = later<number>();
    c.on("close", (code) => closed.resolve(code));
    const running = lo.reactor.run();
    lo.reactor.stop();
    expect(await within(closed.promise, 5, "the client to see the close")).to.equal(1001);
    await within(running, 5, "the reactor to stop");
  });

  it("a client sending a 100 MiB message gets 1009 from the frame head (the default 16 MiB limit): nothing of it is delivered", async () => {
    const { port, protocols } = serve();
    const c = await open(`ws://127.0.0.1:${port}/ws`);
    const closed = later<number>();
    c.on("close", (code) => closed.resolve(code));
    c.send(Buffer.alloc(100 * 1024 * 1024));
    expect(await within(closed.promise, 10, "the close")).to.equal(1009);
    expect(protocols[0]!.events.filter((e) => e.startsWith("bytes"))).to.deep.equal([]);
    expect(protocols[0]!.transport!.closeCode).to.equal(1009);
  });

  it("a message over a smaller maxMessageSize is refused the same way", async () => {
    const { port, protocols } = serve({ maxMessageSize: 64 * 1024 });
    const c = await open(`ws://127.0.0.1:${port}/ws`);
    const closed = later<number>();
    c.on("close", (code) => closed.resolve(code));
    c.send(Buffer.alloc(64 * 1024 + 1));
    expect(await within(closed.promise, 3, "the close")).to.equal(1009);
    expect(protocols[0]!.events.filter((e) => e.startsWith("bytes"))).to.deep.equal([]);
  });

});
