/**
 * A request body: Request.content, the file-like object Twisted's Request.content is.
 *
 * Bytes are kept in memory until they pass `spillThreshold` (100 000 bytes by default, as
 * Twisted's _getContentFile), then moved to a temporary file. The file is unlinked as soon as
 * it is opened (as tempfile.TemporaryFile), so it disappears when closed or when the process
 * dies, and close() (called when the request ends or its connection is lost) releases it.
 *
 * File access is synchronous, as Python's file objects are in Twisted: reads and writes of a
 * body are small, local, and ordered with the parsing that produces them.
 */

import { closeSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export const DEFAULT_SPILL_THRESHOLD = 100_000;

const EMPTY = Buffer.alloc(0);

export class RequestContent {
  /** In-memory chunks, until spilled. */
  private chunks: Buffer[] | null = [];
  /** The one buffer reads use, joined lazily from `chunks`. */
  private joined: Buffer | null = null;
  private fd: number | null = null;
  private size = 0;
  private position = 0;
  private closedFlag = false;

  constructor(readonly spillThreshold: number = DEFAULT_SPILL_THRESHOLD) {}

  /** The number of bytes in the body. */
  get length(): number {
    return this.size;
  }

  /** True once the body lives in a temporary file. */
  get spilled(): boolean {
    return this.fd !== null;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Append bytes at the end, leaving the position there, as a file opened for appending. The bytes are copied. */
  write(data: Uint8Array): void {
    this.checkOpen();
    const n = data.length;
    if (n === 0) return;
    if (this.fd === null && this.size + n > this.spillThreshold) this.spill();
    if (this.fd !== null) {
      let off = 0;
      while (off < n) off += writeSync(this.fd, data, off, n - off, this.size + off);
    } else {
      this.chunks!.push(Buffer.from(data));
      this.joined = null;
    }
    this.size += n;
    this.position = this.size;
  }

  /** Move to `offset` (whence 0: from the start, 1: from here, 2: from the end). Returns the new position. */
  seek(offset: number, whence: 0 | 1 | 2 = 0): number {
    this.checkOpen();
    const base = whence === 0 ? 0 : whence === 1 ? this.position : this.size;
    const to = base + offset;
    if (to < 0) throw new RangeError(`negative seek position ${to}`);
    this.position = to;
    return to;
  }

  /** The current position. */
  tell(): number {
    return this.position;
  }

  /** Read up to `n` bytes from the current position (all the rest when n is omitted or negative). */
  read(n = -1): Buffer {
    this.checkOpen();
    const available = Math.max(0, this.size - this.position);
    const count = n < 0 ? available : Math.min(n, available);
    if (count === 0) return EMPTY;
    let out: Buffer;
    if (this.fd !== null) {
      out = Buffer.allocUnsafe(count);
      let off = 0;
      while (off < count) {
        const got = readSync(this.fd, out, off, count - off, this.position + off);
        if (got === 0) break;
        off += got;
      }
      if (off < count) out = out.subarray(0, off);
    } else {
      out = Buffer.from(this.memory().subarray(this.position, this.position + count));
    }
    this.position += out.length;
    return out;
  }

  /** The whole body, whatever the position (io.BytesIO.getvalue()). */
  getvalue(): Buffer {
    this.checkOpen();
    if (this.fd === null) return this.memory();
    const saved = this.position;
    this.position = 0;
    const all = this.read();
    this.position = saved;
    return all;
  }

  /** Release the memory or the temporary file. Further use raises. Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.chunks = null;
    this.joined = null;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      try {
        closeSync(fd);
      } catch {
        // already closed: nothing left to release
      }
    }
  }

  private memory(): Buffer {
    if (this.joined === null) {
      const chunks = this.chunks!;
      this.joined = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.size);
      this.chunks = [this.joined];
    }
    return this.joined;
  }

  private spill(): void {
    const path = join(tmpdir(), `torsion-body-${process.pid}-${randomBytes(8).toString("hex")}`);
    const fd = openSync(path, "wx+", 0o600);
    // Unlinked at once: the open descriptor keeps the data; nothing is left behind on any exit.
    unlinkSync(path);
    const current = this.size ? this.memory() : EMPTY;
    let off = 0;
    while (off < current.length) off += writeSync(fd, current, off, current.length - off, off);
    this.fd = fd;
    this.chunks = null;
    this.joined = null;
  }

  private checkOpen(): void {
    if (this.closedFlag) throw new Error("I/O operation on a closed request body");
  }
}
