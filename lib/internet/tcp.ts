/**
 * TCP, as twisted.internet.tcp: the connection transport (Server and Client sides), the
 * listening Port, and the Connector of an outgoing connection.
 *
 * The Port and connector machinery here is shared by UNIX sockets (unix.ts), as in Twisted.
 */

import { ipAddress } from "./address.js";
import cluster from "node:cluster";
import * as net from "node:net";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { FileDescriptor, type ResourceTracker, type ShutdownResource } from "./abstract.js";
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
import type {
  ConnectTCPOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IListeningPort,
  IPv4Address,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ISSLTransport,
  ITLSContextFactory,
  ITLSTransport,
  ListenTCPOptions,
} from "./interfaces.js";
import { Logger } from "./log.js";
import { Protocol } from "./protocol.js";
import { tlsLostReason, tlsOptionsFor, wrapSocket } from "./tls-socket.js";

const log = new Logger("torsion.internet.tcp");

/** What ports and connectors need from their reactor. */
export type TransportReactor = IReactorTime & ResourceTracker;

// ---------------------------------------------------------------------------
// Connections

/**
 * A connected TCP socket's transport (tcp.Connection). It can start TLS (ITLSTransport); from
 * then on it is an ISSLTransport: isSecure() is true, and the socket under it is a TLSSocket
 * with the same producer and disconnect semantics.
 */
export class Connection extends FileDescriptor implements ITLSTransport, ISSLTransport {
  private noDelay = false;
  private keepAlive = false;
  /** The TCP socket, also once TLS runs over it (addresses, TCP options, RST on abort). */
  private readonly tcpSocket: net.Socket;
  /** The TLSSocket once startTLS has made it (after pre-TLS writes are flushed). */
  private tlsSocket: TLSSocket | null = null;
  private tlsStarted = false;
  /** Which side of TLS this connection takes by default in startTLS (Twisted's _tlsClientDefault). */
  protected readonly tlsServerDefault: boolean = false;

  constructor(socket: net.Socket, reactor: ResourceTracker) {
    super(socket, reactor);
    this.tcpSocket = socket;
  }

  // --- TLS (ITLSTransport, ISSLTransport) ----------------------------------------------

  /**
   * Start TLS on this connection (a STARTTLS upgrade), as ITLSTransport.startTLS: what was
   * written before goes out in the clear first, what is written after is encrypted, and the
   * protocol stays the same object (a protocol with handshakeCompleted() is told when the
   * handshake is done). `server` picks the TLS side; by default the side that accepted the
   * TCP connection is the TLS server. The context factory is asked for its options now, so a
   * broken one raises here. Raises if TLS was already started or the connection is closed.
   */
  startTLS(contextFactory: ITLSContextFactory, options: { server?: boolean } = {}): void {
    if (this.tlsStarted) throw new Error("startTLS: TLS is already started on this connection");
    if (!this.connected || this.disconnecting) throw new Error("startTLS: the connection is closed or closing");
    this._startTLS(contextFactory, options.server ?? this.tlsServerDefault);
  }

  /** @internal startTLS without the state checks, for listenSSL/connectSSL before _start. */
  _startTLS(contextFactory: ITLSContextFactory, server: boolean): void {
    const tlsOptions = tlsOptionsFor(contextFactory, server);
    this.tlsStarted = true;
    this.switchSocket((old) => {
      const s = wrapSocket(old, server, tlsOptions, () => this.handshakeDone());
      this.tlsSocket = s;
      return s;
    });
  }

  private handshakeDone(): void {
    const p = this.protocol as { handshakeCompleted?: () => void } | null;
    if (this.disconnected || typeof p?.handshakeCompleted !== "function") return;
    try {
      p.handshakeCompleted();
    } catch (err) {
      this.protocolRaised(err, "handshakeCompleted");
    }
  }

  /**
   * True once TLS has been started (ISSLTransport): the HTTP layer's Request.isSecure() asks
   * this. True from the startTLS call on, as Twisted marks the transport at once.
   */
  isSecure(): boolean {
    return this.tlsStarted;
  }

  /** The peer's certificate once the TLS handshake is done, else null (no TLS, or none sent). */
  getPeerCertificate(): PeerCertificate | null {
    const cert = this.tlsSocket?.getPeerCertificate();
    return cert && Object.keys(cert).length > 0 ? cert : null;
  }

  /** The ALPN protocol agreed in the handshake, or null (Twisted's negotiatedProtocol). */
  get negotiatedProtocol(): string | null {
    const p = this.tlsSocket?.alpnProtocol;
    return typeof p === "string" ? p : null;
  }

