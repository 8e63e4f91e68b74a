import { expect } from "chai";
import { ClientService, StreamServerEndpointService, TimerService, backoffPolicy } from "../../lib/application/internet.js";
import { Deferred, succeed } from "../../lib/internet/deferred.js";
import { TCP4ClientEndpoint, TCP4ServerEndpoint } from "../../lib/internet/endpoints.js";
import { CancelledError, ConnectionRefusedError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import type { IAddress, IListeningPort, IProtocol, IProtocolFactory, IStreamClientEndpoint, IStreamServerEndpoint } from "../../lib/internet/interfaces.js";
import { LogLevel } from "../../lib/internet/log.js";
import { Factory, Protocol } from "../../lib/internet/protocol.js";
import { NodeReactor, reactor as globalReactor } from "../../lib/internet/reactor.js";
import { StringTransport } from "../../lib/internet/string-transport.js";
import { Clock } from "../../lib/internet/task.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { until, within } from "../support/wait.js";

/** Twisted's FakeServer: an endpoint whose listen() the test completes. */
class FakeServer implements IStreamServerEndpoint {
  result: Deferred<IListeningPort> | null = null;
  factory: IProtocolFactory | null = null;
  listenAttempts = 0;
  failImmediately: Error | null = null;
  cancelException: Error | null = null;
  readonly port = new FakePort();

  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    this.listenAttempts++;
    this.factory = factory;
    this.result = new Deferred<IListeningPort>((d) => {
      if (this.cancelException !== null) d.errback(this.cancelException);
    });
    if (this.failImmediately !== null) this.result.errback(this.failImmediately);
    return this.result;
  }

  startedListening(): void {
    this.result!.callback(this.port);
  }

  stoppedListening(): void {
    this.port.deferred!.callback(undefined);
  }
}

class FakePort implements IListeningPort {
  deferred: Deferred<void> | null = null;
  startListening(): void {}
  stopListening(): Deferred<void> {
    this.deferred = new Deferred<void>();
    return this.deferred;
  }
  getHost(): IAddress {
    return { type: "TCP", family: "IPv4", host: "127.0.0.1", port: 0 } as IAddress;
  }
}

class ZeroDivisionError extends Error {}

