/**
 * Endpoints, as twisted.internet.endpoints: where to listen or connect, as an object, so a
 * program's code need not care whether it talks TCP or a UNIX socket, and a configuration
 * file can say which with a string ("tcp:8080:interface=127.0.0.1", "unix:/run/app.sock").
 *
 * Server endpoints' listen(factory) and client endpoints' connect(factory) return Deferreds:
 * of the listening port, and of the connected protocol. Cancelling a connect() Deferred
 * abandons the connection attempt. Endpoints reach the reactor only through IReactorTCP,
 * IReactorSSL and IReactorUNIX, so they work on the global reactor and on MemoryReactor alike.
 */

import { isIPv6 } from "node:net";
import { lookup } from "node:dns/promises";
import { Deferred, fail, succeed } from "./deferred.js";
import { ConnectingCancelledError, NoProtocol, NotConnectingError } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  ConnectUNIXOptions,
  IAddress,
  IConnector,
  IHalfCloseableProtocol,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IReactorSSL,
  IReactorTCP,
  IReactorUNIX,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
  ITLSClientContextFactory,
  ITLSServerContextFactory,
  ITransport,
} from "./interfaces.js";
import { ClientFactory, Factory, Protocol } from "./protocol.js";

// ---------------------------------------------------------------------------
// Wrapping a client factory, so connect() can fire a Deferred with the protocol

/** A protocol that passes everything to the one it wraps, and fires a Deferred once connected. */
class WrappingProtocol extends Protocol {
  // Declared, not defined: present only when the wrapped protocol has them, because a
  // transport decides on half-close (and a TLS layer on handshake events) by their presence.
  declare readConnectionLost?: () => void;
  declare writeConnectionLost?: () => void;
  declare handshakeCompleted?: () => void;

  private wrappedConnected = false;

  constructor(
    private readonly connectedDeferred: Deferred<IProtocol>,
    readonly wrappedProtocol: IProtocol,
  ) {
    super();
    const optional = wrappedProtocol as Partial<IHalfCloseableProtocol & { handshakeCompleted(): void }>;
    if (typeof optional.readConnectionLost === "function") {
      this.readConnectionLost = () => optional.readConnectionLost!();
    }
    if (typeof optional.writeConnectionLost === "function") {
      this.writeConnectionLost = () => optional.writeConnectionLost!();
    }
    if (typeof optional.handshakeCompleted === "function") {
      this.handshakeCompleted = () => optional.handshakeCompleted!();
    }
  }

  override logPrefix(): string {
    const wrapped = this.wrappedProtocol as { logPrefix?: () => string };
    return typeof wrapped.logPrefix === "function" ? wrapped.logPrefix() : this.wrappedProtocol.constructor.name;
  }

  override connectionMade(): void {
    if (this.connectedDeferred.called) {
      // The caller cancelled the attempt but the connection got through anyway: nobody wants it.
      this.transport!.loseConnection();
      return;
    }
    this.wrappedConnected = true;
    this.wrappedProtocol.makeConnection(this.transport as ITransport);
    this.connectedDeferred.callback(this.wrappedProtocol);
  }

  override dataReceived(data: Bytes): void {
    this.wrappedProtocol.dataReceived(data);
  }

  override connectionLost(reason: Failure): void {
    this.connected = false;
    if (this.wrappedConnected) this.wrappedProtocol.connectionLost(reason);
  }
}

/**
 * Wraps the factory given to a client endpoint's connect(), as Twisted's _WrappingFactory:
 * its protocols are wrapped so `onConnection` fires with the application's protocol once
 * connected, and errbacks when the attempt fails or buildProtocol refuses.
 */
class WrappingFactory extends ClientFactory {
  readonly onConnection: Deferred<IProtocol>;
  connector: IConnector | null = null;

  constructor(readonly wrappedFactory: IProtocolFactory) {
    super();
    this.onConnection = new Deferred<IProtocol>((d) => this.cancelConnecting(d));
  }

