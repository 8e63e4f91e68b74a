/**
 * Two protocols talking in memory, as twisted.test.iosim: no sockets, no event loop.
 *
 * Each side gets a FakeTransport; an IOPump moves the bytes each side wrote to the other one
 * when pump() (one exchange) or flush() (until nothing moves) is called, so a test decides
 * exactly when data arrives:
 *
 *     const [client, server, pump] = connectedServerAndClient(EchoFactory, Client);
 *     client.transport!.write(Buffer.from("hi"));
 *     pump.flush();
 *
 * Beyond Twisted's iosim, which ignores flow control, the transports behave as torsion's TCP
 * transport does, so producer code can be tested here:
 * - a protocol that pauses its transport (transport.pauseProducing()) receives nothing, not
 *   even the peer's close, until it resumes it;
 * - a streaming producer is paused when more than `bufferSize` bytes wait to be delivered
 *   (never, by default, as in Twisted) and resumed once they are; a pull producer is resumed
 *   whenever its transport's buffer is empty;
 * - loseConnection() closes once the written data is delivered and no producer is registered
 *   (the producer's writes still go out meanwhile); abortConnection() drops unsent data and
 *   closes at once, with ConnectionAborted on its side and ConnectionLost on the peer's;
 * - when the connection ends, the registered producer is stopped, then connectionLost is
 *   called, once per side.
 */

import { ConnectionAborted, ConnectionDone, ConnectionLost, ConnectionRefusedError } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IConsumer,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  ITCPTransport,
} from "./interfaces.js";
import { TCP4ClientEndpoint, TCP4ServerEndpoint } from "./endpoints.js";
import type { IStreamClientEndpoint } from "./interfaces.js";
import { Logger } from "./log.js";
import { MemoryReactorClock, type MemoryReactor } from "./memory-reactor.js";
import { Factory, Protocol } from "./protocol.js";
import { ipAddress } from "./address.js";

const log = new Logger("torsion.internet.iosim");

/** The address of the accepting side, unless told otherwise. */
export const SERVER_ADDRESS = ipAddress("127.0.0.1", 8080);
/** The address of the connecting side, unless told otherwise. */
export const CLIENT_ADDRESS = ipAddress("127.0.0.1", 54321);

export interface FakeTransportOptions {
  /** What getHost() returns; default SERVER_ADDRESS on a server, CLIENT_ADDRESS on a client. */
  hostAddress?: IAddress;
  /** What getPeer() returns; default the other side's address. */
  peerAddress?: IAddress;
  /** Pause a streaming producer when more than this many bytes wait (default: never). */
  bufferSize?: number;
}

let nextSerial = 0;

export class FakeTransport implements ITCPTransport, IConsumer, IPushProducer {
  /** A number unique to each transport, for telling them apart in a debugger or a log. */
  readonly serial = nextSerial++;
  readonly hostAddress: IAddress;
  readonly peerAddress: IAddress;
  bufferSize: number;
  /** Data written and not yet delivered (Twisted's `stream`). */
  stream: Buffer[] = [];
  private streamSize = 0;
  disconnecting = false;
  /** True once this side's close has been passed to the peer. */
  disconnected = false;
  aborted = false;
  /** What this side's connectionLost gets. */
  disconnectReason: Error = new ConnectionDone("Connection done");
  producer: IPushProducer | IPullProducer | null = null;
  streamingProducer = false;
  producerPaused = false;
  /** True while the protocol has paused this transport: nothing is delivered to it. */
  readPaused = false;
  writeSideClosed = false;
  private lost = false;
  private tcpNoDelay = false;
  private tcpKeepAlive = false;

  constructor(
    readonly protocol: IProtocol,
    readonly isServer: boolean,
    options: FakeTransportOptions = {},
  ) {
    const own = isServer ? SERVER_ADDRESS : CLIENT_ADDRESS;
    const other = isServer ? CLIENT_ADDRESS : SERVER_ADDRESS;
    this.hostAddress = options.hostAddress ?? own;
    this.peerAddress = options.peerAddress ?? other;
    this.bufferSize = options.bufferSize ?? Infinity;
  }

  toString(): string {
    return `FakeTransport<${this.isServer ? "S" : "C"},${this.serial},${this.protocol.constructor.name}>`;
  }

  // --- ITransport --------------------------------------------------------------------------

