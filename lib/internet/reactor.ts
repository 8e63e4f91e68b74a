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
 * Delayed calls live in one timer queue (timer-queue.ts) on one Node timer; due calls run in
 * passes, as Twisted's runUntilCurrent, on the turns of Node's loop. There is no iterate():
 * Node turns its own loop; crash() stops without the shutdown event.
 *
 * The global reactor lives in global-reactor.ts: `reactor` below is a stand-in that installs the
 * default NodeReactor on first use, so importing this module builds nothing.
 */

import { TransportCounters, type ShutdownResource } from "./abstract.js";
import { DelayedCall, ThreePhaseEvent, _whenAllSettled as whenAllSettled, type Trigger } from "./base.js";
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
  IProcessProtocol,
  IReactorProcess,
  SpawnProcessOptions,
  IDatagramProtocol,
  IReactorMulticast,
  IReactorUDP,
  ListenMulticastOptions,
  ListenUDPOptions,
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
import { _setDefaultReactor, lazyReactor } from "./global-reactor.js";
import { Logger } from "./log.js";
import { NodeTimerQueue } from "./timer-queue.js";
import { checkConnect, checkListen, checkSeconds, checkUNIX } from "./validation.js";
import { Process, spawnProcess } from "./process.js";
import { MulticastPort, Port as UDPPort } from "./udp.js";
import { type IHostnameResolver, type IReactorNameResolution, PluggableNameResolver } from "./resolver.js";
import { Connector as SSLConnector, Port as SSLPort } from "./ssl.js";
import { Connector as TCPConnector, Port as TCPPort } from "./tcp.js";
import { Connector as UNIXConnector, Port as UNIXPort } from "./unix.js";
import * as threads from "./reactor-threadpool.js";
import type { TaskHandle, ThreadPool } from "./threadpool.js";
import type { Work, WorkArgs } from "./work-ref.js";
import { isThenable } from "./thenable.js";

const log = new Logger("torsion.internet.reactor");

export { ThreePhaseEvent };

type Callable = (...args: any[]) => unknown;

/** The handle addSystemEventTrigger returns, for removeSystemEventTrigger. */
export interface SystemEventTriggerID {
  readonly eventType: string;
  readonly phase: SystemEventPhase;
  readonly trigger: Trigger;
}

/** performance.timeOrigin, read once: the getter costs a third of performance.now(). */
const TIME_ORIGIN = performance.timeOrigin;

