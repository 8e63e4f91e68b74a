/**
 * The reactor, as twisted.internet.reactor, backed by Node's own event loop.
 *
 * Node's loop is always running, so unlike Twisted's reactor this one works before run():
 * callLater, listenTCP and connectTCP take effect at once, and a program that never calls run()
 * exits when its own work (ports, connections, pending calls) is done. run() adds what Twisted's
 * run() means beyond the loop: the startup and shutdown system events, SIGINT/SIGTERM handling,
 * and keeping the process alive until stop().
 *
 * Time: seconds() is on the epoch scale (as Twisted's time.time()) but monotonic: it is
 * performance.timeOrigin + performance.now(), so it never jumps back with the wall clock.
 */

import { FileDescriptor, type ShutdownResource } from "./abstract.js";
import { DelayedCall } from "./base.js";
import { Deferred } from "./deferred.js";
import { ReactorAlreadyRunning, ReactorNotRestartable, ReactorNotRunning } from "./error.js";
import type {
  ConnectSSLOptions,
  ConnectTCPOptions,
  ConnectUNIXOptions,
  IClientFactory,
  IDelayedCall,
  IProtocolFactory,
  IReactorCore,
  IReactorFromThreads,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUNIX,
  ITLSClientContextFactory,
  ITLSServerContextFactory,
  ListenSSLOptions,
  ListenTCPOptions,
  ListenUNIXOptions,
  SystemEventPhase,
} from "./interfaces.js";
import { Logger } from "./log.js";
import { type IHostnameResolver, type IReactorNameResolution, PluggableNameResolver } from "./resolver.js";
import { Connector as SSLConnector, Port as SSLPort } from "./ssl.js";
import { Connector as TCPConnector, Port as TCPPort } from "./tcp.js";
import { Connector as UNIXConnector, Port as UNIXPort } from "./unix.js";
import * as threads from "./threads.js";
import type { TaskHandle, ThreadPool } from "./threadpool.js";
import type { Work, WorkArgs } from "./work-ref.js";

const log = new Logger("torsion.internet.reactor");

type Callable = (...args: any[]) => unknown;

interface Trigger {
  readonly callable: Callable;
  readonly args: readonly unknown[];
}

