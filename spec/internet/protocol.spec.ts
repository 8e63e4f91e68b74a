import { expect } from "chai";
import sinon from "sinon";
import { ConnectionDone, NotConnectingError } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { IAddress, IConnector, IListeningPort, IProtocol, ITransport } from "../../lib/internet/interfaces.js";
import { captureLogEvents, LogLevel, type LogCapture } from "../../lib/internet/log.js";
import {
  ClientFactory,
  connectionDone,
  Factory,
  Protocol,
  ReconnectingClientFactory,
  ServerFactory,
} from "../../lib/internet/protocol.js";
import { Deferred } from "../../lib/internet/deferred.js";
import { getReactor, reactor } from "../../lib/internet/reactor.js";
import { Clock } from "../../lib/internet/task.js";
import { ipAddress, StringTransport } from "../../lib/internet/testing.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { within } from "../support/wait.js";

const anyAddress = ipAddress("127.0.0.1", 12345);
const aFailure = null as unknown as Failure;

/** A connector that records what the factory asks of it, as test_factories' FakeConnector. */
class FakeConnector implements IConnector {
  connects = 0;
  stops = 0;
  connect(): void {
    this.connects++;
  }
  disconnect(): void {}
  stopConnecting(): void {
    this.stops++;
  }
  getDestination(): IAddress {
    return anyAddress;
  }
  toString(): string {
    return "<FakeConnector>";
  }
}

describe("ProtocolTests", () => {
  it("test_logPrefix: logPrefix is the protocol class's name", () => {
    class SomeThing extends Protocol {}
    expect(new SomeThing().logPrefix()).to.equal("SomeThing");
  });

  it("test_makeConnection: sets the transport, then calls connectionMade", () => {
    const seen: Array<ITransport | null> = [];
    class SomeProtocol extends Protocol {
      override connectionMade(): void {
        seen.push(this.transport);
      }
    }
    const transport = new StringTransport();
    const protocol = new SomeProtocol();
    protocol.makeConnection(transport);
    expect(seen).to.deep.equal([transport]);
    expect(seen[0]).to.equal(transport);
  });

  it("is connected between makeConnection and connectionLost", () => {
    const p = new Protocol();
    expect(p.connected).to.equal(false);
    p.makeConnection(new StringTransport());
    expect(p.connected).to.equal(true);
    p.connectionLost(connectionDone);
    expect(p.connected).to.equal(false);
  });

  it("connectionDone wraps ConnectionDone", () => {
    expect(connectionDone.check(ConnectionDone)).to.equal(ConnectionDone);
  });
});

