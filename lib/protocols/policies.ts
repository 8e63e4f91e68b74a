/**
 * Resource-limiting policies, as twisted.protocols.policies: protocols and factories that wrap
 * another protocol or factory to add a timeout, a connection limit, a bandwidth limit or a
 * traffic log, without the wrapped code knowing.
 *
 * A ProtocolWrapper sits between a transport and the protocol it wraps: it is the transport of
 * the wrapped protocol and the protocol of the real transport, relaying calls both ways. Its
 * WrappingFactory builds one per connection and keeps the live ones in `protocols`.
 *
 * Where Twisted's behaviour is a known bug, torsion does what Twisted meant: LimitConnectionsByPeer
 * counts a peer by the same key on the way in and out (Twisted indexes `addr[0]` and then
 * `getPeer()[1]`, so its counts never drop); a wrapper is half-closeable only when the protocol
 * it wraps is (Twisted's wrapper hides IHalfCloseableProtocol); bandwidth limits throttle reads
 * by pausing the transport, so the peer is slowed by TCP, never by buffering.
 */

import type { WriteStream } from "node:fs";
import { createWriteStream } from "node:fs";
import { inspect } from "node:util";
import type {
  Bytes,
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  IReactorTime,
  ITransport,
} from "../internet/interfaces.js";
import type { Failure } from "../internet/failure.js";
import { Logger } from "../internet/log.js";
import { ClientFactory, Protocol, ServerFactory } from "../internet/protocol.js";
import { getReactor } from "../internet/reactor.js";

const log = new Logger("torsion.protocols.policies");

/** What a wrapped object may offer to name itself in log lines (ILoggingContext). */
interface MaybeLogging {
  logPrefix?: () => string;
}

/** "Wrapped (Wrapper)": the log prefix of a wrapper, naming what it wraps (Twisted's _wrappedLogPrefix). */
function wrappedLogPrefix(wrapper: object, wrapped: object): string {
  const inner = typeof (wrapped as MaybeLogging).logPrefix === "function"
    ? (wrapped as MaybeLogging).logPrefix!()
    : wrapped.constructor.name;
  return `${inner} (${wrapper.constructor.name})`;
}

/** Where the `host` of an address is, for the address types that have one. */
function peerHost(addr: IAddress): string {
  return "host" in addr ? addr.host : String((addr as { name?: unknown }).name ?? "");
}

// The transport methods a ProtocolWrapper relays by name. Twisted relays every other attribute
// through __getattr__; here each method the real transport has and the wrapper lacks is bound
// onto the wrapper once, in makeConnection, so the wrapped protocol sees the same transport
// interfaces (TCP, TLS, half-close) as it would unwrapped. Computed once per transport class.
const relayedByClass = new WeakMap<object, string[]>();
function relayableMethods(transport: object): string[] {
  const proto = Object.getPrototypeOf(transport) as object | null;
  const key = proto ?? transport;
  let names = relayedByClass.get(key);
  if (names) return names;
  const found = new Set<string>();
  for (let o: object | null = transport; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "constructor" || name.startsWith("_")) continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (desc && typeof desc.value === "function") found.add(name);
    }
  }
  names = [...found];
  relayedByClass.set(key, names);
  return names;
}

/**
 * Wraps a protocol and is its transport, as twisted.protocols.policies.ProtocolWrapper.
 * Subclass it and override a method (calling super) to watch or change the traffic.
 */
export class ProtocolWrapper extends Protocol implements IPushProducer {
  /** True once loseConnection was called through the wrapper. */
  disconnecting = false;
  /** The protocol this wrapper drives; null after connectionLost (Twisted breaks the cycle). */
  wrappedProtocol: IProtocol | null;
  declare factory: WrappingFactory;

