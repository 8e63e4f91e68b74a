/**
 * The contracts of torsion, in one place, as twisted/internet/interfaces.py is for Twisted.
 *
 * Every concrete class says which of these it implements (`class TCPTransport implements
 * ITCPTransport, IConsumer, IPushProducer`). Each docstring says what a caller may rely on;
 * where Twisted documents the same contract, the meaning is Twisted's.
 *
 * Types only: this module has no runtime code, so anything may import it.
 */

import type { PeerCertificate, SecureContext } from "node:tls";
import type { Deferred } from "./deferred.js";
import type { Failure } from "./failure.js";

/** Bytes, as torsion passes them. A Buffer is a Uint8Array, so either is accepted. */
export type Bytes = Uint8Array;

// ---------------------------------------------------------------------------
// Addresses

/** An IPv4 or IPv6 endpoint address, as twisted.internet.address.IPv4Address / IPv6Address. */
export interface IPv4Address {
  readonly type: "TCP";
  readonly family: "IPv4" | "IPv6";
  readonly host: string;
  readonly port: number;
}

/** A UNIX socket address, as twisted.internet.address.UNIXAddress. */
export interface UNIXAddress {
  readonly type: "UNIX";
  readonly name: string | null;
}

/**
 * The address of a UDP port or of its connected peer, as IPv4Address("UDP", host, port) (or
 * IPv6Address) in Twisted. Kept apart from IAddress, the stream transports' addresses.
 */
export interface UDPAddress {
  readonly type: "UDP";
  readonly family: "IPv4" | "IPv6";
  readonly host: string;
  readonly port: number;
}

/**
 * The address of a child process's pipes, as twisted.internet._baseprocess's _ProcessAddress:
 * what a process transport's getHost() and getPeer() answer.
 */
export interface ProcessAddress {
  readonly type: "Process";
}

/** The address of this process's standard input and output, as twisted.internet.address._PipeAddress (StandardIO). */
export interface PipeAddress {
  readonly type: "Pipe";
}

/** Any address a stream transport or port reports (UDP, process and pipe addresses are apart). */
export type IAddress = IPv4Address | UNIXAddress;

// ---------------------------------------------------------------------------
// Time

/**
 * A call scheduled with IReactorTime.callLater. It can be cancelled, postponed or brought
 * forward until it has run; afterwards those raise AlreadyCalled / AlreadyCancelled.
 */
export interface IDelayedCall {
  /** The time (in reactor seconds) at which the call will run. */
  getTime(): number;
  /** Prevent the call from running. Raises AlreadyCalled or AlreadyCancelled when too late. */
  cancel(): void;
  /** Run the call `secondsFromNow` seconds from now instead of when it was due. */
  reset(secondsFromNow: number): void;
  /** Run the call `secondsLater` seconds later than it was due. */
  delay(secondsLater: number): void;
  /** True until the call has run or been cancelled. */
  active(): boolean;
}

/** Scheduling, as twisted.internet.interfaces.IReactorTime. Times are in seconds. */
export interface IReactorTime {
  /** The current time in seconds, on the same scale as IDelayedCall.getTime(). */
  seconds(): number;
  /** Call `callable(...args)` after `delay` seconds. */
  callLater<A extends unknown[]>(delay: number, callable: (...args: A) => unknown, ...args: A): IDelayedCall;
  /** The calls scheduled and not yet run or cancelled. */
  getDelayedCalls(): IDelayedCall[];
}

// ---------------------------------------------------------------------------
// Producers and consumers

/**
 * Something that produces data for a consumer. stopProducing() means the consumer will take
 * no more data: the producer must stop and release what it holds. It may be called at most
 * once by a well-behaved consumer; producers should tolerate a second call.
 */
export interface IProducer {
  stopProducing(): void;
}

/**
 * A streaming producer: it writes on its own schedule until told to pause.
 * pauseProducing() asks it to stop writing until resumeProducing().
 */
export interface IPushProducer extends IProducer {
  pauseProducing(): void;
  resumeProducing(): void;
}

/**
 * A non-streaming producer: it writes one chunk each time resumeProducing() is called,
 * which the consumer does each time its buffer drains.
 */
export interface IPullProducer extends IProducer {
  resumeProducing(): void;
}

/**
 * Something that consumes bytes and can be fed by a producer.
 *
 * registerProducer(producer, true) registers a push producer, paused when the consumer's
 * buffer passes its limit and resumed when it drains; registerProducer(producer, false) a pull
 * producer, asked for the next chunk each time the buffer drains. Registering while another
 * producer is registered raises an Error.
 */