describe("FactoryTests", () => {
  const logs = captureLogsOfEachTest();

  it("test_logPrefix: logPrefix is the factory class's name", () => {
    class SomeKindOfFactory extends Factory {}
    expect(new SomeKindOfFactory().logPrefix()).to.equal("SomeKindOfFactory");
  });

  it("test_defaultBuildProtocol: builds `protocol` and attaches the factory to it", () => {
    class SomeProtocol extends Protocol {}
    const f = new Factory();
    f.protocol = SomeProtocol;
    const protocol = f.buildProtocol(anyAddress);
    expect(protocol).to.be.instanceOf(SomeProtocol);
    expect((protocol as SomeProtocol).factory).to.equal(f);
  });

  it("test_forProtocol: constructs the factory with the extra arguments and sets `protocol`", () => {
    class ArgTakingFactory extends Factory {
      readonly args: unknown[];
      constructor(...args: unknown[]) {
        super();
        this.args = args;
      }
    }
    const factory = ArgTakingFactory.forProtocol(Protocol, 1, 2, { foo: 12 });
    expect(factory).to.be.instanceOf(ArgTakingFactory);
    expect(factory.protocol).to.equal(Protocol);
    expect(factory.args).to.deep.equal([1, 2, { foo: 12 }]);
  });

  it("test_doStartLoggingStatement: doStart logs 'Starting factory' with the factory", () => {
    const f = new Factory();
    f.doStart();
    const event = logs.events[0]!;
    expect(event.factory).to.equal(f);
    expect(event.log_level).to.equal(LogLevel.info);
    expect(event.log_format).to.equal("Starting factory {factory}");
    expect(logs.messages()[0]).to.equal("Starting factory <Factory>");
  });

  it("test_doStopLoggingStatement: doStop logs 'Stopping factory' with the factory", () => {
    class MyFactory extends Factory {
      override numPorts = 1;
    }
    const f = new MyFactory();
    f.doStop();
    const event = logs.events[0]!;
    expect(event.factory).to.equal(f);
    expect(event.log_level).to.equal(LogLevel.info);
    expect(event.log_format).to.equal("Stopping factory {factory}");
    expect(logs.messages()[0]).to.equal("Stopping factory <MyFactory>");
  });

  it("calls startFactory on the first doStart only and stopFactory on the last doStop only", () => {
    const calls: string[] = [];
    class CountingFactory extends ServerFactory {
      override startFactory(): void {
        calls.push(`start@${this.numPorts}`);
      }
      override stopFactory(): void {
        calls.push(`stop@${this.numPorts}`);
      }
    }
    const f = new CountingFactory();
    f.doStart();
    f.doStart();
    expect(f.numPorts).to.equal(2);
    f.doStop();
    expect(calls).to.deep.equal(["start@0"]);
    f.doStop();
    expect(calls).to.deep.equal(["start@0", "stop@0"]);
    f.doStop(); // unbalanced: tolerated, as in Twisted
    expect(f.numPorts).to.equal(0);
    expect(calls).to.deep.equal(["start@0", "stop@0"]);
  });

  it("logs nothing on start and stop when noisy is false", () => {
    const f = new Factory();
    f.noisy = false;
    f.doStart();
    f.doStop();
    expect(logs.events).to.deep.equal([]);
  });

  it("buildProtocol without a protocol class raises a TypeError naming the factory", () => {
    class Unfinished extends Factory {}
    expect(() => new Unfinished().buildProtocol(anyAddress)).to.throw(TypeError, /Unfinished\.protocol is not set/);
  });

  it("a ClientFactory's connector notifications do nothing by default", () => {
    const f = new ClientFactory();
    const c = new FakeConnector();
    f.startedConnecting(c);
    f.clientConnectionFailed(c, connectionDone);
    f.clientConnectionLost(c, connectionDone);
    expect(c.connects).to.equal(0);
  });
});

