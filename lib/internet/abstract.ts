/**
 * The stream transport shared by TCP, UNIX sockets and TLS, as Twisted's
 * twisted.internet.abstract.FileDescriptor, over a node:net Socket (a tls.TLSSocket for TLS;
 * startTLS swaps one for the other under a live connection, see switchSocket).
 *
 * It is a consumer (IConsumer: what a producer writes to it is buffered by the socket and the
 * producer is paused when that buffer passes `bufferSize`) and a push producer (IPushProducer:
 * pausing it stops reading from the socket). It implements the first two steps of docs/design.md's
 * disconnect chain: on any kind of close the registered producer gets stopProducing() exactly
 * once, then the protocol gets connectionLost(reason) exactly once.
 */

import type { Socket } from "node:net";
import { ConnectionAborted, ConnectionDone, ConnectionLost } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IConsumer,
  IHalfCloseableDescriptor,
  IProtocol,
  IPullProducer,
  IPushProducer,
  ITransport,
} from "./interfaces.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.abstract");

/**
 * Something the reactor closes when it shuts down (a listening port, a connection, a pending
 * connection attempt), as Twisted's reactor does in its "during shutdown" disconnectAll.
 */
export interface ShutdownResource {
  /** Close now because the reactor is shutting down; a returned promise delays shutdown. */
  closeForShutdown(): PromiseLike<unknown> | void;
}

/** What a transport needs from its reactor: being told about, so shutdown can close it. */
export interface ResourceTracker {
  /** The reactor's transport counters, which those of its ports and connectors add up to. */
  readonly counters?: TransportCounters;
  _track?(resource: ShutdownResource): void;
  _untrack?(resource: ShutdownResource): void;
}

/** The name of one transport counter. */
export type TransportCounterName = "openConnections" | "producersStopped" | "connectionsAborted" | "protocolErrors";

/**
 * Counters an operator can read (docs/design.md: "what disconnects cost"), owned by what
 * counts: a port counts the connections it accepted, a connector its connection, a reactor
 * every connection of its ports and connectors. Each set passes what it counts on to the set
 * above it (a port's to its reactor's), so a sum is ready where it is read and no spec has to
 * subtract what other specs left behind. Plain integers, updated on connection edges only,
 * never per write.
 */
export class TransportCounters {
  /** Connections whose protocol got makeConnection and not yet connectionLost. */
  openConnections = 0;
  /** Producers stopped because their connection closed (disconnect chain step 1). */
  producersStopped = 0;
  /** Connections closed with abortConnection() (or dropped after a protocol error). */
  connectionsAborted = 0;
  /** Exceptions raised by protocols (connectionMade, dataReceived, ...), logged and dropped. */
  protocolErrors = 0;
  /** The set that sums this one with its siblings (a reactor's, for a port's); not enumerable. */
  readonly #parent: TransportCounters | null;

  constructor(parent: TransportCounters | null = null) {
    this.#parent = parent;
  }

  /** @internal Count `delta` of `name` here and in every set above. */
  count(name: TransportCounterName, delta = 1): void {
    for (let c: TransportCounters | null = this; c !== null; c = c.#parent) c[name] += delta;
  }
}

function isBytes(data: unknown): data is Uint8Array {
  return data instanceof Uint8Array;
}

function notBytes(data: unknown): TypeError {
  return new TypeError(`Data must be bytes (a Uint8Array), not ${data === null ? "null" : typeof data}`);
}

/** A protocol may implement IHalfCloseableProtocol; checked by duck typing, as Twisted adapts. */
function halfCloseable(protocol: IProtocol | null): { readConnectionLost(): void; writeConnectionLost?(): void } | null {
  const p = protocol as { readConnectionLost?: unknown } | null;
  return p && typeof p.readConnectionLost === "function" ? (p as { readConnectionLost(): void }) : null;
}

export abstract class FileDescriptor implements ITransport, IConsumer, IPushProducer, IHalfCloseableDescriptor, ShutdownResource {
  /** True from makeConnection until connectionLost. */
  connected = false;
  /** True once loseConnection() (or any close) has begun. */
  disconnecting = false;
  /** True once connectionLost has been delivered. */
  disconnected = false;

  protocol: IProtocol | null = null;
  producer: IPushProducer | IPullProducer | null = null;
  streamingProducer = false;
  /** True while this transport has paused its streaming producer because the buffer is full. */
  producerPaused = false;