export interface IConsumer {
  registerProducer(producer: IPushProducer, streaming: true): void;
  registerProducer(producer: IPullProducer, streaming: false): void;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void;
  unregisterProducer(): void;
  write(data: Bytes): void;
}

// ---------------------------------------------------------------------------
// Transports

/**
 * A connection's transport, as twisted.internet.interfaces.ITransport.
 *
 * write() of anything but bytes raises a TypeError. loseConnection() closes after pending writes
 * are flushed and the producer unregistered; until then a registered producer's writes are still
 * sent (as Twisted's FileDescriptor), and once the write side is closing (no producer left, or
 * aborted, or lost) write() is ignored.
 */
export interface ITransport {
  write(data: Bytes): void;
  writeSequence(data: Iterable<Bytes>): void;
  loseConnection(): void;
  getPeer(): IAddress;
  getHost(): IAddress;
}

/** A transport that can close its write side only (a TCP half-close). */
export interface IHalfCloseableDescriptor {
  loseWriteConnection(): void;
}

/** A transport that can be closed at once, dropping any buffered data. */
export interface ITCPTransport extends ITransport, IHalfCloseableDescriptor {
  /** Close now: discard buffered writes and reset the connection. */
  abortConnection(): void;
  getTcpNoDelay(): boolean;
  setTcpNoDelay(enabled: boolean): void;
  getTcpKeepAlive(): boolean;
  setTcpKeepAlive(enabled: boolean): void;
}

// ---------------------------------------------------------------------------
// TLS

/**
 * What a server-side TLS connection is made with (node:tls options for one TLSSocket), as
 * Twisted's IOpenSSLServerConnectionCreator makes an OpenSSL Connection.
 */
export interface TLSServerConnectionOptions {
  /** The key, certificate chain, trusted CAs for client certificates, versions and ciphers. */
  secureContext: SecureContext;
  /** Ask the client for a certificate. */
  requestCert?: boolean;
  /** With requestCert: refuse a client without a certificate that the CAs vouch for. */
  rejectUnauthorized?: boolean;
  /** ALPN protocols offered, most preferred first ("h2", "http/1.1"). */
  ALPNProtocols?: string[];
}

/** What a client-side TLS connection is made with, as IOpenSSLClientConnectionCreator. */
export interface TLSClientConnectionOptions {
  secureContext: SecureContext;
  /** The SNI name sent to the server (a host name; never an IP literal). */
  servername?: string;
  /** Refuse a server whose certificate chain the trust roots do not vouch for. */
  rejectUnauthorized: boolean;
  /**
   * The name the server's certificate must match, or null for none (chain check only, as
   * Twisted's CertificateOptions(verify=True)). Only used when rejectUnauthorized.
   */
  verifyHostname: string | null;
  ALPNProtocols?: string[];
}

/**
 * A TLS context factory usable for servers: listenSSL and startTLS on the accepting side.
 * serverConnectionForTLS() may be called once per connection; it should be cheap (return a
 * SecureContext built once).
 */
export interface ITLSServerContextFactory {
  serverConnectionForTLS(): TLSServerConnectionOptions;
}

/** A TLS context factory usable for clients: connectSSL and startTLS on the connecting side. */
export interface ITLSClientContextFactory {
  clientConnectionForTLS(): TLSClientConnectionOptions;
}

/** Either kind of TLS context factory (Twisted's "contextFactory" arguments). */
export type ITLSContextFactory = ITLSServerContextFactory | ITLSClientContextFactory;

/**
 * A transport that is encrypted, as twisted.internet.interfaces.ISSLTransport. isSecure() is
 * what the HTTP layer asks (Request.isSecure()).
 */
export interface ISSLTransport extends ITransport {
  /** True: this transport is TLS (or has started TLS). */
  isSecure(): boolean;
  /** The peer's certificate once the handshake is done, else null. */
  getPeerCertificate(): PeerCertificate | null;
  /** The ALPN protocol agreed in the handshake ("h2", "http/1.1"), or null. */
  readonly negotiatedProtocol: string | null;
  /** The TLS version in use ("TLSv1.3"), or null before the handshake. */
  getProtocolVersion(): string | null;
}

/**
 * A transport that can start TLS on an existing connection (a STARTTLS upgrade). What was
 * written before startTLS goes out in the clear first; what is written after is encrypted.
 * The protocol stays the same object. `server` picks the TLS side (default: the side that
 * accepted the TCP connection is the TLS server).
 */
export interface ITLSTransport extends ITCPTransport {
  startTLS(contextFactory: ITLSContextFactory, options?: { server?: boolean }): void;
}