  /** The TLS version in use ("TLSv1.3"), or null without TLS or before the handshake. */
  getProtocolVersion(): string | null {
    return this.tlsSocket?.getProtocol() ?? null;
  }

  protected override lostReason(err: Error): Error {
    return (this.tlsStarted ? tlsLostReason(err) : null) ?? super.lostReason(err);
  }

  protected override resetSocket(): void {
    // A TLSSocket cannot send a RST (its handle is not a TCP handle): reset the TCP socket.
    if (this.tlsSocket !== null && !this.tcpSocket.destroyed) this.tcpSocket.resetAndDestroy();
    else super.resetSocket();
  }

  getTcpNoDelay(): boolean {
    return this.noDelay;
  }

  /** TCP_NODELAY: send small writes at once instead of coalescing them (Nagle). */
  setTcpNoDelay(enabled: boolean): void {
    this.noDelay = !!enabled;
    this.tcpSocket.setNoDelay(this.noDelay);
  }

  getTcpKeepAlive(): boolean {
    return this.keepAlive;
  }

  setTcpKeepAlive(enabled: boolean): void {
    this.keepAlive = !!enabled;
    this.tcpSocket.setKeepAlive(this.keepAlive);
  }

  getHost(): IAddress {
    const s = this.tcpSocket;
    return ipAddress(s.localAddress ?? "", s.localPort ?? 0, s.localFamily);
  }

  getPeer(): IAddress {
    const s = this.tcpSocket;
    return ipAddress(s.remoteAddress ?? "", s.remotePort ?? 0, s.remoteFamily);
  }
}

/** The server side of a connection accepted by a Port (tcp.Server). */
export class Server extends Connection {
  protected override readonly tlsServerDefault: boolean = true;

  constructor(
    socket: net.Socket,
    readonly port: ConnectionOwner,
    /** This connection's number on its port, counting from 1 (Twisted's sessionno). */
    readonly sessionno: number,
    reactor: ResourceTracker,
  ) {
    super(socket, reactor);
  }

  protected override connectionLost(reason: Failure): void {
    if (this.disconnected) return;
    super.connectionLost(reason);
    this.port.connectionClosed();
  }
}

/** The client side of a connection made by a Connector (tcp.Client). */
export class Client extends Connection {
  constructor(
    socket: net.Socket,
    readonly connector: BaseConnector,
    reactor: ResourceTracker,
  ) {
    super(socket, reactor);
  }

  protected override connectionLost(reason: Failure): void {
    if (this.disconnected) return;
    super.connectionLost(reason);
    this.connector.connectionLost(reason);
  }
}

// ---------------------------------------------------------------------------
// Listening

/** What a server transport tells its port. */
export interface ConnectionOwner {
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
export class BasePort implements IListeningPort, ShutdownResource, ConnectionOwner {
  /** True while listening. */
  connected = false;
  disconnecting = false;
  /** How many connections accepted by this port are open now. */
  connectionCount = 0;
  /** How many connections this port has accepted (Twisted's sessionno). */
  sessionno = 0;
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

  protected makeTransport(socket: net.Socket, sessionno: number): FileDescriptor {
    return new Server(socket, this, sessionno, this.reactor);
  }

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

/** A listening TCP port (tcp.Port); getHost() is an IPv4Address. */
export class Port extends BasePort {
  override getHost(): IPv4Address {
    return super.getHost() as IPv4Address;
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

  constructor(
    readonly factory: IClientFactory,
    timeout: number | undefined,
    protected readonly reactor: TransportReactor,
  ) {
    this.timeout = timeout ?? 30;
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

/** A TCP connection attempt (tcp.Connector). */
export class Connector extends BaseConnector {
  private readonly bindAddress: { host: string; port: number } | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    factory: IClientFactory,
    options: ConnectTCPOptions,
    reactor: TransportReactor,
  ) {
    super(factory, options.timeout, reactor);
    this.bindAddress = options.bindAddress;
  }

  protected startConnecting(socket: net.Socket): void {
    const opts: net.TcpSocketConnectOpts = { host: this.host, port: this.port };
    if (this.bindAddress) {
      if (this.bindAddress.host) opts.localAddress = this.bindAddress.host;
      if (this.bindAddress.port) opts.localPort = this.bindAddress.port;
    }
    socket.connect(opts);
  }

  protected makeTransport(socket: net.Socket): Client {
    return new Client(socket, this, this.reactor);
  }

  getDestination(): IPv4Address {
    return ipAddress(this.host, this.port);
  }

  override toString(): string {
    return `<Connector instance: ${this.host}:${this.port}>`;
  }
}
