/**
 * MemoryReactor, the fake reactor of twisted.internet.testing (re-exported by testing.ts).
 *
 * It records listenTCP/connectTCP/listenUNIX/connectUNIX calls instead of making them, so a
 * test checks what code asked for (port, factory, options) and then plays the network itself:
 * completeTCPConnection / acceptTCPConnection build the protocol from the recorded factory and
 * connect it to a StringTransport; iosim's ConnectionCompleter connects a recorded client to a
 * recorded server. MemoryReactorClock adds a Clock for callLater.
 */

import { isIPv6 } from "node:net";
import { succeed, type Deferred } from "./deferred.js";
import type {
  ConnectSSLOptions,
  IReactorSSL,
  ITLSClientContextFactory,
  ITLSServerContextFactory,
  ListenSSLOptions,
  ConnectTCPOptions,
  ConnectUNIXOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IReactorCore,
  IReactorTCP,
  IReactorTime,
  IReactorUNIX,
  ITransport,
  ListenTCPOptions,
  ListenUNIXOptions,
  SystemEventPhase,
} from "./interfaces.js";
import { ipAddress, unixAddress } from "./address.js";
import { ThreePhaseEvent } from "./base.js";
import type { IDatagramProtocol, ListenMulticastOptions, ListenUDPOptions } from "./interfaces.js";
import { FakeDatagramPort } from "./fake-datagram-port.js";
import { StringTransport, StringTransportWithDisconnection } from "./string-transport.js";
import { Clock } from "./task.js";
import { type IHostnameResolver, type IReactorNameResolution, PluggableNameResolver } from "./resolver.js";

/** A fake IListeningPort: getHost() answers the address it was made with; it does nothing else. */
export class FakePort implements IListeningPort {
  /** False once stopListening() has been called. */
  listening = true;

  constructor(private readonly hostAddress: IAddress) {}

  startListening(): void {
    this.listening = true;
  }

  stopListening(): Deferred<void> {
    this.listening = false;
    return succeed<void>(undefined);
  }

  getHost(): IAddress {
    return this.hostAddress;
  }
}

/** A fake IConnector that records what it is told. */
export class FakeConnector implements IConnector {
  stoppedConnecting = false;
  disconnected = false;
  /** How many times connect() was called (a ReconnectingClientFactory's retries). */
  connectCalls = 0;

  constructor(private readonly address: IAddress) {}

  connect(): void {
    this.connectCalls++;
  }

  disconnect(): void {
    this.disconnected = true;
  }

  stopConnecting(): void {
    this.stoppedConnecting = true;
  }

  getDestination(): IAddress {
    return this.address;
  }

  toString(): string {
    return `<FakeConnector to ${JSON.stringify(this.address)}>`;
  }
}

/** A listenTCP call: [port, factory, options with Twisted's defaults filled in]. */
export type TCPServerRecord = [port: number, factory: IProtocolFactory, options: Required<Pick<ListenTCPOptions, "backlog" | "interface">>];
/** A connectTCP call: [host, port, factory, options with defaults (timeout 30)]. */
export type TCPClientRecord = [host: string, port: number, factory: IClientFactory, options: ConnectTCPOptions & { timeout: number }];
/** A listenSSL call: [port, factory, contextFactory, options with defaults], as Twisted's sslServers. */
export type SSLServerRecord = [port: number, factory: IProtocolFactory, contextFactory: ITLSServerContextFactory, options: ListenSSLOptions & { backlog: number; interface: string }];
/** A connectSSL call: [host, port, factory, contextFactory, options with defaults], as Twisted's sslClients. */
export type SSLClientRecord = [host: string, port: number, factory: IClientFactory, contextFactory: ITLSClientContextFactory, options: ConnectSSLOptions & { timeout: number }];
/** A listenUNIX call: [address, factory, options with defaults (backlog 50, mode 0o666)]. */
export type UNIXServerRecord = [address: string, factory: IProtocolFactory, options: ListenUNIXOptions & { backlog: number; mode: number; wantPID: boolean }];
/** A connectUNIX call: [address, factory, options with defaults (timeout 30)]. */
export type UNIXClientRecord = [address: string, factory: IClientFactory, options: ConnectUNIXOptions & { timeout: number }];

type Hook = [callable: (...args: unknown[]) => unknown, args: unknown[]];
interface TriggerID {
  phase: SystemEventPhase;
  eventType: string;
  hook: Hook;
}