  constructor(factory: WrappingFactory, wrappedProtocol: IProtocol) {
    super();
    this.factory = factory;
    this.wrappedProtocol = wrappedProtocol;
    // Half-close is a capability the transport detects by duck typing when the FIN arrives:
    // offer it exactly when the wrapped protocol does at that moment (HTTPChannel offers it
    // only while a FIN would be a half-close), so wrapping never changes what an EOF does.
    for (const name of ["readConnectionLost", "writeConnectionLost"] as const) {
      Object.defineProperty(this, name, {
        configurable: true,
        get: () => {
          const inner = this.wrappedProtocol as Partial<Record<typeof name, () => void>> | null;
          const f = inner?.[name];
          return typeof f === "function" ? () => f.call(inner) : undefined;
        },
      });
    }
  }

  override logPrefix(): string {
    return wrappedLogPrefix(this, this.wrappedProtocol ?? {});
  }

  /** Save the real transport, register with the factory, then connect the wrapped protocol to this. */
  override makeConnection(transport: ITransport): void {
    const self = this as unknown as Record<string, unknown>;
    for (const name of relayableMethods(transport)) {
      if (!(name in this)) {
        const method = (transport as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
        self[name] = (...args: unknown[]) => method.apply(this.transport, args);
      }
    }
    super.makeConnection(transport);
    this.factory.registerProtocol(this);
    this.wrappedProtocol!.makeConnection(this);
  }

  // Transport relaying: what the wrapped protocol calls on its "transport".
  write(data: Bytes): void {
    this.transport!.write(data);
  }

  writeSequence(data: Iterable<Bytes>): void {
    this.transport!.writeSequence(data);
  }

  loseConnection(): void {
    this.disconnecting = true;
    this.transport!.loseConnection();
  }

  getPeer(): IAddress {
    return this.transport!.getPeer();
  }

  getHost(): IAddress {
    return this.transport!.getHost();
  }

  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    (this.transport as unknown as { registerProducer(p: IPushProducer | IPullProducer, s: boolean): void })
      .registerProducer(producer, streaming);
  }

  unregisterProducer(): void {
    (this.transport as unknown as { unregisterProducer(): void }).unregisterProducer();
  }

  // The real transport is a push producer of what it reads; so is its wrapper.
  pauseProducing(): void {
    (this.transport as Partial<IPushProducer> | null)?.pauseProducing?.();
  }

  resumeProducing(): void {
    (this.transport as Partial<IPushProducer> | null)?.resumeProducing?.();
  }

  stopProducing(): void {
    (this.transport as Partial<IPushProducer> | null)?.stopProducing?.();
  }

  // Protocol relaying: what the real transport calls on its protocol.
  override dataReceived(data: Bytes): void {
    this.wrappedProtocol!.dataReceived(data);
  }

  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.factory.unregisterProtocol(this);
    const wrapped = this.wrappedProtocol;
    this.wrappedProtocol = null;
    wrapped?.connectionLost(reason);
  }
}

/** A ProtocolWrapper's constructor, as a WrappingFactory's `protocol` names it. */
export type WrapperClass<W extends ProtocolWrapper = ProtocolWrapper> = new (
  factory: WrappingFactory,
  wrappedProtocol: IProtocol,
) => W;

/**
 * Wraps a factory and each protocol it builds, and keeps track of the live wrappers, as
 * twisted.protocols.policies.WrappingFactory. Starting and stopping it starts and stops the
 * wrapped factory; client events are passed on when the wrapped factory is a client factory.
 */
export class WrappingFactory extends ClientFactory {
  /** The wrapper class built for each connection. */
  wrapper: WrapperClass = ProtocolWrapper;
  /** The live wrappers (Twisted's `protocols` dict). */
  readonly protocols = new Set<ProtocolWrapper>();

  constructor(readonly wrappedFactory: IProtocolFactory) {
    super();
  }

  override logPrefix(): string {
    return wrappedLogPrefix(this, this.wrappedFactory);
  }

  override doStart(): void {
    this.wrappedFactory.doStart();
    super.doStart();
  }

  override doStop(): void {
    this.wrappedFactory.doStop();
    super.doStop();
  }

  override startedConnecting(connector: IConnector): void {
    (this.wrappedFactory as Partial<IClientFactory>).startedConnecting?.(connector);
  }

  override clientConnectionFailed(connector: IConnector, reason: Failure): void {
    (this.wrappedFactory as Partial<IClientFactory>).clientConnectionFailed?.(connector, reason);
  }

