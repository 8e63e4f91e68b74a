import { expect } from "chai";
import { CannotListenError, ConnectionAborted, ConnectionDone, ConnectionRefusedError } from "../../lib/internet/error.js";
import { Deferred } from "../../lib/internet/deferred.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes, IConnector, IPushProducer, IPullProducer } from "../../lib/internet/interfaces.js";
import { ClientFactory, Factory, Protocol } from "../../lib/internet/protocol.js";
import {
  AccumulatingProtocol,
  FakeConnector,
  ipAddress,
  MemoryReactor,
  MemoryReactorClock,
  NonStreamingProducer,
  RaisingMemoryReactor,
  StringTransport,
  StringTransportWithDisconnection,
  unixAddress,
} from "../../lib/internet/testing.js";

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

const hasMethods = (obj: object, names: string[]): void => {
  for (const name of names) expect(typeof (obj as Record<string, unknown>)[name], name).to.equal("function");
};

describe("ReactorTests", () => {
  it("test_memoryReactorProvides: MemoryReactor has the methods of IReactorCore, IReactorTCP and IReactorUNIX", () => {
    hasMethods(new MemoryReactor(), [
      "run", "stop", "callWhenRunning", "addSystemEventTrigger", "removeSystemEventTrigger", "fireSystemEvent",
      "listenTCP", "connectTCP", "listenUNIX", "connectUNIX",
    ]);
  });

  it("test_raisingReactorProvides: RaisingMemoryReactor has the methods of IReactorTCP and IReactorUNIX", () => {
    hasMethods(new RaisingMemoryReactor(), ["listenTCP", "connectTCP", "listenUNIX", "connectUNIX"]);
  });

  it("test_connectDestination: connectors report the destination given", () => {
    const reactor = new MemoryReactor();
    const tcp = reactor.connectTCP("test.example.com", 8321, new ClientFactory());
    hasMethods(tcp, ["connect", "disconnect", "stopConnecting", "getDestination"]);
    expect(tcp.getDestination()).to.include({ type: "TCP", host: "test.example.com", port: 8321 });
    const unix = reactor.connectUNIX("/fake/path", new ClientFactory());
    expect(unix.getDestination()).to.deep.equal({ type: "UNIX", name: "/fake/path" });
  });

  it("test_listenDefaultHost: ports listen on 0.0.0.0 and the port given, or the UNIX path given", () => {
    const reactor = new MemoryReactor();
    const port = reactor.listenTCP(8242, new Factory());
    hasMethods(port, ["startListening", "stopListening", "getHost"]);
    expect(port.getHost()).to.deep.equal({ type: "TCP", family: "IPv4", host: "0.0.0.0", port: 8242 });
    expect(reactor.listenUNIX("/path/to/socket", new Factory()).getHost()).to.deep.equal({
      type: "UNIX",
      name: "/path/to/socket",
    });
  });

  it("listenTCP on an IPv6 interface reports that interface", () => {
    const port = new MemoryReactor().listenTCP(80, new Factory(), { interface: "::1" });
    expect(port.getHost()).to.deep.equal({ type: "TCP", family: "IPv6", host: "::1", port: 80 });
  });

  it("test_readers: adds, removes and lists readers", () => {
    const reader = {};
    const reactor = new MemoryReactor();
    reactor.addReader(reader);
    reactor.addReader(reader);
    expect(reactor.getReaders()).to.deep.equal([reader]);
    reactor.removeReader(reader);
    expect(reactor.getReaders()).to.deep.equal([]);
  });

  it("test_writers: adds, removes and lists writers", () => {
    const writer = {};
    const reactor = new MemoryReactor();
    reactor.addWriter(writer);
    reactor.addWriter(writer);
    expect(reactor.getWriters()).to.deep.equal([writer]);
    reactor.removeWriter(writer);
    expect(reactor.getWriters()).to.deep.equal([]);
  });

  it("records listenTCP and listenUNIX calls with their options, defaults filled in", () => {
    const reactor = new MemoryReactor();
    const f = new Factory();
    reactor.listenTCP(80, f);
    reactor.listenTCP(81, f, { interface: "127.0.0.1", backlog: 5 });
    reactor.listenUNIX("/s", f, { mode: 0o600 });
    expect(reactor.tcpServers).to.deep.equal([
      [80, f, { backlog: 50, interface: "" }],
      [81, f, { backlog: 5, interface: "127.0.0.1" }],
    ]);
    expect(reactor.unixServers).to.deep.equal([["/s", f, { backlog: 50, mode: 0o600, wantPID: false }]]);
  });

  it("records connectTCP and connectUNIX calls, and tells the factory it started connecting", () => {
    const reactor = new MemoryReactor();
    const started: IConnector[] = [];
    class Client extends ClientFactory {
      override startedConnecting(connector: IConnector): void {
        started.push(connector);
      }
    }
    const f = new Client();
    const c1 = reactor.connectTCP("example.com", 80, f, { timeout: 5 });
    const c2 = reactor.connectUNIX("/s", f);
    expect(reactor.tcpClients).to.deep.equal([["example.com", 80, f, { timeout: 5 }]]);
    expect(reactor.unixClients).to.deep.equal([["/s", f, { timeout: 30 }]]);
    expect(started).to.deep.equal([c1, c2]);
    expect(reactor.connectors).to.deep.equal([c1, c2]);
  });

  it("fake connectors and ports record what they are told", async () => {
    const reactor = new MemoryReactor();
    const connector = reactor.connectTCP("h", 1, new ClientFactory()) as FakeConnector;
    connector.stopConnecting();
    connector.disconnect();
    connector.connect();
    expect([connector.stoppedConnecting, connector.disconnected, connector.connectCalls]).to.deep.equal([true, true, 1]);
    const port = reactor.listenTCP(1, new Factory());
    await port.stopListening();
    expect(port.listening).to.equal(false);
  });

  it("run calls the callWhenRunning hooks with their arguments, then stops", async () => {
    const reactor = new MemoryReactor();
    const calls: unknown[] = [];
    reactor.callWhenRunning((a: number, b: string) => calls.push([a, b, reactor.running]), 1, "x");
    await reactor.run();
    expect(calls).to.deep.equal([[1, "x", true]]);
    expect(reactor.running).to.equal(false);
    expect(reactor.hasRun && reactor.hasStopped).to.equal(true);
  });

  it("fireSystemEvent runs before, during and after triggers in order; a removed one does not run", () => {
    const reactor = new MemoryReactor();
    const calls: string[] = [];
    reactor.addSystemEventTrigger("after", "shutdown", () => calls.push("after"));
    reactor.addSystemEventTrigger("during", "shutdown", (x: string) => calls.push(x), "during");
    reactor.addSystemEventTrigger("before", "shutdown", () => calls.push("before"));
    const id = reactor.addSystemEventTrigger("before", "shutdown", () => calls.push("removed"));
    reactor.removeSystemEventTrigger(id);
    reactor.fireSystemEvent("startup");
    reactor.fireSystemEvent("shutdown");
    expect(calls).to.deep.equal(["before", "during", "after"]);
    expect(reactor.triggers.before!.shutdown).to.have.length(1);
  });

  it("fireSystemEvent waits for the Deferreds of before triggers", () => {
    const reactor = new MemoryReactor();
    const calls: string[] = [];
    const d = new Deferred<void>();
    reactor.addSystemEventTrigger("before", "shutdown", () => d);
    reactor.addSystemEventTrigger("during", "shutdown", () => calls.push("during"));
    reactor.fireSystemEvent("shutdown");
    expect(calls).to.deep.equal([]);
    d.callback(undefined);
    return Promise.resolve()
      .then(() => new Promise((r) => setImmediate(r)))
      .then(() => expect(calls).to.deep.equal(["during"]));
  });

  it("completeTCPConnection builds the client's protocol and connects it to a StringTransport", () => {
    const reactor = new MemoryReactor();
    class Hello extends Protocol {
      override connectionMade(): void {
        this.transport!.write(Buffer.from("hello"));
      }
    }
    reactor.connectTCP("example.com", 80, ClientFactory.forProtocol(Hello));
    const { protocol, transport } = reactor.completeTCPConnection();
    expect(protocol).to.be.instanceOf(Hello);
    expect(transport.value().toString()).to.equal("hello");
  });

  it("acceptTCPConnection delivers a connection to a listening factory", () => {
    const reactor = new MemoryReactor();
    reactor.listenTCP(8080, Factory.forProtocol(AccumulatingProtocol));
    const transport = new StringTransportWithDisconnection();
    const { protocol } = reactor.acceptTCPConnection(0, transport);
    const proto = protocol as AccumulatingProtocol;
    expect(proto.made).to.equal(true);
    proto.dataReceived(Buffer.from("abc"));
    expect(proto.data.toString()).to.equal("abc");
    transport.loseConnection();
    expect(proto.closed).to.equal(true);
    expect(proto.closedReason!.check(ConnectionDone)).to.equal(ConnectionDone);
  });

  it("completeUNIXConnection and acceptUNIXConnection use UNIX addresses", () => {
    const reactor = new MemoryReactor();
    const seen: unknown[] = [];
    class F extends ClientFactory {
      override buildProtocol(addr: import("../../lib/internet/interfaces.js").IAddress) {
        seen.push(addr);
        return new Protocol();
      }
    }
    reactor.connectUNIX("/c", new F());
    reactor.listenUNIX("/s", new F());
    reactor.completeUNIXConnection();
    const { transport } = reactor.acceptUNIXConnection();
    expect(seen).to.deep.equal([{ type: "UNIX", name: "/c" }, { type: "UNIX", name: null }]);
    expect(transport.getHost()).to.deep.equal({ type: "UNIX", name: "/s" });
  });

  it("completeTCPConnection throws for a call that was not made", () => {
    expect(() => new MemoryReactor().completeTCPConnection(0)).to.throw(RangeError);
  });
});

