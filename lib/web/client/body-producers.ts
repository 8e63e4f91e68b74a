/**
 * Request bodies: FileBodyProducer, as twisted.web.client.FileBodyProducer, which reads its
 * input a block at a time on a Cooperator (the global one by default), so a large upload shares
 * the reactor with everything else and pauses when the server reads slowly.
 */

import * as fs from "node:fs";
import { Deferred } from "../../internet/deferred.js";
import { TaskStopped } from "../../internet/error.js";
import type { Failure } from "../../internet/failure.js";
import type { IConsumer } from "../../internet/interfaces.js";
import { type CooperativeTask, type Cooperator, cooperate } from "../../internet/task.js";
import { type IBodyProducer, UNKNOWN_LENGTH, type UnknownLength } from "./iclient.js";

/** Something to read a body from, as the file object Twisted's FileBodyProducer takes. */
export interface BodySource {
  /** Up to `size` bytes; an empty result is the end. */
  read(size: number): Uint8Array;
  /** The bytes left to read, when known (Twisted seeks to find it); else the body is chunked. */
  readonly length?: number;
  /** Release the source (called at the end, or when the body is stopped). */
  close?(): void;
  /** Start again from the beginning, if the source can (so a 307 redirect can resend the body). */
  rewind?(): void;
}

/** A Buffer as a BodySource (Python's BytesIO). */
class BytesSource implements BodySource {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get length(): number {
    return this.bytes.length - this.offset;
  }
  rewind(): void {
    this.offset = 0;
  }
  read(size: number): Uint8Array {
    const chunk = this.bytes.subarray(this.offset, this.offset + size);
    this.offset += chunk.length;
    return chunk;
  }
}

/** An open file as a BodySource: its size from fstat, blocks read with readSync as Twisted reads its file. */
class FileSource implements BodySource {
  private fd: number | null;
  readonly length: number;
  constructor(path: string) {
    this.fd = fs.openSync(path, "r");
    this.length = fs.fstatSync(this.fd).size;
  }
  read(size: number): Uint8Array {
    if (this.fd === null) return new Uint8Array(0);
    const buffer = Buffer.allocUnsafe(size);
    const n = fs.readSync(this.fd, buffer, 0, size, null);
    return n === size ? buffer : buffer.subarray(0, n);
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Options of FileBodyProducer. */
export interface FileBodyProducerOptions {
  /** The Cooperator that schedules the reads (default: the global one). */
  cooperator?: Cooperator;
  /** Bytes read at a time (default 64 KiB, as Twisted's readSize = 2 ** 16). */
  readSize?: number;
}

export class FileBodyProducer implements IBodyProducer {
  readonly length: number | UnknownLength;
  private readonly source: BodySource;
  private readonly cooperator: Cooperator | null;
  private readonly readSize: number;
  private task: CooperativeTask<unknown> | null = null;

  /** A body read from `input`: bytes (a Buffer), or a BodySource. */
  constructor(input: Uint8Array | BodySource, options: FileBodyProducerOptions = {}) {
    this.source = input instanceof Uint8Array ? new BytesSource(input) : input;
    if (typeof this.source?.read !== "function") throw new TypeError("FileBodyProducer: the input must be bytes or have read(size)");
    this.length = typeof this.source.length === "number" ? this.source.length : UNKNOWN_LENGTH;
    this.cooperator = options.cooperator ?? null;
    this.readSize = options.readSize ?? 65536;
    if (!(Number.isInteger(this.readSize) && this.readSize > 0)) throw new RangeError(`FileBodyProducer: readSize must be a positive integer, not ${options.readSize}`);
  }

  /** A body read from the file at `path` (opened now: a missing file throws here). */
  static fromPath(path: string, options: FileBodyProducerOptions = {}): FileBodyProducer {
    return new FileBodyProducer(new FileSource(path), options);
  }

  private *writer(consumer: IConsumer): Generator<undefined> {
    try {
      for (;;) {
        const chunk = this.source.read(this.readSize);
        if (chunk.length === 0) return;
        consumer.write(chunk);
        yield undefined;
      }
    } finally {
      this.source.close?.();
    }
  }

  /**
   * Write the input to `consumer`; fires when it is all written. Stopped (stopProducing), the
   * Deferred never fires, as Twisted's: the request it belonged to is failing anyway.
   */
  startProducing(consumer: IConsumer): Deferred<undefined> {
    this.source.rewind?.();
    const iterator = this.writer(consumer);
    this.task = this.cooperator ? this.cooperator.cooperate(iterator) : cooperate(iterator);
    const done = new Deferred<undefined>();
    this.task.whenDone().addCallbacks(
      () => {
        done.callback(undefined);
        return null;
      },
      (failure: Failure) => {
        if (!failure.check(TaskStopped)) done.errback(failure);
        return null;
      },
    );
    return done;
  }

  /** Stop reading; the source is closed. */
  stopProducing(): void {
    try {
      this.task?.stop();
    } catch {
      // already finished
    }
    this.source.close?.();
  }

  pauseProducing(): void {
    try {
      this.task?.pause();
    } catch {
      // finished: nothing to pause
    }
  }

  resumeProducing(): void {
    try {
      this.task?.resume();
    } catch {
      // finished, or not paused
    }
  }
}