/**
 * A protocol that wants to know when the TLS handshake has completed (and, on a verifying
 * client, the peer has been verified), as twisted.internet.interfaces.IHandshakeListener.
 * Checked by duck typing.
 */
export interface IHandshakeListener {
  handshakeCompleted(): void;
}

// ---------------------------------------------------------------------------
// Protocols and factories

/**
 * A protocol, as twisted.internet.interfaces.IProtocol.
 *
 * makeConnection(transport) is called once, and calls connectionMade(). dataReceived(data) is
 * called with bytes in any split. connectionLost(reason) is called exactly once per connection,
 * with a Failure wrapping ConnectionDone (clean close) or ConnectionLost (anything else).
 */
export interface IProtocol {
  makeConnection(transport: ITransport): void;
  connectionMade(): void;
  dataReceived(data: Bytes): void;
  connectionLost(reason: Failure): void;
}

/**
 * A protocol that wants to know when the peer stops sending while the write side stays open
 * (twisted.internet.interfaces.IHalfCloseableProtocol). If a protocol has readConnectionLost,
 * the transport calls it on EOF instead of closing the connection.
 */
export interface IHalfCloseableProtocol {
  readConnectionLost(): void;
  writeConnectionLost(): void;
}

/** A factory of protocols, as twisted.internet.interfaces.IProtocolFactory. */
export interface IProtocolFactory {
  /** Build a protocol for a new connection from `addr`; null refuses the connection. */
  buildProtocol(addr: IAddress): IProtocol | null;
  /** Called when the factory starts being used by a port; counted across ports. */
  doStart(): void;
  /** Called when a port stops using the factory; startFactory/stopFactory run on the edges. */
  doStop(): void;
}

/** A client factory, as twisted.internet.protocol.ClientFactory. */
export interface IClientFactory extends IProtocolFactory {
  startedConnecting(connector: IConnector): void;
  clientConnectionFailed(connector: IConnector, reason: Failure): void;
  clientConnectionLost(connector: IConnector, reason: Failure): void;
}

// ---------------------------------------------------------------------------
// Ports, connectors, endpoints

/** A listening port. stopListening() returns a Deferred that fires when the port is closed. */
export interface IListeningPort {
  startListening(): void;
  stopListening(): Deferred<void>;
  getHost(): IAddress;
}

/** An outgoing connection attempt, as twisted.internet.interfaces.IConnector. */
export interface IConnector {
  connect(): void;
  disconnect(): void;
  stopConnecting(): void;
  getDestination(): IAddress;
}

/** An endpoint that can listen, as twisted.internet.interfaces.IStreamServerEndpoint. */
export interface IStreamServerEndpoint {
  listen(factory: IProtocolFactory): Deferred<IListeningPort>;
}

/** An endpoint that can connect, as twisted.internet.interfaces.IStreamClientEndpoint. */
export interface IStreamClientEndpoint {
  connect(factory: IProtocolFactory): Deferred<IProtocol>;
}

// ---------------------------------------------------------------------------
// The reactor

/** Options of listenTCP; Python's keyword arguments. */
export interface ListenTCPOptions {
  backlog?: number;
  /** The address to bind; "" (the default) is every interface, as in Twisted. */
  interface?: string;
}

/** Options of connectTCP. */
export interface ConnectTCPOptions {
  /** Seconds to wait for the connection before failing with TimeoutError (default 30). */
  timeout?: number;
  bindAddress?: { host: string; port: number };
}

/** Options of listenUNIX. */
export interface ListenUNIXOptions {
  backlog?: number;
  mode?: number;
  /** Remove a stale socket file left by a dead process before binding. */
  wantPID?: boolean;
}

/** Options of connectUNIX. */
export interface ConnectUNIXOptions {
  timeout?: number;
  /** Refuse to connect when the server's lock file names a dead process (Twisted's checkPID). */
  checkPID?: boolean;
}

export type SystemEventPhase = "before" | "during" | "after";

/** The reactor's life cycle, as twisted.internet.interfaces.IReactorCore. */
export interface IReactorCore {
  readonly running: boolean;
  /** Run until stop(); the returned Promise settles when the reactor has shut down. */
  run(): Promise<void>;
  stop(): void;
  /** Stop at once, without firing "shutdown" (for tests and emergencies). */
  crash(): void;
  callWhenRunning<A extends unknown[]>(callable: (...args: A) => unknown, ...args: A): unknown;
  addSystemEventTrigger<A extends unknown[]>(
    phase: SystemEventPhase,
    eventType: string,
    callable: (...args: A) => unknown,
    ...args: A
  ): unknown;
  removeSystemEventTrigger(triggerID: unknown): void;
  fireSystemEvent(eventType: string): void;
}

