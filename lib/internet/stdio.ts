/**
 * twisted.internet.stdio.StandardIO: a protocol connected to this process's own standard
 * input and output, as if they were a connection. dataReceived gets what arrives on stdin;
 * write() goes to stdout, whose consumer pauses a registered producer while the reader at the
 * other end is slow; pauseProducing stops reading stdin. EOF on stdin ends the connection
 * (ConnectionDone), or calls readConnectionLost on a half-closeable protocol.
 *
 * Where Node differs: Node writes process.stdout synchronously when it is a pipe, so a slow
 * reader would block the whole loop rather than pause a producer. When stdout is a pipe or a
 * socket, StandardIO writes it through a non-blocking socket of its own (as Twisted does with
 * its descriptor), so do not mix console.log with it. A file or a terminal is written through
 * process.stdout.
 */

import { fstatSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { ConnectionDone, ConnectionLost } from "./error.js";
import { Failure } from "./failure.js";
import type { Bytes, IAddress, IConsumer, IProtocol, IPullProducer, IPushProducer, ITransport, PipeAddress } from "./interfaces.js";
import { Logger } from "./log.js";
import { PipeReader, PipeWriter } from "./pipes.js";

const log = new Logger("torsion.internet.stdio");

const PIPE_ADDRESS: PipeAddress = Object.freeze({ type: "Pipe" as const });

/** Options of StandardIO: the streams to use instead of this process's stdin and stdout. */
export interface StandardIOOptions {
  stdin?: Readable;
  stdout?: Writable;
}

/** The stream StandardIO writes stdout through (see the module comment). */
function defaultStdout(): Writable {
  try {
    const st = fstatSync(1);
    if (st.isFIFO() || st.isSocket()) return new Socket({ fd: 1, readable: false, writable: true });
  } catch {
    // no descriptor 1: process.stdout copes (it swallows the writes)
  }
  return process.stdout;
}

function halfCloseable(p: IProtocol | null): { readConnectionLost(): void; writeConnectionLost?(): void } | null {
  const h = p as { readConnectionLost?: unknown } | null;
  return h !== null && typeof h.readConnectionLost === "function" ? (h as { readConnectionLost(): void }) : null;
}

export class StandardIO implements ITransport, IConsumer, IPushProducer {
  disconnected = false;
  disconnecting = false;
  protocol: IProtocol | null;
  private reader: PipeReader | null;
  private writer: PipeWriter | null;

  constructor(protocol: IProtocol, options: StandardIOOptions = {}) {
    if (protocol === null || typeof protocol !== "object" || typeof protocol.makeConnection !== "function") {
      throw new TypeError(`StandardIO needs a protocol, not ${protocol === null ? "null" : typeof protocol}`);
    }
    this.protocol = protocol;
    const stdout = options.stdout ?? defaultStdout();
    const stdin = options.stdin ?? process.stdin;
    this.writer = new PipeWriter(stdout, (error) => this.pipeLost("write", error));
    this.reader = new PipeReader(
      stdin,
      (data) => this.dataReceived(data),
      (error) => this.pipeLost("read", error),
    );
    try {
      protocol.makeConnection(this);
    } catch (err) {
      log.failure("Unhandled error in {protocol}.makeConnection", err, { protocol: protocol.constructor?.name });
    }
  }

  private dataReceived(data: Buffer): void {
    const p = this.protocol;
    if (p === null || this.disconnecting) return;
    try {
      p.dataReceived(data);
    } catch (err) {
      log.failure("Unhandled error in {protocol}.dataReceived; closing standard I/O", err, { protocol: p.constructor?.name });
      this.connectionLost(Failure.from(err));
    }
  }

  private pipeLost(which: "read" | "write", error: Error | null): void {
    if (this.disconnected) return;
    if (error !== null) {
      this.connectionLost(new Failure(new ConnectionLost(`standard ${which === "read" ? "input" : "output"} failed: ${error.message}`, { cause: error })));
      return;
    }
    if (which === "read") this.readConnectionLost();
    else this.writeConnectionLost();
  }

  private readConnectionLost(): void {
    this.reader = null;
    const h = halfCloseable(this.protocol);
    if (h === null || this.disconnecting) {
      this.connectionLost(new Failure(new ConnectionDone()));
      return;
    }
    try {
      h.readConnectionLost();
    } catch (err) {
      log.failure("Unhandled error in readConnectionLost", err);
      this.connectionLost(Failure.from(err));
    }
  }

  private writeConnectionLost(): void {
    this.writer = null;
    if (this.disconnecting) {
      this.connectionLost(new Failure(new ConnectionDone()));
      return;
    }
    const h = halfCloseable(this.protocol);
    if (h?.writeConnectionLost === undefined) return;
    try {
      h.writeConnectionLost();
    } catch (err) {
      log.failure("Unhandled error in writeConnectionLost", err);
      this.connectionLost(Failure.from(err));
    }
  }

  private connectionLost(reason: Failure): void {
    if (this.disconnected) return;
    this.disconnected = true;
    const { reader, writer, protocol } = this;
    this.reader = null;
    this.writer = null;
    this.protocol = null;
    // stdin is left open, only no longer read (closing it would SIGPIPE the writer, as Twisted notes)
    reader?.pause();
    if (writer !== null && !writer.lost) writer.loseConnection();
    if (protocol === null) return;
    try {
      protocol.connectionLost(reason);
    } catch (err) {
      log.failure("Unhandled error in {protocol}.connectionLost", err, { protocol: protocol.constructor?.name });
    }
  }

  // --- ITransport ----------------------------------------------------------------------

  write(data: Bytes): void {
    if (this.writer !== null) this.writer.write(data);
    else if (!(data instanceof Uint8Array)) throw new TypeError(`Data must be bytes (a Uint8Array), not ${typeof data}`);
  }

  writeSequence(data: Iterable<Bytes>): void {
    this.writer?.writeSequence(data);
  }

  /** Close stdout after what is written is flushed, and stop reading stdin; connectionLost follows. */
  loseConnection(): void {
    if (this.disconnecting || this.disconnected) return;
    this.disconnecting = true;
    this.reader?.pause();
    if (this.writer !== null) this.writer.loseConnection();
    else this.connectionLost(new Failure(new ConnectionDone()));
  }

  /** Close stdout only (a half-close): the parent sees EOF, stdin is still read. */
  loseWriteConnection(): void {
    this.writer?.loseConnection();
  }

  /** A PipeAddress, as Twisted's (typed IAddress so StandardIO is an ITransport). */
  getPeer(): IAddress {
    return PIPE_ADDRESS as unknown as IAddress;
  }

  getHost(): IAddress {
    return PIPE_ADDRESS as unknown as IAddress;
  }

  // --- IConsumer (stdout) --------------------------------------------------------------

  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.writer === null) producer.stopProducing();
    else this.writer.registerProducer(producer, streaming);
  }

  unregisterProducer(): void {
    this.writer?.unregisterProducer();
  }

  // --- IPushProducer (stdin) -----------------------------------------------------------

  pauseProducing(): void {
    this.reader?.pause();
  }

  resumeProducing(): void {
    this.reader?.resume();
  }

  stopProducing(): void {
    this.loseConnection();
  }
}