  override clientConnectionLost(connector: IConnector, reason: Failure): void {
    (this.wrappedFactory as Partial<IClientFactory>).clientConnectionLost?.(connector, reason);
  }

  /** Build the wrapped factory's protocol and wrap it; null when the wrapped factory refuses. */
  override buildProtocol(addr: IAddress): IProtocol | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    return wrapped === null ? null : new this.wrapper(this, wrapped);
  }

  /** Called by a wrapper when its connection is made. */
  registerProtocol(p: ProtocolWrapper): void {
    this.protocols.add(p);
  }

  /** Called by a wrapper when its connection is lost. */
  unregisterProtocol(p: ProtocolWrapper): void {
    this.protocols.delete(p);
  }
}

// ---------------------------------------------------------------------------
// Scheduling: every policy that waits does it through an overridable callLater on a clock
// (a Clock in tests, the global reactor otherwise), as Twisted's policies do.

/** An object that schedules through a settable clock, defaulting to the global reactor. */
interface Scheduling {
  clock: IReactorTime | null;
}

function schedule(owner: Scheduling, period: number, f: () => unknown): IDelayedCall {
  return (owner.clock ?? getReactor()).callLater(period, f);
}

function cancelQuietly(call: IDelayedCall | null): void {
  if (call !== null && call.active()) call.cancel();
}

// ---------------------------------------------------------------------------
// Throttling

/** The wrapper of ThrottlingFactory: counts bytes each way and obeys the factory's throttles. */
export class ThrottlingProtocol extends ProtocolWrapper {
  declare factory: ThrottlingFactory;
  /** The producer the wrapped protocol registered, paused while writes are throttled. */
  producer: IPushProducer | IPullProducer | null = null;

  override write(data: Bytes): void {
    this.factory.registerWritten(data.length);
    super.write(data);
  }

  override writeSequence(data: Iterable<Bytes>): void {
    const chunks = [...data];
    let n = 0;
    for (const c of chunks) n += c.length;
    this.factory.registerWritten(n);
    super.writeSequence(chunks);
  }

  override dataReceived(data: Bytes): void {
    this.factory.registerRead(data.length);
    super.dataReceived(data);
  }

  override registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    this.producer = producer;
    super.registerProducer(producer, streaming);
  }

  override unregisterProducer(): void {
    this.producer = null;
    super.unregisterProducer();
  }

  /** Stop reading from the socket: TCP's window then slows the peer. */
  throttleReads(): void {
    (this.transport as Partial<IPushProducer> | null)?.pauseProducing?.();
  }

  unthrottleReads(): void {
    (this.transport as Partial<IPushProducer> | null)?.resumeProducing?.();
  }

  /** Pause the registered producer; writes made without a producer are not throttled (as Twisted). */
  throttleWrites(): void {
    const p = this.producer as Partial<IPushProducer> | null;
    p?.pauseProducing?.();
  }

  unthrottleWrites(): void {
    this.producer?.resumeProducing();
  }
}

/** What ThrottlingFactory accepts besides the factory it wraps. */
export interface ThrottlingOptions {
  /** Connections at once; more are refused. Default unlimited. */
  maxConnectionCount?: number;
  /** Bytes a second read over all connections; null (default) for no limit. */
  readLimit?: number | null;
  /** Bytes a second written over all connections (through producers); null for no limit. */
  writeLimit?: number | null;
}

