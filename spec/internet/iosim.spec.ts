import { expect } from "chai";
import { ConnectionAborted, ConnectionDone, ConnectionLost, ConnectionRefusedError } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes, IConnector, IPushProducer } from "../../lib/internet/interfaces.js";
import {
  CLIENT_ADDRESS,
  ConnectionCompleter,
  connect,
  connectableEndpoint,
  connectedServerAndClient,
  FakeTransport,
  SERVER_ADDRESS,
} from "../../lib/internet/iosim.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { ClientFactory, Factory, Protocol } from "../../lib/internet/protocol.js";
import { AccumulatingProtocol, MemoryReactor, NonStreamingProducer } from "../../lib/internet/testing.js";

const b = (s: string): Buffer => Buffer.from(s);

describe("FakeTransportTests", () => {
  it("test_connectionSerial: each FakeTransport has a unique serial number", () => {
    const a = new FakeTransport(new Protocol(), true);
    const c = new FakeTransport(new Protocol(), false);
    expect(a.serial).to.be.a("number");
    expect(c.serial).to.be.a("number");
    expect(a.serial).to.not.equal(c.serial);
  });

  it("test_writeSequence: writeSequence writes each chunk", () => {
    const a = new FakeTransport(new Protocol(), false);
    a.write(b("a"));
    a.writeSequence([b("b"), b("c"), b("d")]);
    expect(a.getOutBuffer()!.toString()).to.equal("abcd");
  });

  it("test_writeAfterClose: writes after loseConnection are accepted and dropped", () => {
    const a = new FakeTransport(new Protocol(), false);
    a.write(b("before"));
    a.loseConnection();
    a.write(b("after"));
    expect(a.getOutBuffer()!.toString()).to.equal("before");
  });

  it("rejects a string with a TypeError", () => {
    const a = new FakeTransport(new Protocol(), false);
    expect(() => a.write("text" as unknown as Bytes)).to.throw(TypeError);
  });

  it("reports addresses: each side's host is the other's peer by default", () => {
    const server = new FakeTransport(new Protocol(), true);
    const client = new FakeTransport(new Protocol(), false);
    expect(server.getHost()).to.deep.equal(SERVER_ADDRESS);
    expect(server.getPeer()).to.deep.equal(CLIENT_ADDRESS);
    expect(client.getHost()).to.deep.equal(CLIENT_ADDRESS);
    expect(client.getPeer()).to.deep.equal(SERVER_ADDRESS);
  });
});

/** Twisted's StrictPushProducer: enforces the IPushProducer state machine. */
class StrictPushProducer implements IPushProducer {
  state: "running" | "paused" | "stopped" = "running";
  stopProducing(): void {
    if (this.state === "stopped") throw new Error("Cannot stop already-stopped IPushProducer");
    this.state = "stopped";
  }
  pauseProducing(): void {
    if (this.state !== "running") throw new Error(`Cannot pause ${this.state} IPushProducer`);
    this.state = "paused";
  }
  resumeProducing(): void {
    if (this.state !== "paused") throw new Error(`Cannot resume ${this.state} IPushProducer`);
    this.state = "running";
  }
}

describe("StrictPushProducerTests", () => {
  const stopped = () => {
    const p = new StrictPushProducer();
    p.stopProducing();
    return p;
  };
  const paused = () => {
    const p = new StrictPushProducer();
    p.pauseProducing();
    return p;
  };
  const resumed = () => {
    const p = paused();
    p.resumeProducing();
    return p;
  };

  it("test_stopThenStop: stopping twice raises", () => expect(() => stopped().stopProducing()).to.throw());
  it("test_stopThenPause: pausing when stopped raises", () => expect(() => stopped().pauseProducing()).to.throw());
  it("test_stopThenResume: resuming when stopped raises", () => expect(() => stopped().resumeProducing()).to.throw());
  it("test_pauseThenStop: a paused producer can be stopped", () => {
    const p = paused();
    p.stopProducing();
    expect(p.state).to.equal("stopped");
  });
  it("test_pauseThenPause: pausing twice raises", () => expect(() => paused().pauseProducing()).to.throw());
  it("test_pauseThenResume: a paused producer can be resumed", () => {
    const p = paused();
    p.resumeProducing();
    expect(p.state).to.equal("running");
  });
  it("test_resumeThenStop: a resumed producer can be stopped", () => {
    const p = resumed();
    p.stopProducing();
    expect(p.state).to.equal("stopped");
  });
  it("test_resumeThenPause: a resumed producer can be paused", () => {
    const p = resumed();
    p.pauseProducing();
    expect(p.state).to.equal("paused");
  });
  it("test_resumeThenResume: resuming a running producer raises", () => expect(() => resumed().resumeProducing()).to.throw());
  it("test_stop: the initial producer can be stopped", () => {
    const p = new StrictPushProducer();
    p.stopProducing();
    expect(p.state).to.equal("stopped");
  });
  it("test_pause: the initial producer can be paused", () => {
    const p = new StrictPushProducer();
    p.pauseProducing();
    expect(p.state).to.equal("paused");
  });
  it("test_resume: resuming the initial producer raises", () => expect(() => new StrictPushProducer().resumeProducing()).to.throw());
});

