/**
 * The bases every stream port and connector stands on (twisted.internet.base's BasePort and
 * BaseConnector, with tcp.BaseClient's connect logic): a listening node:net Server that builds
 * a protocol for each accepted socket, and an outgoing connection attempt with its timeout and
 * factory notifications. tcp.ts, unix.ts and ssl.ts each add their addresses and transports.
 */

import cluster from "node:cluster";
import * as net from "node:net";
import { ipAddress } from "./address.js";
import { FileDescriptor, TransportCounters, type ResourceTracker, type ShutdownResource } from "./abstract.js";
import { Deferred, fail, succeed } from "./deferred.js";
import {
  CannotListenError,
  ConnectError,
  ConnectionLost,
  ConnectionRefusedError,
  DNSLookupError,
  NotConnectingError,
  NoRouteError,
  TimeoutError,
  UserError,
} from "./error.js";
import { Failure } from "./failure.js";
import type { IAddress, IClientFactory, IConnector, IDelayedCall, IListeningPort, IProtocol, IProtocolFactory, IReactorTime, ListenTCPOptions } from "./interfaces.js";
import { Logger } from "./log.js";
import { Protocol } from "./protocol.js";

const log = new Logger("torsion.internet.tcp");

/** What ports and connectors need from their reactor. */
export type TransportReactor = IReactorTime & ResourceTracker;

// ---------------------------------------------------------------------------
// Listening

/** What a server transport tells its port. */
export interface ConnectionOwner {
  /** The counters its connections add to. */
  readonly counters: TransportCounters;
  connectionClosed(): void;
}

/**
 * Bind and listen now, returning the error if the bind failed. Node reports a failed bind on a
 * later tick (emitErrorNT via process.nextTick); Twisted's listenTCP raises CannotListenError
 * at once, so the error is picked out of that nextTick call while listen runs.
 */
export function listenNow(server: net.Server, listen: () => void): Error | null {
  let captured: Error | null = null;
  const nextTick = process.nextTick;
  process.nextTick = function capture(this: unknown, fn: (...a: any[]) => void, ...args: any[]): void {
    if (args[0] === server && args[1] instanceof Error && captured === null) captured = args[1];
    nextTick.call(process, fn, ...args);
  } as typeof process.nextTick;
  try {
    listen();
  } finally {
    process.nextTick = nextTick;
  }
  return captured;
}

/**
 * A listening socket (tcp.Port). startListening() binds or raises CannotListenError;
 * stopListening() closes it and fires its Deferred once the port is free and the factory's
 * doStop has run. Connections already accepted stay open.
 */
export abstract class BasePort implements IListeningPort, ShutdownResource, ConnectionOwner {
  /** True while listening. */
  connected = false;
  disconnecting = false;
  /** How many connections accepted by this port are open now. */
  connectionCount = 0;
  /** How many connections this port has accepted (Twisted's sessionno). */
  sessionno = 0;
  /** What this port's connections cost (their sum is in the reactor's counters). */
  readonly counters: TransportCounters;
  protected server: net.Server | null = null;
  private listenError: Error | null = null;
  private readyWaiters: Deferred<IListeningPort>[] = [];
  private stopWaiters: Deferred<void>[] = [];
  protected readonly backlog: number;
  protected readonly iface: string;

  constructor(
    readonly port: number,
    readonly factory: IProtocolFactory,
    options: ListenTCPOptions,
    protected readonly reactor: TransportReactor,
  ) {
    this.counters = new TransportCounters(reactor.counters ?? null);
    this.backlog = options.backlog ?? 50;
    this.iface = options.interface ?? "";
  }

  /** Bind and listen, then call factory.doStart(). Raises CannotListenError. */
  startListening(): void {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    server.on("error", (err) => this.onServerError(err));
    server.on("listening", () => this.onListening());
    this.server = server;
    const err = listenNow(server, () => this.bind(server));
    if (err !== null) {
      this.server = null;
      this.listenError = err;
      throw new CannotListenError(this.iface, this.port, err);
    }
    this.connected = true;
    this.factory.doStart();
    this.reactor._track?.(this);
    log.debug("{factory} starting on {port}", { factory: this.factory.constructor.name, port: this.portDescription() });
  }