  override startedConnecting(connector: IConnector): void {
    this.connector = connector;
  }

  private cancelConnecting(d: Deferred<IProtocol>): void {
    const connector = this.connector;
    if (!connector) return; // the reactor never reported a connector: plain CancelledError
    d.errback(new ConnectingCancelledError(connector.getDestination()));
    try {
      connector.stopConnecting();
    } catch (err) {
      if (!(err instanceof NotConnectingError)) throw err;
    }
  }

  override doStart(): void {
    this.wrappedFactory.doStart();
  }

  override doStop(): void {
    this.wrappedFactory.doStop();
  }

  override buildProtocol(addr: IAddress): IProtocol | null {
    let proto: IProtocol | null;
    try {
      proto = this.wrappedFactory.buildProtocol(addr);
      if (!proto) throw new NoProtocol();
    } catch (err) {
      if (!this.onConnection.called) this.onConnection.errback(err);
      return null;
    }
    return new WrappingProtocol(this.onConnection, proto);
  }

  override clientConnectionFailed(_connector: IConnector, reason: Failure): void {
    if (!this.onConnection.called) this.onConnection.errback(reason);
  }
}

// A real port may learn that it cannot bind only after listenTCP has returned (Node binds an
// interface given as a host name once the name is resolved); such a port offers
// whenListening(), a Deferred that fires once it is bound or fails with CannotListenError,
// and listen() waits for it, so the failure reaches the caller's errback.
interface PortWithReadiness extends IListeningPort {
  whenListening?: () => PromiseLike<unknown>;
}

function listened(listen: () => IListeningPort): Deferred<IListeningPort> {
  let port: PortWithReadiness;
  try {
    port = listen();
  } catch (err) {
    return fail(err);
  }
  if (typeof port.whenListening !== "function") return succeed<IListeningPort>(port);
  const ready = port.whenListening();
  const d = ready instanceof Deferred ? ready : Deferred.fromPromise(ready);
  return d.addCallback((): IListeningPort => port);
}

function connected(wf: WrappingFactory, connect: () => IConnector): Deferred<IProtocol> {
  try {
    const connector = connect();
    wf.connector ??= connector;
  } catch (err) {
    return fail(err);
  }
  return wf.onConnection;
}

// ---------------------------------------------------------------------------
// TCP

/** Options of TCP4ServerEndpoint / TCP6ServerEndpoint (listenTCP's). */
export interface TCPServerEndpointOptions {
  /** The listen queue length (default 50). */
  backlog?: number;
  /** The address to bind: "" (every IPv4 interface) for TCP4, "::" for TCP6 by default. */
  interface?: string;
}

class TCPServerEndpoint implements IStreamServerEndpoint {
  constructor(
    private readonly reactor: IReactorTCP,
    private readonly port: number,
    private readonly backlog: number,
    private readonly iface: string,
  ) {}

  /** Listen on the port; fires with the IListeningPort, or fails with CannotListenError. */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return listened(() => this.reactor.listenTCP(this.port, factory, { backlog: this.backlog, interface: this.iface }));
  }
}

/** A TCP server endpoint on IPv4, as TCP4ServerEndpoint(reactor, port, backlog=50, interface=""). */
export class TCP4ServerEndpoint extends TCPServerEndpoint {
  constructor(reactor: IReactorTCP, port: number, options: TCPServerEndpointOptions = {}) {
    super(reactor, port, options.backlog ?? 50, options.interface ?? "");
  }
}

/** A TCP server endpoint on IPv6, as TCP6ServerEndpoint(reactor, port, backlog=50, interface="::"). */
export class TCP6ServerEndpoint extends TCPServerEndpoint {
  constructor(reactor: IReactorTCP, port: number, options: TCPServerEndpointOptions = {}) {
    super(reactor, port, options.backlog ?? 50, options.interface ?? "::");
  }
}

