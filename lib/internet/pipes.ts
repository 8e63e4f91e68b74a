/**
 * The two ends of a pipe, as Twisted's ProcessReader and ProcessWriter (and the halves of
 * StandardIO): a PipeReader delivers what a Node Readable brings and is a push producer
 * (pausing it stops reading the descriptor, so the writer at the far end blocks on a full pipe);
 * a PipeWriter is a consumer over a Node Writable (a producer registered on it is paused while
 * the pipe is full). Each reports its end once, with the error that ended it or null for a
 * clean end. Child processes (process.ts) and standard I/O (stdio.ts) are built on them.
 */

import type { Readable, Writable } from "node:stream";
import type { Bytes, IPullProducer, IPushProducer } from "./interfaces.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.pipes");

function notBytes(data: unknown): TypeError {
  return new TypeError(`Data must be bytes (a Uint8Array), not ${data === null ? "null" : typeof data}`);
}

/** The reading end of a pipe. */
export class PipeReader {
  /** True once the pipe has ended (EOF, error or close()). */
  lost = false;
  private paused = false;
  /**
   * Chunks that arrived while paused. Node resumes a child's paused output streams itself once
   * the child exits (child_process's flushStdio); what that brings waits here, one chunk at most
   * before the stream is paused again.
   */
  private held: Buffer[] = [];
  private endPending = false;
  private error: Error | null = null;
  private readonly boundData = (data: Buffer): void => this.onData(data);

  constructor(
    readonly stream: Readable,
    private readonly deliver: (data: Buffer) => void,
    private readonly ended: (error: Error | null) => void,
  ) {
    stream.on("data", this.boundData);
    stream.on("error", (err: Error) => {
      this.error ??= err;
    });
    stream.on("close", () => this.onClose());
  }

  private onData(data: Buffer): void {
    if (this.paused) {
      this.held.push(data);
      this.stream.pause();
      return;
    }
    this.deliver(data);
  }

  private onClose(): void {
    if (this.held.length > 0) {
      // the end waits for what was held back: a paused reader is told in order, once resumed
      this.endPending = true;
      return;
    }
    this.finish();
  }

  private finish(): void {
    if (this.lost) return;
    this.lost = true;
    this.stream.removeListener("data", this.boundData);
    this.ended(this.error);
  }

  /** Stop reading until resume(). */
  pause(): void {
    if (this.lost) return;
    this.paused = true;
    this.stream.pause();
  }

  /** Read again; what was held back while paused is delivered first. */
  resume(): void {
    if (this.lost || !this.paused) return;
    this.paused = false;
    while (this.held.length > 0 && !this.paused) this.deliver(this.held.shift()!);
    if (this.paused) return; // deliver paused us again
    if (this.endPending) {
      this.finish();
      return;
    }
    this.stream.resume();
  }

  /** Stop reading for good: the pipe is closed and its end reported. */
  close(): void {
    if (this.lost) return;
    this.held = [];
    this.endPending = false;
    this.stream.destroy();
  }
}

/** The writing end of a pipe: an IConsumer. */
export class PipeWriter {
  /** True once the pipe has ended (closed, or the reader went away). */
  lost = false;
  /** True once loseConnection() has been asked for. */
  disconnecting = false;
  producer: IPushProducer | IPullProducer | null = null;
  streamingProducer = false;
  /** True while this writer has paused its streaming producer because the pipe is full. */
  producerPaused = false;
  private ending = false;
  private error: Error | null = null;
  private pullScheduled = false;
  private readonly boundFlushed = (err?: Error | null): void => {
    if (err || this.lost || this.pullScheduled) return;
    // one turn of the loop per chunk, as FileDescriptor: a pull producer asked again from a
    // flush callback (process.nextTick) would starve every other event while the pipe accepts
    this.pullScheduled = true;
    setImmediate(this.boundPull);
  };
  private readonly boundPull = (): void => this.pull();