class Recorder extends Protocol {
  received: Buffer[] = [];
  reasons: Failure[] = [];
  override dataReceived(data: Bytes): void {
    this.received.push(Buffer.from(data));
  }
  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.reasons.push(reason);
  }
  get text(): string {
    return Buffer.concat(this.received).toString();
  }
}

function pair(options: { bufferSize?: number } = {}) {
  const server = new Recorder();
  const client = new Recorder();
  const serverTransport = new FakeTransport(server, true, options);
  const clientTransport = new FakeTransport(client, false, options);
  const pump = connect(server, serverTransport, client, clientTransport, { greet: false });
  return { server, client, serverTransport, clientTransport, pump };
}

describe("IOPumpTests", () => {
  for (const mode of ["server", "client"] as const) {
    it(`test_${mode}StreamingProducer: pump leaves a streaming producer on the ${mode} transport running`, () => {
      const { serverTransport, clientTransport, pump } = pair();
      const producer = new StrictPushProducer();
      (mode === "server" ? serverTransport : clientTransport).registerProducer(producer, true);
      pump.pump();
      expect(producer.state).to.equal("running");
    });
  }

  it("moves each side's writes to the other side", () => {
    const { server, client, serverTransport, clientTransport, pump } = pair();
    clientTransport.write(b("ping"));
    serverTransport.write(b("pong"));
    expect(server.text).to.equal("");
    expect(pump.pump()).to.equal(true);
    expect(server.text).to.equal("ping");
    expect(client.text).to.equal("pong");
    expect(pump.pump()).to.equal(false);
  });

  it("flush exchanges greetings: connect flushes once unless greet is false", () => {
    class Greeter extends Recorder {
      override connectionMade(): void {
        this.transport!.write(b("hello"));
      }
    }
    const [client, server] = connectedServerAndClient(Greeter, Recorder);
    expect(client.text).to.equal("hello");
    expect(server.text).to.equal("");
  });

  it("loseConnection delivers ConnectionDone to both sides, once each, after the data", () => {
    const { server, client, serverTransport, pump } = pair();
    serverTransport.write(b("bye"));
    serverTransport.loseConnection();
    pump.flush();
    expect(client.text).to.equal("bye");
    expect(client.reasons).to.have.length(1);
    expect(server.reasons).to.have.length(1);
    expect(client.reasons[0]!.check(ConnectionDone)).to.equal(ConnectionDone);
    expect(server.reasons[0]!.check(ConnectionDone)).to.equal(ConnectionDone);
    pump.flush();
    expect(client.reasons).to.have.length(1);
  });

  it("abortConnection drops unsent data: ConnectionAborted on its side, ConnectionLost on the peer's", () => {
    const { server, client, clientTransport, pump } = pair();
    clientTransport.write(b("never sent"));
    clientTransport.abortConnection();
    pump.flush();
    expect(server.text).to.equal("");
    expect(client.reasons[0]!.check(ConnectionAborted)).to.equal(ConnectionAborted);
    expect(server.reasons[0]!.check(ConnectionLost)).to.equal(ConnectionLost);
    expect(server.reasons[0]!.check(ConnectionAborted)).to.equal(null);
  });

  it("stops the registered producer before calling connectionLost", () => {
    const { server, serverTransport, clientTransport, pump } = pair();
    const calls: string[] = [];
    const producer = new StrictPushProducer();
    const stop = producer.stopProducing.bind(producer);
    producer.stopProducing = () => {
      calls.push("stopProducing");
      stop();
    };
    const lost = server.connectionLost.bind(server);
    server.connectionLost = (reason: Failure) => {
      calls.push("connectionLost");
      lost(reason);
    };
    serverTransport.registerProducer(producer, true);
    clientTransport.loseConnection();
    pump.flush();
    expect(calls).to.deep.equal(["stopProducing", "connectionLost"]);
    expect(producer.state).to.equal("stopped");
  });

  it("pauses a streaming producer past bufferSize and resumes it once the data is delivered", () => {
    const { client, serverTransport, pump } = pair({ bufferSize: 10 });
    const producer = new StrictPushProducer();
    serverTransport.registerProducer(producer, true);
    serverTransport.write(b("0123456789"));
    expect(producer.state).to.equal("running");
    serverTransport.write(b("x"));
    expect(producer.state).to.equal("paused");
    pump.pump();
    expect(client.text).to.equal("0123456789x");
    expect(producer.state).to.equal("running");
  });

  it("holds data for a protocol that paused its transport, and keeps the peer's producer paused", () => {
    const { client, serverTransport, clientTransport, pump } = pair({ bufferSize: 4 });
    const producer = new StrictPushProducer();
    serverTransport.registerProducer(producer, true);
    clientTransport.pauseProducing();
    serverTransport.write(b("hello"));
    pump.flush();
    expect(client.text).to.equal("");
    expect(producer.state).to.equal("paused");
    clientTransport.resumeProducing();
    pump.flush();
    expect(client.text).to.equal("hello");
    expect(producer.state).to.equal("running");
  });

  it("tells a paused reader of an orderly close only when it resumes", () => {
    const { client, serverTransport, clientTransport, pump } = pair();
    clientTransport.pauseProducing();
    serverTransport.loseConnection();
    pump.flush();
    expect(client.reasons).to.have.length(0);
    clientTransport.resumeProducing();
    pump.flush();
    expect(client.reasons).to.have.length(1);
  });

  it("drives a pull producer while its buffer is empty, and closes only after it unregisters", () => {
    const { client, server, serverTransport, pump } = pair();
    const producer = new NonStreamingProducer(serverTransport);
    serverTransport.registerProducer(producer, false);
    serverTransport.loseConnection();
    expect(producer.counter).to.equal(1);
    pump.pump();
    expect(client.text).to.equal("0");
    expect(producer.counter).to.equal(2);
    expect(client.reasons).to.have.length(0);
    pump.flush();
    expect(client.text).to.equal("0123456789");
    expect(producer.result.called).to.equal(true);
    expect(client.reasons).to.have.length(1);
    expect(server.reasons).to.have.length(1);
  });

  it("keeps a connection with a streaming producer open until the producer unregisters", () => {
    const { client, serverTransport, pump } = pair();
    serverTransport.registerProducer(new StrictPushProducer(), true);
    serverTransport.loseConnection();
    serverTransport.write(b("still sent"));
    pump.flush();
    expect(client.text).to.equal("still sent");
    expect(client.reasons).to.have.length(0);
    serverTransport.unregisterProducer();
    serverTransport.write(b("dropped"));
    pump.flush();
    expect(client.text).to.equal("still sent");
    expect(client.reasons).to.have.length(1);
  });

  it("stops a producer registered after the connection is lost", () => {
    const { serverTransport, clientTransport, pump } = pair();
    clientTransport.loseConnection();
    pump.flush();
    const producer = new StrictPushProducer();
    serverTransport.registerProducer(producer, true);
    expect(producer.state).to.equal("stopped");
  });

  it("refuses a second producer", () => {
    const { serverTransport } = pair();
    serverTransport.registerProducer(new StrictPushProducer(), true);
    expect(() => serverTransport.registerProducer(new StrictPushProducer(), true)).to.throw(Error);
  });

  it("flush fails after 1000 rounds of protocols that never stop talking", () => {
    class Echo extends Protocol {
      override dataReceived(data: Bytes): void {
        this.transport!.write(data);
      }
    }
    class Starter extends Echo {
      override connectionMade(): void {
        this.transport!.write(b("x"));
      }
    }
    expect(() => connectedServerAndClient(Echo, Starter)).to.throw(Error, "1000 rounds");
  });

  it("logs each exchange when debug is set", () => {
    const logs = captureLogEvents();
    try {
      const { clientTransport, pump } = pair();
      clientTransport.write(b("hi"));
      pump.pump(true);
      expect(logs.messages().some((m) => m.includes("C: ") && m.includes("hi"))).to.equal(true);
    } finally {
      logs.stop();
    }
  });
});

