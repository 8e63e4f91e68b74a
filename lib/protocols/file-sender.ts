/**
 * FileSender, as twisted.protocols.basic.FileSender: a pull producer that sends a file to a
 * consumer (a transport, a Request) one chunk per resumeProducing().
 *
 * Twisted reads a file object synchronously. Node reads files asynchronously, so here each
 * resumeProducing() starts a read and the chunk is written when it completes. At most one read
 * is in flight: a resumeProducing() that arrives during a read is remembered (once) and
 * answered when that read is done, so a consumer never gets more chunks than it asked for.
 *
 * The file may be
 * - a path: the sender opens it and closes it when the transfer ends, fails or is stopped;
 * - an open FileHandle (node:fs/promises) or a file descriptor: read from its current position
 *   and left open, as Twisted leaves the file object it was given; the caller closes it.
 */

import { read as fsRead } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Deferred } from "../internet/deferred.js";
import { TorsionError } from "../internet/error.js";
import { registerErrorClasses } from "../internet/thread-error.js";
import { Failure } from "../internet/failure.js";
import type { Bytes, IConsumer, IPullProducer } from "../internet/interfaces.js";

/** What FileSender can send: a path it opens itself, an open FileHandle, or a file descriptor. */
export type FileSource = string | FileHandle | number;

/** The reason a transfer's Deferred fails when the consumer stops it (Twisted's message). */
export class FileTransferStopped extends TorsionError {
  static override readonly code: string = "TORSION_ERR_FILE_TRANSFER_STOPPED";

  constructor(message = "Consumer asked us to stop producing") {
    super(message);
  }
}

registerErrorClasses(FileTransferStopped);

const EMPTY = Buffer.alloc(0);

type Reader = (buffer: Buffer) => Promise<number>;

function fdReader(fd: number): Reader {
  return (buffer) =>
    new Promise((resolve, reject) => {
      // position null: read from, and advance, the descriptor's current position.
      fsRead(fd, buffer, 0, buffer.length, null, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
    });
}

function handleReader(handle: FileHandle): Reader {
  return async (buffer) => (await handle.read(buffer, 0, buffer.length, null)).bytesRead;
}

export class FileSender implements IPullProducer {
  /** The most bytes read (and written) per resumeProducing(). */
  CHUNK_SIZE = 2 ** 14;
  /** The last byte written (after transform), as Twisted's lastSent; empty before any write. */
  lastSent: Buffer = EMPTY;
  /** Fires with lastSent when the whole file is sent; null once fired. */
  deferred: Deferred<Buffer> | null = null;
  consumer: IConsumer | null = null;
  transform: ((chunk: Buffer) => Bytes) | null = null;

  private reader: Promise<Reader> | null = null;
  private owned: FileHandle | null = null;
  private opening = false;
  private reading = false;
  private wanted = false;
  private finished = false;
  private released: Promise<void> = Promise.resolve();
  private markReleased: () => void = () => undefined;

  /**
   * Send `file` to `consumer`, each chunk passed through `transform` if given. Registers this
   * sender with the consumer as a pull producer; the consumer drives it with resumeProducing().
   *
   * The Deferred fires with the last byte sent once the file is sent, the producer is
   * unregistered and, when the sender opened the file, the file is closed. It fails with
   * FileTransferStopped if the consumer calls stopProducing() first, or with the error of a
   * failed open or read.
   */
  beginFileTransfer(file: FileSource, consumer: IConsumer, transform?: (chunk: Buffer) => Bytes): Deferred<Buffer> {
    this.consumer = consumer;
    this.transform = transform ?? null;
    const deferred = (this.deferred = new Deferred<Buffer>());
    this.released = new Promise((resolve) => (this.markReleased = resolve));
    if (typeof file === "string") {
      this.opening = true;
      this.reader = open(file, "r").then(
        (handle) => {
          this.opening = false;
          this.owned = handle;
          // Stopped while opening: no read will come to release the file, so release it now.
          if (this.finished) this.release();
          return handleReader(handle);
        },
        (err: unknown) => {
          this.opening = false;
          if (this.finished) this.release();
          throw err;
        },
      );
      // An open error is reported by the first read; keep it from being an unhandled rejection.
      this.reader.catch(() => undefined);
    } else if (typeof file === "number") {
      this.reader = Promise.resolve(fdReader(file));
    } else {
      this.reader = Promise.resolve(handleReader(file));
    }
    consumer.registerProducer(this, false);
    return deferred;
  }

  /** Read the next chunk and write it to the consumer; at the end of the file, finish. */
  resumeProducing(): void {
    if (this.finished || this.reader === null) return;
    if (this.reading) {
      this.wanted = true;
      return;
    }
    this.reading = true;
    void this.readChunk();
  }

  /** A pull producer is never paused; a consumer that does so is ignored, as in Twisted. */
  pauseProducing(): void {}

  /** The consumer wants no more: fail the Deferred and release the file if the sender opened it. */
  stopProducing(): void {
    if (this.finished) return;
    this.finished = true;
    const d = this.deferred;
    this.deferred = null;
    this.release();
    d?.errback(new Failure(new FileTransferStopped()));
  }

  /**
   * A Promise that resolves once the transfer is over (completed, failed or stopped) and the
   * file the sender opened, if any, is closed, including after a read or an open that was in
   * flight when it was stopped. For tests and orderly shutdown.
   */
  whenReleased(): Promise<void> {
    return this.released;
  }

  private async readChunk(): Promise<void> {
    let chunk: Buffer;
    try {
      const reader = await this.reader!;
      if (this.finished) return this.afterStoppedRead();
      const buffer = Buffer.allocUnsafe(this.CHUNK_SIZE);
      const n = await reader(buffer);
      if (this.finished) return this.afterStoppedRead();
      chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
    } catch (err) {
      if (this.finished) return this.afterStoppedRead();
      this.reading = false;
      return this.fail(err);
    }
    this.reading = false;
    if (chunk.length === 0) return this.complete();
    try {
      const out = this.transform ? this.transform(chunk) : chunk;
      this.consumer!.write(out);
      if (out.length) this.lastSent = Buffer.from(out.subarray(out.length - 1));
    } catch (err) {
      return this.fail(err);
    }
    if (this.wanted && !this.finished) {
      this.wanted = false;
      this.resumeProducing();
    }
  }

  private afterStoppedRead(): void {
    this.reading = false;
    this.release();
  }

  private async complete(): Promise<void> {
    this.finished = true;
    this.consumer!.unregisterProducer();
    await this.release();
    const d = this.deferred;
    this.deferred = null;
    d?.callback(this.lastSent);
  }

  private async fail(err: unknown): Promise<void> {
    this.finished = true;
    try {
      this.consumer!.unregisterProducer();
    } catch {
      // Already unregistered by the consumer: nothing more to undo.
    }
    await this.release();
    const d = this.deferred;
    this.deferred = null;
    d?.errback(Failure.from(err));
  }

  /** Close the file if the sender opened it, unless an open or a read in flight will call again. */
  private release(): Promise<void> {
    if (this.opening || this.reading) return this.released;
    const handle = this.owned;
    this.owned = null;
    if (handle === null) {
      this.markReleased();
    } else {
      handle.close().then(this.markReleased, this.markReleased);
    }
    return this.released;
  }
}