/** Options of TCP4ClientEndpoint / TCP6ClientEndpoint (connectTCP's). */
export interface TCPClientEndpointOptions {
  /** Seconds to wait for the connection before failing with TimeoutError (default 30). */
  timeout?: number;
  /** The local address to bind before connecting. */
  bindAddress?: { host: string; port: number };
}

/** What the TCP client endpoints share: the connectTCP call with its options. */
abstract class TCPClientEndpointBase implements IStreamClientEndpoint {
  protected readonly timeout: number;
  protected readonly bindAddress: { host: string; port: number } | undefined;

  constructor(
    protected readonly reactor: IReactorTCP,
    protected readonly host: string,
    protected readonly port: number,
    options: TCPClientEndpointOptions = {},
  ) {
    this.timeout = options.timeout ?? 30;
    this.bindAddress = options.bindAddress;
  }

  abstract connect(factory: IProtocolFactory): Deferred<IProtocol>;

  /** connectTCP to `host` (an address or a name), firing with the protocol once connected. */
  protected connectTo(host: string, factory: IProtocolFactory): Deferred<IProtocol> {
    const wf = new WrappingFactory(factory);
    return connected(wf, () =>
      this.reactor.connectTCP(host, this.port, wf, { timeout: this.timeout, bindAddress: this.bindAddress }),
    );
  }
}

/** A TCP client endpoint, as TCP4ClientEndpoint(reactor, host, port, timeout=30, bindAddress=None). */
export class TCP4ClientEndpoint extends TCPClientEndpointBase {
  /**
   * Connect; fires with the protocol `factory` built, once connected, or fails with the
   * connection error. Cancelling it stops connecting (ConnectingCancelledError).
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    return this.connectTo(this.host, factory);
  }
}

/**
 * A TCP client endpoint on IPv6. `host` is an IPv6 literal or a name, which is resolved to an
 * IPv6 address (AAAA) before connecting, as TCP6ClientEndpoint.
 */
export class TCP6ClientEndpoint extends TCPClientEndpointBase {
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    if (isIPv6(this.host)) return this.connectTo(this.host, factory);
    const d = this.nameResolution(this.host);
    return d.addCallback((address) => this.connectTo(address, factory));
  }

  /** Resolve `host` to one IPv6 address (a hook for tests, as Twisted's _nameResolution). */
  protected nameResolution(host: string): Deferred<string> {
    return Deferred.fromPromise(lookup(host, { family: 6 }).then((result) => result.address));
  }
}

// ---------------------------------------------------------------------------
// TLS

/** listenSSL/connectSSL of a reactor, or a clear error for one without IReactorSSL. */
function sslReactor(reactor: IReactorSSL): IReactorSSL {
  if (typeof reactor?.listenSSL !== "function" || typeof reactor.connectSSL !== "function") {
    throw new TypeError(`${(reactor as object)?.constructor?.name ?? "This reactor"} does not provide IReactorSSL (listenSSL/connectSSL)`);
  }
  return reactor;
}

/**
 * A TLS server endpoint on IPv4, as SSL4ServerEndpoint(reactor, port, sslContextFactory,
 * backlog=50, interface=""): listenSSL's.
 */
export class SSL4ServerEndpoint implements IStreamServerEndpoint {
  private readonly backlog: number;
  private readonly iface: string;

  constructor(
    private readonly reactor: IReactorSSL,
    private readonly port: number,
    readonly sslContextFactory: ITLSServerContextFactory,
    options: TCPServerEndpointOptions = {},
  ) {
    this.backlog = options.backlog ?? 50;
    this.iface = options.interface ?? "";
  }

  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return listened(() =>
      sslReactor(this.reactor).listenSSL(this.port, factory, this.sslContextFactory, {
        backlog: this.backlog,
        interface: this.iface,
      }),
    );
  }
}

/**
 * A TLS client endpoint, as SSL4ClientEndpoint(reactor, host, port, sslContextFactory,
 * timeout=30, bindAddress=None): connectSSL's. The Deferred fires once TCP is connected and
 * the protocol made (the handshake may still be under way: a protocol with
 * handshakeCompleted() is told when it is done).
 */