  /** Bytes the socket may buffer before a streaming producer is paused (Twisted's bufferSize). */
  private _bufferSize = 64 * 1024;
  /** When bufferSize is below the socket's high-water mark, 'drain' is not guaranteed; see write(). */
  private flushCallbacks = false;
  /** socket.end() has been called (loseConnection, loseWriteConnection, EOF): writes are ignored. */
  private writeClosed = false;
  /** loseWriteConnection() was called (as opposed to a full close). */
  private halfClosed = false;
  private aborting = false;
  private closeError: Error | null = null;
  /** Set when the transport drops the connection itself (a protocol raised). */
  private dropReason: Error | null = null;
  /** Writes given a flush callback and not yet flushed (see onChunkFlushed). */
  private unflushedWrites = 0;
  private pullScheduled = false;
  /** The socket under this transport (replaced once by startTLS). */
  private _socket: Socket;
  /** True once _start has wired the socket's events. */
  private wired = false;
  /** True while pauseProducing() is in force (carried over to a new socket by switchSocket). */
  private readPaused = false;
  /**
   * While a socket switch waits for the old socket to flush: what was written meanwhile (sent
   * through the new socket), and whether an end() is owed to it.
   */
  private held: Bytes[] | null = null;
  private heldBytes = 0;
  private endHeld = false;

  private readonly boundOnChunkFlushed: (err?: Error | null) => void;
  private readonly boundResumePull: () => void;
  private readonly boundOnData = (data: Buffer): void => this.onData(data);
  private readonly boundOnEnd = (): void => this.onEnd();
  private readonly boundOnDrain = (): void => this.onDrain();
  private readonly boundOnFinish = (): void => this.onFinish();
  private readonly boundOnClose = (): void => this.onClose();
  private readonly boundOnError = (err: Error): void => this.onError(err);

  /** The counters this connection adds to: its port's or connector's (else its reactor's). */
  protected readonly counters: TransportCounters;

  protected constructor(
    socket: Socket,
    protected readonly reactor: ResourceTracker,
    counters?: TransportCounters,
  ) {
    this.counters = counters ?? new TransportCounters(reactor.counters ?? null);
    this._socket = socket;
    this.boundOnChunkFlushed = (err) => this.onChunkFlushed(err);
    this.boundResumePull = () => this.resumePullProducer();
    this.updateFlushCallbacks();
  }

  /** The node:net Socket (or tls.TLSSocket) this transport reads and writes. */
  get socket(): Socket {
    return this._socket;
  }

  // --- connection set-up ---------------------------------------------------------------

  /**
   * @internal Wire the socket's events to this transport and call
   * protocol.makeConnection(this). The port or connector calls this once the socket is connected.
   */
  _start(protocol: IProtocol): void {
    this.protocol = protocol;
    this.connected = true;
    this.counters.count("openConnections");
    this.wire(this._socket);
    this.reactor._track?.(this);
    try {
      protocol.makeConnection(this);
    } catch (err) {
      this.protocolRaised(err, "connectionMade");
    }
  }

  private wire(s: Socket): void {
    this.wired = true;
    s.on("data", this.boundOnData);
    s.on("end", this.boundOnEnd);
    s.on("drain", this.boundOnDrain);
    s.on("finish", this.boundOnFinish);
    s.on("close", this.boundOnClose);
    s.on("error", this.boundOnError);
  }

  private unwire(s: Socket): void {
    s.removeListener("data", this.boundOnData);
    s.removeListener("end", this.boundOnEnd);
    s.removeListener("drain", this.boundOnDrain);
    s.removeListener("finish", this.boundOnFinish);
    s.removeListener("close", this.boundOnClose);
    s.removeListener("error", this.boundOnError);
  }

  /**
   * @internal Carry this connection on over a new socket made by `wrap(old)` (startTLS: a
   * TLSSocket over the same TCP connection). `wrap` runs once everything written so far has
   * left the old socket, so those bytes go out first (in the clear); writes made meanwhile are
   * held and sent through the new socket, in order, and reading is paused so that bytes the
   * peer sends for the new socket (a TLS ClientHello) are not delivered as data. A close asked
   * for meanwhile happens on the new socket. Before _start, the switch is immediate.
   */
  protected switchSocket(wrap: (old: Socket) => Socket): void {
    const old = this._socket;
    if (!this.wired || old.writableLength === 0) {
      this.finishSwitch(wrap);
      return;
    }
    this.held = [];
    old.pause();
    old.write(EMPTY, (err) => {
      if (err || this.disconnected) return; // the connection is gone: 'close' reports it
      this.finishSwitch(wrap);
    });
  }

