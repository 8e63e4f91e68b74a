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

import * as fs from "node:fs";
import { isIPv6 } from "node:net";
import { lookup } from "node:dns/promises";
import { Deferred, fail, succeed } from "./deferred.js";
import { ConnectingCancelledError, EndpointDescriptionError, NoProtocol, NotConnectingError } from "./error.js";
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
import {
  CertificateOptions,
  type CertificateOptionsInit,
  type ITrustRoot,
  optionsForClientTLS,
  PrivateCertificate,
  type TLSVersion,
  trustRootFromDirectory,
} from "./ssl.js";

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

/** A TCP client endpoint, as TCP4ClientEndpoint(reactor, host, port, timeout=30, bindAddress=None). */
export class TCP4ClientEndpoint implements IStreamClientEndpoint {
  private readonly timeout: number;
  private readonly bindAddress: { host: string; port: number } | undefined;

  constructor(
    private readonly reactor: IReactorTCP,
    private readonly host: string,
    private readonly port: number,
    options: TCPClientEndpointOptions = {},
  ) {
    this.timeout = options.timeout ?? 30;
    this.bindAddress = options.bindAddress;
  }

  /**
   * Connect; fires with the protocol `factory` built, once connected, or fails with the
   * connection error. Cancelling it stops connecting (ConnectingCancelledError).
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const wf = new WrappingFactory(factory);
    return connected(wf, () =>
      this.reactor.connectTCP(this.host, this.port, wf, { timeout: this.timeout, bindAddress: this.bindAddress }),
    );
  }
}

/**
 * A TCP client endpoint on IPv6. `host` is an IPv6 literal or a name, which is resolved to an
 * IPv6 address (AAAA) before connecting, as TCP6ClientEndpoint.
 */
export class TCP6ClientEndpoint implements IStreamClientEndpoint {
  private readonly timeout: number;
  private readonly bindAddress: { host: string; port: number } | undefined;

  constructor(
    private readonly reactor: IReactorTCP,
    private readonly host: string,
    private readonly port: number,
    options: TCPClientEndpointOptions = {},
  ) {
    this.timeout = options.timeout ?? 30;
    this.bindAddress = options.bindAddress;
  }

  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    if (isIPv6(this.host)) return this.resolvedHostConnect(this.host, factory);
    const d = this.nameResolution(this.host);
    return d.addCallback((address) => this.resolvedHostConnect(address, factory));
  }

  /** Resolve `host` to one IPv6 address (a hook for tests, as Twisted's _nameResolution). */
  protected nameResolution(host: string): Deferred<string> {
    return Deferred.fromPromise(lookup(host, { family: 6 }).then((result) => result.address));
  }