/** A connection MemoryReactor completed: the protocol built and the transport it was given. */
export interface CompletedConnection<T extends ITransport = StringTransport> {
  protocol: IProtocol;
  transport: T;
}

/**
 * A fake reactor for tests, as Twisted's MemoryReactor: listen and connect calls are
 * recorded, never performed; run() runs the callWhenRunning hooks and stops at once.
 *
 * Differences from Twisted's: hasRun/hasStopped/hasCrashed start false (Twisted's start true);
 * fireSystemEvent and removeSystemEventTrigger work, where Twisted's raise
 * NotImplementedError; run() returns a Promise, as IReactorCore.run does in torsion.
 */
export class MemoryReactor implements IReactorCore, IReactorTCP, IReactorSSL, IReactorUNIX, IReactorNameResolution {
  hasInstalled = false;
  running = false;
  hasRun = false;
  hasStopped = false;
  hasCrashed = false;
  readonly whenRunningHooks: Hook[] = [];
  /** triggers[phase][eventType] is the list of [callable, args] added for it. */
  readonly triggers: Partial<Record<SystemEventPhase, Record<string, Hook[]>>> = {};
  readonly tcpServers: TCPServerRecord[] = [];
  readonly tcpClients: TCPClientRecord[] = [];
  readonly sslServers: SSLServerRecord[] = [];
  readonly sslClients: SSLClientRecord[] = [];
  readonly unixServers: UNIXServerRecord[] = [];
  readonly unixClients: UNIXClientRecord[] = [];
  /** listenUDP and listenMulticast calls: [port, protocol, options with defaults, the port returned]. */
  readonly udpServers: Array<[port: number, protocol: IDatagramProtocol, options: ListenMulticastOptions & { interface: string; maxPacketSize: number }, fake: FakeDatagramPort]> = [];
  /** Every connector returned by a connect call, in order (Twisted's `connectors`). */
  readonly connectors: FakeConnector[] = [];
  readonly readers = new Set<unknown>();
  readonly writers = new Set<unknown>();

  install(): void {
    this.hasInstalled = true;
  }

  // --- IReactorPluggableNameResolver (a test installs a StaticResolver) ---------------------

  private readonly names = new PluggableNameResolver();

  get nameResolver(): IHostnameResolver {
    return this.names.nameResolver;
  }

  installNameResolver(resolver: IHostnameResolver): IHostnameResolver {
    return this.names.installNameResolver(resolver);
  }

  resolve(name: string): Deferred<string> {
    return this.names.resolve(name);
  }

  // --- IReactorCore --------------------------------------------------------------------------

  /** Run the callWhenRunning hooks, then stop, as Twisted's fake does. */
  run(): Promise<void> {
    if (this.running) throw new Error("MemoryReactor is already running");
    this.running = true;
    this.hasRun = true;
    for (const [f, args] of this.whenRunningHooks) f(...args);
    this.stop();
    return Promise.resolve();
  }

  stop(): void {
    this.running = false;
    this.hasStopped = true;
  }

  crash(): void {
    this.running = false;
    this.hasCrashed = true;
  }

  callWhenRunning<A extends unknown[]>(callable: (...args: A) => unknown, ...args: A): void {
    this.whenRunningHooks.push([callable as Hook[0], args]);
  }

  addSystemEventTrigger<A extends unknown[]>(
    phase: SystemEventPhase,
    eventType: string,
    callable: (...args: A) => unknown,
    ...args: A
  ): TriggerID {
    const hook: Hook = [callable as Hook[0], args];
    const phaseTriggers = (this.triggers[phase] ??= {});
    (phaseTriggers[eventType] ??= []).push(hook);
    return { phase, eventType, hook };
  }

  removeSystemEventTrigger(triggerID: unknown): void {
    const { phase, eventType, hook } = triggerID as TriggerID;
    const hooks = this.triggers[phase]?.[eventType];
    const index = hooks ? hooks.indexOf(hook) : -1;
    if (index === -1) throw new Error("removeSystemEventTrigger: no such trigger");
    hooks!.splice(index, 1);
  }

  /**
   * Run the "before", "during" and "after" triggers of `eventType` as the real reactor does,
   * through a ThreePhaseEvent: "during" waits for the thenables (Deferreds, Promises) the
   * "before" triggers return; with none, everything runs synchronously. The triggers stay
   * recorded in `triggers` (a fake records what it was given).
   */
  fireSystemEvent(eventType: string): void {
    const event = new ThreePhaseEvent();
    for (const phase of ["before", "during", "after"] as const) {
      for (const [f, args] of this.triggers[phase]?.[eventType] ?? []) event.addTrigger(phase, f, args);
    }
    event.fireEvent();
  }