/** The largest delay setTimeout accepts (about 24.8 days): the keep-alive interval of run(). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class NodeReactor
  implements IReactorCore, IReactorTime, IReactorTCP, IReactorSSL, IReactorUNIX, IReactorFromThreads, IReactorProcess, IReactorUDP, IReactorMulticast, IReactorNameResolution
{
  /** True from the "during startup" phase of run() to the "during shutdown" phase. */
  running = false;
  /** True once run() has been called (Twisted's _startedBefore): a reactor runs at most once. */
  private started = false;
  private stopped = true;
  private readonly events = new Map<string, ThreePhaseEvent>();
  /** @internal The DelayedCalls and callFromThread work, on one Node timer (see timer-queue.ts). */
  readonly _timers = new NodeTimerQueue(() => this.seconds());
  private readonly resources = new Set<ShutdownResource>();
  private keepAlive: NodeJS.Timeout | null = null;
  private signalHandler: (() => void) | null = null;
  private runSettled: (() => void) | null = null;

  private readonly boundSeconds = (): number => this.seconds();

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
    return (TIME_ORIGIN + performance.now()) / 1000;
  }

  /**
   * Call `callable(...args)` in `delay` seconds (a finite number >= 0). Calls run in order of
   * due time, then of scheduling; a call due now (delay 0) runs on the next turn of the loop,
   * in the same pass as callFromThread work, and a call scheduled during a pass waits for the
   * next pass (Twisted's runUntilCurrent). What it throws is logged and does not stop the
   * reactor.
   */
  callLater<A extends unknown[]>(delay: number, callable: (...args: A) => unknown, ...args: A): IDelayedCall {
    if (typeof callable !== "function") throw new TypeError(`callLater: ${String(callable)} is not callable`);
    if (typeof delay !== "number" || !(delay >= 0 && delay < Infinity)) checkSeconds("callLater", delay, "delay");
    const timers = this._timers;
    const now = this.seconds();
    const dc = new DelayedCall(now + delay, callable as Callable, args, timers.cancelHook, timers.resetHook, this.boundSeconds);
    timers.add(dc, now);
    return dc;
  }

  /** The pending calls, in the order they will run. */
  getDelayedCalls(): IDelayedCall[] {
    return this._timers.queue.toArray();
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
    this._timers.callFromThread(callable as Callable, args);
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

  /**
   * Stop at once, without the "shutdown" event (Twisted's crash(), for tests and emergencies):
   * run() settles now, the signal handlers go, and pending calls and open ports stay as they are
   * but no longer keep the process alive. Ports and connections are not closed. As after stop(),
   * the reactor cannot be run again.
   */
  crash(): void {
    this.running = false;
    this.stopped = true;
    this.shutdownFinished();
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
    this._timers.setWeak(true);
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
    checkListen("listenTCP", port, options);
    const p = new TCPPort(port, factory, options, this);
    p.startListening();
    return p;
  }

  /** Connect to host:port; the factory hears of progress (startedConnecting, clientConnection...). */
  connectTCP(host: string, port: number, factory: IClientFactory, options: ConnectTCPOptions = {}): TCPConnector {
    checkConnect("connectTCP", host, port, options);
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
    checkListen("listenSSL", port, options);
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
    checkConnect("connectSSL", host, port, options);
    const c = new SSLConnector(host, port, factory, contextFactory, options, this);
    c.connect();
    return c;
  }

  listenUNIX(address: string, factory: IProtocolFactory, options: ListenUNIXOptions = {}): UNIXPort {
    checkUNIX("listenUNIX", address, options);
    const p = new UNIXPort(address, factory, options, this);
    p.startListening();
    return p;
  }

  connectUNIX(
    address: string,
    factory: IClientFactory,
    options: ConnectUNIXOptions & { checkPID?: boolean } = {},
  ): UNIXConnector {
    checkUNIX("connectUNIX", address, options);
    const c = new UNIXConnector(address, factory, options, this);
    c.connect();
    return c;
  }

  /**
   * This reactor's transport counters (open connections, producers stopped, ...): the sum of
   * its ports' and connectors' own counters (port.counters, connector.counters).
   */
  readonly counters = new TransportCounters();

  // --- IReactorProcess ----------------------------------------------------------------

  /**
   * Start a child process connected to `processProtocol` (see lib/internet/process.ts for
   * Twisted's argv, environment and childFDs rules, and what shutdown does to a child).
   */
  spawnProcess(
    processProtocol: IProcessProtocol,
    executable: string,
    args: readonly string[] = [],
    options: SpawnProcessOptions = {},
  ): Process {
    return spawnProcess(this, processProtocol, executable, args, options);
  }

  // --- IReactorUDP / IReactorMulticast -------------------------------------------------

  /**
   * Bind a UDP port for `protocol` (see lib/internet/udp.ts). Bound when it returns: a port
   * in use raises CannotListenError here. interface "" is every IPv4 address, "::" every IPv6 one.
   */
  listenUDP(port: number, protocol: IDatagramProtocol, options: ListenUDPOptions = {}): UDPPort {
    const p = new UDPPort(port, protocol, options, this);
    p.startListening();
    return p;
  }

  /** As listenUDP, for a port that joins multicast groups; listenMultiple lets other sockets bind it too. */
  listenMulticast(port: number, protocol: IDatagramProtocol, options: ListenMulticastOptions = {}): MulticastPort {
    const p = new MulticastPort(port, protocol, options, this);
    p.startListening();
    return p;
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
}

// The default global reactor (see global-reactor.ts): built on first use, not on import.
_setDefaultReactor(() => new NodeReactor());

/**
 * The global reactor (Twisted's `from twisted.internet import reactor`): every class that needs
 * time or I/O uses it unless given another. A stand-in that builds (installs) the default
 * NodeReactor on first use, so importing this module builds nothing and installReactor() can
 * still install another; getReactor() returns the reactor itself.
 */
export const reactor: NodeReactor = lazyReactor;

export { getReactor, installReactor, isReactorInstalled, whenReactorInstalled } from "./global-reactor.js";