/** TCP, as twisted.internet.interfaces.IReactorTCP. */
export interface IReactorTCP {
  listenTCP(port: number, factory: IProtocolFactory, options?: ListenTCPOptions): IListeningPort;
  connectTCP(host: string, port: number, factory: IClientFactory, options?: ConnectTCPOptions): IConnector;
}

/** Options of listenSSL (listenTCP's). */
export type ListenSSLOptions = ListenTCPOptions;

/** Options of connectSSL (connectTCP's). */
export type ConnectSSLOptions = ConnectTCPOptions;

/**
 * TLS over TCP, as twisted.internet.interfaces.IReactorSSL. A context factory that cannot
 * make its context (a missing file, a bad key) raises from listenSSL/connectSSL at once.
 */
export interface IReactorSSL {
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    contextFactory: ITLSServerContextFactory,
    options?: ListenSSLOptions,
  ): IListeningPort;
  connectSSL(
    host: string,
    port: number,
    factory: IClientFactory,
    contextFactory: ITLSClientContextFactory,
    options?: ConnectSSLOptions,
  ): IConnector;
}

/** UNIX sockets, as twisted.internet.interfaces.IReactorUNIX. */
export interface IReactorUNIX {
  listenUNIX(address: string, factory: IProtocolFactory, options?: ListenUNIXOptions): IListeningPort;
  connectUNIX(address: string, factory: IClientFactory, options?: ConnectUNIXOptions): IConnector;
}

/** Crossing from a worker thread to the reactor, as IReactorFromThreads. */
export interface IReactorFromThreads {
  callFromThread<A extends unknown[]>(callable: (...args: A) => unknown, ...args: A): void;
}

// ---------------------------------------------------------------------------
// Processes

/**
 * What a child process's protocol is told, as twisted.internet.interfaces.IProcessProtocol.
 * childDataReceived(fd, data) brings what the child wrote on one of its descriptors;
 * childConnectionLost(fd) says one of its pipes is closed; processExited(reason) that the child
 * has exited (its pipes may still be open); processEnded(reason) comes last, once the child has
 * exited and every pipe is closed. `reason` wraps ProcessDone (exit status 0) or
 * ProcessTerminated (any other status, or a signal).
 */
export interface IProcessProtocol {
  makeConnection(process: IProcessTransport): void;
  childDataReceived(childFD: number, data: Bytes): void;
  childConnectionLost(childFD: number): void;
  processExited(reason: Failure): void;
  processEnded(reason: Failure): void;
}

/** A signal for signalProcess: one of Twisted's names, or a number. */
export type ProcessSignal = "TERM" | "KILL" | "INT" | "HUP" | "STOP" | "CONT" | "QUIT" | "USR1" | "USR2" | number;

/**
 * A running child process, as twisted.internet.interfaces.IProcessTransport: standard input is
 * a consumer (write, writeSequence, registerProducer), the output pipes a push producer
 * (pauseProducing stops reading every one of them, so the child blocks on a full pipe).
 */
export interface IProcessTransport extends IConsumer, IPushProducer {
  /** The child's process id, or null once it has exited. */
  readonly pid: number | null;
  /** Write to the child's standard input (ignored once it is closed). */
  write(data: Bytes): void;
  writeSequence(data: Iterable<Bytes>): void;
  /** Write to the child's descriptor `childFD` (one spawned as "w"). */
  writeToChild(childFD: number, data: Bytes): void;
  /** Close the pipe to (or from) the child's descriptor `childFD`, after pending writes. */
  closeChildFD(childFD: number): void;
  closeStdin(): void;
  closeStdout(): void;
  closeStderr(): void;
  /** Close standard input, output and error. */
  loseConnection(): void;
  /** Send the child a signal; ProcessExitedAlready once it has exited. */
  signalProcess(signal: ProcessSignal): void;
  getHost(): ProcessAddress;
  getPeer(): ProcessAddress;
}

/**
 * What happens to a child still running when the reactor shuts down. "leave" (the default) is
 * Twisted's: the pipes are closed and the child goes on (it sees EOF on its input and EPIPE if
 * it writes); the log names it. "terminate" sends SIGTERM (SIGKILL after `killAfter` seconds)
 * and shutdown waits for it to exit; "wait" lets shutdown wait until it exits by itself.
 */
export type ProcessShutdownPolicy = "leave" | "terminate" | "wait";