  private resolvedHostConnect(host: string, factory: IProtocolFactory): Deferred<IProtocol> {
    const wf = new WrappingFactory(factory);
    return connected(wf, () =>
      this.reactor.connectTCP(host, this.port, wf, { timeout: this.timeout, bindAddress: this.bindAddress }),
    );
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

// ---------------------------------------------------------------------------
// Endpoint description strings

/**
 * A reactor that can make every endpoint a description may name. IReactorSSL is needed only
 * when an ssl:/tls: endpoint listens or connects (MemoryReactor has none).
 */
export type EndpointReactor = IReactorTCP & IReactorUNIX & Partial<IReactorSSL>;

const OP = 0;
const STRING = 1;
type Token = [typeof OP | typeof STRING, string];

/**
 * Split a description into strings and the operators ':' and '=', as Twisted's _tokenize.
 * A backslash makes the next character literal. After '=', only ':' is an operator, so a
 * value may contain '=' unescaped ("unix:address=foo=bar").
 */
function tokenize(description: string): Token[] {
  const tokens: Token[] = [];
  let current = "";
  let ops = ":=";
  let escaped = false;
  for (const c of description) {
    if (escaped) {
      current += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (ops.includes(c)) {
      tokens.push([STRING, current], [OP, c]);
      current = "";
      ops = c === ":" ? ":=" : ":";
    } else {
      current += c;
    }
  }
  if (escaped) throw new EndpointDescriptionError(`Invalid endpoint description '${description}': it ends with a lone backslash`);
  tokens.push([STRING, current]);
  return tokens;
}

/** The ':'-separated positional arguments and key=value arguments of a description, as Twisted's _parse. */
function parse(description: string): { args: string[]; kwargs: Map<string, string> } {
  const args: string[] = [];
  const kwargs = new Map<string, string>();
  let sofar: string[] = [];
  const add = (): void => {
    if (sofar.length === 1) args.push(sofar[0]!);
    else kwargs.set(sofar[0]!, sofar[1]!);
  };
  for (const [type, value] of tokenize(description)) {
    if (type === STRING) sofar.push(value);
    else if (value === ":") {
      add();
      sofar = [];
    }
  }
  add();
  return { args, kwargs };
}

/**
 * Quote a string for use as one argument in a description, as Twisted's quoteStringArgument:
 * `serverFromString(reactor, "unix:" + quoteStringArgument(path))`. Backslashes and colons are
 * escaped, and so is '=' (Twisted leaves it, so a positional path containing '=' is misread as
 * a keyword argument there).
 */
export function quoteStringArgument(argument: string): string {
  return argument.replace(/[\\:=]/g, "\\$&");
}

/** The arguments of one description, bound to its endpoint type's parameter names. */
class Arguments {
  constructor(
    readonly description: string,
    private readonly values: Map<string, string>,
  ) {}

  error(detail: string): EndpointDescriptionError {
    return new EndpointDescriptionError(`Invalid endpoint description '${this.description}': ${detail}`);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string, fallback?: string): string {
    const value = this.values.get(name) ?? fallback;
    if (value === undefined) throw this.error(`'${name}' is required`);
    return value;
  }

  port(name: string): number {
    const text = this.string(name);
    const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(n <= 65535)) throw this.error(`${name} must be an integer from 0 to 65535, not '${text}'`);
    return n;
  }

  integer(name: string, fallback: number): number {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text)) throw this.error(`${name} must be a non-negative integer, not '${text}'`);
    return Number(text);
  }

  seconds(name: string, fallback: number): number {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d+(\.\d*)?$/.test(text)) throw this.error(`${name} must be a number of seconds, not '${text}'`);
    return Number(text);
  }

  /** An octal permission mode, as Python's int(mode, 8): "660", "0660" or "0o660". */
  octal(name: string, fallback: number): number {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    const m = /^(?:0o)?([0-7]+)$/i.exec(text);
    if (!m) throw this.error(`${name} must be an octal number such as 660, not '${text}'`);
    return parseInt(m[1]!, 8);
  }

  /** The contents of the file a parameter names (PEM files); a clear error if unreadable. */
  fileContents(name: string, fallback?: string): Buffer {
    const file = this.string(name, fallback);
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw this.error(`cannot read the ${name} file '${file}': ${(err as Error).message}`);
    }
  }

  /** Something built from the arguments, with its error (bad PEM...) said in these terms. */
  build<T>(what: string, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if (err instanceof EndpointDescriptionError) throw err;
      throw this.error(`${what}: ${(err as Error).message}`);
    }
  }

  /** A flag written as an integer, as Python's bool(int(value)): "0" is false, "1" true. */
  flag(name: string, fallback: boolean): boolean {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text)) throw this.error(`${name} must be 0 or 1, not '${text}'`);
    return Number(text) !== 0;
  }
}

/**
 * Bind positional and keyword arguments to `params` the way a Python call binds them:
 * positionals fill the parameters in order, keywords by name; an unknown name, a parameter
 * given twice, or too many positionals is an error.
 */
function bindArguments(description: string, params: readonly string[], args: string[], kwargs: Map<string, string>): Arguments {
  const bad = (detail: string) => new EndpointDescriptionError(`Invalid endpoint description '${description}': ${detail}`);
  if (args.length > params.length) {
    throw bad(`too many positional arguments (${args.length}); it takes at most ${params.length}: ${params.join(", ")}`);
  }
  const values = new Map<string, string>();
  args.forEach((value, i) => values.set(params[i]!, value));
  for (const [name, value] of kwargs) {
    if (!params.includes(name)) throw bad(`unknown parameter '${name}'; known parameters: ${params.join(", ")}`);
    if (values.has(name)) throw bad(`'${name}' is given twice`);
    values.set(name, value);
  }
  return new Arguments(description, values);
}