/** The handle addSystemEventTrigger returns, for removeSystemEventTrigger. */
export interface SystemEventTriggerID {
  readonly eventType: string;
  readonly phase: SystemEventPhase;
  readonly trigger: Trigger;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Call `done` once every one of `results` has settled (at once, synchronously, when there are
 * none, as Twisted's DeferredList([]) fires at once). Failures are logged, never propagated.
 */
function whenAllSettled(results: PromiseLike<unknown>[], what: string, done: () => void): void {
  let pending = results.length;
  if (pending === 0) {
    done();
    return;
  }
  const settle = (): void => {
    if (--pending === 0) done();
  };
  const failed = (err: unknown): void => {
    log.failure("A {what} system event trigger failed", err, { what });
    settle();
  };
  for (const r of results) {
    if (r instanceof Deferred) {
      r.addCallbacks(
        () => settle(),
        (f: unknown) => failed(f),
      );
    } else {
      r.then(settle, failed);
    }
  }
}

/**
 * One system event's triggers in three phases, as twisted.internet.base._ThreePhaseEvent:
 * "before" triggers run first and any Deferred (or Promise) they return delays the rest;
 * then "during", then "after". torsion also lets a "during" trigger's Deferred delay "after"
 * (so, for example, "after shutdown" sees every port closed).
 */
export class ThreePhaseEvent {
  before: Trigger[] = [];
  during: Trigger[] = [];
  after: Trigger[] = [];
  state: "BASE" | "BEFORE" = "BASE";
  private finishedBefore: Trigger[] = [];

  addTrigger(phase: SystemEventPhase, callable: Callable, args: readonly unknown[]): Trigger {
    if (phase !== "before" && phase !== "during" && phase !== "after") {
      throw new TypeError(`invalid phase: ${String(phase)}`);
    }
    const trigger: Trigger = { callable, args };
    this[phase].push(trigger);
    return trigger;
  }

  /**
   * Remove a trigger that has not run. Removing a "before" trigger that already ran during the
   * current firing is allowed and does nothing (Twisted warns); anything else unknown raises.
   */
  removeTrigger(phase: SystemEventPhase, trigger: Trigger): void {
    if (phase !== "before" && phase !== "during" && phase !== "after") {
      throw new TypeError(`invalid phase: ${String(phase)}`);
    }
    if (this.state === "BEFORE" && phase === "before" && this.finishedBefore.includes(trigger)) return;
    const list = this[phase];
    const i = list.indexOf(trigger);
    if (i < 0) throw new Error("Tried to remove a system event trigger that wasn't added (or already ran).");
    list.splice(i, 1);
  }

  /** Run the triggers; `done` is called when the "after" phase has run. */
  fireEvent(done: () => void = () => {}): void {
    this.state = "BEFORE";
    this.finishedBefore = [];
    const results: PromiseLike<unknown>[] = [];
    while (this.before.length) {
      const t = this.before.shift()!;
      this.finishedBefore.push(t);
      const r = runTrigger(t);
      if (isThenable(r)) results.push(r);
    }
    whenAllSettled(results, "before", () => this.continueFiring(done));
  }

  private continueFiring(done: () => void): void {
    this.state = "BASE";
    this.finishedBefore = [];
    const results: PromiseLike<unknown>[] = [];
    while (this.during.length) {
      const r = runTrigger(this.during.shift()!);
      if (isThenable(r)) results.push(r);
    }
    whenAllSettled(results, "during", () => {
      while (this.after.length) runTrigger(this.after.shift()!);
      done();
    });
  }
}

function runTrigger(t: Trigger): unknown {
  try {
    return t.callable(...t.args);
  } catch (err) {
    log.failure("A system event trigger raised", err);
    return undefined;
  }
}

/** The largest delay setTimeout accepts (about 24.8 days); longer calls re-arm on expiry. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class NodeReactor
  implements IReactorCore, IReactorTime, IReactorTCP, IReactorSSL, IReactorUNIX, IReactorFromThreads, IReactorNameResolution
{
  /** True from the "during startup" phase of run() to the "during shutdown" phase. */
  running = false;
  /** True once run() has been called (Twisted's _startedBefore): a reactor runs at most once. */
  private started = false;
  private stopped = true;
  private readonly events = new Map<string, ThreePhaseEvent>();
  private readonly timers = new Map<DelayedCall, NodeJS.Timeout>();
  private readonly resources = new Set<ShutdownResource>();
  private threadCallQueue: Array<[Callable, unknown[]]> = [];
  private threadCallScheduled = false;
  private keepAlive: NodeJS.Timeout | null = null;
  private signalHandler: (() => void) | null = null;
  private runSettled: (() => void) | null = null;

  private readonly boundCancel = (dc: DelayedCall): void => this.cancelTimer(dc);
  private readonly boundReset = (dc: DelayedCall): void => this.armTimer(dc);
  private readonly boundSeconds = (): number => this.seconds();
  private readonly boundRunThreadCalls = (): void => this.runThreadCalls();

  constructor() {
    // Twisted's reactor: crash() and disconnectAll() "during shutdown".
    this.addSystemEventTrigger("during", "shutdown", () => {
      this.running = false;
    });
    this.addSystemEventTrigger("during", "shutdown", () => this.disconnectAll());
  }

  // --- IReactorTime --------------------------------------------------------------------

  /** Epoch-scale seconds from the monotonic clock (see the module comment). */
  seconds(): number {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  /**
   * Call `callable(...args)` in `delay` seconds, on a Node timer of its own. What it throws is
   * logged and does not stop the reactor.
   */
  callLater<A extends unknown[]>(delay: number, callable: (...args: A) => unknown, ...args: A): IDelayedCall {
    if (typeof callable !== "function") throw new TypeError(`callLater: ${String(callable)} is not callable`);
    if (!(delay >= 0)) throw new RangeError(`callLater: delay must be a non-negative number, not ${delay}`);
    const dc = new DelayedCall(
      this.seconds() + delay,
      callable as Callable,
      args,
      this.boundCancel,
      this.boundReset,
      this.boundSeconds,
    );
    this.armTimer(dc);
    return dc;
  }

  getDelayedCalls(): IDelayedCall[] {
    return [...this.timers.keys()];
  }

  private armTimer(dc: DelayedCall): void {
    const old = this.timers.get(dc);
    if (old !== undefined) clearTimeout(old);
    const ms = Math.max(0, Math.min(MAX_TIMER_MS, (dc.getTime() - this.seconds()) * 1000));
    const timer = setTimeout(() => this.timerFired(dc), ms);
    if (this.started && this.stopped && this.keepAlive === null) timer.unref();
    this.timers.set(dc, timer);
  }

  private cancelTimer(dc: DelayedCall): void {
    const timer = this.timers.get(dc);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(dc);
  }

  private timerFired(dc: DelayedCall): void {
    // A call moved later by reset()/delay() only recorded the delay (see DelayedCall): re-arm.
    if (dc.delayedTime > 0 || dc.getTime() - this.seconds() > MAX_TIMER_MS / 1000) {
      dc.activateDelay();
      this.armTimer(dc);
      return;
    }
    this.timers.delete(dc);
    try {
      dc.invoke();
    } catch (err) {
      log.failure("Unhandled error in a delayed call {call}", err, { call: dc.toString() });
    }
  }

  // --- IReactorThreads -----------------------------------------------------------------

  /** The reactor's default pool (0 to 10 workers), started on first use, stopped at shutdown. */
  getThreadPool(): ThreadPool {
    return threads.getThreadPool(this);
  }

  suggestThreadPoolSize(size: number): void {
    threads.suggestThreadPoolSize(this, size);
  }

  /** Run `work(...args)` in the default pool; the handle can cancel or terminate it. */
  callInThread<W extends Work>(work: W, ...args: WorkArgs<W>): TaskHandle {
    return threads.callInThread(this, work, ...args);
  }

  // --- IReactorFromThreads -------------------------------------------------------------

  /**
   * Run `callable(...args)` on the reactor's thread on the next turn of the loop, in the order
   * of the calls. JavaScript workers cannot share this object, so from the main thread this is
   * "soon, in order"; worker threads reach the reactor through lib/internet/threads.
   */
  callFromThread<A extends unknown[]>(callable: (...args: A) => unknown, ...args: A): void {
    this.threadCallQueue.push([callable as Callable, args]);
    if (!this.threadCallScheduled) {
      this.threadCallScheduled = true;
      setImmediate(this.boundRunThreadCalls);
    }
  }

  private runThreadCalls(): void {
    const queue = this.threadCallQueue;
    this.threadCallQueue = [];
    this.threadCallScheduled = false;
    // calls queued while these run wait for the next turn, as Twisted's runUntilCurrent
    for (const [f, args] of queue) {
      try {
        f(...args);
      } catch (err) {
        log.failure("Unhandled error in a call from a thread", err);
      }
    }
  }

  // --- IReactorCore --------------------------------------------------------------------

  /**
   * Fire "startup", then run until stop(). The promise settles once every "shutdown" trigger
   * has finished (ports closed, connections lost). SIGINT and SIGTERM stop the reactor cleanly
   * while it runs. A reactor runs once (ReactorNotRestartable), as Twisted's.
   */
  run(): Promise<void> {
    if (this.started && !this.stopped) return Promise.reject(new ReactorAlreadyRunning("Reactor already running."));
    if (this.started) return Promise.reject(new ReactorNotRestartable("Reactor cannot be restarted."));
    this.started = true;
    this.stopped = false;
    // Node exits when nothing is pending; a running reactor, as Twisted's run(), does not.
    this.keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    this.signalHandler = () => {
      if (!this.stopped) this.stop();
    };
    process.on("SIGINT", this.signalHandler);
    process.on("SIGTERM", this.signalHandler);
    const settled = new Promise<void>((resolve) => {
      this.runSettled = resolve;
    });
    this.addSystemEventTrigger("during", "startup", () => {
      this.running = true;
    });
    this.fireSystemEvent("startup");
    return settled;
  }

  /**
   * Stop the reactor: the "shutdown" event fires on the next turn of the loop. Raises
   * ReactorNotRunning if the reactor is not running or already stopping.
   */
  stop(): void {
    if (this.stopped) throw new ReactorNotRunning("Can't stop reactor that isn't running.");
    this.stopped = true;
    setImmediate(() => this.getEvent("shutdown").fireEvent(() => this.shutdownFinished()));
  }

  private shutdownFinished(): void {
    if (this.signalHandler !== null) {
      process.removeListener("SIGINT", this.signalHandler);
      process.removeListener("SIGTERM", this.signalHandler);
      this.signalHandler = null;
    }
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    this.keepAlive = null;
    // A stopped reactor runs nothing more in Twisted; here its pending calls stay scheduled
    // but no longer keep the process alive.
    for (const timer of this.timers.values()) timer.unref();
    const settle = this.runSettled;
    this.runSettled = null;
    settle?.();
  }

  /** Call now if the reactor is running, else once it has started ("after startup"). */
  callWhenRunning<A extends unknown[]>(callable: (...args: A) => unknown, ...args: A): SystemEventTriggerID | undefined {
    if (this.running) {
      try {
        callable(...args);
      } catch (err) {
        log.failure("Unhandled error in callWhenRunning", err);
      }
      return undefined;
    }
    return this.addSystemEventTrigger("after", "startup", callable, ...args);
  }

  addSystemEventTrigger<A extends unknown[]>(
    phase: SystemEventPhase,
    eventType: string,
    callable: (...args: A) => unknown,
    ...args: A
  ): SystemEventTriggerID {
    if (typeof callable !== "function") throw new TypeError(`${String(callable)} is not callable`);
    const trigger = this.getEvent(eventType).addTrigger(phase, callable as Callable, args);
    return { eventType, phase, trigger };
  }

  removeSystemEventTrigger(triggerID: unknown): void {
    const id = triggerID as Partial<SystemEventTriggerID> | null;
    if (!id || typeof id.eventType !== "string" || !id.trigger || !id.phase) {
      throw new Error("Tried to remove a system event trigger with an invalid handle.");
    }
    const event = this.events.get(id.eventType);
    if (event === undefined) throw new Error("Tried to remove a system event trigger that wasn't added.");
    event.removeTrigger(id.phase, id.trigger);
  }

  /** Fire `eventType`'s triggers, phase by phase (see ThreePhaseEvent). */
  fireSystemEvent(eventType: string): void {
    this.events.get(eventType)?.fireEvent();
  }

  private getEvent(eventType: string): ThreePhaseEvent {
    let event = this.events.get(eventType);
    if (event === undefined) {
      event = new ThreePhaseEvent();
      this.events.set(eventType, event);
    }
    return event;
  }

  // --- shutdown of ports and connections -----------------------------------------------

  /** @internal A port, connection or connector to close at shutdown. */
  _track(resource: ShutdownResource): void {
    this.resources.add(resource);
  }

  /** @internal */
  _untrack(resource: ShutdownResource): void {
    this.resources.delete(resource);
  }

  /** Close every port, connection attempt and connection ("during shutdown", as Twisted). */
  private disconnectAll(): Deferred<void> | undefined {
    const pending: PromiseLike<unknown>[] = [];
    for (const r of [...this.resources]) {
      this.resources.delete(r);
      try {
        const p = r.closeForShutdown();
        if (isThenable(p)) pending.push(p);
      } catch (err) {
        log.failure("Error while closing {resource} at shutdown", err, { resource: r.constructor.name });
      }
    }
    if (pending.length === 0) return undefined;
    const d = new Deferred<void>();
    whenAllSettled(pending, "shutdown", () => d.callback(undefined));
    return d;
  }

  /** Connections, ports and connection attempts open on this reactor (for operators and specs). */
  get openResources(): number {
    return this.resources.size;
  }

  // --- IReactorTCP / IReactorUNIX ------------------------------------------------------

  /**
   * Listen on a TCP port. Returns once bound: a port in use raises CannotListenError here, as in
   * Twisted. Port 0 picks a free port (see getHost()). interface "" means every IPv4 address.
   */
  listenTCP(port: number, factory: IProtocolFactory, options: ListenTCPOptions = {}): TCPPort {
    const p = new TCPPort(port, factory, options, this);
    p.startListening();
    return p;
  }

  /** Connect to host:port; the factory hears of progress (startedConnecting, clientConnection...). */
  connectTCP(host: string, port: number, factory: IClientFactory, options: ConnectTCPOptions = {}): TCPConnector {
    const c = new TCPConnector(host, port, factory, options, this);
    c.connect();
    return c;
  }

  // --- IReactorSSL ---------------------------------------------------------------------

  /**
   * Listen on a TCP port whose connections are TLS (the server side, with `contextFactory`'s
   * key and certificate). As listenTCP; a broken context factory raises here too.
   */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    contextFactory: ITLSServerContextFactory,
    options: ListenSSLOptions = {},
  ): SSLPort {
    const p = new SSLPort(port, factory, contextFactory, options, this);
    p.startListening();
    return p;
  }

  /**
   * Connect to host:port over TLS (the client side). The protocol is made once TCP is
   * connected, before the handshake; what it writes is sent once the handshake is done. A
   * protocol with handshakeCompleted() is told when it is (and the server verified).
   */
  connectSSL(
    host: string,
    port: number,
    factory: IClientFactory,
    contextFactory: ITLSClientContextFactory,
    options: ConnectSSLOptions = {},
  ): SSLConnector {
    const c = new SSLConnector(host, port, factory, contextFactory, options, this);
    c.connect();
    return c;
  }

  listenUNIX(address: string, factory: IProtocolFactory, options: ListenUNIXOptions = {}): UNIXPort {
    const p = new UNIXPort(address, factory, options, this);
    p.startListening();
    return p;
  }

  connectUNIX(
    address: string,
    factory: IClientFactory,
    options: ConnectUNIXOptions & { checkPID?: boolean } = {},
  ): UNIXConnector {
    const c = new UNIXConnector(address, factory, options, this);
    c.connect();
    return c;
  }

  // --- IReactorPluggableNameResolver (lib/internet/resolver.ts) ------------------------

  private readonly names = new PluggableNameResolver();

  /** The name resolver in use (default: getaddrinfo through dns.lookup, all addresses). */
  get nameResolver(): IHostnameResolver {
    return this.names.nameResolver;
  }

  /** Resolve names with `resolver` from now on; returns the previous resolver. */
  installNameResolver(resolver: IHostnameResolver): IHostnameResolver {
    return this.names.installNameResolver(resolver);
  }

  /** The first address of `name` (IPv4 preferred), as IReactorCore.resolve. */
  resolve(name: string): Deferred<string> {
    return this.names.resolve(name);
  }

  /** Process-wide transport counters (open connections, producers stopped, ...). */
  get counters(): typeof FileDescriptor.counters {
    return FileDescriptor.counters;
  }
}

/** The global reactor: every class that needs time or I/O uses it unless given another. */
export const reactor = new NodeReactor();
