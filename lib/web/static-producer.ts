/**
 * The producer that sends a static.File's bytes, and Range header parsing (RFC 9110 14), as
 * Twisted's StaticProducer family and File._parseRangeHeader / _rangeToOffsetAndSize.
 * Re-exported by static.ts.
 */

import type { FileHandle } from "node:fs/promises";
import { Failure } from "../internet/failure.js";
import type { IPushProducer } from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import type { IRequest } from "./iweb.js";

const log = new Logger("torsion.web.static");

/** One part of a response body: `prefix` bytes, then `size` bytes of the file from `offset`. */
export interface BodyPart {
  prefix: Buffer | null;
  offset: number;
  size: number;
}

/**
 * Sends parts of an open file to a request, as Twisted's StaticProducer and its
 * NoRange/SingleRange/MultipleRange subclasses (one class here: a plain response is one part,
 * a multipart one is several with boundaries as prefixes).
 *
 * A push producer: start() registers it (streaming) and starts reading; each chunk read is
 * written, then the next read starts unless the request paused it. At most one read is in
 * flight. When every part is sent it unregisters, finishes the request and closes the file.
 * stopProducing() (the client went away) closes the file, after the read in flight if any.
 */
export class StaticProducer implements IPushProducer {
  /**
   * Bytes per read. Twisted reads 64 KiB (abstract.FileDescriptor.bufferSize); each read here is
   * an asynchronous round trip to libuv's thread pool, so 256 KiB reads triple the throughput
   * (bench/web.ts) while the memory bound stays the transport's bufferSize plus one read.
   */
  bufferSize = 262144;
  request: IRequest | null;
  private handle: FileHandle | null;
  private readonly parts: BodyPart[];
  private partIndex = 0;
  private partSent = 0;
  private paused = false;
  private reading = false;
  private stopped = false;
  private closing: Promise<void> | null = null;

  constructor(request: IRequest, handle: FileHandle, parts: BodyPart[]) {
    this.request = request;
    this.handle = handle;
    this.parts = parts;
  }

  /** The parts this producer sends (for multipart: each with its boundary as prefix). */
  get rangeInfo(): readonly BodyPart[] {
    return this.parts;
  }

  /** Register with the request and start sending. */
  start(): void {
    const request = this.request;
    if (request === null) return;
    request.registerProducer(this, true);
    this.produce();
  }

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    if (this.stopped) return;
    this.paused = false;
    this.produce();
  }

  /** The consumer will take no more: drop the request and close the file (once). */
  stopProducing(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.request = null;
    if (!this.reading) this.close();
  }

  /** A promise settled once the file is closed (resolved at once if it never will be: not stopped yet). */
  whenClosed(): Promise<void> {
    return this.closing ?? Promise.resolve();
  }

  /** True once the file handle has been closed (or its close started). */
  get closed(): boolean {
    return this.handle === null;
  }

  private close(): void {
    const handle = this.handle;
    if (handle === null) return;
    this.handle = null;
    this.closing = handle.close().catch((err: unknown) => {
      log.failure("Error closing a file served by a StaticProducer", err);
    });
  }

  private produce(): void {
    while (!this.reading && !this.paused && !this.stopped) {
      const request = this.request!;
      const part = this.parts[this.partIndex];
      if (part === undefined) {
        this.done(request);
        return;
      }
      const want = Math.min(this.bufferSize, part.size - this.partSent);
      if (want <= 0) {
        // A part with no file bytes (the closing boundary): only its prefix.
        if (part.prefix !== null && part.prefix.length > 0) request.write(part.prefix);
        this.partIndex++;
        this.partSent = 0;
        continue;
      }
      this.reading = true;
      const buffer = Buffer.allocUnsafe(want);
      this.handle!.read(buffer, 0, want, part.offset + this.partSent).then(
        ({ bytesRead }) => this.onRead(buffer, bytesRead),
        (err: unknown) => this.onReadError(err),
      );
    }
  }

  private onRead(buffer: Buffer, bytesRead: number): void {
    this.reading = false;
    if (this.stopped) {
      this.close();
      return;
    }
    const request = this.request!;
    if (bytesRead === 0) {
      // The file shrank after its length was sent: the response cannot be completed.
      this.onReadError(new Error("File is shorter than when its response started"));
      return;
    }
    const part = this.parts[this.partIndex];
    let chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    if (this.partSent === 0 && part.prefix !== null) chunk = Buffer.concat([part.prefix, chunk]);
    this.partSent += bytesRead;
    if (this.partSent >= part.size) {
      this.partIndex++;
      this.partSent = 0;
    }
    request.write(chunk);
    this.produce();
  }

  private onReadError(err: unknown): void {
    this.reading = false;
    const request = this.request;
    this.stopped = true;
    this.request = null;
    this.close();
    if (request === null) return;
    request.unregisterProducer();
    request.processingFailed(Failure.from(err));
  }

  private done(request: IRequest): void {
    this.stopped = true;
    this.request = null;
    request.unregisterProducer();
    request.finish();
    this.close();
  }
}

/** One range of a Range header: start and end (inclusive) as written; either may be null. */
export type ByteRange = [number | null, number | null];

/** Parse a Range header value (RFC 9110 14.1.1); throws a RangeError when it is malformed. */
export function parseRangeHeader(value: string): ByteRange[] {
  const eq = value.indexOf("=");
  if (eq === -1) throw new RangeError("Missing '=' separator");
  const unit = value.slice(0, eq).trim();
  if (unit !== "bytes") throw new RangeError(`Unsupported Bytes-Unit: ${JSON.stringify(unit)}`);
  const ranges: ByteRange[] = [];
  for (const raw of value.slice(eq + 1).split(",")) {
    const spec = raw.trim();
    if (spec === "") continue;
    const dash = spec.indexOf("-");
    if (dash === -1) throw new RangeError(`Invalid Byte-Range: ${JSON.stringify(spec)}`);
    const startText = spec.slice(0, dash).trim();
    const endText = spec.slice(dash + 1).trim();
    const start = startText === "" ? null : parseDigits(startText, spec);
    const end = endText === "" ? null : parseDigits(endText, spec);
    if (start === null && end === null) throw new RangeError(`Invalid Byte-Range: ${JSON.stringify(spec)}`);
    if (start !== null && end !== null && start > end) throw new RangeError(`Invalid Byte-Range: ${JSON.stringify(spec)}`);
    ranges.push([start, end]);
  }
  if (ranges.length === 0) throw new RangeError("No ranges");
  return ranges;
}

function parseDigits(text: string, spec: string): number {
  if (!/^\d+$/.test(text)) throw new RangeError(`Invalid Byte-Range: ${JSON.stringify(spec)}`);
  return Number(text);
}

/**
 * [offset, size] of a range of a `fileSize`-byte file, or [0, 0] when it does not overlap the
 * file. A suffix range longer than the file is the whole file (RFC 9110 14.1.2).
 */
export function rangeToOffsetAndSize(range: ByteRange, fileSize: number): [number, number] {
  let [start, end] = range;
  if (start === null) {
    start = Math.max(0, fileSize - end!);
    end = fileSize;
  } else if (end === null || end >= fileSize) {
    end = fileSize;
  } else {
    end += 1;
  }
  if (start >= fileSize || end <= start) return [0, 0];
  return [start, end - start];
}

