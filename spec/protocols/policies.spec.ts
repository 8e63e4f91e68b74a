import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ipAddress } from "../../lib/internet/address.js";
import type { Failure } from "../../lib/internet/failure.js";
import type {
  Bytes,
  IAddress,
  IClientFactory,
  IConnector,
  IProtocol,
  IPushProducer,
  ITransport,
} from "../../lib/internet/interfaces.js";
import { Factory, Protocol, ServerFactory } from "../../lib/internet/protocol.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport, StringTransportWithDisconnection } from "../../lib/internet/testing.js";
import { LineReceiver } from "../../lib/protocols/basic.js";
import {
  LimitConnectionsByPeer,
  LimitTotalConnectionsFactory,
  ProtocolWrapper,
  ThrottlingFactory,
  type ThrottlingOptions,
  ThrottlingProtocol,
  TimeoutFactory,
  TimeoutMixin,
  TimeoutProtocol,
  type TrafficLog,
  TrafficLoggingFactory,
  TrafficLoggingProtocol,
  WrappingFactory,
} from "../../lib/protocols/policies.js";
import { loopback, Recorder } from "../support/loopback.js";
import { later, until, within } from "../support/wait.js";

const addr = ipAddress("127.0.0.1", 12345);

/** Twisted's SimpleProtocol: records connection and disconnection. */
class SimpleProtocol extends Protocol {
  made = false;
  disconnected = false;
  readonly buffer: Buffer[] = [];
  override connectionMade(): void {
    this.made = true;
  }
  override dataReceived(data: Bytes): void {
    this.buffer.push(Buffer.from(data));
  }
  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.disconnected = true;
  }
}

/** Twisted's EchoProtocol: echoes, and is a push producer that records being paused. */
class EchoProtocol extends Protocol implements IPushProducer {
  paused = false;
  override dataReceived(data: Bytes): void {
    this.transport!.write(data);
  }
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
  }
  stopProducing(): void {}
}

function serverOf(protocol: new () => IProtocol): ServerFactory {
  const f = new ServerFactory();
  f.protocol = protocol;
  return f;
}

/** A connected wrapper over a StringTransportWithDisconnection, as Twisted's tests build one. */
function connect<P extends IProtocol>(factory: { buildProtocol(a: IAddress): IProtocol | null }): { proto: P; tr: StringTransportWithDisconnection } {
  const proto = factory.buildProtocol(addr) as P;
  const tr = new StringTransportWithDisconnection();
  tr.protocol = proto;
  proto.makeConnection(tr);
  return { proto, tr };
}

