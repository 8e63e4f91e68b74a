/**
 * Services for the things twisted.internet runs (twisted.application.internet): a listening
 * endpoint, a timer, and a client connection kept up with retries.
 */

import { Deferred, fail, maybeDeferred, succeed } from "../internet/deferred.js";
import { CancelledError } from "../internet/error.js";
import { Failure } from "../internet/failure.js";
import type {
  IAddress,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
} from "../internet/interfaces.js";
import { LogLevel, Logger } from "../internet/log.js";
import { LoopingCall } from "../internet/task.js";
import { getReactor } from "../internet/reactor.js";
import { Service } from "./service.js";

/** An endpoint or policy in a log line: its own toString, else its class's name. */
function describe(value: object): string {
  return value.toString !== Object.prototype.toString ? String(value) : value.constructor.name;
}

// --- StreamServerEndpointService -------------------------------------------------------------

const serverLog = new Logger("torsion.application.internet.StreamServerEndpointService");

/**
 * Listens on an endpoint while it runs (Twisted's StreamServerEndpointService): listen() in
 * privilegedStartService (or startService, if that was skipped), stopListening() in
 * stopService, whose Deferred fires once the port is closed. A failure to listen is logged; a
 * stop before the port is up cancels the listen.
 */
export class StreamServerEndpointService extends Service {
  /** The listen in progress or done, once started; fires with the port, or undefined after a failure. */
  private waitingForPort: Deferred<IListeningPort | undefined> | null = null;
  private listenFailure: Failure | null = null;
  private listenWaiters: Deferred<IListeningPort>[] = [];
  /** The port, once listening (null before, and after a failure or a stop). */
  port: IListeningPort | null = null;
  /**
   * Throw a listen failure from privilegedStartService/startService when listen() fails at
   * once (a bad port) rather than only log it; for a command that must report it and exit.
   */
  raiseSynchronously = false;

  constructor(
    readonly endpoint: IStreamServerEndpoint,
    readonly factory: IProtocolFactory,
  ) {
    super();
  }

  override privilegedStartService(): void {
    super.privilegedStartService();
    const raisedNow: Failure[] = [];
    const d = maybeDeferred(() => this.endpoint.listen(this.factory)) as Deferred<IListeningPort | undefined>;
    this.waitingForPort = d;
    d.addCallbacks(
      (port) => {
        this.port = port ?? null;
        for (const w of this.takeWaiters()) w.callback(port!);
        return port;
      },
      (failure: Failure) => {
        this.listenFailure = failure;
        const waiters = this.takeWaiters();
        for (const w of waiters) w.errback(failure);
        if (this.raiseSynchronously) raisedNow.push(failure);
        // Nobody is waiting for the port: the log is the only place the failure can go.
        else if (waiters.length === 0 && failure.check(CancelledError) === null) {
          serverLog.failure("Error listening on {endpoint}", failure, { endpoint: describe(this.endpoint) }, LogLevel.error);
        }
        return undefined;
      },
    );
    this.raiseSynchronously = false;
    if (raisedNow.length > 0) raisedNow[0]!.raiseException();
  }

  override startService(): void {
    super.startService();
    if (this.waitingForPort === null) this.privilegedStartService();
  }

  /**
   * The port once listening (for its bound address: port 0). Asked before the listen fails,
   * the Deferred fails with the listen's failure, which is then not logged: the caller has it.
   */
  whenListening(): Deferred<IListeningPort> {
    if (this.port !== null) return succeed(this.port);
    if (this.listenFailure !== null) return fail(this.listenFailure);
    const d = new Deferred<IListeningPort>();
    this.listenWaiters.push(d);
    return d;
  }

  private takeWaiters(): Deferred<IListeningPort>[] {
    const waiters = this.listenWaiters;
    this.listenWaiters = [];
    return waiters;
  }

  override stopService(): Deferred<void> {
    const waiting = this.waitingForPort;
    if (waiting === null) {
      this.running = false;
      return succeed(undefined);
    }
    waiting.cancel();
    const d = new Deferred<void>();
    waiting.addBoth((port) => {
      const closing = port instanceof Failure || port === undefined ? undefined : port.stopListening();
      const done = (): void => {
        this.running = false;
        this.port = null;
        d.callback(undefined);
      };
      if (closing === undefined) done();
      else closing.addCallbacks(done, (failure: Failure) => {
        this.running = false;
        d.errback(failure);
      });
      return undefined;
    });
    return d;
  }
}