describe("MemoryReactorClock", () => {
  it("schedules calls on its clock and runs them on advance", () => {
    const reactor = new MemoryReactorClock();
    const calls: number[] = [];
    reactor.callLater(2, (n: number) => calls.push(n), 2);
    const dc = reactor.callLater(1, (n: number) => calls.push(n), 1);
    expect(reactor.getDelayedCalls()).to.have.length(2);
    expect(dc.getTime()).to.equal(1);
    reactor.advance(1.5);
    expect(calls).to.deep.equal([1]);
    expect(reactor.seconds()).to.equal(1.5);
    reactor.pump([0.5]);
    expect(calls).to.deep.equal([1, 2]);
    expect(reactor.getDelayedCalls()).to.have.length(0);
  });

  it("is also a MemoryReactor", () => {
    const reactor = new MemoryReactorClock();
    reactor.listenTCP(80, new Factory());
    expect(reactor.tcpServers).to.have.length(1);
  });
});

describe("RaisingMemoryReactor", () => {
  it("throws the listen error from listenTCP/listenUNIX and the connect error from connectTCP/connectUNIX", () => {
    const listenError = new CannotListenError("", 80, new Error("EADDRINUSE"));
    const connectError = new ConnectionRefusedError();
    const reactor = new RaisingMemoryReactor(listenError, connectError);
    expect(() => reactor.listenTCP(80, new Factory())).to.throw(listenError);
    expect(() => reactor.listenUNIX("/s", new Factory())).to.throw(listenError);
    expect(() => reactor.connectTCP("h", 80, new ClientFactory())).to.throw(connectError);
    expect(() => reactor.connectUNIX("/s", new ClientFactory())).to.throw(connectError);
  });
});