describe("policies", () => {
  describe("WrapperTests", () => {
    it("test_protocolFactoryAttribute: the wrapped protocol's factory is the wrapped factory", () => {
      const f = new Factory();
      f.protocol = Protocol;
      const wf = new WrappingFactory(f);
      const p = wf.buildProtocol(addr) as ProtocolWrapper;
      expect((p.wrappedProtocol as Protocol).factory).to.equal(f);
      expect(p.factory).to.equal(wf);
    });

    it("test_transportInterfaces: the wrapper offers every method of the real transport to the wrapped protocol", () => {
      class StubTransport extends StringTransport {
        stubbed(): string {
          return "stub";
        }
      }
      const wf = new WrappingFactory(serverOf(SimpleProtocol));
      const p = wf.buildProtocol(addr) as ProtocolWrapper;
      p.makeConnection(new StubTransport());
      const seen = (p.wrappedProtocol as SimpleProtocol).transport as unknown as StubTransport;
      expect(seen).to.equal(p);
      expect(seen.stubbed()).to.equal("stub");
      expect(seen.getTcpNoDelay()).to.equal(false);
      seen.setTcpNoDelay(true);
      expect((p.transport as StubTransport).getTcpNoDelay()).to.equal(true);
    });

    it("test_factoryLogPrefix: names the wrapped factory and the wrapper", () => {
      class Wrapped extends Factory {
        override logPrefix(): string {
          return "wrapped";
        }
      }
      expect(new WrappingFactory(new Wrapped()).logPrefix()).to.equal("wrapped (WrappingFactory)");
    });

    it("test_factoryLogPrefixFallback: falls back to the wrapped factory's class name", () => {
      class NoFactory {
        buildProtocol(): null {
          return null;
        }
        doStart(): void {}
        doStop(): void {}
      }
      expect(new WrappingFactory(new NoFactory()).logPrefix()).to.equal("NoFactory (WrappingFactory)");
    });

    it("test_protocolLogPrefix: names the wrapped protocol and the wrapper", () => {
      class Named extends Protocol {
        override logPrefix(): string {
          return "wrapped";
        }
      }
      const p = new ProtocolWrapper(new WrappingFactory(new Factory()), new Named());
      expect(p.logPrefix()).to.equal("wrapped (ProtocolWrapper)");
    });

    it("test_protocolLogPrefixFallback: falls back to the wrapped protocol's class name", () => {
      class NoProtocol {
        makeConnection(): void {}
        connectionMade(): void {}
        dataReceived(): void {}
        connectionLost(): void {}
      }
      const p = new ProtocolWrapper(new WrappingFactory(new Factory()), new NoProtocol());
      expect(p.logPrefix()).to.equal("NoProtocol (ProtocolWrapper)");
    });

    function wrapper(): { p: ProtocolWrapper; tr: StringTransport } {
      const p = new ProtocolWrapper(new WrappingFactory(new Factory()), new Protocol());
      const tr = new StringTransport({ hostAddress: ipAddress("10.0.0.1", 1), peerAddress: ipAddress("10.0.0.2", 2) });
      p.makeConnection(tr);
      return { p, tr };
    }

    it("test_getHost: getHost is the real transport's", () => {
      const { p, tr } = wrapper();
      expect(p.getHost()).to.equal(tr.getHost());
    });

    it("test_getPeer: getPeer is the real transport's", () => {
      const { p, tr } = wrapper();
      expect(p.getPeer()).to.equal(tr.getPeer());
    });

    it("test_registerProducer: a producer registered on the wrapper is registered on the transport", () => {
      const { p, tr } = wrapper();
      const producer = new EchoProtocol();
      p.registerProducer(producer, true);
      expect(tr.producer).to.equal(producer);
      expect(tr.streaming).to.equal(true);
    });

    it("test_unregisterProducer: unregistering on the wrapper unregisters on the transport", () => {
      const { p, tr } = wrapper();
      p.registerProducer(new EchoProtocol(), true);
      p.unregisterProducer();
      expect(tr.producer).to.equal(null);
    });

    it("test_stopConsuming (pause/resume/stop): the wrapper passes producer calls to the transport", () => {
      const { p, tr } = wrapper();
      p.pauseProducing();
      expect(tr.producerState).to.equal("paused");
      p.resumeProducing();
      expect(tr.producerState).to.equal("producing");
      p.stopProducing();
      expect(tr.producerState).to.equal("stopped");
    });

    class RecordingClientFactory extends Factory implements IClientFactory {
      readonly events: string[] = [];
      startedConnecting(_c: IConnector): void {
        this.events.push("startedConnecting");
      }
      clientConnectionFailed(_c: IConnector, reason: Failure): void {
        this.events.push(`failed ${reason.value.message}`);
      }
      clientConnectionLost(_c: IConnector, reason: Failure): void {
        this.events.push(`lost ${reason.value.message}`);
      }
    }
    const connector = {} as IConnector;

    it("test_startedConnecting: is passed to the wrapped factory", () => {
      const f = new RecordingClientFactory();
      new WrappingFactory(f).startedConnecting(connector);
      expect(f.events).to.deep.equal(["startedConnecting"]);
    });

    it("test_clientConnectionLost: is passed to the wrapped factory", () => {
      const f = new RecordingClientFactory();
      new WrappingFactory(f).clientConnectionLost(connector, { value: new Error("gone") } as Failure);
      expect(f.events).to.deep.equal(["lost gone"]);
    });

    it("test_clientConnectionFailed: is passed to the wrapped factory", () => {
      const f = new RecordingClientFactory();
      new WrappingFactory(f).clientConnectionFailed(connector, { value: new Error("refused") } as Failure);
      expect(f.events).to.deep.equal(["failed refused"]);
    });

    it("test_breakReferenceCycle: the wrapper drops the wrapped protocol when the connection is lost", () => {
      const wf = new WrappingFactory(serverOf(SimpleProtocol));
      const { proto, tr } = connect<ProtocolWrapper>(wf);
      const wrapped = proto.wrappedProtocol as SimpleProtocol;
      expect(wf.protocols.has(proto)).to.equal(true);
      tr.loseConnection();
      expect(proto.wrappedProtocol).to.equal(null);
      expect(wrapped.disconnected).to.equal(true);
      expect(wf.protocols.size).to.equal(0);
    });

    it("starts and stops the wrapped factory with itself", () => {
      const f = new Factory();
      f.noisy = false;
      const wf = new WrappingFactory(f);
      wf.noisy = false;
      wf.doStart();
      expect(f.numPorts).to.equal(1);
      wf.doStop();
      expect(f.numPorts).to.equal(0);
    });

    it("refuses the connection when the wrapped factory refuses it", () => {
      const f = new Factory();
      f.buildProtocol = () => null;
      expect(new WrappingFactory(f).buildProtocol(addr)).to.equal(null);
    });

    it("is half-closeable exactly when the wrapped protocol is (beyond Twisted, whose wrapper hides it)", () => {
      class Half extends Protocol {
        readLost = 0;
        readConnectionLost(): void {
          this.readLost++;
        }
        writeConnectionLost(): void {}
      }
      const half = new Half();
      const w = new ProtocolWrapper(new WrappingFactory(new Factory()), half) as ProtocolWrapper & { readConnectionLost?: () => void };
      expect(w.readConnectionLost).to.be.a("function");
      w.readConnectionLost!();
      expect(half.readLost).to.equal(1);
      const plain = new ProtocolWrapper(new WrappingFactory(new Factory()), new Protocol()) as ProtocolWrapper & { readConnectionLost?: unknown };
      expect(plain.readConnectionLost).to.equal(undefined);
    });

    it("asks the wrapped protocol when the FIN arrives, not when it wraps it (HTTPChannel offers half-close only before a response)", () => {
      class Sometimes extends Protocol {
        offer = false;
        lost = 0;
        get readConnectionLost(): (() => void) | undefined {
          return this.offer ? () => void this.lost++ : undefined;
        }
      }
      const inner = new Sometimes();
      const w = new ProtocolWrapper(new WrappingFactory(new Factory()), inner) as ProtocolWrapper & { readConnectionLost?: () => void };
      expect(w.readConnectionLost).to.equal(undefined);
      inner.offer = true;
      w.readConnectionLost!();
      expect(inner.lost).to.equal(1);
    });

    describe("on real sockets", () => {
      const lo = loopback();

      it("relays bytes both ways and the loss, over TCP", async () => {
        const inner = new ServerFactory();
        inner.protocol = EchoProtocol;
        const wf = new WrappingFactory(inner);
        const port = lo.listenTCP(wf);
        const socket = await lo.connect(port.getHost().port);
        const echoed = later<string>();
        socket.on("data", (d) => echoed.resolve(d.toString()));
        socket.write("ping");
        expect(await within(echoed.promise, 2, "the echo")).to.equal("ping");
        await until(() => wf.protocols.size === 1, 2, "the wrapper to register");
        socket.end();
        await until(() => wf.protocols.size === 0, 2, "the wrapper to unregister");
      });
    });
  });

  describe("ThrottlingTests", () => {
    function throttled(options: ThrottlingOptions, protocol: new () => IProtocol = EchoProtocol): { f: ThrottlingFactory; clock: Clock } {
      const clock = new Clock();
      const f = new ThrottlingFactory(serverOf(protocol), options);
      f.clock = clock;
      return { f, clock };
    }

    describe("test_limit: a server limited to 2 connections, on real sockets", () => {
      const lo = loopback();

      it("refuses the third connection and accepts a new one once one closes", async () => {
        const inner = new ServerFactory();
        inner.protocol = SimpleProtocol;
        const f = new ThrottlingFactory(inner, { maxConnectionCount: 2 });
        const port = lo.listenTCP(f).getHost().port;
        const c1 = await lo.connect(port);
        await until(() => f.protocols.size === 1, 2, "c1 to be served");
        const c2 = await lo.connect(port);
        await until(() => f.protocols.size === 2, 2, "c2 to be served");
        const c3 = await lo.connect(port);
        const c3closed = later();
        c3.on("close", () => c3closed.resolve());
        await within(c3closed.promise, 2, "the third connection to be refused");
        expect(f.protocols.size).to.equal(2);
        expect(f.connectionCount).to.equal(2);
        c1.end();
        await until(() => f.connectionCount === 1, 2, "c1 to be gone");
        await lo.connect(port);
        await until(() => f.connectionCount === 2, 2, "c4 to be served");
        c2.end();
      });
    });

    it("test_writeSequence: writeSequence is counted and relayed", () => {
      const { f } = throttled({});
      const { proto, tr } = connect<ThrottlingProtocol>(f);
      proto.writeSequence([Buffer.from("bytes"), Buffer.from("bytes"), Buffer.from("bytes"), Buffer.from("bytes")]);
      expect(tr.value().toString()).to.equal("bytesbytesbytesbytes");
      expect(f.writtenThisSecond).to.equal(20);
    });

    it("test_writeLimit: the producer is paused once a second's writes pass the limit, then resumed", () => {
      const { f, clock } = throttled({ writeLimit: 10 });
      const { proto, tr } = connect<ThrottlingProtocol>(f);
      const echo = proto.wrappedProtocol as EchoProtocol;
      proto.producer = echo;
      proto.dataReceived(Buffer.from("0123456789"));
      proto.dataReceived(Buffer.from("abcdefghij"));
      expect(tr.value().toString()).to.equal("0123456789abcdefghij");
      expect(f.writtenThisSecond).to.equal(20);
      expect(echo.paused).to.equal(false);
      clock.advance(1.05);
      expect(f.writtenThisSecond).to.equal(0);
      expect(echo.paused).to.equal(true);
      clock.advance(1.05);
      expect(f.writtenThisSecond).to.equal(0);
      expect(echo.paused).to.equal(false);
    });

    it("test_readLimit: reading is paused once a second's reads pass the limit, then resumed, again and again", () => {
      const { f, clock } = throttled({ readLimit: 10 });
      const { proto, tr } = connect<ThrottlingProtocol>(f);
      for (let round = 0; round < 2; round++) {
        tr.clear();
        proto.dataReceived(Buffer.from("0123456789"));
        proto.dataReceived(Buffer.from("abcdefghij"));
        expect(tr.value().toString()).to.equal("0123456789abcdefghij");
        expect(f.readThisSecond).to.equal(20);
        clock.advance(1.05);
        expect(f.readThisSecond).to.equal(0);
        expect(tr.producerState).to.equal("paused");
        clock.advance(1.05);
        expect(f.readThisSecond).to.equal(0);
        expect(tr.producerState).to.equal("producing");
      }
    });

    it("cancels its once-a-second checks when the last connection goes, so nothing runs for nobody", () => {
      const { f, clock } = throttled({ readLimit: 10, writeLimit: 10 });
      const { tr } = connect<ThrottlingProtocol>(f);
      expect(clock.getDelayedCalls()).to.have.length(2);
      tr.loseConnection();
      expect(clock.getDelayedCalls()).to.have.length(0);
      expect(f.connectionCount).to.equal(0);
    });

    it("a registered producer is the one paused by the write limit (registerProducer through the wrapper)", () => {
      const { f, clock } = throttled({ writeLimit: 10 });
      const { proto } = connect<ThrottlingProtocol>(f);
      const producer = new EchoProtocol();
      proto.registerProducer(producer, true);
      proto.write(Buffer.alloc(25));
      clock.advance(1);
      expect(producer.paused).to.equal(true);
      clock.advance(1.5);
      expect(producer.paused).to.equal(false);
      proto.unregisterProducer();
      expect(proto.producer).to.equal(null);
    });

    it("throws at once on a limit that is not a positive number, naming it", () => {
      expect(() => new ThrottlingFactory(new Factory(), { readLimit: -5 })).to.throw(RangeError, /readLimit .* -5/);
      expect(() => new ThrottlingFactory(new Factory(), { writeLimit: Number.NaN })).to.throw(RangeError, /writeLimit .* NaN/);
      expect(() => new ThrottlingFactory(new Factory(), { maxConnectionCount: 1.5 })).to.throw(RangeError, /maxConnectionCount .* 1\.5/);
    });

    describe("on real sockets", () => {
      const lo = loopback();

      it("a read limit pauses reading for the excess (what arrives meanwhile waits in TCP), then reads again", async () => {
        const inner = new ServerFactory();
        inner.protocol = Recorder as unknown as new () => IProtocol;
        const limit = 1024 * 1024;
        const f = new ThrottlingFactory(inner, { readLimit: limit });
        f.clock = lo.reactor;
        const port = lo.listenTCP(f).getHost().port;
        const socket = await lo.connect(port);
        socket.write(Buffer.alloc(3 * limit, 1));
        await until(() => f.protocols.size === 1, 2, "the connection to be served");
        const recorder = [...f.protocols][0]!.wrappedProtocol as unknown as Recorder;
        await within(recorder.receivedAtLeast(3 * limit), 3, "the first 3 MiB");
        // At the first check (1 s after the connection) 3 MiB were read against 1 MiB/s: 2 s paused.
        await until(() => f.unthrottleReadsID !== null, 3, "reads to be throttled after the first second");
        expect(f.unthrottleReadsID!.getTime() - lo.reactor.seconds()).to.be.within(1.5, 2.01);
        socket.write(Buffer.alloc(64 * 1024, 2));
        await within(new Promise((resolve) => lo.reactor.callLater(0.5, () => resolve(null))), 3, "half a second");
        expect(recorder.received.length).to.equal(3 * limit);
        await until(() => f.unthrottleReadsID === null, 3, "reads to be unthrottled");
        await within(recorder.receivedAtLeast(3 * limit + 64 * 1024), 3, "the bytes sent while paused");
      });
    });
  });

  describe("TimeoutProtocolTests", () => {
    function protocolAndClock(): { sut: TimeoutProtocol; clock: Clock } {
      const clock = new Clock();
      const f = new TimeoutFactory(serverOf(SimpleProtocol), 30);
      f.clock = clock;
      const proto = f.buildProtocol(addr) as TimeoutProtocol;
      proto.cancelTimeout();
      const tr = new StringTransportWithDisconnection();
      tr.protocol = proto;
      proto.makeConnection(tr);
      return { sut: proto, clock };
    }

    it("test_cancelTimeout: cancels the ongoing timeout", () => {
      const { sut, clock } = protocolAndClock();
      sut.setTimeout(3);
      expect(sut.timeoutCall).to.not.equal(null);
      expect((sut.wrappedProtocol as SimpleProtocol).disconnected).to.equal(false);
      clock.advance(1);
      sut.cancelTimeout();
      expect(sut.timeoutCall).to.equal(null);
      clock.advance(3);
      expect((sut.wrappedProtocol as SimpleProtocol).disconnected).to.equal(false);
    });

    it("test_cancelTimeoutNoTimeout: does nothing if no timeout is set", () => {
      const { sut } = protocolAndClock();
      expect(sut.timeoutCall).to.equal(null);
      sut.cancelTimeout();
      expect((sut.wrappedProtocol as SimpleProtocol).disconnected).to.equal(false);
    });

    it("test_cancelTimeoutAlreadyCalled: does nothing once the timeout has fired", () => {
      const { sut, clock } = protocolAndClock();
      const wrapped = sut.wrappedProtocol as SimpleProtocol;
      sut.setTimeout(3);
      clock.advance(3);
      expect(wrapped.disconnected).to.equal(true);
      expect(() => sut.cancelTimeout()).to.not.throw();
    });

    it("test_cancelTimeoutAlreadyCancelled: does nothing if the timeout was cancelled elsewhere", () => {
      const { sut } = protocolAndClock();
      sut.setTimeout(3);
      sut.timeoutCall!.cancel();
      expect(() => sut.cancelTimeout()).to.not.throw();
      expect((sut.wrappedProtocol as SimpleProtocol).disconnected).to.equal(false);
    });
  });

  describe("TimeoutFactoryTests", () => {
    let clock: Clock;
    let proto: TimeoutProtocol;
    let wrapped: SimpleProtocol;
    beforeEach(() => {
      clock = new Clock();
      const f = new TimeoutFactory(serverOf(SimpleProtocol), 3);
      f.clock = clock;
      ({ proto } = connect<TimeoutProtocol>(f));
      wrapped = proto.wrappedProtocol as SimpleProtocol;
    });

    it("test_timeout: an idle connection is closed after the period", () => {
      clock.pump([0, 0.5, 1, 1, 0.4]);
      expect(wrapped.disconnected).to.equal(false);
      clock.pump([0, 0.2]);
      expect(wrapped.disconnected).to.equal(true);
    });

    it("test_sendAvoidsTimeout: writing resets the countdown", () => {
      clock.pump([0, 0.5, 1]);
      expect(wrapped.disconnected).to.equal(false);
      proto.write(Buffer.from("bytes bytes bytes"));
      clock.pump([0, 1, 1]);
      expect(wrapped.disconnected).to.equal(false);
      proto.writeSequence([Buffer.from("bytes"), Buffer.from("bytes")]);
      clock.pump([0, 1, 1]);
      expect(wrapped.disconnected).to.equal(false);
      clock.pump([0, 2]);
      expect(wrapped.disconnected).to.equal(true);
    });

    it("test_receiveAvoidsTimeout: receiving resets the countdown", () => {
      clock.pump([0, 1, 0.5]);
      expect(wrapped.disconnected).to.equal(false);
      proto.dataReceived(Buffer.from("bytes bytes bytes"));
      clock.pump([0, 1, 1]);
      expect(wrapped.disconnected).to.equal(false);
      clock.pump([0, 1, 1]);
      expect(wrapped.disconnected).to.equal(true);
    });

    it("throws at once on a period that is not a finite number >= 0, naming it", () => {
      expect(() => new TimeoutFactory(new Factory(), -1)).to.throw(RangeError, /timeoutPeriod .* -1/);
    });
  });

  describe("TimeoutMixinTests", () => {
    /** Twisted's TimeoutTester: a protocol that times out after timeOut seconds of silence. */
    class TimeoutTester extends TimeoutMixin(Protocol) {
      override timeOut: number | null = 3;
      timedOut = false;
      constructor(readonly testClock: Clock) {
        super();
      }
      override connectionMade(): void {
        this.setTimeout(this.timeOut);
      }
      override dataReceived(data: Bytes): void {
        this.resetTimeout();
        super.dataReceived(data);
      }
      override connectionLost(reason: Failure): void {
        this.setTimeout(null);
        super.connectionLost(reason);
      }
      override timeoutConnection(): void {
        this.timedOut = true;
      }
      override callLater(period: number, f: () => unknown) {
        return this.testClock.callLater(period, f);
      }
    }
    let clock: Clock;
    let proto: TimeoutTester;
    beforeEach(() => {
      clock = new Clock();
      proto = new TimeoutTester(clock);
    });

    it("test_overriddenCallLater: an overridden callLater is what schedules the timeout", () => {
      proto.setTimeout(10);
      expect(clock.getDelayedCalls()).to.have.length(1);
    });

    it("test_timeout: times out timeOut seconds after the connection", () => {
      proto.makeConnection(new StringTransport());
      clock.pump([0, 0.5, 1, 1]);
      expect(proto.timedOut).to.equal(false);
      clock.pump([0, 1]);
      expect(proto.timedOut).to.equal(true);
    });

    it("test_noTimeout: data received postpones the timeout", () => {
      proto.makeConnection(new StringTransport());
      clock.pump([0, 0.5, 1, 1]);
      expect(proto.timedOut).to.equal(false);
      proto.dataReceived(Buffer.from("hello there"));
      clock.pump([0, 1, 1, 0.5]);
      expect(proto.timedOut).to.equal(false);
      clock.pump([0, 1]);
      expect(proto.timedOut).to.equal(true);
    });

    it("test_resetTimeout: a new timeout replaces the previous one", () => {
      proto.timeOut = null;
      proto.makeConnection(new StringTransport());
      proto.setTimeout(1);
      expect(proto.timeOut).to.equal(1);
      clock.pump([0, 0.9]);
      expect(proto.timedOut).to.equal(false);
      clock.pump([0, 0.2]);
      expect(proto.timedOut).to.equal(true);
    });

    it("test_cancelTimeout: setTimeout(null) cancels the timeout", () => {
      proto.timeOut = 5;
      proto.makeConnection(new StringTransport());
      proto.setTimeout(null);
      expect(proto.timeOut).to.equal(null);
      clock.pump([0, 5, 5, 5]);
      expect(proto.timedOut).to.equal(false);
    });

    it("test_setTimeoutReturn: setTimeout returns the previous timeout", () => {
      proto.timeOut = 5;
      expect(proto.setTimeout(10)).to.equal(5);
      expect(proto.setTimeout(null)).to.equal(10);
      expect(proto.setTimeout(1)).to.equal(null);
      expect(proto.timeOut).to.equal(1);
      proto.setTimeout(null);
    });

    it("test_setTimeoutCancleAlreadyCancelled: setTimeout(null) after an outside cancel raises nothing", () => {
      proto.setTimeout(3);
      clock.getDelayedCalls()[0]!.cancel();
      expect(proto.timeOut).to.not.equal(null);
      expect(() => proto.setTimeout(null)).to.not.throw();
      expect(proto.timeOut).to.equal(null);
    });

    it("closes the connection by default, on a Clock set as `clock`", () => {
      class Idle extends TimeoutMixin(LineReceiver) {
        override connectionMade(): void {
          this.setTimeout(2);
        }
        override lineReceived(): void {
          this.resetTimeout();
        }
      }
      const p = new Idle();
      p.clock = clock;
      const tr = new StringTransportWithDisconnection();
      tr.protocol = p;
      p.makeConnection(tr);
      p.dataReceived(Buffer.from("hello\r\n"));
      clock.advance(1.5);
      expect(tr.connected).to.equal(true);
      clock.advance(0.6);
      expect(tr.connected).to.equal(false);
    });

    it("throws at once on a period that is not a finite number >= 0", () => {
      expect(() => proto.setTimeout(-1)).to.throw(RangeError, /-1/);
      expect(() => proto.setTimeout(Number.POSITIVE_INFINITY)).to.throw(RangeError, /Infinity/);
    });

    describe("on the real reactor", () => {
      const lo = loopback();

      it("a silent client is closed after the timeout; one that talks is not", async () => {
        class Idle extends TimeoutMixin(Protocol) {
          override connectionMade(): void {
            this.setTimeout(0.3);
          }
          override dataReceived(data: Bytes): void {
            this.resetTimeout();
            this.transport!.write(data);
          }
        }
        const clients: Idle[] = [];
        const f = new ServerFactory();
        f.buildProtocol = () => {
          const p = new Idle();
          p.clock = lo.reactor;
          clients.push(p);
          return p;
        };
        const port = lo.listenTCP(f).getHost().port;
        const silent = await lo.connect(port);
        const chatty = await lo.connect(port);
        const silentClosed = later();
        silent.on("close", () => silentClosed.resolve());
        let chattyClosed = false;
        chatty.on("close", () => (chattyClosed = true));
        const ticker = setInterval(() => chatty.write("."), 50);
        try {
          await within(silentClosed.promise, 3, "the silent client to be closed");
          expect(chattyClosed).to.equal(false);
        } finally {
          clearInterval(ticker);
        }
      });
    });
  });

  describe("LimitTotalConnectionsFactoryTests", () => {
    it("testConnectionCounting: counts connections as they are made and lost", () => {
      const f = new LimitTotalConnectionsFactory();
      f.protocol = Protocol;
      expect(f.connectionCount).to.equal(0);
      const p1 = f.buildProtocol(addr)!;
      expect(f.connectionCount).to.equal(1);
      const p2 = f.buildProtocol(addr)!;
      expect(f.connectionCount).to.equal(2);
      p1.connectionLost({} as Failure);
      expect(f.connectionCount).to.equal(1);
      p2.connectionLost({} as Failure);
      expect(f.connectionCount).to.equal(0);
    });

    it("testConnectionLimiting: beyond the limit, refused or given the overflow protocol", () => {
      const f = new LimitTotalConnectionsFactory();
      f.protocol = Protocol;
      f.connectionLimit = 1;
      const p = f.buildProtocol(addr)!;
      expect(p).to.not.equal(null);
      expect(f.connectionCount).to.equal(1);
      expect(f.buildProtocol(addr)).to.equal(null);
      expect(f.connectionCount).to.equal(1);
      let overflowed = false;
      f.overflowProtocol = class extends Protocol {
        override connectionMade(): void {
          overflowed = true;
        }
      };
      const op = f.buildProtocol(addr)!;
      op.makeConnection(new StringTransport());
      expect(overflowed).to.equal(true);
      expect(f.connectionCount).to.equal(2);
      p.connectionLost({} as Failure);
      expect(f.connectionCount).to.equal(1);
      op.connectionLost({} as Failure);
      expect(f.connectionCount).to.equal(0);
    });
  });

  describe("LimitConnectionsByPeer", () => {
    it("refuses a peer's connections beyond the limit, and counts down by the same peer (Twisted's counts never drop)", () => {
      const f = new LimitConnectionsByPeer(serverOf(SimpleProtocol));
      f.maxConnectionsPerPeer = 2;
      const a = ipAddress("10.0.0.1", 1000);
      const b = ipAddress("10.0.0.2", 1000);
      const p1 = f.buildProtocol(a) as ProtocolWrapper;
      const p2 = f.buildProtocol(a) as ProtocolWrapper;
      expect(f.buildProtocol(a)).to.equal(null);
      expect(f.buildProtocol(b)).to.not.equal(null);
      expect(f.peerConnections.get("10.0.0.1")).to.equal(2);
      for (const p of [p1, p2]) {
        const tr = new StringTransportWithDisconnection();
        tr.protocol = p;
        p.makeConnection(tr);
        tr.loseConnection();
      }
      expect(f.peerConnections.has("10.0.0.1")).to.equal(false);
      expect(f.buildProtocol(a)).to.not.equal(null);
    });
  });

  describe("LoggingFactoryTests", () => {
    class MemoryLog implements TrafficLog {
      text = "";
      ended = false;
      write(line: string): void {
        this.text += line;
      }
      end(): void {
        this.ended = true;
      }
    }
    /** Twisted's TestLoggingFactory: logs to memory. */
    class TestLoggingFactory extends TrafficLoggingFactory {
      openFile: MemoryLog | null = null;
      override open(_name: string): MemoryLog {
        if (this.openFile !== null) throw new Error("open() called too many times");
        this.openFile = new MemoryLog();
        return this.openFile;
      }
    }
    /** Twisted's WriteSequenceEchoProtocol. */
    class WriteSequenceEcho extends EchoProtocol {
      override dataReceived(data: Bytes): void {
        if (Buffer.from(data).includes("vector!")) this.transport!.writeSequence([data]);
        else super.dataReceived(data);
      }
    }

    it("test_thingsGetLogged: connect, data each way, writeSequence and the loss are logged", () => {
      const f = new TestLoggingFactory(serverOf(WriteSequenceEcho), "test");
      const { proto, tr } = connect<TrafficLoggingProtocol>(f);
      expect(f.openFile!.text).to.include("*");
      expect(tr.value().length).to.equal(0);
      proto.dataReceived(Buffer.from("here are some bytes"));
      expect(f.openFile!.text).to.include("C 1: b'here are some bytes'");
      expect(f.openFile!.text).to.include("S 1: b'here are some bytes'");
      expect(tr.value().toString()).to.equal("here are some bytes");
      tr.clear();
      proto.dataReceived(Buffer.from("prepare for vector! to the extreme"));
      expect(f.openFile!.text).to.include("SV 1: [b'prepare for vector! to the extreme']");
      expect(tr.value().toString()).to.equal("prepare for vector! to the extreme");
      proto.loseConnection();
      expect(f.openFile!.text).to.include("S 1: *");
      expect(f.openFile!.text).to.include("ConnectionDone");
      expect(f.openFile!.ended).to.equal(true);
    });

    it("test_counter: connections are numbered, and resetCounter starts again", () => {
      const f = new TestLoggingFactory(serverOf(SimpleProtocol), "test");
      const first = f.buildProtocol(addr) as TrafficLoggingProtocol;
      expect(first.number).to.equal(1);
      f.openFile = null;
      const second = f.buildProtocol(ipAddress("1.2.3.4", 5679)) as TrafficLoggingProtocol;
      expect(second.number).to.equal(2);
      f.resetCounter();
      f.openFile = null;
      expect((f.buildProtocol(addr) as TrafficLoggingProtocol).number).to.equal(1);
    });

    it("test_loggingFactoryOpensLogfileAutomatically: each connection gets its own file, prefix-n", async () => {
      const dir = mkdtempSync(join(tmpdir(), "torsion-traffic-"));
      try {
        const prefix = join(dir, "test");
        const f = new TrafficLoggingFactory(serverOf(EchoProtocol), prefix, 40);
        const one = connect<TrafficLoggingProtocol>(f);
        const two = connect<TrafficLoggingProtocol>(f);
        one.proto.dataReceived(Buffer.from("x".repeat(100)));
        one.tr.loseConnection();
        two.tr.loseConnection();
        const closed = (log: TrafficLog) => new Promise<void>((resolve) => (log as unknown as NodeJS.WritableStream).once("finish", () => resolve()));
        await within(Promise.all([closed(one.proto.logfile), closed(two.proto.logfile)]), 2, "the logs to be written");
        const first = readFileSync(`${prefix}-1`, "utf8");
        expect(first.split("\n")[0]).to.equal("*");
        expect(first).to.include("<... elided>");
        expect(readFileSync(`${prefix}-2`, "utf8")).to.match(/^\*\n/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

// Keep the type of the transport the spec talks to honest: a wrapper is an ITransport.
const _typed: ITransport = new ProtocolWrapper(new WrappingFactory(new Factory()), new Protocol());
void _typed;
