// WebSocketTransport on a StringTransport and a Clock: the close handshake and its timeouts,
// the keep-alive, argument checks, and pausing. (The same on real sockets: resource.spec.ts,
// client.spec.ts.)
import { expect } from "chai";
import type { Failure } from "../../../lib/internet/failure.js";
import { ConnectionDone, ConnectionLost } from "../../../lib/internet/error.js";
import { Clock } from "../../../lib/internet/task.js";
import { StringTransportWithDisconnection } from "../../../lib/internet/testing.js";
import { encodeFrame, Opcode } from "../../../lib/web/websocket/frames.js";
import { type IWebSocketProtocol, WebSocketTransport, type WebSocketOptions } from "../../../lib/web/websocket/transport.js";

class Recorder implements IWebSocketProtocol {
  readonly events: string[] = [];
  reason: Failure | null = null;
  negotiationFinished(): void {
    this.events.push("open");
  }
  textMessageReceived(text: string): void {
    this.events.push(`text ${text}`);
  }
  pongReceived(payload: Buffer): void {
    this.events.push(`pong ${payload.toString()}`);
  }
  connectionLost(reason: Failure): void {
    this.events.push("lost");
    this.reason = reason;
  }
}

/** A server-side (or client-side) WebSocket on a StringTransport. */
function open(options: WebSocketOptions = {}, isServer = true) {
  const clock = new Clock();
  const tr = new StringTransportWithDisconnection();
  const proto = new Recorder();
  const ws = new WebSocketTransport(tr, proto, isServer, clock, options);
  tr.protocol = { makeConnection() {}, connectionMade() {}, dataReceived: (d) => ws.dataReceived(d), connectionLost: (r) => ws.connectionLost(r) };
  ws.start();
  return { clock, tr, proto, ws };
}

/** A frame from the peer: masked when the peer is a client. */
function fromPeer(opcode: Opcode, payload: Buffer | string, peerIsClient = true): Buffer {
  return Buffer.concat(encodeFrame(opcode, typeof payload === "string" ? Buffer.from(payload) : payload, { mask: peerIsClient }));
}

const close = (code: number, reason = ""): Buffer => {
  const p = Buffer.alloc(2 + Buffer.byteLength(reason));
  p.writeUInt16BE(code, 0);
  p.write(reason, 2);
  return p;
};