  // --- IReactorTCP / IReactorUNIX ------------------------------------------------------------

  listenTCP(port: number, factory: IProtocolFactory, options: ListenTCPOptions = {}): FakePort {
    const recorded = { backlog: 50, interface: "", ...options };
    this.tcpServers.push([port, factory, recorded]);
    const host = isIPv6(recorded.interface) ? recorded.interface : "0.0.0.0";
    return new FakePort(ipAddress(host, port));
  }

  connectTCP(host: string, port: number, factory: IClientFactory, options: ConnectTCPOptions = {}): FakeConnector {
    this.tcpClients.push([host, port, factory, { timeout: 30, ...options }]);
    return this.startConnecting(factory, ipAddress(host, port));
  }

  listenSSL(
    port: number,
    factory: IProtocolFactory,
    contextFactory: ITLSServerContextFactory,
    options: ListenSSLOptions = {},
  ): FakePort {
    const recorded = { backlog: 50, interface: "", ...options };
    this.sslServers.push([port, factory, contextFactory, recorded]);
    const host = isIPv6(recorded.interface) ? recorded.interface : "0.0.0.0";
    return new FakePort(ipAddress(host, port));
  }

  connectSSL(
    host: string,
    port: number,
    factory: IClientFactory,
    contextFactory: ITLSClientContextFactory,
    options: ConnectSSLOptions = {},
  ): FakeConnector {
    this.sslClients.push([host, port, factory, contextFactory, { timeout: 30, ...options }]);
    return this.startConnecting(factory, ipAddress(host, port));
  }

  listenUNIX(address: string, factory: IProtocolFactory, options: ListenUNIXOptions = {}): FakePort {
    this.unixServers.push([address, factory, { backlog: 50, mode: 0o666, wantPID: false, ...options }]);
    return new FakePort(unixAddress(address));
  }

  connectUNIX(address: string, factory: IClientFactory, options: ConnectUNIXOptions = {}): FakeConnector {
    this.unixClients.push([address, factory, { timeout: 30, ...options }]);
    return this.startConnecting(factory, unixAddress(address));
  }

  /**
   * Record a listenUDP call and return a FakeDatagramPort (it records writes; the protocol is
   * not started: call `protocol.makeConnection(port)` to play that). Addressed as Twisted's
   * adoptDatagramPort answers: 0.0.0.0, or the IPv6 interface given.
   */
  listenUDP(port: number, protocol: IDatagramProtocol, options: ListenUDPOptions = {}): FakeDatagramPort {
    return this.recordUDP(port, protocol, { interface: "", maxPacketSize: 8192, ...options });
  }

  /** As listenUDP, for listenMulticast (listenMultiple defaults to false). */
  listenMulticast(port: number, protocol: IDatagramProtocol, options: ListenMulticastOptions = {}): FakeDatagramPort {
    return this.recordUDP(port, protocol, { interface: "", maxPacketSize: 8192, listenMultiple: false, ...options });
  }

  private recordUDP(port: number, protocol: IDatagramProtocol, options: ListenMulticastOptions & { interface: string; maxPacketSize: number }): FakeDatagramPort {
    const fake = new FakeDatagramPort(isIPv6(options.interface) ? options.interface : "0.0.0.0", port);
    this.udpServers.push([port, protocol, options, fake]);
    return fake;
  }

  private startConnecting(factory: IClientFactory, address: IAddress): FakeConnector {
    const connector = new FakeConnector(address);
    factory.startedConnecting(connector);
    this.connectors.push(connector);
    return connector;
  }

  // --- Playing the network -------------------------------------------------------------------

  /**
   * Complete the connectTCP call at `index`: build its protocol with the factory's
   * buildProtocol(destination) and connect it to `transport` (a new StringTransport by
   * default). The call stays recorded. Throws if the factory refuses (buildProtocol returns null).
   */
  completeTCPConnection<T extends ITransport = StringTransport>(index = 0, transport?: T): CompletedConnection<T> {
    const record = this.tcpClients[index];
    if (!record) throw new RangeError(`no connectTCP call at index ${index}`);
    return connectBuilt(record[2], ipAddress(record[0], record[1]), transport);
  }