function checkLimit(name: string, value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of bytes a second, not ${inspect(value)}`);
  }
  return value;
}

/**
 * Limits the connections and the bandwidth of the factory it wraps, as Twisted's
 * ThrottlingFactory. Once a second it compares the bytes read (written) with the limit; over
 * it, every connection's reads (producers) are paused for as long as the excess takes to pay
 * off at the limit's rate, then resumed. Nothing is buffered by the policy itself.
 */
export class ThrottlingFactory extends WrappingFactory implements Scheduling {
  override wrapper: WrapperClass = ThrottlingProtocol;
  clock: IReactorTime | null = null;
  connectionCount = 0;
  readonly maxConnectionCount: number;
  readonly readLimit: number | null;
  readonly writeLimit: number | null;
  readThisSecond = 0;
  writtenThisSecond = 0;
  unthrottleReadsID: IDelayedCall | null = null;
  checkReadBandwidthID: IDelayedCall | null = null;
  unthrottleWritesID: IDelayedCall | null = null;
  checkWriteBandwidthID: IDelayedCall | null = null;

  constructor(wrappedFactory: IProtocolFactory, options: ThrottlingOptions = {}) {
    super(wrappedFactory);
    const max = options.maxConnectionCount ?? Infinity;
    if (typeof max !== "number" || Number.isNaN(max) || max < 0 || (Number.isFinite(max) && !Number.isInteger(max))) {
      throw new RangeError(`maxConnectionCount must be a whole number >= 0, not ${inspect(max)}`);
    }
    this.maxConnectionCount = max;
    this.readLimit = checkLimit("readLimit", options.readLimit);
    this.writeLimit = checkLimit("writeLimit", options.writeLimit);
  }

  /** Schedule on the factory's clock; override (as in Twisted's tests) or set `clock`. */
  callLater(period: number, f: () => unknown): IDelayedCall {
    return schedule(this, period, f);
  }

  registerWritten(length: number): void {
    this.writtenThisSecond += length;
  }

  registerRead(length: number): void {
    this.readThisSecond += length;
  }

  /** The once-a-second check of the read budget. */
  checkReadBandwidth(): void {
    const limit = this.readLimit!;
    if (this.readThisSecond > limit) {
      this.throttleReads();
      const throttleTime = this.readThisSecond / limit - 1;
      this.unthrottleReadsID = this.callLater(throttleTime, () => this.unthrottleReads());
    }
    this.readThisSecond = 0;
    this.checkReadBandwidthID = this.callLater(1, () => this.checkReadBandwidth());
  }

  /** The once-a-second check of the write budget. */
  checkWriteBandwidth(): void {
    const limit = this.writeLimit!;
    if (this.writtenThisSecond > limit) {
      this.throttleWrites();
      const throttleTime = this.writtenThisSecond / limit - 1;
      this.unthrottleWritesID = this.callLater(throttleTime, () => this.unthrottleWrites());
    }
    this.writtenThisSecond = 0;
    this.checkWriteBandwidthID = this.callLater(1, () => this.checkWriteBandwidth());
  }

  throttleReads(): void {
    log.debug("Throttling reads on {factory}", { factory: this.logPrefix() });
    for (const p of this.protocols) (p as ThrottlingProtocol).throttleReads();
  }

  unthrottleReads(): void {
    this.unthrottleReadsID = null;
    log.debug("Stopped throttling reads on {factory}", { factory: this.logPrefix() });
    for (const p of this.protocols) (p as ThrottlingProtocol).unthrottleReads();
  }

  throttleWrites(): void {
    log.debug("Throttling writes on {factory}", { factory: this.logPrefix() });
    for (const p of this.protocols) (p as ThrottlingProtocol).throttleWrites();
  }

  unthrottleWrites(): void {
    this.unthrottleWritesID = null;
    log.debug("Stopped throttling writes on {factory}", { factory: this.logPrefix() });
    for (const p of this.protocols) (p as ThrottlingProtocol).unthrottleWrites();
  }

  override buildProtocol(addr: IAddress): IProtocol | null {
    if (this.connectionCount >= this.maxConnectionCount) {
      log.info("Max connection count reached ({max}): refusing {peer}", { max: this.maxConnectionCount, peer: peerHost(addr) });
      return null;
    }
    const built = super.buildProtocol(addr);
    if (built === null) return null;
    if (this.connectionCount === 0) {
      if (this.readLimit !== null) this.checkReadBandwidth();
      if (this.writeLimit !== null) this.checkWriteBandwidth();
    }
    this.connectionCount++;
    return built;
  }

  override unregisterProtocol(p: ProtocolWrapper): void {
    super.unregisterProtocol(p);
    this.connectionCount--;
    if (this.connectionCount === 0) {
      // The last connection went away: no timer keeps running for nobody.
      cancelQuietly(this.unthrottleReadsID);
      cancelQuietly(this.checkReadBandwidthID);
      cancelQuietly(this.unthrottleWritesID);
      cancelQuietly(this.checkWriteBandwidthID);
      this.unthrottleReadsID = this.checkReadBandwidthID = null;
      this.unthrottleWritesID = this.checkWriteBandwidthID = null;
      this.readThisSecond = this.writtenThisSecond = 0;
    }
  }
}

// ---------------------------------------------------------------------------
// Connection limits

/**
 * Refuses a peer's connections beyond `maxConnectionsPerPeer` at once (5 by default), as
 * Twisted's LimitConnectionsByPeer, counting peers by host.
 */
export class LimitConnectionsByPeer extends WrappingFactory {
  maxConnectionsPerPeer = 5;
  /** Live connections by peer host. */
  readonly peerConnections = new Map<string, number>();
  // The key each wrapper was counted under, so the count drops under the same key.
  private readonly counted = new WeakMap<ProtocolWrapper, string>();

  override buildProtocol(addr: IAddress): IProtocol | null {
    const host = peerHost(addr);
    const count = this.peerConnections.get(host) ?? 0;
    if (count >= this.maxConnectionsPerPeer) return null;
    const built = super.buildProtocol(addr);
    if (built === null) return null;
    this.peerConnections.set(host, count + 1);
    this.counted.set(built as ProtocolWrapper, host);
    return built;
  }

  override unregisterProtocol(p: ProtocolWrapper): void {
    super.unregisterProtocol(p);
    const host = this.counted.get(p);
    if (host === undefined) return;
    this.counted.delete(p);
    const left = (this.peerConnections.get(host) ?? 1) - 1;
    if (left <= 0) this.peerConnections.delete(host);
    else this.peerConnections.set(host, left);
  }
}

/**
 * Limits the connections at once to `connectionLimit` (null: no limit), as Twisted's
 * LimitTotalConnectionsFactory: set `protocol` as on any factory; beyond the limit a
 * connection gets `overflowProtocol` (e.g. one that writes "busy" and closes) or, when that
 * is null, is refused.
 */
export class LimitTotalConnectionsFactory extends ServerFactory {
  connectionCount = 0;
  connectionLimit: number | null = null;
  overflowProtocol: (new () => IProtocol) | null = null;

  override buildProtocol(addr: IAddress): IProtocol | null {
    let wrapped: IProtocol;
    if (this.connectionLimit === null || this.connectionCount < this.connectionLimit) {
      const made = super.buildProtocol(addr);
      if (made === null) return null;
      wrapped = made;
    } else if (this.overflowProtocol === null) {
      return null;
    } else {
      wrapped = new this.overflowProtocol();
      (wrapped as { factory?: unknown }).factory = this;
    }
    this.connectionCount++;
    return new ProtocolWrapper(this as unknown as WrappingFactory, wrapped);
  }

  /** Called by the wrapper; nothing to keep (the count is enough). */
  registerProtocol(_p: ProtocolWrapper): void {}

  unregisterProtocol(_p: ProtocolWrapper): void {
    this.connectionCount--;
  }
}

// ---------------------------------------------------------------------------
// Timeouts

/**
 * The wrapper of TimeoutFactory: drops a connection on which nothing was sent or received for
 * `timeoutPeriod` seconds.
 */
export class TimeoutProtocol extends ProtocolWrapper {
  declare factory: TimeoutFactory;
  timeoutCall: IDelayedCall | null = null;
  timeoutPeriod: number | null = null;

  constructor(factory: TimeoutFactory, wrappedProtocol: IProtocol, timeoutPeriod: number | null) {
    super(factory, wrappedProtocol);
    this.setTimeout(timeoutPeriod);
  }

  /** Cancel any timeout, and arm a new one of `timeoutPeriod` seconds unless it is null. */
  setTimeout(timeoutPeriod: number | null = null): void {
    this.cancelTimeout();
    this.timeoutPeriod = timeoutPeriod;
    if (timeoutPeriod !== null) {
      this.timeoutCall = this.factory.callLater(timeoutPeriod, () => this.timeoutFunc());
    }
  }

  /** Cancel the timeout; nothing happens if it already ran or was cancelled. */
  cancelTimeout(): void {
    this.timeoutPeriod = null;
    cancelQuietly(this.timeoutCall);
    this.timeoutCall = null;
  }

  /** Activity: start the countdown again. */
  resetTimeout(): void {
    if (this.timeoutCall !== null && this.timeoutCall.active() && this.timeoutPeriod !== null) {
      this.timeoutCall.reset(this.timeoutPeriod);
    }
  }

  override write(data: Bytes): void {
    this.resetTimeout();
    super.write(data);
  }

  override writeSequence(data: Iterable<Bytes>): void {
    this.resetTimeout();
    super.writeSequence(data);
  }

  override dataReceived(data: Bytes): void {
    this.resetTimeout();
    super.dataReceived(data);
  }

  override connectionLost(reason: Failure): void {
    this.cancelTimeout();
    super.connectionLost(reason);
  }

  /** The timeout passed: close the connection. Override for anything else. */
  timeoutFunc(): void {
    this.loseConnection();
  }
}

/** Wraps a factory so that each connection times out after `timeoutPeriod` idle seconds (30 min by default). */
export class TimeoutFactory extends WrappingFactory implements Scheduling {
  clock: IReactorTime | null = null;

  constructor(wrappedFactory: IProtocolFactory, readonly timeoutPeriod: number = 30 * 60) {
    super(wrappedFactory);
    checkDelay("timeoutPeriod", timeoutPeriod);
  }

  override buildProtocol(addr: IAddress): IProtocol | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    return wrapped === null ? null : new TimeoutProtocol(this, wrapped, this.timeoutPeriod);
  }

  callLater(period: number, f: () => unknown): IDelayedCall {
    return schedule(this, period, f);
  }
}

function checkDelay(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number of seconds >= 0, not ${inspect(value)}`);
  }
}