export class SSL4ClientEndpoint implements IStreamClientEndpoint {
  private readonly timeout: number;
  private readonly bindAddress: { host: string; port: number } | undefined;

  constructor(
    private readonly reactor: IReactorSSL,
    private readonly host: string,
    private readonly port: number,
    readonly sslContextFactory: ITLSClientContextFactory,
    options: TCPClientEndpointOptions = {},
  ) {
    this.timeout = options.timeout ?? 30;
    this.bindAddress = options.bindAddress;
  }

  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const wf = new WrappingFactory(factory);
    return connected(wf, () =>
      sslReactor(this.reactor).connectSSL(this.host, this.port, wf, this.sslContextFactory, {
        timeout: this.timeout,
        bindAddress: this.bindAddress,
      }),
    );
  }
}

// ---------------------------------------------------------------------------
// UNIX sockets

/** Options of UNIXServerEndpoint (listenUNIX's). */
export interface UNIXServerEndpointOptions {
  /** The listen queue length (default 50). */
  backlog?: number;
  /** The permissions of the socket file (default 0o666). */
  mode?: number;
  /** Keep a lock file beside the socket so a stale socket of a dead process can be replaced. */
  wantPID?: boolean;
}

/** A UNIX socket server endpoint, as UNIXServerEndpoint(reactor, address, backlog=50, mode=0o666, wantPID=0). */
export class UNIXServerEndpoint implements IStreamServerEndpoint {
  private readonly backlog: number;
  private readonly mode: number;
  private readonly wantPID: boolean;

  constructor(
    private readonly reactor: IReactorUNIX,
    private readonly address: string,
    options: UNIXServerEndpointOptions = {},
  ) {
    this.backlog = options.backlog ?? 50;
    this.mode = options.mode ?? 0o666;
    this.wantPID = options.wantPID ?? false;
  }

  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return listened(() =>
      this.reactor.listenUNIX(this.address, factory, { backlog: this.backlog, mode: this.mode, wantPID: this.wantPID }),
    );
  }
}

/** Options of UNIXClientEndpoint (connectUNIX's). */
export interface UNIXClientEndpointOptions {
  /** Seconds to wait for the connection before failing with TimeoutError (default 30). */
  timeout?: number;
  /** Check the server's lock file before connecting (passed to connectUNIX when true). */
  checkPID?: boolean;
}

/** A UNIX socket client endpoint, as UNIXClientEndpoint(reactor, path, timeout=30, checkPID=0). */
export class UNIXClientEndpoint implements IStreamClientEndpoint {
  private readonly timeout: number;
  private readonly checkPID: boolean;

  constructor(
    private readonly reactor: IReactorUNIX,
    private readonly path: string,
    options: UNIXClientEndpointOptions = {},
  ) {
    this.timeout = options.timeout ?? 30;
    this.checkPID = options.checkPID ?? false;
  }

  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const wf = new WrappingFactory(factory);
    const options: ConnectUNIXOptions & { checkPID?: boolean } = { timeout: this.timeout };
    if (this.checkPID) options.checkPID = true;
    return connected(wf, () => this.reactor.connectUNIX(this.path, wf, options));
  }
}

// ---------------------------------------------------------------------------
// connectProtocol

/**
 * Connect an already-built protocol through a client endpoint, without writing a factory.
 * Fires with `protocol` once it is connected.
 */
export function connectProtocol<P extends IProtocol>(endpoint: IStreamClientEndpoint, protocol: P): Deferred<P> {
  class OneShotFactory extends Factory {
    override noisy = false;
    override buildProtocol(_addr: IAddress): IProtocol {
      return protocol;
    }
  }
  return endpoint.connect(new OneShotFactory()) as unknown as Deferred<P>;
}

// Endpoint description strings (serverFromString, clientFromString) live in
// endpoint-descriptions.ts, which imports the endpoints of this module and of
// hostname-endpoint.ts: re-exporting them here would close an import cycle.

