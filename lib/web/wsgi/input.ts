/**
 * wsgi.input: the request body as the synchronous file-like object PEP 3333 describes
 * (read, readline, readlines, iteration), on the worker side of a WSGI response.
 *
 * The body has been received whole before the resource renders (as in Twisted, whose
 * Request.content is complete when render() runs). A small body (up to
 * INPUT_INLINE_LIMIT bytes) travels with the task and is read from memory; a larger one stays
 * on the main side (in memory or in its temporary file) and is read through the worker's thread
 * bridge (response.ts answers), one block at a time, so a large upload is never copied whole into every worker.
 *
 * Sizes follow Twisted's _InputStream: read(), read(null) and read(-1) read everything;
 * readline(size) stops after `size` bytes even mid-line (PEP 3333 leaves the argument out, but
 * libraries such as Python's cgi module use it); readlines(hint) reads lines until `hint` bytes.
 */

import type { WSGIInput } from "./application.js";

/** A body up to this many bytes is sent with the task. */
export const INPUT_INLINE_LIMIT = 64 * 1024;

/** How much a bridged read asks the main side for at least. */
const READ_BLOCK = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/** Reads `size` bytes of the body at `offset` from the main side (returns fewer only at its end). */
export type BodyFetcher = (offset: number, size: number) => Uint8Array;

function sizeOf(size: number | null | undefined): number {
  if (size === undefined || size === null) return -1;
  if (typeof size !== "number" || Number.isNaN(size)) throw new TypeError(`a size must be a number, not ${typeof size}`);
  return size < 0 ? -1 : Math.floor(size);
}

export class InputStream implements WSGIInput {
  /** Bytes fetched and not yet returned: buffered[at..]. */
  private buffered: Buffer;
  private at = 0;
  /** Bytes of the body fetched so far (buffered or returned). */
  private fetched: number;

  constructor(
    /** The body's length in bytes. */
    readonly length: number,
    body: Uint8Array | null,
    private readonly fetch: BodyFetcher | null,
  ) {
    this.buffered = body === null ? EMPTY : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this.fetched = this.buffered.length;
  }

  private get available(): number {
    return this.buffered.length - this.at;
  }

  private get atEnd(): boolean {
    return this.fetched >= this.length;
  }

  /** Fetch at least `want` more bytes (fewer at the end of the body). False when nothing is left. */
  private more(want: number): boolean {
    if (this.atEnd || this.fetch === null) return false;
    const size = Math.min(Math.max(want, READ_BLOCK), this.length - this.fetched);
    const got = this.fetch(this.fetched, size);
    if (got.length === 0) {
      // The main side has no more (its body was released): treat as the end.
      this.fetched = this.length;
      return false;
    }
    this.fetched += got.length;
    const rest = this.buffered.subarray(this.at);
    this.buffered = rest.length === 0 ? Buffer.from(got.buffer, got.byteOffset, got.byteLength) : Buffer.concat([rest, got]);
    this.at = 0;
    return true;
  }

  private take(n: number): Buffer {
    const out = Buffer.from(this.buffered.subarray(this.at, this.at + n));
    this.at += n;
    return out;
  }

  /** Up to `size` bytes (all that is left when size is omitted, null or negative). */
  read(size?: number | null): Buffer {
    let n = sizeOf(size);
    if (n < 0) {
      while (this.more(this.length - this.fetched));
      return this.take(this.available);
    }
    while (this.available < n && this.more(n - this.available));
    n = Math.min(n, this.available);
    return n === 0 ? EMPTY : this.take(n);
  }

  /** One line, its "\n" included (or up to `size` bytes of it); an empty Buffer at the end. */
  readline(size?: number | null): Buffer {
    const limit = sizeOf(size);
    let from = this.at;
    for (;;) {
      const nl = this.buffered.indexOf(10, from);
      if (nl !== -1) {
        const n = nl + 1 - this.at;
        return this.take(limit >= 0 ? Math.min(n, limit) : n);
      }
      if (limit >= 0 && this.available >= limit) return this.take(limit);
      const scanned = this.available;
      if (!this.more(READ_BLOCK)) return this.take(limit >= 0 ? Math.min(this.available, limit) : this.available);
      from = this.at + scanned;
    }
  }

  /** The remaining lines; with a positive `hint`, lines until about that many bytes are read. */
  readlines(hint?: number | null): Buffer[] {
    const limit = sizeOf(hint);
    const lines: Buffer[] = [];
    let total = 0;
    for (;;) {
      const line = this.readline();
      if (line.length === 0) return lines;
      lines.push(line);
      total += line.length;
      if (limit > 0 && total >= limit) return lines;
    }
  }

  *[Symbol.iterator](): Iterator<Buffer> {
    for (;;) {
      const line = this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }
}