describe("ReconnectingFactoryTests", () => {
  let logs: LogCapture;
  beforeEach(() => {
    logs = captureLogEvents();
  });
  afterEach(() => {
    logs.stop();
    sinon.restore();
  });

  /** A factory on a Clock, with exact (jitter-free) delays. */
  function exactFactory(clock: Clock): ReconnectingClientFactory {
    const f = new ReconnectingClientFactory();
    f.clock = clock;
    f.jitter = 0;
    return f;
  }

  it("test_stopTryingWhenConnected: after stopTrying while connected, a lost connection is not retried", () => {
    class NoConnectConnector extends FakeConnector {
      override stopConnecting(): void {
        throw new Error("Shouldn't be called, we're connected.");
      }
      override connect(): void {
        throw new Error("Shouldn't be reconnecting.");
      }
    }
    const c = new ReconnectingClientFactory();
    c.protocol = Protocol;
    c.buildProtocol(anyAddress); // pretend we connected
    c.stopTrying();
    c.clientConnectionLost(new NoConnectConnector(), aFailure);
    expect(c.continueTrying).to.equal(false);
  });

  it("test_stopTryingDoesNotReconnect: stopTrying does not retry the connector it stops", () => {
    const clock = new Clock();
    const f = new ReconnectingClientFactory();
    f.clock = clock;
    class FactoryAwareFakeConnector extends FakeConnector {
      // An ongoing attempt, once stopped, fails and tells the factory so.
      override stopConnecting(): void {
        super.stopConnecting();
        f.clientConnectionFailed(this, aFailure);
      }
    }
    const connector = new FactoryAwareFakeConnector();
    f.connector = connector;
    f.stopTrying();
    expect(connector.stops).to.equal(1);
    expect(connector.connects).to.equal(0);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
  });

  it("test_parametrizedClock: the retry is scheduled on the factory's clock", () => {
    const clock = new Clock();
    const factory = new ReconnectingClientFactory();
    factory.clock = clock;
    factory.clientConnectionLost(new FakeConnector(), aFailure);
    expect(clock.getDelayedCalls()).to.have.length(1);
  });

  it("reconnects through the connector once the delay has passed", () => {
    const clock = new Clock();
    const f = exactFactory(clock);
    const connector = new FakeConnector();
    f.clientConnectionFailed(connector, aFailure);
    expect(f.delay).to.equal(Math.E);
    clock.advance(Math.E - 0.01);
    expect(connector.connects).to.equal(0);
    clock.advance(0.01);
    expect(connector.connects).to.equal(1);
    expect(f.connector).to.equal(connector);
  });

  it("grows the delay by `factor` at each retry, up to maxDelay", () => {
    const clock = new Clock();
    const f = exactFactory(clock);
    f.factor = 2;
    f.maxDelay = 10;
    const connector = new FakeConnector();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      f.clientConnectionFailed(connector, aFailure);
      delays.push(clock.getDelayedCalls()[0]!.getTime() - clock.seconds());
      clock.advance(delays[i]!);
    }
    expect(delays).to.deep.equal([2, 4, 8, 10, 10]);
    expect(connector.connects).to.equal(5);
    expect(f.retries).to.equal(5);
  });

  it("gives up after maxRetries consecutive retries", () => {
    const clock = new Clock();
    const f = exactFactory(clock);
    f.maxRetries = 2;
    const connector = new FakeConnector();
    for (let i = 0; i < 3; i++) {
      f.clientConnectionFailed(connector, aFailure);
      clock.advance(f.maxDelay);
    }
    expect(connector.connects).to.equal(2);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
    expect(logs.messages()).to.include("Abandoning <FakeConnector> after 3 retries.");
  });

  it("resetDelay starts the back-off afresh", () => {
    const clock = new Clock();
    const f = exactFactory(clock);
    const connector = new FakeConnector();
    f.clientConnectionFailed(connector, aFailure);
    clock.advance(f.delay);
    f.clientConnectionFailed(connector, aFailure);
    clock.advance(f.delay);
    expect(f.retries).to.equal(2);
    f.resetDelay();
    expect(f.delay).to.equal(1.0);
    expect(f.retries).to.equal(0);
    f.clientConnectionLost(connector, aFailure);
    expect(f.delay).to.equal(Math.E);
  });

  it("stopTrying cancels a scheduled reconnection and stops the connector", () => {
    const clock = new Clock();
    const f = exactFactory(clock);
    const connector = new FakeConnector();
    f.clientConnectionFailed(connector, aFailure);
    expect(clock.getDelayedCalls()).to.have.length(1);
    f.stopTrying();
    expect(clock.getDelayedCalls()).to.deep.equal([]);
    expect(connector.stops).to.equal(1);
    clock.advance(f.maxDelay);
    expect(connector.connects).to.equal(0);
    f.retry(connector);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
    expect(logs.messages()).to.include("Abandoning <FakeConnector> on explicit request");
  });

  it("stopTrying tolerates a connector that is not connecting", () => {
    const f = exactFactory(new Clock());
    class Connected extends FakeConnector {
      override stopConnecting(): void {
        throw new NotConnectingError();
      }
    }
    f.connector = new Connected();
    expect(() => f.stopTrying()).not.to.throw();
    expect(f.continueTrying).to.equal(false);
  });

  it("retry without any connector raises", () => {
    const f = exactFactory(new Clock());
    expect(() => f.retry()).to.throw(Error, "no connector to retry");
  });

  it("spreads the delay around its expected value by `jitter` (a normal variate)", () => {
    // Box-Muller with uniform samples 0.5 and 0: a standard normal sample of sqrt(2 ln 2).
    sinon.stub(Math, "random").onFirstCall().returns(0.5).onSecondCall().returns(0);
    const clock = new Clock();
    const f = new ReconnectingClientFactory();
    f.clock = clock;
    f.clientConnectionFailed(new FakeConnector(), aFailure);
    const expected = Math.E + Math.E * f.jitter * Math.sqrt(2 * Math.LN2);
    expect(f.delay).to.be.closeTo(expected, 1e-12);
    expect(clock.getDelayedCalls()[0]!.getTime()).to.be.closeTo(expected, 1e-12);
  });

  it("logs when it will retry, with the delay in whole seconds", () => {
    const f = exactFactory(new Clock());
    f.clientConnectionFailed(new FakeConnector(), aFailure);
    expect(logs.messages()).to.deep.equal(["<FakeConnector> will retry in 2 seconds"]);
    f.stopTrying();
  });

  it("has Twisted's defaults", () => {
    const f = new ReconnectingClientFactory();
    expect([f.maxDelay, f.initialDelay, f.factor, f.jitter, f.delay, f.retries, f.maxRetries, f.continueTrying]).to.deep.equal([
      3600,
      1.0,
      Math.E,
      0.119626565582,
      1.0,
      0,
      null,
      true,
    ]);
    expect(f.clock).to.equal(null);
    expect(f.connector).to.equal(null);
  });

  it("builds protocols like any factory, so it can be handed to connectTCP", () => {
    class P extends Protocol {}
    const f = ReconnectingClientFactory.forProtocol(P);
    const p: IProtocol | null = f.buildProtocol(anyAddress);
    expect(p).to.be.instanceOf(P);
  });
});