/** Options of spawnProcess, Twisted's keyword arguments (usePTY is not supported). */
export interface SpawnProcessOptions {
  /**
   * The child's whole environment. Omitted: an empty one, as Twisted on POSIX (Node's own
   * default is to inherit). null: this process's environment (Twisted's env=None).
   */
  env?: Readonly<Record<string, string>> | null;
  /** The working directory of the child (default: this process's). */
  path?: string;
  uid?: number;
  gid?: number;
  /**
   * The child's descriptors: "w" a pipe the parent writes (the child reads), "r" one the parent
   * reads, a number a descriptor of this process handed to the child. Default
   * { 0: "w", 1: "r", 2: "r" }. Descriptors not named are /dev/null in the child (Twisted
   * closes them; Node cannot leave a gap).
   */
  childFDs?: Readonly<Record<number, "r" | "w" | number>>;
  /** What reactor shutdown does to the child if it is still running; see ProcessShutdownPolicy. */
  atShutdown?: ProcessShutdownPolicy;
  /** With atShutdown "terminate": seconds between SIGTERM and SIGKILL (default 5). */
  killAfter?: number;
}

/** Child processes, as twisted.internet.interfaces.IReactorProcess. */
export interface IReactorProcess {
  spawnProcess(
    processProtocol: IProcessProtocol,
    executable: string,
    args?: readonly string[],
    options?: SpawnProcessOptions,
  ): IProcessTransport;
}

// ---------------------------------------------------------------------------
// UDP

/** Where a datagram came from or goes to: (host, port), as Twisted's address tuples. Hosts are IP literals. */
export type UDPPeer = readonly [host: string, port: number];

/**
 * A datagram protocol, as twisted.internet.protocol.DatagramProtocol: one per port, told of
 * every datagram with the address it came from.
 */
export interface IDatagramProtocol {
  makeConnection(transport: IUDPTransport): void;
  datagramReceived(datagram: Bytes, addr: UDPPeer): void;
  /** A datagram sent on a connected port was refused (ICMP port unreachable: ECONNREFUSED). */
  connectionRefused(): void;
  /** Called by the port when it stops using the protocol. */
  doStop(): void;
}

/** A UDP port, as twisted.internet.interfaces.IUDPTransport. */
export interface IUDPTransport {
  /** Send one datagram: to `addr`, or to the connected peer (then `addr` must be omitted). */
  write(datagram: Bytes, addr?: UDPPeer): void;
  /** Send the concatenation of `seq` as one datagram. */
  writeSequence(seq: Iterable<Bytes>, addr?: UDPPeer): void;
  /** Connect to host:port (an IP address): write without an address, receive only from it. */
  connect(host: string, port: number): void;
  getHost(): UDPAddress;
  /** Close the port; the Deferred fires once it is closed and stopProtocol has run. */
  stopListening(): Deferred<void>;
  loseConnection(): Deferred<void>;
  setBroadcastAllowed(enabled: boolean): void;
  getBroadcastAllowed(): boolean;
}

/** A UDP port that can take part in multicast groups, as IMulticastTransport. */
export interface IMulticastTransport extends IUDPTransport {
  getOutgoingInterface(): string;
  setOutgoingInterface(addr: string): Deferred<void>;
  getLoopbackMode(): boolean;
  setLoopbackMode(mode: boolean): void;
  getTTL(): number;
  setTTL(ttl: number): void;
  joinGroup(addr: string, iface?: string): Deferred<void>;
  leaveGroup(addr: string, iface?: string): Deferred<void>;
}

/** Options of listenUDP, Twisted's keyword arguments. */
export interface ListenUDPOptions {
  /** The address to bind: "" (the default) is every IPv4 address, "::" every IPv6 one. An IP literal. */
  interface?: string;
  /** The longest datagram delivered whole: longer ones are cut to this, as recvfrom does (default 8192). */
  maxPacketSize?: number;
}

/** Options of listenMulticast: listenUDP's, and whether other sockets may bind the same port. */
export interface ListenMulticastOptions extends ListenUDPOptions {
  listenMultiple?: boolean;
}

/** UDP, as twisted.internet.interfaces.IReactorUDP. */
export interface IReactorUDP {
  listenUDP(port: number, protocol: IDatagramProtocol, options?: ListenUDPOptions): IUDPTransport;
}

/** Multicast UDP, as twisted.internet.interfaces.IReactorMulticast. */
export interface IReactorMulticast {
  listenMulticast(port: number, protocol: IDatagramProtocol, options?: ListenMulticastOptions): IMulticastTransport;
}
