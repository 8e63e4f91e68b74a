/**
 * StringTransport, the in-memory transport of twisted.internet.testing (re-exported by
 * testing.ts, where tests import it from).
 *
 * It records what a protocol writes and what it asks of its transport, so a protocol can be
 * tested with no socket: feed it bytes with dataReceived, read the answer with value().
 * The attributes it adds (value, clear, producerState, ...) are for tests; code under test must
 * not use them, as real transports do not have them.
 */

import { ipAddress } from "./address.js";
import { ConnectionAborted, ConnectionDone } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IConsumer,
  IProtocol,
  IPullProducer,
  IPushProducer,
  ITCPTransport,
} from "./interfaces.js";

/** Throw the TypeError Twisted raises (abstract._dataMustBeBytes) for anything but bytes. */
function dataMustBeBytes(data: unknown): asserts data is Bytes {
  if (!(data instanceof Uint8Array)) {
    const what = typeof data === "string" ? "a string" : Object.prototype.toString.call(data);
    throw new TypeError(`Data must be bytes (a Uint8Array or Buffer), not ${what}`);
  }
}

/**
 * An in-memory byte sink, standing in for the io.BytesIO of Twisted's StringTransport.
 * write() copies, so a caller reusing its buffer does not change what was recorded.
 */
export class BytesIO {
  private chunks: Buffer[] = [];
  private cached: Buffer | null = null;
  private size = 0;

  write(data: Bytes): void {
    if (data.length === 0) return;
    this.chunks.push(Buffer.from(data));
    this.size += data.length;
    this.cached = null;
  }

  /** Everything written, as one Buffer. */
  getvalue(): Buffer {
    if (this.cached === null) {
      this.cached = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
      // Keep one chunk so later writes append to the joined value instead of re-joining all.
      this.chunks = this.size ? [this.cached] : [];
    }
    return this.cached;
  }

  get length(): number {
    return this.size;
  }
}

export type ProducerState = "producing" | "paused" | "stopped";

export interface StringTransportOptions {
  /** What getHost() returns; default IPv4 10.0.0.1:12345, as Twisted. */
  hostAddress?: IAddress | null;
  /** What getPeer() returns; default IPv4 192.168.1.1:54321, as Twisted. */
  peerAddress?: IAddress | null;
  /**
   * Allow resumeProducing/pauseProducing after loseConnection. By default that raises, so code
   * that expects data after closing is caught (Twisted's `lenient`).
   */
  lenient?: boolean;
}

/**
 * A transport that buffers what is written in memory and records every other request
 * without acting on it.
 *
 * - `disconnecting` turns true on loseConnection(); `disconnected` on abortConnection().
 * - `producer` and `streaming` hold the registered producer, if any.
 * - `producerState` is this transport's state as an IPushProducer (what a protocol does to
 *   its own transport to stop reading): "producing", "paused" or "stopped".
 * - `writeSideClosed` turns true on loseWriteConnection().
 */
export class StringTransport implements ITCPTransport, IConsumer, IPushProducer {
  disconnecting = false;
  disconnected = false;
  /** True until StringTransportWithDisconnection's loseConnection; plain StringTransport keeps it. */
  connected = true;
  writeSideClosed = false;
  producer: IPushProducer | IPullProducer | null = null;
  streaming: boolean | null = null;
  producerState: ProducerState = "producing";
  hostAddr: IAddress | null = null;
  peerAddr: IAddress | null = null;
  io: BytesIO = new BytesIO();
  tcpNoDelay = false;
  tcpKeepAlive = false;
  protected readonly lenient: boolean;

  constructor(options: StringTransportOptions = {}) {
    if (options.hostAddress) this.hostAddr = options.hostAddress;
    if (options.peerAddress) this.peerAddr = options.peerAddress;
    this.lenient = options.lenient ?? false;
  }

  /** Forget everything written so far. For tests only. */
  clear(): void {
    this.io = new BytesIO();
  }

  /** Everything written since the last clear(). For tests only. */
  value(): Buffer {
    return this.io.getvalue();
  }

  // --- ITransport ----------------------------------------------------------------------------

  write(data: Bytes): void {
    dataMustBeBytes(data);
    this.io.write(data);
  }

  writeSequence(data: Iterable<Bytes>): void {
    for (const chunk of data) {
      dataMustBeBytes(chunk);
      this.io.write(chunk);
    }
  }

  /** Only records the request: sets `disconnecting`. */
  loseConnection(): void {
    this.disconnecting = true;
  }

  /** Records the request (`disconnected`), and loses the connection as loseConnection does. */
  abortConnection(): void {
    this.disconnected = true;
    this.loseConnection();
  }

  loseWriteConnection(): void {
    this.writeSideClosed = true;
  }

  getPeer(): IAddress {
    return this.peerAddr ?? ipAddress("192.168.1.1", 54321);
  }

  getHost(): IAddress {
    return this.hostAddr ?? ipAddress("10.0.0.1", 12345);
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

  // --- IConsumer -----------------------------------------------------------------------------

  registerProducer(producer: IPushProducer, streaming: true): void;
  registerProducer(producer: IPullProducer, streaming: false): void;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.producer !== null) throw new Error("Cannot register two producers");
    this.producer = producer;
    this.streaming = streaming;
  }

  unregisterProducer(): void {
    if (this.producer === null) throw new Error("Cannot unregister a producer unless one is registered");
    this.producer = null;
    this.streaming = null;
  }

  // --- IPushProducer (the transport's own reading side) ------------------------------------

  private checkState(): void {
    if (this.disconnecting && !this.lenient) throw new Error("Cannot resume producing after loseConnection");
    if (this.producerState === "stopped") throw new Error("Cannot resume a stopped producer");
  }

  pauseProducing(): void {
    this.checkState();
    this.producerState = "paused";
  }

  resumeProducing(): void {
    this.checkState();
    this.producerState = "producing";
  }

  stopProducing(): void {
    this.producerState = "stopped";
  }
}

/**
 * A StringTransport that tells its protocol the connection is gone: loseConnection() calls
 * `protocol.connectionLost` with ConnectionDone, once. abortConnection() delivers
 * ConnectionAborted (a ConnectionLost) instead, as a real transport would; Twisted's fake
 * delivers ConnectionDone in both cases.
 */
export class StringTransportWithDisconnection extends StringTransport {
  /** The protocol to tell; set it before losing the connection. */
  protocol: IProtocol | null = null;

  override loseConnection(): void {
    this.loseWith(new ConnectionDone("Bye."));
  }

  override abortConnection(): void {
    this.disconnected = true;
    this.loseWith(new ConnectionAborted());
  }

  private loseWith(error: Error): void {
    if (!this.connected) return;
    this.connected = false;
    if (this.protocol === null) throw new Error("StringTransportWithDisconnection.protocol is not set");
    this.protocol.connectionLost(new Failure(error));
  }
}