describe("connectedServerAndClient", () => {
  it("accepts a factory, a protocol class or a function for each side", () => {
    let seenAddress: unknown = null;
    class Server extends Recorder {}
    const factory = new Factory();
    factory.protocol = Server;
    const buildProtocol = factory.buildProtocol.bind(factory);
    factory.buildProtocol = (addr) => {
      seenAddress = addr;
      return buildProtocol(addr);
    };
    const [client, server, pump] = connectedServerAndClient<Server, Recorder>(factory, () => new Recorder());
    expect(server).to.be.instanceOf(Server);
    expect(server.factory).to.equal(factory);
    expect(seenAddress).to.deep.equal(CLIENT_ADDRESS);
    client.transport!.write(b("data"));
    pump.flush();
    expect(server.text).to.equal("data");
  });
});

describe("ConnectionCompleter", () => {
  it("succeedOnce connects a recorded client to the server on its port", () => {
    const reactor = new MemoryReactor();
    const serverFactory = Factory.forProtocol(AccumulatingProtocol);
    reactor.listenTCP(4321, serverFactory);
    const clientFactory = ClientFactory.forProtocol(AccumulatingProtocol);
    reactor.connectTCP("127.0.0.1", 1234, ClientFactory.forProtocol(Protocol));
    reactor.connectTCP("127.0.0.1", 4321, clientFactory);
    const pump = new ConnectionCompleter(reactor).succeedOnce();
    expect(pump).to.not.equal(null);
    const client = pump!.client as AccumulatingProtocol;
    const server = pump!.server as AccumulatingProtocol;
    expect(client.made && server.made).to.equal(true);
    server.transport!.write(b("welcome"));
    pump!.flush();
    expect(client.data.toString()).to.equal("welcome");
    expect(reactor.tcpClients.map((c) => c[1])).to.deep.equal([1234]);
    expect(reactor.connectors).to.have.length(1);
  });

  it("succeedOnce returns null when no server listens on the client's port", () => {
    const reactor = new MemoryReactor();
    reactor.connectTCP("127.0.0.1", 1234, ClientFactory.forProtocol(Protocol));
    expect(new ConnectionCompleter(reactor).succeedOnce()).to.equal(null);
  });

  it("failOnce fails the first attempt with ConnectionRefusedError", () => {
    const reactor = new MemoryReactor();
    const failures: Array<[IConnector, Failure]> = [];
    class Client extends ClientFactory {
      override clientConnectionFailed(connector: IConnector, reason: Failure): void {
        failures.push([connector, reason]);
      }
    }
    const connector = reactor.connectTCP("127.0.0.1", 1234, new Client());
    new ConnectionCompleter(reactor).failOnce();
    expect(failures).to.have.length(1);
    expect(failures[0]![0]).to.equal(connector);
    expect(failures[0]![1].check(ConnectionRefusedError)).to.equal(ConnectionRefusedError);
    expect(reactor.tcpClients).to.have.length(0);
  });
});

describe("connectableEndpoint", () => {
  it("fires the connect() Deferred with the protocol when the completer succeeds", () => {
    const [endpoint, completer] = connectableEndpoint();
    const d = endpoint.connect(Factory.forProtocol(AccumulatingProtocol));
    const results: unknown[] = [];
    d.addCallback((p) => void results.push(p));
    expect(results).to.deep.equal([]);
    const pump = completer.succeedOnce();
    expect(results).to.have.length(1);
    expect(results[0]).to.be.instanceOf(AccumulatingProtocol);
    (pump!.serverIO as FakeTransport).write(b("hi"));
    pump!.flush();
    expect((results[0] as AccumulatingProtocol).data.toString()).to.equal("hi");
  });

  it("fails the connect() Deferred with ConnectionRefusedError when the completer fails", () => {
    const [endpoint, completer] = connectableEndpoint();
    const d = endpoint.connect(Factory.forProtocol(Protocol));
    const failures: Failure[] = [];
    d.addErrback((f) => void failures.push(f));
    completer.failOnce();
    expect(failures).to.have.length(1);
    expect(failures[0]!.check(ConnectionRefusedError)).to.equal(ConnectionRefusedError);
  });
});