  private finishSwitch(wrap: (old: Socket) => Socket): void {
    const old = this._socket;
    if (this.wired) this.unwire(old);
    // The new socket owns the connection now; the old one may still report what the new one
    // reports (its 'error' would otherwise be unhandled and end the process).
    old.on("error", () => {});
    const s = wrap(old);
    this._socket = s;
    this.updateFlushCallbacks();
    if (!this.wired) return;
    this.wire(s);
    if (this.readPaused) s.pause();
    else s.resume();
    const held = this.held;
    this.held = null;
    this.heldBytes = 0;
    if (held !== null) for (const chunk of held) this.writeChunk(chunk);
    if (this.endHeld) {
      this.endHeld = false;
      s.end();
    } else if (this.streamingProducer && this.producerPaused && s.writableLength <= this._bufferSize) {
      this.onDrain(); // nothing held was big enough to need a 'drain'
    }
  }

  /** Send a FIN (after the pending writes) now, or once a socket switch is done. */
  private endSocket(): void {
    if (this.held !== null) this.endHeld = true;
    else this._socket.end();
  }

  /** Record a socket error; the 'close' event that Node emits next delivers connectionLost. */
  private onError(err: Error): void {
    if (this.closeError === null) this.closeError = err;
  }

  // --- consumer: writing ---------------------------------------------------------------

  /** Bytes buffered by the socket before a streaming producer is paused. Default 64 KiB. */
  get bufferSize(): number {
    return this._bufferSize;
  }

  set bufferSize(size: number) {
    if (!(size >= 0)) throw new RangeError(`bufferSize must be a non-negative number, not ${size}`);
    this._bufferSize = size;
    this.updateFlushCallbacks();
  }

  private updateFlushCallbacks(): void {
    // Node emits 'drain' only after a write() returned false, i.e. once the buffer reached the
    // socket's high-water mark. A limit below that mark needs per-write flush callbacks instead.
    this.flushCallbacks = this._bufferSize < this.socket.writableHighWaterMark;
  }

  /**
   * Send bytes. A string raises TypeError (as Twisted rejects str). Zero-length writes and writes
   * once the write side is closing (loseConnection with no producer left, loseWriteConnection,
   * connection lost) are ignored. While loseConnection waits for a registered producer to
   * unregister, that producer's writes still go out.
   */
  write(data: Bytes): void {
    if (!isBytes(data)) throw notBytes(data);
    if (this.writeClosed || data.length === 0) return;
    this.writeChunk(data);
    if (this.streamingProducer) this.checkPause();
  }

  private writeChunk(data: Bytes): void {
    if (this.held !== null) {
      this.held.push(data);
      this.heldBytes += data.length;
      return;
    }
    if (this.producer === null || (this.streamingProducer && !this.flushCallbacks)) {
      this.socket.write(data);
    } else {
      // a pull producer is asked for more once everything it wrote has been flushed; a push
      // producer with a small bufferSize is resumed likewise (see updateFlushCallbacks)
      this.unflushedWrites++;
      this.socket.write(data, this.boundOnChunkFlushed);
    }
  }

  private checkPause(): void {
    const producer = this.producer;
    if (producer !== null && !this.producerPaused && this.writableLength > this._bufferSize) {
      this.producerPaused = true;
      (producer as IPushProducer).pauseProducing();
    }
  }

  /**
   * Write several buffers as one system call where possible (cork/uncork: writev). A streaming
   * producer is paused, if need be, once the whole sequence is queued.
   */
  writeSequence(data: Iterable<Bytes>): void {
    const chunks = Array.isArray(data) ? (data as Bytes[]) : [...data];
    for (const chunk of chunks) if (!isBytes(chunk)) throw notBytes(chunk);
    if (this.writeClosed) return;
    const socket = this.socket;
    socket.cork();
    try {
      for (const chunk of chunks) if (chunk.length !== 0) this.writeChunk(chunk);
    } finally {
      socket.uncork();
    }
    if (this.streamingProducer) this.checkPause();
  }

  /** Bytes accepted by write() and not yet handed to the kernel. */
  get writableLength(): number {
    return this._socket.writableLength + this.heldBytes;
  }

  private onDrain(): void {
    const producer = this.producer;
    if (producer === null || !this.streamingProducer || !this.producerPaused) return;
    // cleared before the call: a producer that writes (and refills the buffer) from inside
    // resumeProducing must be paused again (Twisted's test_reentrantStreamingProducer)
    this.producerPaused = false;
    try {
      producer.resumeProducing();
    } catch (err) {
      this.protocolRaised(err, "producer.resumeProducing");
    }
  }