// --- TimerService ------------------------------------------------------------------------------

const timerLog = new Logger("torsion.application.internet.TimerService");

/**
 * Calls a function every `step` seconds while it runs, the first time at start (Twisted's
 * TimerService, on a LoopingCall). A call that throws is logged and ends the loop, as in
 * Twisted; stopService's Deferred waits for a call in progress (one returning a Deferred).
 */
export class TimerService<A extends unknown[] = unknown[]> extends Service {
  /** The clock the loop runs on: the global reactor unless set before startService. */
  clock: IReactorTime | null = null;
  private loop: LoopingCall | null = null;
  private loopFinished: Deferred<unknown> | null = null;
  readonly call: readonly [(...args: A) => unknown, A];

  constructor(
    readonly step: number,
    callable: (...args: A) => unknown,
    ...args: A
  ) {
    super();
    if (typeof step !== "number" || !Number.isFinite(step) || step < 0) throw new RangeError(`step must be a number of seconds >= 0, got ${String(step)}`);
    if (typeof callable !== "function") throw new TypeError(`TimerService calls a function, got ${String(callable)}`);
    this.call = [callable, args];
  }

  override startService(): void {
    super.startService();
    const [callable, args] = this.call;
    // A new LoopingCall for each start: a stopped one cannot be restarted mid-call.
    const loop = new LoopingCall(callable, ...args);
    if (this.clock !== null) loop.clock = this.clock;
    this.loop = loop;
    this.loopFinished = loop.start(this.step, true).addErrback((failure: Failure) => {
      timerLog.failure("Error in the call of {service}", failure, { service: this.name ?? String(callable.name || "TimerService") }, LogLevel.error);
      return undefined;
    });
  }

  override stopService(): Deferred<void> {
    if (this.loop !== null && this.loop.running) this.loop.stop();
    const finished = this.loopFinished ?? succeed(undefined);
    const d = new Deferred<void>();
    finished.addBoth((result) => {
      this.running = false;
      d.callback(undefined);
      return result instanceof Failure ? undefined : result;
    });
    return d;
  }
}

// --- ClientService -----------------------------------------------------------------------------

/** How long to wait before connection attempt `attempt` (1 for the first retry), in seconds. */
export type RetryPolicy = (attempt: number) => number;

export interface BackoffPolicyOptions {
  /** The delay before the first retry (default 1 s). */
  initialDelay?: number;
  /** The longest delay, before jitter (default 60 s). */
  maxDelay?: number;
  /** How much the delay grows after each failed attempt (default 1.5). */
  factor?: number;
  /** Noise added to each delay (default Math.random: 0 to 1 s). */
  jitter?: () => number;
}

/**
 * An exponential backoff (Twisted's backoffPolicy): min(initialDelay * factor ** attempt,
 * maxDelay) + jitter().
 */
export function backoffPolicy(options: BackoffPolicyOptions = {}): RetryPolicy {
  const initialDelay = options.initialDelay ?? 1.0;
  const maxDelay = options.maxDelay ?? 60.0;
  const factor = options.factor ?? 1.5;
  const jitter = options.jitter ?? Math.random;
  for (const [name, value] of [["initialDelay", initialDelay], ["maxDelay", maxDelay], ["factor", factor]] as const) {
    if (typeof value !== "number" || !(value >= 0)) throw new RangeError(`backoffPolicy: ${name} must be a number >= 0, got ${String(value)}`);
  }
  return (attempt: number): number => {
    const grown = initialDelay * factor ** Math.min(100, attempt);
    return (Number.isFinite(grown) ? Math.min(grown, maxDelay) : maxDelay) + jitter();
  };
}

const defaultPolicy = backoffPolicy();

export interface ClientServiceOptions<P extends IProtocol> {
  /** The delay before each retry (default backoffPolicy()). */
  retryPolicy?: RetryPolicy;
  /** The clock retries are scheduled on (default the global reactor). */
  clock?: IReactorTime;
  /**
   * Called with each new connection's protocol before whenConnected's Deferreds see it (to log
   * in, say); a Deferred it returns is waited for; a failure counts as a failed attempt.
   */
  prepareConnection?: (protocol: P) => unknown;
}

type ClientState = "init" | "connecting" | "waiting" | "connected" | "disconnecting" | "restarting" | "stopped";

interface Awaiting<P> {
  d: Deferred<P>;
  /** Failures left before this waiter gets one (null: only a stop fails it). */
  remaining: number | null;
}