type ServerParser = (reactor: EndpointReactor, args: string[], kwargs: Map<string, string>, description: string) => IStreamServerEndpoint;
type ClientParser = (reactor: EndpointReactor, args: string[], kwargs: Map<string, string>, description: string) => IStreamClientEndpoint;

// Twisted's sslmethod names: one exact protocol version each, or negotiation.
const SSL_METHODS = new Map<string, TLSVersion | null>([
  ["SSLv23_METHOD", null],
  ["TLS_METHOD", null],
  ["TLSv1_METHOD", "TLSv1"],
  ["TLSv1_1_METHOD", "TLSv1.1"],
  ["TLSv1_2_METHOD", "TLSv1.2"],
]);

/** The server options of an ssl: description, as Twisted's _parseSSL. */
function sslServerOptions(a: Arguments): CertificateOptions {
  // privateKey defaults to server.pem, and certKey to privateKey: one file with both
  const key = a.fileContents("privateKey", "server.pem");
  const init: CertificateOptionsInit = {
    privateKey: key,
    certificate: a.has("certKey") ? a.fileContents("certKey") : key,
  };
  if (a.has("sslmethod")) {
    const method = a.string("sslmethod");
    const version = SSL_METHODS.get(method);
    if (version === undefined) {
      throw a.error(`sslmethod must be one of ${[...SSL_METHODS.keys()].join(", ")}, not '${method}'`);
    }
    if (version !== null) {
      init.insecurelyLowerMinimumTo = version;
      init.lowerMaximumSecurityTo = version;
    }
  }
  if (a.has("extraCertChain")) init.extraCertChain = [a.fileContents("extraCertChain")];
  if (a.has("dhParameters")) init.dhParameters = a.fileContents("dhParameters");
  return a.build("bad TLS settings", () => new CertificateOptions(init));
}

/** A client certificate from a certificate file and an optional separate key file. */
function clientCertificate(a: Arguments, certName: string): PrivateCertificate | undefined {
  if (!a.has(certName)) {
    if (a.has("privateKey")) throw a.error(`privateKey needs ${certName} (the client certificate)`);
    return undefined;
  }
  const cert = a.fileContents(certName);
  const key = a.has("privateKey") ? a.fileContents("privateKey") : cert;
  return a.build(`bad client certificate`, () => PrivateCertificate.fromCertificateAndKeyPair(cert, key));
}

function trustRootDirectory(a: Arguments, name: string): ITrustRoot | undefined {
  if (!a.has(name)) return undefined;
  return a.build(`bad ${name}`, () => trustRootFromDirectory(a.string(name)));
}

function clientTimeoutAndBind(a: Arguments): TCPClientEndpointOptions {
  const options: TCPClientEndpointOptions = { timeout: a.seconds("timeout", 30) };
  if (a.has("bindAddress")) options.bindAddress = { host: a.string("bindAddress"), port: 0 };
  return options;
}

/** host and port, positional or by keyword, as _parseClientTCP accepts them. */
function hostPortParams(args: string[], kwargs: Map<string, string>): string[] {
  return args.length === 1 && kwargs.has("host") ? ["port", "host"] : ["host", "port"];
}