  private onChunkFlushed(err?: Error | null): void {
    if (--this.unflushedWrites !== 0 || err || this.disconnected) return;
    const producer = this.producer;
    if (producer === null) return;
    if (this.streamingProducer) {
      if (this.producerPaused && this.socket.writableLength <= this._bufferSize) this.onDrain();
    } else if (!this.pullScheduled) {
      // Node calls flush callbacks of writes that reached the kernel at once from process.nextTick:
      // asking a pull producer again from there would starve all other I/O while the kernel
      // keeps accepting. One turn of the event loop per chunk, as Twisted's doWrite.
      this.pullScheduled = true;
      setImmediate(this.boundResumePull);
    }
  }

  private resumePullProducer(): void {
    this.pullScheduled = false;
    const producer = this.producer;
    if (producer === null || this.streamingProducer || this.disconnected) return;
    try {
      producer.resumeProducing();
    } catch (err) {
      this.protocolRaised(err, "producer.resumeProducing");
    }
  }

  // --- consumer: producers -------------------------------------------------------------

  /**
   * Register a producer (IConsumer.registerProducer). A second registration raises Error. On a
   * closed connection the producer is stopped at once. A pull producer is asked for its first
   * chunk now.
   */
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.producer !== null) {
      throw new Error(
        `Cannot register producer ${describe(producer)}, because producer ${describe(this.producer)} was never unregistered.`,
      );
    }
    if (this.disconnected) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streamingProducer = streaming;
    this.producerPaused = false;
    if (!streaming) {
      producer.resumeProducing();
    } else if (this.writableLength > this._bufferSize) {
      this.producerPaused = true;
      (producer as IPushProducer).pauseProducing();
      if (this.held === null && !this.socket.writableNeedDrain) {
        this.unflushedWrites++;
        // nothing will emit 'drain': learn when what is buffered has gone with an empty write
        this.socket.write(EMPTY, this.boundOnChunkFlushed);
      }
    }
  }

  /** Unregister the producer; a pending loseConnection() proceeds now. */
  unregisterProducer(): void {
    this.producer = null;
    this.streamingProducer = false;
    this.producerPaused = false;
    if (this.connected && this.disconnecting && !this.writeClosed) this.closeWhenFlushed();
  }

  // --- closing -------------------------------------------------------------------------

  /**
   * Close after the pending writes are flushed and the producer (if any) is unregistered;
   * connectionLost gets ConnectionDone. Data arriving meanwhile is dropped (Twisted stops
   * reading).
   */
  loseConnection(): void {
    if (!this.connected || this.disconnecting) return;
    this.disconnecting = true;
    if (this.producer === null) this.closeWhenFlushed();
  }

  private closeWhenFlushed(): void {
    this.writeClosed = true;
    const s = this.socket;
    if (this.held !== null) {
      this.endHeld = true;
    } else if (s.writableFinished) {
      s.destroy();
    } else if (!s.writableEnded) {
      s.end(); // 'finish' (everything flushed, FIN sent) destroys the socket
    }
  }

  /**
   * Close now: discard buffered data and reset the connection (RST). connectionLost gets
   * ConnectionAborted. As Twisted, a no-op once the connection is lost or already aborting.
   */
  abortConnection(): void {
    if (this.disconnected || this.aborting) return;
    this.aborting = true;
    this.disconnecting = true;
    this.writeClosed = true;
    this.counters.count("connectionsAborted");
    this.held = null;
    this.heldBytes = 0;
    if (!this.socket.destroyed) this.resetSocket();
  }

  /** Drop the connection with a RST where the socket can (a TCP socket), else just destroy it. */
  protected resetSocket(): void {
    const s = this.socket;
    // Once end() has sent (or queued) our FIN, libuv refuses the reset (uv_tcp_close_reset on a
    // shut-down handle) and Node then never emits 'close', so connectionLost would never come:
    // destroy instead (loseConnection followed by abortConnection, as a proxy does).
    if (typeof s.resetAndDestroy === "function" && !s.writableEnded) s.resetAndDestroy();
    else s.destroy();
  }

  /**
   * Half-close: send a FIN after the pending writes and keep reading. A protocol with
   * writeConnectionLost() is told once the FIN is sent.
   */
  loseWriteConnection(): void {
    if (!this.connected || this.writeClosed) return;
    this.writeClosed = true;
    this.halfClosed = true;
    this.endSocket();
  }

  /** The reactor is shutting down: close now, as Twisted's disconnectAll (ConnectionLost). */
  closeForShutdown(): void {
    if (this.disconnected) return;
    this.writeClosed = true;
    this.disconnecting = true;
    this.socket.destroy();
    this.connectionLost(new Failure(new ConnectionLost("Connection was closed because the reactor shut down.")));
  }

  // --- push producer: reading ----------------------------------------------------------

  /** Stop reading from the socket (dataReceived is not called) until resumeProducing(). */
  pauseProducing(): void {
    if (this.disconnected) return;
    this.readPaused = true;
    this.socket.pause();
  }

  /** Start reading from the socket again. */
  resumeProducing(): void {
    if (!this.connected || this.disconnecting) return;
    this.readPaused = false;
    if (this.held === null) this.socket.resume(); // else the switch resumes the new socket
  }

  /** As Twisted: a consumer that wants no more data from this transport closes it. */
  stopProducing(): void {
    this.loseConnection();
  }

  // --- socket events -------------------------------------------------------------------

  private onData(data: Buffer): void {
    if (this.disconnecting) return;
    try {
      this.protocol!.dataReceived(data);
    } catch (err) {
      this.protocolRaised(err, "dataReceived");
    }
  }

  /** The peer sent a FIN. */
  private onEnd(): void {
    if (this.disconnected) return;
    const hc = halfCloseable(this.protocol);
    if (hc !== null && !this.disconnecting) {
      try {
        hc.readConnectionLost();
      } catch (err) {
        this.protocolRaised(err, "readConnectionLost");
      }
      return;
    }
    if (this.disconnecting && !this.halfClosed) return; // our close is under way: 'close' follows
    // As Twisted, a FIN ends the connection for a protocol that does not half-close. What was
    // already written is still flushed (end(), not destroy()), but connectionLost is now.
    this.disconnecting = true;
    this.closeWhenFlushed();
    this.connectionLost(new Failure(new ConnectionDone()));
  }

  private onFinish(): void {
    if (this.disconnecting) {
      // Our FIN is out after every pending byte: close the socket, as Twisted's
      // _postLoseConnection does, rather than wait for the peer's FIN.
      this.socket.destroy();
    } else if (this.halfClosed) {
      const p = this.protocol as { writeConnectionLost?: () => void } | null;
      if (p && typeof p.writeConnectionLost === "function") {
        try {
          p.writeConnectionLost();
        } catch (err) {
          this.protocolRaised(err, "writeConnectionLost");
        }
      }
    }
  }

  private onClose(): void {
    let reason: Error;
    // a protocol that raised is the reason, rather than the abort that dropped it (Twisted's
    // test_dataReceivedThrows: bugs must not be masked as a plain abort)
    if (this.dropReason !== null) reason = this.dropReason;
    else if (this.aborting) reason = new ConnectionAborted();
    else if (this.closeError !== null) reason = this.lostReason(this.closeError);
    else reason = new ConnectionDone();
    this.connectionLost(new Failure(reason));
  }

  /** The ConnectionLost a socket error ends the connection with (TLS makes some a TLSError). */
  protected lostReason(err: Error): Error {
    return new ConnectionLost(`Connection to the other side was lost: ${err.message}`, { cause: err });
  }

  /**
   * A protocol (or producer) raised: log it and drop this connection only (docs/design.md: a
   * misbehaving protocol is logged and its connection dropped; the server keeps serving).
   */
  protected protocolRaised(err: unknown, where: string): void {
    this.counters.count("protocolErrors");
    log.failure("Unhandled error in {protocol}.{method}; dropping the connection", err, {
      protocol: this.protocol?.constructor?.name ?? "protocol",
      method: where,
    });
    if (this.disconnected) return;
    if (this.dropReason === null && !this.aborting) {
      this.dropReason = new ConnectionLost(`Connection dropped: ${where} raised ${Failure.from(err).getErrorMessage()}`, {
        cause: err,
      });
    }
    this.abortConnection();
  }

  /**
   * Disconnect chain steps 1 and 2: stop the producer (once), then tell the protocol (once).
   * Subclasses extend this to tell their port or connector afterwards.
   */
  protected connectionLost(reason: Failure): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.connected = false;
    this.disconnecting = true;
    this.writeClosed = true;
    this.counters.count("openConnections", -1);
    this.reactor._untrack?.(this);
    const producer = this.producer;
    if (producer !== null) {
      this.producer = null;
      this.counters.count("producersStopped");
      try {
        producer.stopProducing();
      } catch (err) {
        log.failure("Producer.stopProducing raised", err);
      }
    }
    const protocol = this.protocol;
    if (protocol !== null) {
      try {
        protocol.connectionLost(reason);
      } catch (err) {
        log.failure("Unhandled error in {protocol}.connectionLost", err, {
          protocol: protocol.constructor?.name ?? "protocol",
        });
      }
    }
  }

  abstract getPeer(): IAddress;
  abstract getHost(): IAddress;
}

const EMPTY = new Uint8Array(0);

function describe(o: unknown): string {
  return (o as object)?.constructor?.name ?? String(o);
}