/**
 * The connection machine of ClientService (Twisted's _ClientMachine, written as a switch on
 * the state instead of automat). Inputs: start, stop, whenConnected, and the connection's
 * events (made, failed, lost, the retry timer).
 */
class ClientMachine<P extends IProtocol> {
  state: ClientState = "init";
  private failedAttempts = 0;
  private connectionInProgress: Deferred<unknown> = succeed(undefined);
  private currentConnection: P | null = null;
  private retryCall: ReturnType<IReactorTime["callLater"]> | null = null;
  private awaitingConnected: Awaiting<P>[] = [];
  private stopWaiters: Deferred<void>[] = [];

  constructor(
    private readonly endpoint: IStreamClientEndpoint,
    private readonly factory: IProtocolFactory,
    private readonly retryPolicy: RetryPolicy,
    private readonly clock: () => IReactorTime,
    private readonly prepareConnection: ((protocol: P) => unknown) | undefined,
    private readonly log: Logger,
  ) {}

  // inputs

  start(): void {
    switch (this.state) {
      case "init":
      case "stopped":
        this.state = "connecting";
        this.connect();
        return;
      case "disconnecting":
        this.state = "restarting";
        this.failedAttempts = 0;
        return;
      default:
        return; // already on its way
    }
  }

  stop(): Deferred<void> {
    switch (this.state) {
      case "init":
      case "stopped":
        this.state = "stopped";
        return succeed(undefined);
      case "connecting": {
        this.state = "disconnecting";
        const d = this.waitForStop();
        // Cancelling fails the attempt at once: connectionFailed runs in "disconnecting".
        this.connectionInProgress.cancel();
        return d;
      }
      case "waiting": {
        this.state = "stopped";
        const d = this.waitForStop();
        this.unawait(new Failure(new CancelledError("the ClientService was stopped")));
        this.retryCall?.cancel();
        this.retryCall = null;
        this.finishStopping();
        return d;
      }
      case "connected": {
        this.state = "disconnecting";
        const d = this.waitForStop();
        const transport = (this.currentConnection as unknown as { transport?: { loseConnection(): void } | null }).transport;
        transport?.loseConnection();
        return d;
      }
      case "disconnecting":
      case "restarting":
        this.state = "disconnecting";
        return this.waitForStop();
    }
  }

  whenConnected(failAfterFailures: number | null): Deferred<P> {
    if (this.state === "connected") return succeed(this.currentConnection!);
    if (this.state === "stopped") return fail(new CancelledError("the ClientService is stopped"));
    const d = new Deferred<P>();
    this.awaitingConnected.push({ d, remaining: failAfterFailures });
    return d;
  }

  private connectionMade(protocol: P): void {
    if (this.state !== "connecting") return;
    this.state = "connected";
    this.failedAttempts = 0;
    this.currentConnection = protocol;
    this.unawait(protocol);
  }

  private connectionFailed(failure: Failure): void {
    if (this.state === "connecting") {
      this.state = "waiting";
      this.doWait();
      this.deliverConnectionFailure(failure);
    } else if (this.state === "disconnecting") {
      this.state = "stopped";
      this.unawait(new Failure(new CancelledError("the ClientService was stopped")));
      this.finishStopping();
    }
  }

  private clientDisconnected(): void {
    switch (this.state) {
      case "connected":
        this.state = "waiting";
        this.currentConnection = null;
        this.doWait();
        return;
      case "disconnecting":
        this.state = "stopped";
        this.unawait(new Failure(new CancelledError("the ClientService was stopped")));
        this.finishStopping();
        this.currentConnection = null;
        return;
      case "restarting":
        this.state = "connecting";
        this.currentConnection = null;
        this.finishStopping();
        this.connect();
        return;
      default:
        return;
    }
  }

  private reconnect(): void {
    this.retryCall = null;
    if (this.state !== "waiting") return;
    this.state = "connecting";
    this.connect();
  }

  // outputs

  private connect(): void {
    const lost = (): void => this.clientDisconnected();
    // An endpoint that throws instead of failing its Deferred is a failed attempt like any other.
    const attempt = maybeDeferred(() => this.endpoint.connect(disconnectFactory(this.factory, lost))) as Deferred<P>;
    this.connectionInProgress = attempt
      .addCallback((protocol: P) => this.runPrepareConnection(protocol))
      .addCallbacks(
        (protocol: P) => {
          this.connectionMade(protocol);
          return undefined;
        },
        (failure: Failure) => {
          this.connectionFailed(failure);
          return undefined;
        },
      );
  }