/** What TimeoutMixin adds to a protocol class. */
export interface ITimeoutMixin {
  /** Seconds of silence before timeoutConnection; null: no timeout. */
  timeOut: number | null;
  /** The clock the timeout runs on; null uses the global reactor. */
  clock: IReactorTime | null;
  callLater(period: number, f: () => unknown): IDelayedCall;
  resetTimeout(): void;
  setTimeout(period: number | null): number | null;
  timeoutConnection(): void;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type ProtocolClass = abstract new (...args: any[]) => { transport: ITransport | null };

/**
 * A protocol with one idle timeout, as twisted.protocols.policies.TimeoutMixin:
 * `class Chat extends TimeoutMixin(LineReceiver) { ... }`. Call setTimeout(seconds) to arm it,
 * resetTimeout() on activity that counts (typically in dataReceived), setTimeout(null) to
 * disarm; when it fires, timeoutConnection() runs, which closes the connection unless
 * overridden. The countdown is one DelayedCall, reset in place (O(log n) on the reactor's
 * queue), never a new timer per byte.
 */
export function TimeoutMixin<B extends ProtocolClass>(Base: B) {
  abstract class WithTimeout extends Base implements ITimeoutMixin {
    timeOut: number | null = null;
    clock: IReactorTime | null = null;
    /** The pending countdown, or null when there is none (internal; Twisted's __timeoutCall). */
    _timeoutCall: IDelayedCall | null = null;

    /** Schedule on `clock` (or the global reactor); override in tests as in Twisted. */
    callLater(period: number, f: () => unknown): IDelayedCall {
      return schedule(this, period, f);
    }

    /** Activity: start the countdown again, unless there is none or it has fired. */
    resetTimeout(): void {
      if (this._timeoutCall !== null && this.timeOut !== null) this._timeoutCall.reset(this.timeOut);
    }

    /** Change the timeout (null disables it); returns the previous value. */
    setTimeout(period: number | null): number | null {
      if (period !== null) checkDelay("timeout period", period);
      const previous = this.timeOut;
      this.timeOut = period;
      if (this._timeoutCall !== null) {
        if (period === null) {
          cancelQuietly(this._timeoutCall);
          this._timeoutCall = null;
        } else {
          this._timeoutCall.reset(period);
        }
      } else if (period !== null) {
        this._timeoutCall = this.callLater(period, () => {
          this._timeoutCall = null;
          this.timeoutConnection();
        });
      }
      return previous;
    }

    /** The timeout passed: close the connection. Override for anything else. */
    timeoutConnection(): void {
      this.transport?.loseConnection();
    }
  }
  return WithTimeout;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------------------
// Traffic logging

/** Where TrafficLoggingProtocol writes its lines: a stream or anything with write(). */
export interface TrafficLog {
  write(line: string): unknown;
  end?(): unknown;
}

/** Bytes as a log line shows them: printable ASCII as is, the rest escaped, as Python's repr. */
function reprBytes(data: Bytes): string {
  let out = "b'";
  for (const c of data) {
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x27) out += "\\'";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + "'";
}

/**
 * The wrapper of TrafficLoggingFactory: logs every event of the connection, one line each:
 * `*` on connect, `C n: data` received, `S n: data` sent, `SV n: [...]` a writeSequence,
 * `S n: *` a close, `C n: reason` the loss.
 */
export class TrafficLoggingProtocol extends ProtocolWrapper {
  constructor(
    factory: WrappingFactory,
    wrappedProtocol: IProtocol,
    readonly logfile: TrafficLog,
    readonly lengthLimit: number | null = null,
    readonly number = 0,
  ) {
    super(factory, wrappedProtocol);
  }

  private log(line: string): void {
    this.logfile.write(line + "\n");
  }

  private munge(data: Bytes): string {
    const shown = reprBytes(data);
    if (this.lengthLimit && shown.length > this.lengthLimit) {
      return shown.slice(0, Math.max(0, this.lengthLimit - 12)) + "<... elided>";
    }
    return shown;
  }

  override connectionMade(): void {
    this.log("*");
    super.connectionMade();
  }

  override dataReceived(data: Bytes): void {
    this.log(`C ${this.number}: ${this.munge(data)}`);
    super.dataReceived(data);
  }

  override connectionLost(reason: Failure): void {
    this.log(`C ${this.number}: ${String(reason)}`);
    super.connectionLost(reason);
    this.logfile.end?.();
  }

  override write(data: Bytes): void {
    this.log(`S ${this.number}: ${this.munge(data)}`);
    super.write(data);
  }

  override writeSequence(data: Iterable<Bytes>): void {
    const chunks = [...data];
    this.log(`SV ${this.number}: [${chunks.map((c) => this.munge(c)).join(", ")}]`);
    super.writeSequence(chunks);
  }

  override loseConnection(): void {
    this.log(`S ${this.number}: *`);
    super.loseConnection();
  }
}

/**
 * Logs the traffic of every connection of the factory it wraps to its own file,
 * `<logfilePrefix>-<n>`, as Twisted's TrafficLoggingFactory (a debugging aid: it writes every
 * byte). Override open() to log elsewhere.
 */
export class TrafficLoggingFactory extends WrappingFactory {
  private counter = 0;

  constructor(
    wrappedFactory: IProtocolFactory,
    readonly logfilePrefix: string,
    readonly lengthLimit: number | null = null,
  ) {
    super(wrappedFactory);
  }

  /** Open the log of one connection. */
  open(name: string): TrafficLog {
    const stream: WriteStream = createWriteStream(name, { flags: "w" });
    stream.on("error", (err) => log.failure("could not write the traffic log {name}", err, { name }));
    return stream;
  }

  override buildProtocol(addr: IAddress): IProtocol | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    if (wrapped === null) return null;
    this.counter++;
    const logfile = this.open(`${this.logfilePrefix}-${this.counter}`);
    return new TrafficLoggingProtocol(this, wrapped, logfile, this.lengthLimit, this.counter);
  }

  /** Number the next connection 1 again. */
  resetCounter(): void {
    this.counter = 0;
  }
}