  protected bind(server: net.Server): void {
    // "" is every IPv4 address, as Twisted (Node's default would be the IPv6 wildcard).
    const host = this.iface === "" ? "0.0.0.0" : this.iface;
    const family = net.isIP(host);
    const listen2 = (server as unknown as { _listen2?: (...a: unknown[]) => void })._listen2;
    // In a node:cluster worker only server.listen() is routed to the primary, which shares one
    // socket among the workers; binding here would be a second socket on the port (EADDRINUSE).
    // There the bind is asynchronous and its errors reach whenListening(), as for a named interface.
    if (family !== 0 && typeof listen2 === "function" && !cluster.isWorker) {
      // server.listen() with a host resolves it with dns.lookup first, so it binds on a later
      // tick even for an IP literal. _listen2 is the binding step itself, which Node keeps under
      // this name for code that wraps it; it binds now, so errors and getHost() are immediate.
      listen2.call(server, host, this.port, family, this.backlog, undefined, 0);
    } else {
      server.listen({ port: this.port, host, backlog: this.backlog });
    }
  }

  protected portDescription(): string {
    return String(this.getHostPort());
  }

  private getHostPort(): number {
    const a = this.server?.address();
    return a && typeof a === "object" ? a.port : this.port;
  }

  /**
   * A Deferred that fires with this port once it is bound and listening (at once for an IP
   * interface), or fails with CannotListenError. For endpoints, which return a Deferred.
   */
  whenListening(): Deferred<IListeningPort> {
    if (this.listenError !== null) return fail(new CannotListenError(this.iface, this.port, this.listenError));
    if (this.server?.listening) return succeed<IListeningPort>(this);
    const d = new Deferred<IListeningPort>();
    this.readyWaiters.push(d);
    return d;
  }

  private onListening(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const d of waiters) d.callback(this);
  }

  private onServerError(err: Error): void {
    if (this.connected && this.server?.listening) {
      log.failure("Error on listening {port}", err, { port: this.portDescription() });
      return;
    }
    if (this.listenError !== null) return; // already raised by startListening
    // a bind that failed asynchronously (an interface given by name)
    this.listenError = err;
    this.connected = false;
    this.reactor._untrack?.(this);
    this.factory.doStop();
    const failure = new CannotListenError(this.iface, this.port, err);
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    if (waiters.length === 0) log.failure("Couldn't listen", failure);
    for (const d of waiters) d.errback(failure);
  }

  private onConnection(socket: net.Socket): void {
    if (!this.connected || this.disconnecting) {
      socket.destroy();
      return;
    }
    const addr = this.peerAddress(socket);
    if (addr === null) {
      socket.destroy(); // already gone before we could see whom from
      return;
    }
    let protocol: IProtocol | null;
    try {
      protocol = this.factory.buildProtocol(addr);
    } catch (err) {
      log.failure("{factory}.buildProtocol raised; connection refused", err, { factory: this.factory.constructor.name });
      protocol = null;
    }
    if (protocol === null || protocol === undefined) {
      socket.destroy();
      return;
    }
    this.sessionno++;
    this.connectionCount++;
    const transport = this.makeTransport(socket, this.sessionno);
    transport._start(protocol);
  }

  protected peerAddress(socket: net.Socket): IAddress | null {
    if (socket.remoteAddress === undefined) return null;
    return ipAddress(socket.remoteAddress, socket.remotePort ?? 0, socket.remoteFamily);
  }

  /** The transport of an accepted connection: tcp.Server for TCP and TLS, UNIXConnection for UNIX. */
  protected abstract makeTransport(socket: net.Socket, sessionno: number): FileDescriptor;

  /** @internal */
  connectionClosed(): void {
    this.connectionCount--;
  }

  /**
   * Stop accepting connections. The Deferred fires once the listening socket is closed and
   * factory.doStop() has run; connections already accepted are not touched.
   */
  stopListening(): Deferred<void> {
    const d = new Deferred<void>();
    if (!this.connected) {
      d.callback(undefined);
      return d;
    }
    this.stopWaiters.push(d);
    if (this.disconnecting) return d;
    this.disconnecting = true;
    this.reactor._untrack?.(this);
    // libuv closes a listening fd inside uv_close, so the port is free when close() returns;
    // server.close()'s own callback would wait for every accepted connection to end.
    this.server?.close();
    setImmediate(() => this.portClosed());
    return d;
  }

  /** Twisted's name for stopListening. */
  loseConnection(): Deferred<void> {
    return this.stopListening();
  }

  protected portClosed(): void {
    this.connected = false;
    this.disconnecting = false;
    this.server = null;
    try {
      this.factory.doStop();
    } catch (err) {
      log.failure("{factory}.doStop raised", err, { factory: this.factory.constructor.name });
    }
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const d of waiters) d.callback(undefined);
  }

  closeForShutdown(): Deferred<void> {
    return this.stopListening();
  }

  /** The address bound, with the real port number when port 0 was asked for. */
  getHost(): IAddress {
    const a = this.server?.address();
    if (a && typeof a === "object") return ipAddress(a.address, a.port, a.family);
    return ipAddress(this.iface === "" ? "0.0.0.0" : this.iface, this.port);
  }

  toString(): string {
    return `<${this.factory.constructor.name} on ${this.getHostPort()}>`;
  }
}

