import { expect } from "chai";
import { CannotListenError, ConnectionDone, ConnectionRefusedError } from "../../lib/internet/error.js";
import { Deferred } from "../../lib/internet/deferred.js";
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
  StringTransportWithDisconnection,
} from "../../lib/internet/testing.js";
import * as testing from "../../lib/internet/testing.js";
import * as stringTransport from "../../lib/internet/string-transport.js";

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

describe("twisted.internet.testing as one module", () => {
  it("re-exports StringTransport and StringTransportWithDisconnection as themselves (their spec: string-transport.spec)", () => {
    expect(testing.StringTransport).to.equal(stringTransport.StringTransport);
    expect(testing.StringTransportWithDisconnection).to.equal(stringTransport.StringTransportWithDisconnection);
  });
});