  constructor(
    readonly stream: Writable,
    private readonly ended: (error: Error | null) => void,
  ) {
    stream.on("drain", () => this.onDrain());
    stream.on("error", (err: Error) => {
      this.error ??= err;
      // a reader that went away (EPIPE): nothing more can be written; the 'close' that
      // follows reports it
      if (!stream.destroyed) stream.destroy();
    });
    // a descriptor above 2 is a socket pair in Node: ending its write side does not close it
    stream.on("finish", () => stream.destroy());
    stream.on("close", () => this.finish());
  }

  /** Bytes accepted and not yet taken by the pipe. */
  get writableLength(): number {
    return this.stream.writableLength;
  }

  /** Write bytes; ignored once closing or closed. Anything but bytes raises TypeError. */
  write(data: Bytes): void {
    if (!(data instanceof Uint8Array)) throw notBytes(data);
    if (this.ending || this.lost || data.length === 0) return;
    this.writeChunk(data);
  }

  /** Write several buffers (one writev where the stream can). */
  writeSequence(data: Iterable<Bytes>): void {
    const chunks = Array.isArray(data) ? (data as Bytes[]) : [...data];
    for (const chunk of chunks) if (!(chunk instanceof Uint8Array)) throw notBytes(chunk);
    if (this.ending || this.lost) return;
    this.stream.cork();
    try {
      for (const chunk of chunks) if (chunk.length !== 0) this.writeChunk(chunk);
    } finally {
      this.stream.uncork();
    }
  }

  private writeChunk(data: Bytes): void {
    const pull = this.producer !== null && !this.streamingProducer;
    const ok = pull ? this.stream.write(data, this.boundFlushed) : this.stream.write(data);
    if (!ok && this.streamingProducer && !this.producerPaused) {
      this.producerPaused = true;
      (this.producer as IPushProducer).pauseProducing();
    }
  }

  private onDrain(): void {
    if (!this.streamingProducer || !this.producerPaused || this.producer === null) return;
    this.producerPaused = false; // before the call: a producer that refills the pipe is paused again
    try {
      (this.producer as IPushProducer).resumeProducing();
    } catch (err) {
      log.failure("Producer.resumeProducing raised", err);
    }
  }

  private pull(): void {
    this.pullScheduled = false;
    const producer = this.producer;
    if (producer === null || this.streamingProducer || this.lost) return;
    try {
      producer.resumeProducing();
    } catch (err) {
      log.failure("Producer.resumeProducing raised", err);
    }
  }

  /**
   * Register a producer; a second registration raises Error; on a closed pipe the producer is
   * stopped at once. A pull producer is asked for its first chunk now.
   */
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.producer !== null) {
      throw new Error(`Cannot register producer ${describe(producer)}, because producer ${describe(this.producer)} was never unregistered.`);
    }
    if (this.lost) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streamingProducer = streaming;
    this.producerPaused = false;
    if (!streaming) {
      producer.resumeProducing();
    } else if (this.stream.writableNeedDrain) {
      this.producerPaused = true;
      (producer as IPushProducer).pauseProducing();
    }
  }

  /** Unregister the producer; a pending loseConnection() proceeds now. */
  unregisterProducer(): void {
    this.producer = null;
    this.streamingProducer = false;
    this.producerPaused = false;
    if (this.disconnecting) this.end();
  }

  /** Close once what was written is flushed and the producer unregistered. */
  loseConnection(): void {
    if (this.disconnecting || this.lost) return;
    this.disconnecting = true;
    if (this.producer === null) this.end();
  }

  private end(): void {
    if (this.ending || this.lost) return;
    this.ending = true;
    this.stream.end();
  }

  /** Close now, dropping what is not yet written. */
  abort(): void {
    if (this.lost) return;
    this.ending = true;
    this.stream.destroy();
  }

  private finish(): void {
    if (this.lost) return;
    this.lost = true;
    this.ending = true;
    const producer = this.producer;
    this.producer = null;
    if (producer !== null) {
      try {
        producer.stopProducing();
      } catch (err) {
        log.failure("Producer.stopProducing raised", err);
      }
    }
    this.ended(this.error);
  }
}

function describe(o: unknown): string {
  return (o as object)?.constructor?.name ?? String(o);
}