// ---------------------------------------------------------------------------
// Connecting

/** The Error a failed connect() becomes, as Twisted maps errno to twisted.internet.error. */
export function connectErrorFor(err: Error): Error {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  const code = e.code ?? e.errors?.[0]?.code;
  const message = `${code ?? "error"}: ${err.message}`;
  switch (code) {
    case "ECONNREFUSED":
      return new ConnectionRefusedError(`Connection was refused by other side: ${message}`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return new DNSLookupError(message, { cause: err });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new NoRouteError(message, { cause: err });
    default:
      return new ConnectError(`An error occurred while connecting: ${message}`, { cause: err });
  }
}

/**
 * An outgoing connection attempt (base.BaseConnector + tcp.BaseClient): calls the factory's
 * startedConnecting, then buildProtocol on success or clientConnectionFailed on failure
 * (refused, timeout, stopConnecting), and clientConnectionLost when an established connection
 * ends. The factory's doStart/doStop bracket the connector's use, unless the factory
 * reconnects from clientConnection* (connector.connect()).
 */
export abstract class BaseConnector implements IConnector, ShutdownResource {
  state: "disconnected" | "connecting" | "connected" = "disconnected";
  /** The connection's transport while connected. */
  transport: FileDescriptor | null = null;
  private socket: net.Socket | null = null;
  private timeoutCall: IDelayedCall | null = null;
  private factoryStarted = false;
  protected readonly timeout: number;
  /** What this connector's connections cost (their sum is in the reactor's counters). */
  readonly counters: TransportCounters;

  constructor(
    readonly factory: IClientFactory,
    timeout: number | undefined,
    protected readonly reactor: TransportReactor,
  ) {
    this.timeout = timeout ?? 30;
    this.counters = new TransportCounters(reactor.counters ?? null);
  }

  /** Start connecting (again, for a reconnecting factory). Only when disconnected. */
  connect(): void {
    if (this.state !== "disconnected") throw new Error("Can't connect in this state");
    this.state = "connecting";
    if (!this.factoryStarted) {
      this.factory.doStart();
      this.factoryStarted = true;
    }
    const socket = new net.Socket({ allowHalfOpen: true });
    this.socket = socket;
    socket.on("error", (err) => this.failIfNotConnected(connectErrorFor(err)));
    socket.once("connect", () => this.onConnect(socket));
    this.reactor._track?.(this);
    if (this.timeout > 0) {
      this.timeoutCall = this.reactor.callLater(this.timeout, () => {
        this.timeoutCall = null;
        this.failIfNotConnected(new TimeoutError());
      });
    }
    try {
      this.startConnecting(socket);
    } catch (err) {
      // bad arguments (a port out of range...) fail the attempt, as a connect error would
      this.failIfNotConnected(err instanceof Error ? err : new ConnectError(String(err)));
      return;
    }
    if (this.state === "connecting") this.factory.startedConnecting(this);
  }

  /** Begin the connection on `socket` (socket.connect with this connector's destination). */
  protected abstract startConnecting(socket: net.Socket): void;
  /** The transport of a connected socket. */
  protected abstract makeTransport(socket: net.Socket): FileDescriptor;
  abstract getDestination(): IAddress;

  /** Abandon the connection attempt; the factory gets clientConnectionFailed(UserError). */
  stopConnecting(): void {
    if (this.state !== "connecting") throw new NotConnectingError();
    this.failIfNotConnected(new UserError());
  }

  /** Stop connecting, or close the connection if connected. */
  disconnect(): void {
    if (this.state === "connecting") this.stopConnecting();
    else if (this.state === "connected") this.transport?.loseConnection();
  }

  closeForShutdown(): void {
    if (this.state === "connecting") {
      this.failIfNotConnected(new ConnectionLost("Connection attempt abandoned: the reactor shut down."));
    }
  }

  private cancelTimeout(): void {
    if (this.timeoutCall !== null) {
      if (this.timeoutCall.active()) this.timeoutCall.cancel();
      this.timeoutCall = null;
    }
  }

  private failIfNotConnected(err: Error): void {
    if (this.state !== "connecting") return;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.removeAllListeners("connect");
      socket.removeAllListeners("error");
      socket.on("error", () => {}); // late errors of an abandoned socket have no one to tell
      socket.destroy();
    }
    this.connectionFailed(new Failure(err));
  }

  private connectionFailed(reason: Failure): void {
    this.cancelTimeout();
    this.reactor._untrack?.(this);
    this.transport = null;
    this.state = "disconnected";
    try {
      this.factory.clientConnectionFailed(this, reason);
    } catch (err) {
      log.failure("{factory}.clientConnectionFailed raised", err, { factory: this.factory.constructor.name });
    }
    if (this.state === "disconnected") this.stopFactory();
  }

  private stopFactory(): void {
    if (!this.factoryStarted) return;
    this.factoryStarted = false;
    this.factory.doStop();
  }

  private onConnect(socket: net.Socket): void {
    if (this.state !== "connecting" || this.socket !== socket) return;
    this.cancelTimeout();
    this.reactor._untrack?.(this);
    this.socket = null;
    socket.removeAllListeners("error");
    this.state = "connected";
    const transport = this.makeTransport(socket);
    this.transport = transport;
    let protocol: IProtocol | null;
    try {
      protocol = this.factory.buildProtocol(transport.getPeer());
    } catch (err) {
      log.failure("{factory}.buildProtocol raised", err, { factory: this.factory.constructor.name });
      protocol = null;
    }
    if (protocol === null || protocol === undefined) {
      // as Twisted: no protocol, so the connection is made with a bare one and closed
      transport._start(new Protocol());
      transport.loseConnection();
      return;
    }
    transport._start(protocol);
  }

  /** @internal Called by the transport once its protocol has had connectionLost. */
  connectionLost(reason: Failure): void {
    this.state = "disconnected";
    this.transport = null;
    try {
      this.factory.clientConnectionLost(this, reason);
    } catch (err) {
      log.failure("{factory}.clientConnectionLost raised", err, { factory: this.factory.constructor.name });
    }
    if (this.state === "disconnected") this.stopFactory();
  }
}