describe("ReconnectingClientFactory on the global reactor", () => {
  let logs: LogCapture;
  let port: IListeningPort | null = null;
  beforeEach(() => {
    logs = captureLogEvents();
  });
  afterEach(async () => {
    if (port) await within(port.stopListening(), 5, "the port to close");
    port = null;
    logs.stop();
  });

  it("without a clock, schedules the retry on the global reactor", async () => {
    const f = new ReconnectingClientFactory();
    f.jitter = 0;
    const before = reactor.getDelayedCalls().length;
    f.clientConnectionFailed(new FakeConnector(), aFailure);
    // The global reactor is loaded lazily (import()), so the retry may be scheduled a tick later.
    for (let i = 0; i < 100 && f.clock === null; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(f.clock).to.equal(getReactor());
    expect(reactor.getDelayedCalls().length).to.equal(before + 1);
    f.stopTrying();
    expect(reactor.getDelayedCalls().length).to.equal(before);
  });

  it("reconnects a real TCP client after the server drops it, on the factory's clock", async () => {
    class Dropper extends Protocol {
      override connectionMade(): void {
        this.transport!.loseConnection();
      }
    }
    port = reactor.listenTCP(0, Factory.forProtocol(Dropper), { interface: "127.0.0.1" });
    const address = port.getHost();

    const clock = new Clock();
    const made = [new Deferred<void>(), new Deferred<void>()];
    const lost = [new Deferred<void>(), new Deferred<void>()];
    let connections = 0;
    class Counting extends Protocol {
      private readonly index = connections++;
      override connectionMade(): void {
        if (this.index === 1) f.stopTrying(); // two connections are enough
        made[this.index]!.callback(undefined);
      }
    }
    class Factory2 extends ReconnectingClientFactory {
      override clientConnectionLost(connector: IConnector, reason: Failure): void {
        super.clientConnectionLost(connector, reason);
        lost[connections - 1]!.callback(undefined);
      }
    }
    const f = Factory2.forProtocol(Counting);
    f.clock = clock;
    f.jitter = 0;
    reactor.connectTCP("127.0.0.1", address.type === "TCP" ? address.port : -1, f);

    await within(made[0]!, 5, "the first connection");
    await within(lost[0]!, 5, "the server to drop the first connection");
    expect(clock.getDelayedCalls()).to.have.length(1);
    clock.advance(f.delay);
    await within(made[1]!, 5, "the reconnection");
    await within(lost[1]!, 5, "the server to drop the second connection");
    expect(connections).to.equal(2);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
  });
});

describe("Protocol<F>: a protocol typed over its factory", () => {
  it("reads the state of the factory that built it, typed (self.factory.clients in Twisted)", () => {
    class ChatFactory extends Factory {
      readonly clients = new Set<Chat>();
    }
    class Chat extends Protocol<ChatFactory> {
      override connectionMade(): void {
        this.factory!.clients.add(this); // typed: no cast to ChatFactory
      }
      override connectionLost(reason?: Failure): void {
        super.connectionLost(reason);
        this.factory!.clients.delete(this);
      }
    }
    const factory = ChatFactory.forProtocol(Chat);
    const chat = factory.buildProtocol(ipAddress("127.0.0.1", 1)) as Chat;
    expect(chat.factory).to.equal(factory);
    chat.makeConnection(new StringTransport());
    expect([...factory.clients]).to.deep.equal([chat]);
    chat.connectionLost();
    expect(factory.clients.size).to.equal(0);
  });
});