  private runPrepareConnection(protocol: P): P | Deferred<P> {
    const prepare = this.prepareConnection;
    if (prepare === undefined) return protocol;
    return maybeDeferred(() => prepare(protocol) as Deferred<unknown> | undefined).addCallback(() => protocol);
  }

  private doWait(): void {
    this.failedAttempts++;
    const delay = this.retryPolicy(this.failedAttempts);
    this.log.info("Scheduling retry {attempt} to connect {endpoint} in {delay} seconds.", {
      attempt: this.failedAttempts,
      endpoint: describe(this.endpoint),
      delay,
    });
    this.retryCall = this.clock().callLater(delay, () => this.reconnect());
  }

  private waitForStop(): Deferred<void> {
    const d = new Deferred<void>();
    this.stopWaiters.push(d);
    return d;
  }

  private finishStopping(): void {
    const waiting = this.stopWaiters;
    this.stopWaiters = [];
    for (const d of waiting) d.callback(undefined);
  }

  private unawait(value: P | Failure): void {
    const waiting = this.awaitingConnected;
    this.awaitingConnected = [];
    for (const { d } of waiting) {
      if (value instanceof Failure) d.errback(value);
      else d.callback(value);
    }
  }

  private deliverConnectionFailure(failure: Failure): void {
    const ready: Deferred<P>[] = [];
    const notReady: Awaiting<P>[] = [];
    for (const w of this.awaitingConnected) {
      if (w.remaining === null) notReady.push(w);
      else if (w.remaining <= 1) ready.push(w.d);
      else notReady.push({ d: w.d, remaining: w.remaining - 1 });
    }
    this.awaitingConnected = notReady;
    for (const d of ready) d.errback(failure);
  }
}

/**
 * `factory`, except that each protocol it builds also tells `lost` when its connection is lost
 * (Twisted's _DisconnectFactory and _ReconnectingProtocolProxy). The protocol is the factory's
 * own object with its connectionLost wrapped, so every interface it has (half-close, a
 * producer) stays visible to the transport.
 */
function disconnectFactory(factory: IProtocolFactory, lost: () => void): IProtocolFactory {
  const buildProtocol = (addr: IAddress): IProtocol | null => {
    const protocol = factory.buildProtocol(addr);
    if (protocol === null) return null;
    const original = protocol.connectionLost;
    protocol.connectionLost = function connectionLost(this: IProtocol, reason: Failure): void {
      try {
        original.call(this, reason);
      } finally {
        lost();
      }
    };
    return protocol;
  };
  return new Proxy(factory, {
    get(target, key) {
      if (key === "buildProtocol") return buildProtocol;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Keeps one client connection up while it runs (Twisted's ClientService): connects through
 * `endpoint` at start, and after each failed attempt or lost connection waits
 * `retryPolicy(attempts)` seconds and connects again. whenConnected() gives the current
 * protocol, or the next one; stopService() closes the connection (or cancels the attempt or
 * the wait) and fires once it is closed.
 */
export class ClientService<P extends IProtocol = IProtocol> extends Service {
  private readonly machine: ClientMachine<P>;
  private readonly log = new Logger("torsion.application.internet.ClientService");

  constructor(endpoint: IStreamClientEndpoint, factory: IProtocolFactory, options: ClientServiceOptions<P> = {}) {
    super();
    const given = options.clock;
    let clock: IReactorTime | null = given ?? null;
    this.machine = new ClientMachine<P>(
      endpoint,
      factory,
      options.retryPolicy ?? defaultPolicy,
      () => (clock ??= getReactor()),
      options.prepareConnection,
      this.log,
    );
  }

  /**
   * The connected protocol, or the next to connect. Fails with CancelledError when the service
   * stops first, or with the connection error after `failAfterFailures` failed attempts in a
   * row (1: the next failure; null, the default: only a stop fails it).
   */
  whenConnected(options: { failAfterFailures?: number | null } = {}): Deferred<P> {
    return this.machine.whenConnected(options.failAfterFailures ?? null);
  }

  override startService(): void {
    if (this.running) {
      this.log.warn("Duplicate ClientService.startService {service}", { service: this.name ?? "ClientService" });
      return;
    }
    super.startService();
    this.machine.start();
  }

  override stopService(): Deferred<void> {
    super.stopService();
    return this.machine.stop();
  }
}