// Parameter order follows Twisted's parsers, so positional arguments mean the same thing:
// "tcp:80:127.0.0.1" binds 127.0.0.1, "tcp6:80:12" sets a backlog of 12.
const serverParsers = new Map<string, ServerParser>([
  [
    "tcp",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["port", "interface", "backlog"], args, kwargs);
      return new TCP4ServerEndpoint(reactor, a.port("port"), {
        interface: a.string("interface", ""),
        backlog: a.integer("backlog", 50),
      });
    },
  ],
  [
    "tcp6",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["port", "backlog", "interface"], args, kwargs);
      return new TCP6ServerEndpoint(reactor, a.port("port"), {
        interface: a.string("interface", "::"),
        backlog: a.integer("backlog", 50),
      });
    },
  ],
  [
    "unix",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["address", "mode", "backlog", "lockfile"], args, kwargs);
      return new UNIXServerEndpoint(reactor, a.string("address"), {
        mode: a.octal("mode", 0o666),
        backlog: a.integer("backlog", 50),
        wantPID: a.flag("lockfile", true),
      });
    },
  ],
  [
    "ssl",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(
        description,
        ["port", "privateKey", "certKey", "sslmethod", "interface", "backlog", "extraCertChain", "dhParameters"],
        args,
        kwargs,
      );
      return new SSL4ServerEndpoint(reactor as IReactorSSL, a.port("port"), sslServerOptions(a), {
        interface: a.string("interface", ""),
        backlog: a.integer("backlog", 50),
      });
    },
  ],
]);

const clientParsers = new Map<string, ClientParser>([
  [
    "tcp",
    (reactor, args, kwargs, description) => {
      // As Twisted's _parseClientTCP: "tcp:host:port", or one of them positional and the
      // other a keyword ("tcp:host=example.com:80", "tcp:example.com:port=80").
      const params = args.length === 1 && kwargs.has("host") ? ["port", "host"] : ["host", "port"];
      const a = bindArguments(description, [...params, "timeout", "bindAddress"], args, kwargs);
      const options: TCPClientEndpointOptions = { timeout: a.seconds("timeout", 30) };
      if (a.has("bindAddress")) options.bindAddress = { host: a.string("bindAddress"), port: 0 };
      return new TCP4ClientEndpoint(reactor, a.string("host"), a.port("port"), options);
    },
  ],
  [
    "unix",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["path", "timeout", "lockfile", "checkPID"], args, kwargs);
      if (a.has("lockfile") && a.has("checkPID")) throw a.error("give lockfile or checkPID, not both");
      return new UNIXClientEndpoint(reactor, a.string("path"), {
        timeout: a.seconds("timeout", 30),
        checkPID: a.has("checkPID") ? a.flag("checkPID", false) : a.flag("lockfile", false),
      });
    },
  ],
  [
    "ssl",
    (reactor, args, kwargs, description) => {
      // As Twisted's _parseClientSSL: TCP's arguments, plus a client certificate (certKey,
      // privateKey), CAs to verify the server with (caCertsDir), and the name it must have
      // (hostname). Without caCertsDir or hostname nothing is verified, as in Twisted: use tls:.
      const a = bindArguments(
        description,
        [...hostPortParams(args, kwargs), "timeout", "bindAddress", "certKey", "privateKey", "caCertsDir", "hostname"],
        args,
        kwargs,
      );
      const cert = clientCertificate(a, "certKey");
      const trustRoot = trustRootDirectory(a, "caCertsDir");
      let contextFactory: ITLSClientContextFactory;
      if (a.has("hostname")) {
        contextFactory = a.build("bad TLS settings", () =>
          optionsForClientTLS(a.string("hostname"), { trustRoot, clientCertificate: cert }),
        );
      } else {
        const init: CertificateOptionsInit = {};
        if (trustRoot) init.trustRoot = trustRoot;
        if (cert) {
          init.certificate = cert.pem;
          init.privateKey = cert.privateKey;
        }
        contextFactory = a.build("bad TLS settings", () => new CertificateOptions(init));
      }
      return new SSL4ClientEndpoint(reactor as IReactorSSL, a.string("host"), a.port("port"), contextFactory, clientTimeoutAndBind(a));
    },
  ],
  [
    "tls",
    (reactor, args, kwargs, description) => {
      // As Twisted's _parseClientTLS: the server must have a certificate for `host` that
      // trustRoots (a directory of *.pem CA files; default the platform's) vouch for.
      const a = bindArguments(
        description,
        [...hostPortParams(args, kwargs), "timeout", "bindAddress", "certificate", "privateKey", "trustRoots", "endpoint"],
        args,
        kwargs,
      );
      if (a.has("endpoint")) throw a.error("endpoint= (TLS over another endpoint) is not supported; tls: connects over TCP");
      const host = a.string("host");
      const cert = clientCertificate(a, "certificate");
      const trustRoot = trustRootDirectory(a, "trustRoots");
      const contextFactory = a.build("bad TLS settings", () =>
        optionsForClientTLS(host, { trustRoot, clientCertificate: cert }),
      );
      return new SSL4ClientEndpoint(reactor as IReactorSSL, host, a.port("port"), contextFactory, clientTimeoutAndBind(a));
    },
  ],
]);