  /** Deliver a connection to the listenTCP call at `index`, from `transport`'s peer address. */
  acceptTCPConnection<T extends ITransport = StringTransport>(index = 0, transport?: T): CompletedConnection<T> {
    const record = this.tcpServers[index];
    if (!record) throw new RangeError(`no listenTCP call at index ${index}`);
    const t = transport ?? (new StringTransport({ hostAddress: ipAddress("127.0.0.1", record[0]) }) as unknown as T);
    return connectBuilt(record[1], t.getPeer(), t);
  }

  /** As completeTCPConnection, for the connectUNIX call at `index`. */
  completeUNIXConnection<T extends ITransport = StringTransport>(index = 0, transport?: T): CompletedConnection<T> {
    const record = this.unixClients[index];
    if (!record) throw new RangeError(`no connectUNIX call at index ${index}`);
    return connectBuilt(record[1], unixAddress(record[0]), transport);
  }

  /** As acceptTCPConnection, for the listenUNIX call at `index`. */
  acceptUNIXConnection<T extends ITransport = StringTransport>(index = 0, transport?: T): CompletedConnection<T> {
    const record = this.unixServers[index];
    if (!record) throw new RangeError(`no listenUNIX call at index ${index}`);
    const t = transport ?? (new StringTransport({ hostAddress: unixAddress(record[0]), peerAddress: unixAddress(null) }) as unknown as T);
    return connectBuilt(record[1], t.getPeer(), t);
  }

  // --- IReactorFDSet -------------------------------------------------------------------------

  addReader(reader: unknown): void {
    this.readers.add(reader);
  }

  removeReader(reader: unknown): void {
    this.readers.delete(reader);
  }

  addWriter(writer: unknown): void {
    this.writers.add(writer);
  }

  removeWriter(writer: unknown): void {
    this.writers.delete(writer);
  }

  getReaders(): unknown[] {
    return [...this.readers];
  }

  getWriters(): unknown[] {
    return [...this.writers];
  }

  removeAll(): void {
    this.readers.clear();
    this.writers.clear();
  }
}

function connectBuilt<T extends ITransport>(factory: IProtocolFactory, addr: IAddress, transport?: T): CompletedConnection<T> {
  const t = transport ?? (new StringTransport() as unknown as T);
  const protocol = factory.buildProtocol(addr);
  if (protocol === null) throw new Error("the factory refused the connection (buildProtocol returned null)");
  // A StringTransportWithDisconnection needs to know whom to tell.
  if (t instanceof StringTransportWithDisconnection && t.protocol === null) t.protocol = protocol;
  protocol.makeConnection(t);
  return { protocol, transport: t };
}

/**
 * A MemoryReactor that is also a Clock (IReactorTime), as Twisted's MemoryReactorClock:
 * callLater schedules on `clock`, and advance() moves its time.
 */
export class MemoryReactorClock extends MemoryReactor implements IReactorTime {
  readonly clock = new Clock();

  seconds(): number {
    return this.clock.seconds();
  }

  callLater<A extends unknown[]>(delay: number, callable: (...args: A) => unknown, ...args: A): IDelayedCall {
    return this.clock.callLater(delay, callable, ...args);
  }

  getDelayedCalls(): IDelayedCall[] {
    return this.clock.getDelayedCalls();
  }

  /** Move time forward by `amount` seconds, running the calls that come due. */
  advance(amount: number): void {
    this.clock.advance(amount);
  }

  /** advance() by each amount in turn. */
  pump(timings: Iterable<number>): void {
    this.clock.pump(timings);
  }
}

/**
 * A reactor whose listen and connect calls throw the errors it was given, as Twisted's
 * RaisingMemoryReactor: for testing how code handles a port that cannot be bound.
 */
export class RaisingMemoryReactor implements IReactorTCP, IReactorUNIX {
  constructor(
    private readonly listenException: unknown = new Error("listen failed"),
    private readonly connectException: unknown = new Error("connect failed"),
  ) {}

  listenTCP(_port: number, _factory: IProtocolFactory, _options?: ListenTCPOptions): IListeningPort {
    throw this.listenException;
  }

  connectTCP(_host: string, _port: number, _factory: IClientFactory, _options?: ConnectTCPOptions): IConnector {
    throw this.connectException;
  }

  listenUNIX(_address: string, _factory: IProtocolFactory, _options?: ListenUNIXOptions): IListeningPort {
    throw this.listenException;
  }

  connectUNIX(_address: string, _factory: IClientFactory, _options?: ConnectUNIXOptions): IConnector {
    throw this.connectException;
  }
}