/** Twisted's TestConsumer: records writes and the registered producer. */
class TestConsumer {
  writes: string[] = [];
  producer: IPushProducer | IPullProducer | null = null;
  producerStreaming: boolean | null = null;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    this.producer = producer;
    this.producerStreaming = streaming;
  }
  unregisterProducer(): void {
    this.producer = null;
    this.producerStreaming = null;
  }
  write(data: Bytes): void {
    this.writes.push(Buffer.from(data).toString());
  }
}

describe("NonStreamingProducerTests", () => {
  it("test_producesOnly10Times: writes the counter ten times, unregisters, then refuses to go on", () => {
    const consumer = new TestConsumer();
    const producer = new NonStreamingProducer(consumer);
    consumer.registerProducer(producer, false);
    expect(consumer.producer).to.equal(producer);
    expect(producer.consumer).to.equal(consumer);
    for (let i = 0; i < 10; i++) producer.resumeProducing();
    expect(consumer.producer).to.equal(null);
    expect(consumer.producerStreaming).to.equal(null);
    expect(producer.consumer).to.equal(null);
    expect(consumer.writes).to.deep.equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(producer.result.called).to.equal(true);
    expect(() => producer.resumeProducing()).to.throw(Error);
  });

  it("test_cannotPauseProduction: pausing raises", () => {
    const consumer = new TestConsumer();
    const producer = new NonStreamingProducer(consumer);
    consumer.registerProducer(producer, false);
    producer.resumeProducing();
    expect(() => producer.pauseProducing()).to.throw(Error);
  });
});

describe("AccumulatingProtocol", () => {
  it("collects data, and fires the factory's and its own Deferreds", () => {
    const factory = Factory.forProtocol(AccumulatingProtocol) as Factory & {
      protocolConnectionMade: Deferred<AccumulatingProtocol> | null;
    };
    const made = new Deferred<AccumulatingProtocol>();
    factory.protocolConnectionMade = made;
    const proto = factory.buildProtocol(ipAddress("127.0.0.1", 1)) as AccumulatingProtocol;
    const closed = new Deferred<void>();
    proto.closedDeferred = closed;
    const transport = new StringTransportWithDisconnection();
    transport.protocol = proto;
    proto.makeConnection(transport);
    expect(made.called).to.equal(true);
    expect(factory.protocolConnectionMade).to.equal(null);
    proto.dataReceived(Buffer.from("ab"));
    proto.dataReceived(Buffer.from("c"));
    expect(proto.data.toString()).to.equal("abc");
    transport.loseConnection();
    expect(proto.closed).to.equal(true);
    expect(closed.called).to.equal(true);
  });
});
