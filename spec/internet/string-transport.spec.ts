// lib/internet/string-transport.ts (twisted.internet.testing's StringTransport and
// StringTransportWithDisconnection; twisted/internet/test/test_testing.py's StringTransportTests).
import { expect } from "chai";
import { ConnectionAborted, ConnectionDone } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { IPushProducer } from "../../lib/internet/interfaces.js";
import { Protocol } from "../../lib/internet/protocol.js";
import { ipAddress, unixAddress } from "../../lib/internet/address.js";
import { StringTransport, StringTransportWithDisconnection } from "../../lib/internet/string-transport.js";

const producer: IPushProducer = {
  pauseProducing() {},
  resumeProducing() {},
  stopProducing() {},
};

describe("StringTransportTests", () => {
  let transport: StringTransport;
  beforeEach(() => {
    transport = new StringTransport();
  });

  it("test_interfaces: has the methods of ITransport, ITCPTransport, IConsumer and IPushProducer", () => {
    for (const name of [
      "write", "writeSequence", "loseConnection", "getPeer", "getHost", "abortConnection",
      "loseWriteConnection", "getTcpNoDelay", "setTcpNoDelay", "getTcpKeepAlive", "setTcpKeepAlive",
      "registerProducer", "unregisterProducer", "pauseProducing", "resumeProducing", "stopProducing",
    ]) {
      expect(typeof (transport as unknown as Record<string, unknown>)[name], name).to.equal("function");
    }
  });

  it("test_registerProducer: records the producer and whether it streams", () => {
    transport.registerProducer(producer, true);
    expect(transport.producer).to.equal(producer);
    expect(transport.streaming).to.equal(true);
  });

  it("test_disallowedRegisterProducer: a second registration raises and keeps the first", () => {
    transport.registerProducer(producer, true);
    const other = { resumeProducing() {}, stopProducing() {} };
    expect(() => transport.registerProducer(other, false)).to.throw(Error, "Cannot register two producers");
    expect(transport.producer).to.equal(producer);
    expect(transport.streaming).to.equal(true);
  });

  it("test_unregisterProducer: forgets the producer, so another can be registered", () => {
    const other = { resumeProducing() {}, stopProducing() {} };
    transport.registerProducer(producer, true);
    transport.unregisterProducer();
    expect(transport.producer).to.equal(null);
    expect(transport.streaming).to.equal(null);
    transport.registerProducer(other, false);
    expect(transport.producer).to.equal(other);
    expect(transport.streaming).to.equal(false);
  });

  it("test_invalidUnregisterProducer: unregistering with no producer raises", () => {
    expect(() => transport.unregisterProducer()).to.throw(Error);
  });

  it("test_initialProducerState: starts producing", () => {
    expect(transport.producerState).to.equal("producing");
  });

  it("test_pauseProducing: moves to paused", () => {
    transport.pauseProducing();
    expect(transport.producerState).to.equal("paused");
  });

  it("test_resumeProducing: moves back to producing", () => {
    transport.pauseProducing();
    transport.resumeProducing();
    expect(transport.producerState).to.equal("producing");
  });

  it("test_stopProducing: moves to stopped", () => {
    transport.stopProducing();
    expect(transport.producerState).to.equal("stopped");
  });

  it("test_stoppedTransportCannotPause: pausing after stopProducing raises", () => {
    transport.stopProducing();
    expect(() => transport.pauseProducing()).to.throw(Error);
  });

  it("test_stoppedTransportCannotResume: resuming after stopProducing raises", () => {
    transport.stopProducing();
    expect(() => transport.resumeProducing()).to.throw(Error);
  });

  it("test_disconnectingTransportCannotPause: pausing after loseConnection raises", () => {
    transport.loseConnection();
    expect(() => transport.pauseProducing()).to.throw(Error);
  });

  it("test_disconnectingTransportCannotResume: resuming after loseConnection raises", () => {
    transport.loseConnection();
    expect(() => transport.resumeProducing()).to.throw(Error);
  });

  it("lets a lenient transport pause and resume after loseConnection", () => {
    const lenient = new StringTransport({ lenient: true });
    lenient.loseConnection();
    lenient.pauseProducing();
    lenient.resumeProducing();
    expect(lenient.producerState).to.equal("producing");
  });

  it("test_loseConnectionSetsDisconnecting: loseConnection sets disconnecting", () => {
    expect(transport.disconnecting).to.equal(false);
    transport.loseConnection();
    expect(transport.disconnecting).to.equal(true);
  });

  it("abortConnection sets disconnected and disconnecting", () => {
    transport.abortConnection();
    expect(transport.disconnected).to.equal(true);
    expect(transport.disconnecting).to.equal(true);
  });

  it("records loseWriteConnection", () => {
    expect(transport.writeSideClosed).to.equal(false);
    transport.loseWriteConnection();
    expect(transport.writeSideClosed).to.equal(true);
  });

  it("test_specifiedHostAddress: getHost returns the address given", () => {
    const host = ipAddress("127.0.0.1", 80);
    expect(new StringTransport({ hostAddress: host }).getHost()).to.equal(host);
  });

  it("test_specifiedPeerAddress: getPeer returns the address given", () => {
    const peer = unixAddress("/tmp/sock");
    expect(new StringTransport({ peerAddress: peer }).getPeer()).to.equal(peer);
  });

  it("test_defaultHostAddress: getHost defaults to an IPv4Address", () => {
    expect(transport.getHost()).to.deep.equal({ type: "TCP", family: "IPv4", host: "10.0.0.1", port: 12345 });
  });

  it("test_defaultPeerAddress: getPeer defaults to an IPv4Address", () => {
    expect(transport.getPeer()).to.deep.equal({ type: "TCP", family: "IPv4", host: "192.168.1.1", port: 54321 });
  });

  it("lets tests set hostAddr and peerAddr after construction", () => {
    transport.peerAddr = ipAddress("::1", 9);
    expect(transport.getPeer()).to.deep.equal({ type: "TCP", family: "IPv6", host: "::1", port: 9 });
  });

  it("value() returns everything written since clear() as a Buffer", () => {
    transport.write(Buffer.from("hello "));
    transport.writeSequence([Buffer.from("wor"), new Uint8Array([0x6c, 0x64])]);
    expect(Buffer.isBuffer(transport.value())).to.equal(true);
    expect(transport.value().toString()).to.equal("hello world");
    transport.clear();
    expect(transport.value().length).to.equal(0);
    transport.write(Buffer.from("again"));
    expect(transport.value().toString()).to.equal("again");
  });

  it("records a copy, so a writer reusing its buffer does not change what was written", () => {
    const buf = Buffer.from("abc");
    transport.write(buf);
    buf.write("xyz");
    expect(transport.value().toString()).to.equal("abc");
  });

  it("write and writeSequence reject strings with a TypeError", () => {
    expect(() => transport.write("text" as unknown as Uint8Array)).to.throw(TypeError);
    expect(() => transport.writeSequence([Buffer.from("a"), "b" as unknown as Uint8Array])).to.throw(TypeError);
  });

  it("records TCP_NODELAY and keepalive", () => {
    expect(transport.getTcpNoDelay()).to.equal(false);
    expect(transport.getTcpKeepAlive()).to.equal(false);
    transport.setTcpNoDelay(true);
    transport.setTcpKeepAlive(true);
    expect(transport.getTcpNoDelay()).to.equal(true);
    expect(transport.getTcpKeepAlive()).to.equal(true);
  });
});

class LossRecorder extends Protocol {
  reasons: Failure[] = [];
  override connectionLost(reason: Failure): void {
    this.reasons.push(reason);
  }
}

describe("StringTransportWithDisconnection", () => {
  it("loseConnection calls connectionLost once with ConnectionDone", () => {
    const proto = new LossRecorder();
    const transport = new StringTransportWithDisconnection();
    transport.protocol = proto;
    proto.makeConnection(transport);
    transport.loseConnection();
    transport.loseConnection();
    expect(proto.reasons).to.have.length(1);
    expect(proto.reasons[0]!.check(ConnectionDone)).to.equal(ConnectionDone);
    expect(transport.connected).to.equal(false);
  });

  it("abortConnection calls connectionLost once with ConnectionAborted", () => {
    const proto = new LossRecorder();
    const transport = new StringTransportWithDisconnection();
    transport.protocol = proto;
    proto.makeConnection(transport);
    transport.abortConnection();
    transport.loseConnection();
    expect(proto.reasons).to.have.length(1);
    expect(proto.reasons[0]!.check(ConnectionAborted)).to.equal(ConnectionAborted);
    expect(transport.disconnected).to.equal(true);
  });
});
