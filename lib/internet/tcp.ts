/**
 * TCP, as twisted.internet.tcp: the connection transport (Server and Client sides), the
 * listening Port, and the Connector of an outgoing connection.
 *
 * The bases of ports and connectors, which UNIX sockets (unix.ts) and TLS (ssl.ts) share, are
 * in port-connector.ts.
 */

import { ipAddress } from "./address.js";
import * as net from "node:net";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { FileDescriptor, type ResourceTracker, type TransportCounters } from "./abstract.js";
import type { Failure } from "./failure.js";
import type {
  ConnectTCPOptions,
  IAddress,
  IClientFactory,
  IPv4Address,
  ISSLTransport,
  ITLSContextFactory,
  ITLSTransport,
} from "./interfaces.js";
import { BaseConnector, BasePort, type ConnectionOwner, type TransportReactor } from "./port-connector.js";
import { tlsLostReason, tlsOptionsFor, wrapSocket } from "./tls-socket.js";

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

  constructor(socket: net.Socket, reactor: ResourceTracker, counters?: TransportCounters) {
    super(socket, reactor, counters);
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
    super(socket, reactor, port.counters);
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
    super(socket, reactor, connector.counters);
  }

  protected override connectionLost(reason: Failure): void {
    if (this.disconnected) return;
    super.connectionLost(reason);
    this.connector.connectionLost(reason);
  }
}

// ---------------------------------------------------------------------------
// Listening

/** A listening TCP port (tcp.Port); getHost() is an IPv4Address. */
export class Port extends BasePort {
  protected makeTransport(socket: net.Socket, sessionno: number): FileDescriptor {
    return new Server(socket, this, sessionno, this.reactor);
  }

  override getHost(): IPv4Address {
    return super.getHost() as IPv4Address;
  }
}

// ---------------------------------------------------------------------------
// Connecting

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