  /**
   * Queue `data` for the peer. Once the write side is closing (loseConnection with no producer
   * left, abort, connection lost) the data is dropped, as on torsion's TCP transport.
   */
  write(data: Bytes): void {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Data must be bytes (a Uint8Array or Buffer), not ${typeof data === "string" ? "a string" : typeof data}`);
    }
    if (data.length === 0 || this.aborted || this.lost || (this.disconnecting && this.producer === null)) return;
    this.stream.push(Buffer.from(data));
    this.streamSize += data.length;
    if (this.streamSize > this.bufferSize && this.producer !== null && this.streamingProducer && !this.producerPaused) {
      this.producerPaused = true;
      (this.producer as IPushProducer).pauseProducing();
    }
  }

  writeSequence(data: Iterable<Bytes>): void {
    for (const chunk of data) this.write(chunk);
  }

  loseConnection(): void {
    this.disconnecting = true;
  }

  abortConnection(): void {
    if (this.aborted || this.disconnected || this.lost) return;
    this.aborted = true;
    this.disconnecting = true;
    this.stream = [];
    this.streamSize = 0;
    this.disconnectReason = new ConnectionAborted();
  }

  /** Recorded only: the peer is not told of a half-close. */
  loseWriteConnection(): void {
    this.writeSideClosed = true;
  }

  getPeer(): IAddress {
    return this.peerAddress;
  }

  getHost(): IAddress {
    return this.hostAddress;
  }

  getTcpNoDelay(): boolean {
    return this.tcpNoDelay;
  }

  setTcpNoDelay(enabled: boolean): void {
    this.tcpNoDelay = enabled;
  }

  getTcpKeepAlive(): boolean {
    return this.tcpKeepAlive;
  }

  setTcpKeepAlive(enabled: boolean): void {
    this.tcpKeepAlive = enabled;
  }

  logPrefix(): string {
    return "iosim";
  }

  // --- IConsumer ---------------------------------------------------------------------------

  registerProducer(producer: IPushProducer, streaming: true): void;
  registerProducer(producer: IPullProducer, streaming: false): void;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.producer !== null) throw new Error("Cannot register two producers");
    if (this.lost) {
      // As a real transport: a producer registered on a closed connection is stopped at once.
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streamingProducer = streaming;
    this.producerPaused = false;
    if (!streaming) producer.resumeProducing();
  }

  unregisterProducer(): void {
    this.producer = null;
    this.streamingProducer = false;
    this.producerPaused = false;
  }

  // --- IPushProducer: the protocol pausing what it receives --------------------------------

  pauseProducing(): void {
    this.readPaused = true;
  }

  resumeProducing(): void {
    this.readPaused = false;
  }

  /** As in Twisted: a transport told to stop producing closes. */
  stopProducing(): void {
    this.loseConnection();
  }

  // --- For IOPump ------------------------------------------------------------------------------

  /** Take the pending writes (null when there are none). */
  getOutBuffer(): Buffer | null {
    const s = this.stream;
    if (s.length === 0) return null;
    this.stream = [];
    this.streamSize = 0;
    return s.length === 1 ? s[0]! : Buffer.concat(s);
  }

  /** Deliver bytes from the peer to this side's protocol. */
  bufferReceived(buf: Buffer): void {
    this.protocol.dataReceived(buf);
  }

  /** Let the producer write more if the buffer is empty (Twisted's _checkProducer, idle time). */
  checkProducer(): void {
    const producer = this.producer;
    if (producer === null || this.streamSize > 0) return;
    if (!this.streamingProducer) {
      producer.resumeProducing();
    } else if (this.producerPaused) {
      this.producerPaused = false;
      (producer as IPushProducer).resumeProducing();
    }
  }

  /** True when a requested close may proceed: data delivered, no producer holding it open. */
  readyToClose(): boolean {
    return this.aborted || (this.streamSize === 0 && this.producer === null);
  }

  /** Stop the producer, then tell the protocol the connection is lost; once. */
  reportDisconnect(): void {
    if (this.lost) return;
    this.lost = true;
    this.disconnecting = true;
    const producer = this.producer;
    this.unregisterProducer();
    producer?.stopProducing();
    this.protocol.connectionLost(new Failure(this.disconnectReason));
  }
}

/** A client-side FakeTransport for `clientProtocol`. */
export function makeFakeClient(clientProtocol: IProtocol, options?: FakeTransportOptions): FakeTransport {
  return new FakeTransport(clientProtocol, false, options);
}

/** A server-side FakeTransport for `serverProtocol`. */
export function makeFakeServer(serverProtocol: IProtocol, options?: FakeTransportOptions): FakeTransport {
  return new FakeTransport(serverProtocol, true, options);
}

/** Moves data between two FakeTransports, as Twisted's IOPump. */
export class IOPump {
  constructor(
    readonly client: IProtocol,
    readonly server: IProtocol,
    readonly clientIO: FakeTransport,
    readonly serverIO: FakeTransport,
    readonly debug = false,
  ) {}

  /**
   * Pump until nothing moves; true if anything did. More than 1000 rounds means the protocols
   * talk forever: that throws.
   */
  flush(debug = false): boolean {
    let result = false;
    for (let i = 0; i < 1000; i++) {
      if (!this.pump(debug)) return result;
      result = true;
    }
    throw new Error("IOPump.flush: still moving data after 1000 rounds (the protocols talk forever?)");
  }

  /**
   * Flush, then let the event loop run, until `done()` is true: for producers that do real
   * asynchronous work (FileSender reading a file). Fails after `maxTurns` event-loop turns.
   */
  async flushUntil(done: () => boolean, maxTurns = 10000): Promise<void> {
    for (let turn = 0; turn < maxTurns; turn++) {
      this.flush();
      if (done()) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    throw new Error(`IOPump.flushUntil: condition still false after ${maxTurns} event-loop turns`);
  }

  /** One exchange: each side's pending writes go to the other; then pending closes. */
  pump(debug = false): boolean {
    const show = this.debug || debug;
    const { clientIO, serverIO } = this;
    const sData = clientIO.readPaused ? null : serverIO.getOutBuffer();
    const cData = serverIO.readPaused ? null : clientIO.getOutBuffer();
    clientIO.checkProducer();
    serverIO.checkProducer();
    if (show) {
      if (cData) log.info("C: {data}", { data: JSON.stringify(cData.toString("latin1")) });
      if (sData) log.info("S: {data}", { data: JSON.stringify(sData.toString("latin1")) });
    }
    if (cData) serverIO.bufferReceived(cData);
    if (sData) clientIO.bufferReceived(sData);
    if (cData || sData) return true;
    if (this.closeOne(serverIO, clientIO)) {
      if (show) log.info("* C");
      return true;
    }
    if (this.closeOne(clientIO, serverIO)) {
      if (show) log.info("* S");
      return true;
    }
    return false;
  }

  /** Pass `from`'s requested close on to `to`, if it may proceed now. */
  private closeOne(from: FakeTransport, to: FakeTransport): boolean {
    if (!from.disconnecting || from.disconnected) return false;
    // When `to` closed first, this is only `from` answering that close: nothing to wait for.
    if (!to.disconnected) {
      if (!from.readyToClose()) return false;
      // A reader that paused its transport sees an orderly close only when it reads again.
      if (to.readPaused && !from.aborted) return false;
    }
    from.disconnected = true;
    if (from.aborted && !to.aborted) to.disconnectReason = new ConnectionLost();
    // reportDisconnect also marks `to` disconnecting: its side of the close follows next round.
    to.reportDisconnect();
    return true;
  }
}

export interface ConnectOptions {
  /** Log every exchange (at info level, namespace torsion.internet.iosim). */
  debug?: boolean;
  /** Flush once after connecting, so greetings are exchanged (default true). */
  greet?: boolean;
}

/**
 * Connect `serverProtocol` and `clientProtocol` through their transports (server first, as
 * Twisted), and return the IOPump that moves data between them.
 */
export function connect(
  serverProtocol: IProtocol,
  serverTransport: FakeTransport,
  clientProtocol: IProtocol,
  clientTransport: FakeTransport,
  options: ConnectOptions = {},
): IOPump {
  serverProtocol.makeConnection(serverTransport);
  clientProtocol.makeConnection(clientTransport);
  const pump = new IOPump(clientProtocol, serverProtocol, clientTransport, serverTransport, options.debug ?? false);
  if (options.greet ?? true) pump.flush();
  return pump;
}

/** A factory, a protocol class, or a function returning a protocol. */
export type ProtocolSource<P extends IProtocol> = IProtocolFactory | (new () => P) | (() => P);

function build<P extends IProtocol>(source: ProtocolSource<P>, peer: IAddress): P {
  if (typeof source === "object") {
    const p = source.buildProtocol(peer);
    if (p === null) throw new Error("the factory refused the connection (buildProtocol returned null)");
    return p as P;
  }
  const proto = (source as { prototype?: { makeConnection?: unknown } }).prototype;
  if (proto && typeof proto.makeConnection === "function") return new (source as new () => P)();
  return (source as () => P)();
}

export interface ConnectedServerAndClientOptions extends ConnectOptions {
  clientTransportFactory?: (protocol: IProtocol) => FakeTransport;
  serverTransportFactory?: (protocol: IProtocol) => FakeTransport;
}

/**
 * Build a server and a client protocol and connect them; returns [client, server, pump], as
 * Twisted's connectedServerAndClient. Each side is given as a factory (its buildProtocol gets
 * the peer's address), a protocol class, or a function returning a protocol.
 */
export function connectedServerAndClient<S extends IProtocol = IProtocol, C extends IProtocol = IProtocol>(
  serverSource: ProtocolSource<S>,
  clientSource: ProtocolSource<C>,
  options: ConnectedServerAndClientOptions = {},
): [client: C, server: S, pump: IOPump] {
  const c = build(clientSource, SERVER_ADDRESS);
  const s = build(serverSource, CLIENT_ADDRESS);
  const cio = (options.clientTransportFactory ?? makeFakeClient)(c);
  const sio = (options.serverTransportFactory ?? makeFakeServer)(s);
  return [c, s, connect(s, sio, c, cio, options)];
}

/**
 * Completes or fails the connections a MemoryReactor recorded, as Twisted's
 * ConnectionCompleter: a connectTCP call is joined to the listenTCP call on the same port.
 */
export class ConnectionCompleter {
  /** Log the exchanges of the connections it completes. */
  debug = false;

  constructor(private readonly reactor: MemoryReactor) {}

  /**
   * Connect the first recorded client that has a server on its port: build both protocols,
   * forget the client's record and connector, and return the pump (null when none matches).
   */
  succeedOnce(debug = this.debug): IOPump | null {
    const r = this.reactor;
    for (let i = 0; i < r.tcpClients.length; i++) {
      const [host, port, clientFactory] = r.tcpClients[i]!;
      const server = r.tcpServers.find((s) => s[0] === port);
      if (!server) continue;
      r.tcpClients.splice(i, 1);
      r.connectors.splice(i, 1);
      const serverAddress = ipAddress(host, port);
      const clientProtocol = build(clientFactory, serverAddress);
      const serverProtocol = build(server[1], CLIENT_ADDRESS);
      const serverTransport = makeFakeServer(serverProtocol, { hostAddress: serverAddress });
      const clientTransport = makeFakeClient(clientProtocol, { peerAddress: serverAddress });
      return connect(serverProtocol, serverTransport, clientProtocol, clientTransport, { debug });
    }
    return null;
  }

  /** Fail the first recorded client connection with `reason` (ConnectionRefusedError by default). */
  failOnce(reason: Failure = new Failure(new ConnectionRefusedError())): void {
    const record = this.reactor.tcpClients.shift();
    const connector = this.reactor.connectors.shift();
    if (!record || !connector) throw new Error("ConnectionCompleter.failOnce: no connection attempt recorded");
    record[2].clientConnectionFailed(connector, reason);
  }
}

/**
 * A client endpoint whose connections succeed or fail on demand, as Twisted's
 * connectableEndpoint: `endpoint.connect(factory)` waits until the test calls
 * `completer.succeedOnce()` (the Deferred fires with the protocol; the pump is returned) or
 * `completer.failOnce()` (it fails with ConnectionRefusedError).
 */
export function connectableEndpoint(debug = false): [endpoint: IStreamClientEndpoint, completer: ConnectionCompleter] {
  const reactor = new MemoryReactorClock();
  const clientEndpoint = new TCP4ClientEndpoint(reactor, "0.0.0.0", 4321);
  const serverEndpoint = new TCP4ServerEndpoint(reactor, 4321);
  void serverEndpoint.listen(Factory.forProtocol(Protocol));
  const completer = new ConnectionCompleter(reactor);
  if (debug) completer.debug = true;
  return [clientEndpoint, completer];
}