describe("application/internet", () => {
  const logs = captureLogsOfEachTest();
  const errors = () => logs.events.filter((e) => e.log_level >= LogLevel.error);

  describe("StreamServerEndpointService (EndpointServiceTests)", () => {
    let fakeServer: FakeServer;
    let factory: Factory;
    let svc: StreamServerEndpointService;
    beforeEach(() => {
      fakeServer = new FakeServer();
      factory = new Factory();
      svc = new StreamServerEndpointService(fakeServer, factory);
    });

    it("test_privilegedStartService: privilegedStartService listens with the factory", () => {
      svc.privilegedStartService();
      expect(fakeServer.factory).to.equal(factory);
    });

    it("test_synchronousRaiseRaisesSynchronously: with raiseSynchronously, a listen that fails at once throws from startService", () => {
      fakeServer.failImmediately = new ZeroDivisionError("bad port");
      svc.raiseSynchronously = true;
      expect(() => svc.startService()).to.throw(ZeroDivisionError, "bad port");
    });

    it("test_synchronousRaisePrivileged: ... and from privilegedStartService", () => {
      fakeServer.failImmediately = new ZeroDivisionError("bad port");
      svc.raiseSynchronously = true;
      expect(() => svc.privilegedStartService()).to.throw(ZeroDivisionError);
    });

    it("test_failReportsError: a listen that fails later is logged", () => {
      svc.startService();
      fakeServer.result!.errback(new ZeroDivisionError("later"));
      expect(errors().map((e) => e.log_failure?.getErrorMessage())).to.deep.equal(["later"]);
    });

    it("test_asynchronousFailReportsError: ... even with raiseSynchronously set", () => {
      svc.raiseSynchronously = true;
      svc.startService();
      fakeServer.result!.errback(new ZeroDivisionError("later"));
      expect(errors()).to.have.length(1);
    });

    it("test_synchronousFailReportsError: without raiseSynchronously, failing at once is logged too", () => {
      fakeServer.failImmediately = new ZeroDivisionError("now");
      svc.startService();
      expect(errors()).to.have.length(1);
    });

    it("test_startServiceUnstarted: startService listens and sets running", () => {
      svc.startService();
      expect(fakeServer.factory).to.equal(factory);
      expect(svc.running).to.equal(true);
    });

    it("test_startServiceStarted: startService after privilegedStartService does not listen again", () => {
      svc.privilegedStartService();
      svc.startService();
      expect(fakeServer.listenAttempts).to.equal(1);
      expect(svc.running).to.equal(true);
    });

    it("test_stopService: stopService stops listening and fires once the port has stopped", () => {
      svc.privilegedStartService();
      fakeServer.startedListening();
      svc.startService();
      const fired: unknown[] = [];
      svc.stopService().addCallback((r) => void fired.push(r));
      expect(fired).to.have.length(0);
      fakeServer.stoppedListening();
      expect(fired).to.have.length(1);
      expect(svc.running).to.equal(false);
    });

    it("test_stopServiceBeforeStartFinished: a stop before the port is up cancels the listen, logging nothing", () => {
      svc.privilegedStartService();
      const fired: unknown[] = [];
      svc.stopService().addBoth((r) => void fired.push(r));
      expect(fired).to.deep.equal([undefined]);
      expect(errors()).to.have.length(0);
    });

    it("test_stopServiceCancelStartError: a cancelled listen failing with another error is logged", () => {
      fakeServer.cancelException = new ZeroDivisionError("while cancelling");
      svc.privilegedStartService();
      const fired: unknown[] = [];
      svc.stopService().addCallback((r) => void fired.push(r));
      expect(fired).to.deep.equal([undefined]);
      expect(errors().map((e) => e.log_failure?.getErrorMessage())).to.deep.equal(["while cancelling"]);
    });

    it("whenListening: fires with the port; asked before a failure, it fails with it and nothing is logged", () => {
      const listening = svc.whenListening();
      svc.startService();
      fakeServer.startedListening();
      let port: unknown;
      listening.addCallback((p) => void (port = p));
      expect(port).to.equal(fakeServer.port);

      const other = new FakeServer();
      const failing = new StreamServerEndpointService(other, factory);
      other.failImmediately = new ZeroDivisionError("EADDRINUSE");
      let failure: Failure | undefined;
      failing.whenListening().addErrback((f: Failure) => void (failure = f));
      failing.startService();
      expect(failure!.getErrorMessage()).to.equal("EADDRINUSE");
      expect(errors()).to.have.length(0);
    });

    it("on a real TCP port: serves while running, and refuses connections once stopped", async () => {
      const reactor = new NodeReactor();
      class Hello extends Protocol {
        override connectionMade(): void {
          this.transport!.write(new TextEncoder().encode("hello"));
          this.transport!.loseConnection();
        }
      }
      const server = new StreamServerEndpointService(new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" }), Factory.forProtocol(Hello));
      server.startService();
      const port = await within(server.whenListening(), 5, "the port to listen");
      const portNumber = (port!.getHost() as { port: number }).port;
      const net = await import("node:net");
      const read = (): Promise<string> =>
        new Promise((resolve, reject) => {
          const socket = net.connect(portNumber, "127.0.0.1");
          let text = "";
          socket.on("data", (d) => (text += d.toString()));
          socket.on("end", () => resolve(text));
          socket.on("error", (err: NodeJS.ErrnoException) => reject(err));
        });
      expect(await within(read(), 5, "the greeting")).to.equal("hello");
      await within(server.stopService(), 5, "the port to close");
      const refused = await within(read().then(() => "answered", (err: NodeJS.ErrnoException) => err.code), 5, "the refusal");
      expect(refused).to.equal("ECONNREFUSED");
    });
  });

  describe("TimerService (TimerServiceTests)", () => {
    let clock: Clock;
    let calls: number;
    let timer: TimerService;
    let result: Deferred<void> | null;
    beforeEach(() => {
      clock = new Clock();
      calls = 0;
      result = null;
      timer = new TimerService(2, () => {
        calls++;
        return result ?? undefined;
      });
      timer.clock = clock;
    });

    it("test_startService: startService runs the call every step on the clock", () => {
      timer.startService();
      expect(timer.running).to.equal(true);
      clock.advance(2);
      clock.advance(2);
      expect(calls).to.equal(3);
    });

    it("test_startServiceRunsCallImmediately: the first call is at start", () => {
      timer.startService();
      expect(calls).to.equal(1);
    });

    it("test_startServiceUsesGlobalReactor: without a clock, the calls are scheduled on the global reactor", () => {
      const t = new TimerService(3600, () => {});
      const before = globalReactor.getDelayedCalls().length;
      t.startService();
      try {
        expect(globalReactor.getDelayedCalls().length).to.equal(before + 1);
      } finally {
        t.stopService();
      }
      expect(globalReactor.getDelayedCalls().length).to.equal(before);
    });

    it("test_stopServiceWaits: stopService waits for a call in progress", () => {
      result = new Deferred<void>();
      timer.startService();
      const fired: unknown[] = [];
      timer.stopService().addCallback((r) => void fired.push(r));
      expect(fired).to.have.length(0);
      expect(timer.running).to.equal(true);
      result.callback(undefined);
      expect(fired).to.have.length(1);
      expect(timer.running).to.equal(false);
    });

    it("test_stopServiceImmediately: with no call in progress, stopService fires at once", () => {
      timer.startService();
      const fired: unknown[] = [];
      timer.stopService().addCallback((r) => void fired.push(r));
      expect(fired).to.have.length(1);
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });

    it("test_failedCallLogsError: a call that throws is logged and ends the loop; stopService still fires", () => {
      const failing = new TimerService(1, () => {
        throw new ZeroDivisionError("tick");
      });
      failing.clock = clock;
      failing.startService();
      expect(errors().map((e) => e.log_failure?.getErrorMessage())).to.deep.equal(["tick"]);
      const fired: unknown[] = [];
      failing.stopService().addCallback((r) => void fired.push(r));
      expect(fired).to.have.length(1);
    });

    it("testTimerRestart (TimerBasicTests): a stopped TimerService starts again, calling at once", () => {
      timer.startService();
      timer.stopService();
      expect(calls).to.equal(1);
      timer.startService();
      expect(calls).to.equal(2);
      clock.advance(2);
      expect(calls).to.equal(3);
      timer.stopService();
    });

    it("a step that is not a number >= 0 throws RangeError naming it", () => {
      expect(() => new TimerService(-1, () => {})).to.throw(RangeError, /-1/);
    });

    it("on the real reactor: calls every step until stopped", async () => {
      const reactor = new NodeReactor();
      let ticks = 0;
      let third!: () => void;
      const thirdTick = new Promise<void>((resolve) => (third = resolve));
      const t = new TimerService(0.01, () => {
        if (++ticks === 3) third();
      });
      t.clock = reactor;
      t.startService();
      await within(thirdTick, 5, "three ticks");
      await within(t.stopService(), 5, "the timer to stop");
      const after = ticks;
      await within(new Promise<void>((resolve) => reactor.callLater(0.03, resolve)), 5, "a few steps");
      expect(ticks).to.equal(after);
    });
  });

  describe("backoffPolicy", () => {
    it("grows by factor from initialDelay, up to maxDelay, plus jitter", () => {
      const policy = backoffPolicy({ initialDelay: 1, maxDelay: 10, factor: 2, jitter: () => 0.5 });
      expect([0, 1, 2, 3, 4, 5].map(policy)).to.deep.equal([1.5, 2.5, 4.5, 8.5, 10.5, 10.5]);
    });

    it("does not overflow for a very large attempt count", () => {
      expect(backoffPolicy({ jitter: () => 0 })(1e9)).to.equal(60);
    });

    it("a negative delay or factor throws RangeError naming it", () => {
      expect(() => backoffPolicy({ factor: -1 })).to.throw(RangeError, /factor/);
    });
  });

  describe("ClientService (ClientServiceTests)", () => {
    /** Twisted's endpointForTesting: connect() returns a Deferred the test fires (or fired already). */
    class ConnectInformation {
      connectQueue: Deferred<IProtocol>[] = [];
      constructedProtocols: IProtocol[] = [];
      passedFactories: IProtocolFactory[] = [];
      transports: StringTransport[] = [];
    }
    function endpointForTesting(fireImmediately: boolean): [ConnectInformation, IStreamClientEndpoint] {
      const info = new ConnectInformation();
      const endpoint: IStreamClientEndpoint = {
        connect(factory: IProtocolFactory): Deferred<IProtocol> {
          info.passedFactories.push(factory);
          const result = new Deferred<unknown>();
          const d = result.addCallback(() => {
            const protocol = factory.buildProtocol({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: 0 } as IAddress)!;
            info.constructedProtocols.push(protocol);
            const transport = new StringTransport();
            info.transports.push(transport);
            protocol.makeConnection(transport);
            return protocol;
          }) as Deferred<IProtocol>;
          info.connectQueue.push(d);
          if (fireImmediately) result.callback(undefined);
          return d;
        },
      };
      return [info, endpoint];
    }

    const AT_LEAST_ONE_ATTEMPT = 100;
    let clock: Clock;
    let cleanup: Array<() => void>;
    beforeEach(() => {
      clock = new Clock();
      cleanup = [];
    });
    afterEach(() => {
      for (const f of cleanup) f();
    });

    function makeReconnector(options: { fireImmediately?: boolean; startService?: boolean; prepareConnection?: (p: IProtocol) => unknown } = {}) {
      const [cq, endpoint] = endpointForTesting(options.fireImmediately ?? true);
      const applicationProtocols: Protocol[] = [];
      class RememberingFactory extends Factory {
        override buildProtocol(addr: IAddress): IProtocol | null {
          const p = new Protocol();
          (p as { factory: unknown }).factory = this;
          void addr;
          applicationProtocols.push(p);
          return p;
        }
      }
      const applicationFactory = new RememberingFactory();
      const service = new ClientService(endpoint, applicationFactory, { clock, prepareConnection: options.prepareConnection });
      cleanup.push(() => {
        if (service.running) service.stopService();
        // stopService leaves nothing scheduled on the clock.
        expect(clock.getDelayedCalls()).to.deep.equal([]);
      });
      if (options.startService ?? true) service.startService();
      return { cq, service, applicationProtocols, applicationFactory };
    }

    /** The connection of the nth attempt is lost, as a transport would report it. */
    function lose(cq: ConnectInformation, index: number): void {
      cq.constructedProtocols[index]!.connectionLost(new Failure(new Error("lost")));
    }

    const fired = <T>(d: Deferred<T>): { value?: T; failure?: Failure } => {
      const out: { value?: T; failure?: Failure } = {};
      d.addCallbacks(
        (v) => {
          out.value = v;
        },
        (f: Failure) => {
          out.failure = f;
        },
      );
      return out;
    };

    it("an endpoint whose connect() throws is a failed attempt, retried", () => {
      let attempts = 0;
      const endpoint: IStreamClientEndpoint = {
        connect(): Deferred<IProtocol> {
          attempts++;
          throw new Error("no route");
        },
      };
      const service = new ClientService(endpoint, new Factory(), { clock, retryPolicy: () => 1 });
      service.startService();
      const failing = fired(service.whenConnected({ failAfterFailures: 2 }));
      clock.advance(1);
      expect(failing).to.deep.equal({});
      clock.advance(1);
      expect(attempts).to.equal(3);
      expect(failing.failure!.getErrorMessage()).to.equal("no route");
      service.stopService();
    });

    it("test_startService: starting makes a connection attempt", () => {
      const { cq } = makeReconnector({ fireImmediately: false });
      expect(cq.connectQueue).to.have.length(1);
    });

    it("test_startStopFactory: doStart/doStop on the factory the endpoint got reach the application's factory", () => {
      const { cq, applicationFactory } = makeReconnector();
      expect(applicationFactory.numPorts).to.equal(0);
      cq.passedFactories[0]!.doStart();
      expect(applicationFactory.numPorts).to.equal(1);
      cq.passedFactories[0]!.doStop();
      expect(applicationFactory.numPorts).to.equal(0);
    });

    it("test_stopServiceWhileConnected: stopping closes the connection and fires once it is lost", () => {
      const { cq, service } = makeReconnector();
      const stopped = fired(service.stopService());
      expect(cq.transports[0]!.disconnecting).to.equal(true);
      expect(stopped).to.deep.equal({});
      lose(cq, 0);
      expect(stopped).to.deep.equal({ value: undefined });
    });

    it("test_startServiceWaitsForDisconnect: a restart while disconnecting connects again only after the loss", () => {
      const { cq, service } = makeReconnector();
      service.stopService();
      service.startService();
      expect(cq.connectQueue).to.have.length(1);
      lose(cq, 0);
      expect(cq.connectQueue).to.have.length(2);
    });

    it("test_startServiceWhileStopping: the first stop fires when the old connection is lost, and a new one is made", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      cq.connectQueue[0]!.callback(undefined as never);
      const first = fired(service.stopService());
      service.startService();
      expect(first).to.deep.equal({});
      lose(cq, 0);
      expect(first).to.deep.equal({ value: undefined });
      expect(cq.connectQueue).to.have.length(2);
    });

    it("test_startServiceWhileStopped: starting a stopped service connects again", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      const stopped = fired(service.stopService());
      expect(stopped).to.deep.equal({ value: undefined });
      service.startService();
      expect(cq.connectQueue).to.have.length(2);
    });

    it("test_interfacesForTransport: the transport sees the application's own protocol, with every method it has", () => {
      const { cq, applicationProtocols } = makeReconnector();
      expect(cq.constructedProtocols[0]).to.equal(applicationProtocols[0]);
    });

    it("test_stopServiceWhileRetrying: stopping while waiting to retry cancels the retry and fires at once", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      cq.connectQueue[0]!.errback(new Error("refused"));
      expect(clock.getDelayedCalls()).to.have.length(1);
      const stopped = fired(service.stopService());
      expect(stopped).to.deep.equal({ value: undefined });
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });

    it("test_stopServiceWhileConnecting: stopping while connecting cancels the attempt and fires", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      const stopped = fired(service.stopService());
      expect(stopped).to.deep.equal({ value: undefined });
      // The attempt was cancelled: completing it now builds nothing, and nothing is retried.
      cq.connectQueue[0]!.callback(undefined as never);
      expect(cq.constructedProtocols).to.have.length(0);
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(cq.connectQueue).to.have.length(1);
    });

    it("test_clientConnected: whenConnected fires with the application's protocol", () => {
      const { service, applicationProtocols } = makeReconnector();
      expect(fired(service.whenConnected()).value).to.equal(applicationProtocols[0]);
    });

    it("test_clientConnectionFailed: a failed attempt is retried after the policy's delay", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      const waiting = fired(service.whenConnected());
      cq.connectQueue[0]!.errback(new Error("refused"));
      expect(waiting).to.deep.equal({});
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(cq.connectQueue).to.have.length(2);
      cq.connectQueue[1]!.callback(undefined as never);
      expect(waiting.value).to.equal(cq.constructedProtocols[0]);
    });

    it("test_clientConnectionLost: a lost connection is replaced; whenConnected gives the new one", () => {
      const { cq, service } = makeReconnector();
      const first = fired(service.whenConnected()).value;
      lose(cq, 0);
      expect(cq.connectQueue).to.have.length(1);
      const next = fired(service.whenConnected());
      expect(next).to.deep.equal({});
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(cq.connectQueue).to.have.length(2);
      expect(next.value).to.not.equal(first);
      expect(next.value).to.equal(cq.constructedProtocols[1]);
    });

    it("test_clientConnectionLostWhileStopping: a connection lost while stopping is not replaced", () => {
      const { cq, service } = makeReconnector();
      const stopped = fired(service.stopService());
      lose(cq, 0);
      expect(stopped).to.deep.equal({ value: undefined });
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(cq.connectQueue).to.have.length(1);
    });

    it("test_startTwice: a second startService only warns", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      service.startService();
      expect(cq.connectQueue).to.have.length(1);
      expect(logs.messages()).to.deep.equal(["Duplicate ClientService.startService ClientService"]);
    });

    it("test_whenConnectedLater: whenConnected before the connection fires when it is made", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      const waiting = fired(service.whenConnected());
      expect(waiting).to.deep.equal({});
      cq.connectQueue[0]!.callback(undefined as never);
      expect(waiting.value).to.equal(cq.constructedProtocols[0]);
    });

    it("test_whenConnectedFails: failAfterFailures: N fails the Deferred after N failed attempts in a row", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      const a0 = fired(service.whenConnected());
      const a1 = fired(service.whenConnected({ failAfterFailures: 1 }));
      const a2 = fired(service.whenConnected({ failAfterFailures: 2 }));
      const a3 = fired(service.whenConnected({ failAfterFailures: 3 }));
      cq.connectQueue[0]!.errback(new ConnectionRefusedError("one"));
      expect(a1.failure!.getErrorMessage()).to.equal("one");
      expect([a0, a2, a3]).to.deep.equal([{}, {}, {}]);
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      cq.connectQueue[1]!.errback(new ConnectionRefusedError("two"));
      expect(a2.failure!.getErrorMessage()).to.equal("two");
      expect([a0, a3]).to.deep.equal([{}, {}]);
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      cq.connectQueue[2]!.callback(undefined as never);
      expect(a0.value).to.equal(cq.constructedProtocols[0]);
      expect(a3.value).to.equal(cq.constructedProtocols[0]);
      void service;
    });

    it("test_whenConnectedStopService: stopping fails the waiting Deferreds with CancelledError", () => {
      const { service } = makeReconnector({ fireImmediately: false });
      const waiting = fired(service.whenConnected());
      service.stopService();
      expect(waiting.failure!.check(CancelledError)).to.equal(CancelledError);
    });

    it("test_retryCancelled: stopping while waiting cancels the retry timer", () => {
      const { cq, service } = makeReconnector({ fireImmediately: false });
      cq.connectQueue[0]!.errback(new Error("refused"));
      service.stopService();
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(cq.connectQueue).to.have.length(1);
    });

    it("test_stopServiceBeforeStartService: stopping a service never started fires at once", () => {
      const { service } = makeReconnector({ startService: false });
      expect(fired(service.stopService())).to.deep.equal({ value: undefined });
    });

    it("test_whenConnectedErrbacksOnStopService: every waiter fails when the service stops", () => {
      const { service } = makeReconnector({ fireImmediately: false });
      const waiters = [fired(service.whenConnected()), fired(service.whenConnected({ failAfterFailures: 3 }))];
      service.stopService();
      for (const w of waiters) expect(w.failure!.check(CancelledError)).to.equal(CancelledError);
    });

    it("test_stopServiceWhileDisconnecting: a second stop while disconnecting fires with the first", () => {
      const { cq, service } = makeReconnector();
      const first = fired(service.stopService());
      const second = fired(service.stopService());
      expect([first, second]).to.deep.equal([{}, {}]);
      lose(cq, 0);
      expect([first, second]).to.deep.equal([{ value: undefined }, { value: undefined }]);
    });

    it("test_stopServiceWhileRestarting: stop, start, stop: both stops fire at the loss, no new connection", () => {
      const { cq, service } = makeReconnector();
      const first = fired(service.stopService());
      service.startService();
      const second = fired(service.stopService());
      lose(cq, 0);
      expect([first, second]).to.deep.equal([{ value: undefined }, { value: undefined }]);
      expect(cq.connectQueue).to.have.length(1);
    });

    it("test_stopServiceOnStoppedService: stopping twice fires both", () => {
      const { cq, service } = makeReconnector();
      const first = fired(service.stopService());
      lose(cq, 0);
      const second = fired(service.stopService());
      expect([first, second]).to.deep.equal([{ value: undefined }, { value: undefined }]);
    });

    it("test_prepareConnectionCalledWhenServiceStarts: prepareConnection runs once the first connection is made", () => {
      let calls = 0;
      makeReconnector({ prepareConnection: () => void calls++ });
      expect(calls).to.equal(1);
    });

    it("test_prepareConnectionCalledAfterConnectionMade: prepareConnection sees a protocol whose connectionMade has run", () => {
      let hadTransport: boolean | null = null;
      makeReconnector({ prepareConnection: (p) => void (hadTransport = (p as Protocol).transport !== null) });
      expect(hadTransport).to.equal(true);
    });

    it("test_prepareConnectionReturnValueIgnored: whatever prepareConnection returns, whenConnected gives the protocol", () => {
      const { cq, service } = makeReconnector({ prepareConnection: () => "ignored" });
      expect(fired(service.whenConnected()).value).to.equal(cq.constructedProtocols[0]);
    });

    it("test_prepareConnectionCalledWithProtocol: prepareConnection gets each new protocol, before whenConnected", () => {
      const prepared: IProtocol[] = [];
      const { cq, service } = makeReconnector({ prepareConnection: (p) => void prepared.push(p) });
      expect(prepared).to.deep.equal([cq.constructedProtocols[0]]);
      expect(fired(service.whenConnected()).value).to.equal(cq.constructedProtocols[0]);
    });

    it("test_prepareConnectionCalledOnReconnect: ... and again after a reconnection", () => {
      const prepared: IProtocol[] = [];
      const { cq } = makeReconnector({ prepareConnection: (p) => void prepared.push(p) });
      lose(cq, 0);
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(prepared).to.deep.equal([cq.constructedProtocols[0], cq.constructedProtocols[1]]);
    });

    it("test_prepareConnectionReturningADeferred: whenConnected waits for prepareConnection's Deferred", () => {
      const ready = new Deferred<void>();
      const { cq, service } = makeReconnector({ prepareConnection: () => ready });
      const waiting = fired(service.whenConnected());
      expect(waiting).to.deep.equal({});
      ready.callback(undefined);
      expect(waiting.value).to.equal(cq.constructedProtocols[0]);
    });

    it("test_prepareConnectionThrows: a prepareConnection that throws counts as a failed attempt", () => {
      let n = 0;
      const { cq, service } = makeReconnector({
        prepareConnection: () => {
          if (++n === 1) throw new ZeroDivisionError("not ready");
          return succeed(undefined);
        },
      });
      const failing = fired(service.whenConnected({ failAfterFailures: 1 }));
      expect(failing).to.deep.equal({});
      clock.advance(AT_LEAST_ONE_ATTEMPT);
      expect(cq.connectQueue).to.have.length(2);
      expect(fired(service.whenConnected()).value).to.equal(cq.constructedProtocols[1]);
    });

    it("on real sockets: reconnects to a server that comes back, and stopService closes the connection", async () => {
      const reactor = new NodeReactor();
      const net = await import("node:net");
      const sockets = new Set<import("node:net").Socket>();
      let connections = 0;
      const server = net.createServer((s) => {
        connections++;
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as import("node:net").AddressInfo).port;
      try {
        const service = new ClientService(new TCP4ClientEndpoint(reactor, "127.0.0.1", port), Factory.forProtocol(Protocol), {
          clock: reactor,
          retryPolicy: () => 0.01,
        });
        service.startService();
        const first = await within(service.whenConnected(), 5, "the first connection");
        expect(connections).to.equal(1);
        // The server drops the connection: the service connects again.
        for (const s of sockets) s.destroy();
        await until(() => connections === 2, 5, "the service to reconnect");
        const second = await within(service.whenConnected(), 5, "the second connection");
        expect(second).to.not.equal(first);
        await within(service.stopService(), 5, "the service to stop");
        // The connection is closed, and no retry comes after the stop.
        await until(() => sockets.size === 0, 5, "the server to see the connection close");
        expect(connections).to.equal(2);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