describe("WebSocketTransport", () => {
  it("server-initiated close: a close frame, then TCP closed when the peer answers; ConnectionDone", () => {
    const { tr, proto, ws } = open();
    tr.clear();
    ws.loseConnection(1000, "done");
    expect(tr.value().subarray(0, 4)).to.deep.equal(Buffer.from([0x88, 0x06, 0x03, 0xe8]));
    expect(tr.connected).to.equal(true);
    ws.dataReceived(fromPeer(Opcode.close, close(1000)));
    expect(tr.connected).to.equal(false);
    expect(proto.reason!.value).to.be.instanceOf(ConnectionDone);
    expect(ws.wasClean).to.equal(true);
    expect(ws.closeCode).to.equal(1000);
  });

  it("a peer that never answers the close is aborted after closeTimeout", () => {
    const { tr, clock, proto, ws } = open({ closeTimeout: 2 });
    ws.loseConnection();
    clock.advance(1.9);
    expect(tr.connected).to.equal(true);
    clock.advance(0.2);
    expect(tr.connected).to.equal(false);
    expect(proto.reason!.value).to.be.instanceOf(ConnectionLost);
    expect(ws.wasClean).to.equal(false);
  });

  it("a close from the peer is echoed with its code, and the server closes TCP", () => {
    const { tr, proto, ws } = open();
    tr.clear();
    ws.dataReceived(fromPeer(Opcode.close, close(4001, "bye")));
    expect(tr.value()).to.deep.equal(Buffer.from([0x88, 0x02, 0x0f, 0xa1]));
    expect(tr.connected).to.equal(false);
    expect(proto.reason!.value).to.be.instanceOf(ConnectionDone);
    expect([ws.closeCode, ws.closeReason]).to.deep.equal([4001, "bye"]);
  });

  it("a client waits for the server to close TCP after the close handshake, then aborts after closeTimeout", () => {
    const { tr, clock, ws } = open({ closeTimeout: 1 }, false);
    ws.loseConnection();
    ws.dataReceived(fromPeer(Opcode.close, close(1000), false));
    expect(tr.connected).to.equal(true);
    clock.advance(1);
    expect(tr.connected).to.equal(false);
  });

  it("answers a ping with a pong carrying its payload, and tells the protocol of pongs", () => {
    const { tr, proto, ws } = open();
    tr.clear();
    ws.dataReceived(fromPeer(Opcode.ping, "abc"));
    expect(tr.value()).to.deep.equal(Buffer.from([0x8a, 0x03, 0x61, 0x62, 0x63]));
    ws.dataReceived(fromPeer(Opcode.pong, "xyz"));
    expect(proto.events).to.include("pong xyz");
  });

  it("keep-alive: a ping after pingInterval idle seconds, abort when nothing comes back within pingTimeout", () => {
    const { tr, clock, proto, ws } = open({ pingInterval: 10, pingTimeout: 5 });
    tr.clear();
    clock.advance(9);
    ws.dataReceived(fromPeer(Opcode.text, "still here"));
    clock.advance(9);
    expect(tr.value().length).to.equal(0);
    clock.advance(1);
    expect(tr.value()).to.deep.equal(Buffer.from([0x89, 0x00]));
    clock.advance(5);
    expect(tr.connected).to.equal(false);
    expect(proto.reason!.value).to.be.instanceOf(ConnectionLost);
    expect(ws.closeCode).to.equal(1006);
  });

  it("keep-alive: a pong in time keeps the connection", () => {
    const { tr, clock, ws } = open({ pingInterval: 10, pingTimeout: 5 });
    clock.advance(10);
    ws.dataReceived(fromPeer(Opcode.pong, ""));
    clock.advance(5);
    expect(tr.connected).to.equal(true);
    expect(clock.getDelayedCalls()).to.have.length(1);
  });

  it("throws at once on wrong arguments, naming what was wrong", () => {
    const { ws } = open();
    expect(() => ws.sendTextMessage(Buffer.from("x") as unknown as string)).to.throw(TypeError, /sendTextMessage takes a string/);
    expect(() => ws.sendBytesMessage("x" as unknown as Buffer)).to.throw(TypeError, /use sendTextMessage/);
    expect(() => ws.ping(Buffer.alloc(126))).to.throw(RangeError, /125 bytes, not 126/);
    expect(() => ws.loseConnection(1005)).to.throw(RangeError, /1005 is not a close code/);
  });

  it("sends nothing after the close frame (RFC 6455 §5.5.1)", () => {
    const { tr, ws } = open();
    ws.loseConnection();
    tr.clear();
    ws.sendTextMessage("late");
    ws.ping();
    expect(tr.value().length).to.equal(0);
  });

  it("pauseProducing holds messages and pauses the transport; resumeProducing delivers them in order", () => {
    const { tr, proto, ws } = open();
    ws.pauseProducing();
    expect(tr.producerState).to.equal("paused");
    ws.dataReceived(Buffer.concat([fromPeer(Opcode.text, "one"), fromPeer(Opcode.text, "two")]));
    expect(proto.events).to.deep.equal(["open"]);
    ws.resumeProducing();
    expect(tr.producerState).to.equal("producing");
    expect(proto.events).to.deep.equal(["open", "text one", "text two"]);
  });

  it("connectionLost reaches the protocol once, whatever the path", () => {
    const { tr, proto, ws } = open();
    ws.abortConnection();
    ws.abortConnection();
    tr.loseConnection();
    expect(proto.events.filter((e) => e === "lost")).to.have.length(1);
  });

  it("a client masks every frame it sends", () => {
    const { tr, ws } = open({}, false);
    tr.clear();
    ws.sendTextMessage("hi");
    expect(tr.value()[1]! & 0x80).to.equal(0x80);
  });
});