function endpointType(description: string): { type: string; args: string[]; kwargs: Map<string, string> } {
  if (typeof description !== "string") {
    throw new TypeError(`An endpoint description must be a string, not ${typeof description}`);
  }
  const { args, kwargs } = parse(description);
  // "=x" or "a=b" has keywords only (Twisted raises IndexError here).
  if (args.length === 0) throw new EndpointDescriptionError(`Invalid endpoint description '${description}': it names no endpoint type`);
  const type = args.shift()!.toLowerCase();
  return { type, args, kwargs };
}

function unknownType(type: string, known: Iterable<string>): EndpointDescriptionError {
  return new EndpointDescriptionError(`Unknown endpoint type: '${type}' (known types: ${[...known].join(", ")})`);
}

/**
 * A server endpoint from a description, as Twisted's serverFromString:
 *
 *     tcp:PORT[:interface=ADDRESS][:backlog=N]          TCP4ServerEndpoint
 *     tcp6:PORT[:interface=ADDRESS][:backlog=N]         TCP6ServerEndpoint (interface "::" by default)
 *     unix:PATH[:mode=OCTAL][:backlog=N][:lockfile=0|1] UNIXServerEndpoint (mode 666, lockfile 1 by default)
 *     ssl:PORT[:privateKey=KEY.pem][:certKey=CERT.pem][:interface=ADDRESS][:backlog=N]
 *         [:extraCertChain=CHAIN.pem][:dhParameters=DH.pem][:sslmethod=TLSv1_2_METHOD]
 *                                                       SSL4ServerEndpoint (privateKey server.pem,
 *                                                       certKey the privateKey file, by default)
 *
 * Arguments are separated by ':'; a backslash escapes ':', '=' and '\\' inside a value
 * ("interface=\\:\\:1"). Throws EndpointDescriptionError for an unknown type, an unknown
 * parameter or a bad value (an unreadable key file, bad PEM).
 */
export function serverFromString(reactor: EndpointReactor, description: string): IStreamServerEndpoint {
  const { type, args, kwargs } = endpointType(description);
  const parser = serverParsers.get(type);
  if (!parser) throw unknownType(type, serverParsers.keys());
  return parser(reactor, args, kwargs, description);
}

/**
 * A client endpoint from a description, as Twisted's clientFromString:
 *
 *     tcp:HOST:PORT[:timeout=SECONDS][:bindAddress=ADDRESS]   TCP4ClientEndpoint
 *     tcp:host=HOST:port=PORT[...]                            (the same, with keywords)
 *     unix:PATH[:timeout=SECONDS][:lockfile=0|1]              UNIXClientEndpoint
 *     unix:path=PATH[...]
 *     tls:HOST:PORT[:timeout=S][:bindAddress=A][:trustRoots=CADIR][:certificate=C.pem][:privateKey=K.pem]
 *                                                             SSL4ClientEndpoint, verifying that the
 *                                                             server is HOST (optionsForClientTLS)
 *     ssl:HOST:PORT[:timeout=S][:bindAddress=A][:caCertsDir=CADIR][:hostname=NAME][:certKey=C.pem][:privateKey=K.pem]
 *                                                             SSL4ClientEndpoint, verifying the chain
 *                                                             with caCertsDir and the name with hostname
 *                                                             (neither given: nothing is verified)
 *
 * Escapes and errors as serverFromString.
 */
export function clientFromString(reactor: EndpointReactor, description: string): IStreamClientEndpoint {
  const { type, args, kwargs } = endpointType(description);
  const parser = clientParsers.get(type);
  if (!parser) throw unknownType(type, clientParsers.keys());
  return parser(reactor, args, kwargs, description);
}
