/**
 * The channel of one WSGI response between its worker and the main thread: a ring of bytes in
 * a SharedArrayBuffer that carries, in order, everything the worker sends (the head, body
 * chunks, wsgi.errors text, and last the result), plus the words the main side sets for the
 * worker (the client is gone, the server is stopping).
 *
 * One channel, so order needs no bookkeeping: the main side reads records in the order they
 * were written, and the result is the last of them. No message and no structured clone per
 * chunk: the worker copies a chunk into the ring, the main side copies it out.
 *
 * Flow control is the ring's size: the main side reads only while the transport has room (it
 * is the request's push producer), so when the client reads slowly the ring fills and the
 * worker blocks (Atomics.wait) before its next chunk. The server holds at most the transport's
 * buffer plus the ring. RESERVE bytes are always left free by every record but the last, so
 * the result can always be written, whatever the main side is doing: the worker never waits
 * on a channel the main side has given up on.
 *
 * Wake-ups: the worker bumps WRITE and notifies it when it is about to do something that may
 * take time (call the application again, block, close); the main side waits for that with
 * Atomics.waitAsync (no message). The main side bumps WAKE and notifies it when it has made
 * room or set a flag; the worker waits on it in bounded slices.
 *
 * Dependency-free: the worker side loads nothing of the web layer through it.
 */

/** Int32 words at the start of the buffer. */
const WRITE = 0; // bytes written, ever (wraps at 2^32): the worker's
const READ = 1; // bytes read, ever: the main side's
const FLAGS = 2; // GONE bits, set by the main side
const WAKE = 3; // bumped by the main side after READ or FLAGS change
const HEADER_BYTES = 32;

/** FLAGS bits. */
/** The client went away (HTTPChannel.stopProducing stopped this response). */
export const DISCONNECTED = 1;
/** The server is stopping, or the response's time budget ended before it started. */
export const STOPPING = 2;

/** Bytes of ring in a channel: a power of two. */
export const CAPACITY = 256 * 1024;
/** Bytes kept free for the last record (the result). */
export const RESERVE = 16 * 1024;
/** The largest payload of one record; a larger chunk is sent as several. */
export const MAX_PAYLOAD = 64 * 1024;

/** What a record is. */
export const HEAD = 1; // latin1: status \0 name \0 value ...
export const CHUNK = 2; // body bytes (may be empty: write(b"") sends the head)
export const ERRORS = 3; // UTF-8 text written to wsgi.errors
export const RESULT = 4; // the end of the response (wire.ts encodes it)

const RECORD_HEADER = 8;

function recordSize(length: number): number {
  return RECORD_HEADER + ((length + 7) & ~7);
}

/** A new channel's memory (the main side allocates it and sends it with the task). */
export function allocateChannel(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + CAPACITY);
}

/** Ready a used channel for another response. */
export function resetChannel(buffer: SharedArrayBuffer): void {
  const words = new Int32Array(buffer, 0, 4);
  Atomics.store(words, WRITE, 0);
  Atomics.store(words, READ, 0);
  Atomics.store(words, FLAGS, 0);
  Atomics.store(words, WAKE, 0);
}

abstract class ChannelSide {
  protected readonly words: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly data32: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, 4);
    this.bytes = new Uint8Array(buffer, HEADER_BYTES, CAPACITY);
    this.data32 = new Int32Array(buffer, HEADER_BYTES, CAPACITY / 4);
  }

  /** The GONE bits: non-zero once the worker should stop. */
  get flags(): number {
    return Atomics.load(this.words, FLAGS);
  }

  protected used(): number {
    return (Atomics.load(this.words, WRITE) - Atomics.load(this.words, READ)) >>> 0;
  }
}

// --- the worker side ------------------------------------------------------------------------

/** The worker's half: writes records, waits for room. */
export class ChannelWriter extends ChannelSide {
  /** Records written since the last notify. */
  private unflushed = false;

  /** Bytes a record of `length` may use now (RESERVE kept back unless `last`). */
  hasRoom(length: number, last = false): boolean {
    return CAPACITY - this.used() - (last ? 0 : RESERVE) >= recordSize(length);
  }

  /** Append one record (the caller has checked hasRoom). */
  put(kind: number, payload: Uint8Array): void {
    const length = payload.length;
    const write = Atomics.load(this.words, WRITE);
    const at = write & (CAPACITY - 1);
    this.data32[at >> 2] = kind;
    this.data32[(at >> 2) + 1] = length;
    let p = (at + RECORD_HEADER) & (CAPACITY - 1);
    const first = Math.min(length, CAPACITY - p);
    this.bytes.set(first === length ? payload : payload.subarray(0, first), p);
    if (first < length) this.bytes.set(payload.subarray(first), 0);
    Atomics.store(this.words, WRITE, (write + recordSize(length)) | 0);
    this.unflushed = true;
  }

  /** Tell a waiting main side that records are there. */
  flush(): void {
    if (!this.unflushed) return;
    this.unflushed = false;
    Atomics.notify(this.words, WRITE);
  }

  /** The WAKE word to wait on: read it before checking conditions, then wait(seen). */
  wakeSeen(): number {
    return Atomics.load(this.words, WAKE);
  }

  /** Block until WAKE moves from `seen` (or `ms` pass). */
  wait(seen: number, ms: number): void {
    this.flush();
    Atomics.wait(this.words, WAKE, seen, ms);
  }

  /** As wait(), without blocking the worker's event loop (for asynchronous applications). */
  async waitAsync(seen: number, ms: number): Promise<void> {
    this.flush();
    const waiting = Atomics.waitAsync(this.words, WAKE, seen, ms);
    if (waiting.async) await waiting.value;
  }
}

// --- the main side --------------------------------------------------------------------------

/** The main side's half: reads records, makes room, sets flags, waits for records. */
export class ChannelReader extends ChannelSide {
  /** Where the next record starts (READ is stored when records are released). */
  private at: number;
  /** The kind and payload of the record last taken by next(). */
  kind = 0;
  private length = 0;
  private payloadAt = 0;

  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.at = Atomics.load(this.words, READ);
  }

  /** Take the next record, if one is there: true, with `kind` and payload() set. */
  next(): boolean {
    const write = Atomics.load(this.words, WRITE);
    if (write === this.at) return false;
    const p = this.at & (CAPACITY - 1);
    this.kind = this.data32[p >> 2];
    this.length = this.data32[(p >> 2) + 1];
    this.payloadAt = (p + RECORD_HEADER) & (CAPACITY - 1);
    this.at = (this.at + recordSize(this.length)) | 0;
    return true;
  }

  /** The payload of the record taken, copied out of the ring. */
  payload(): Buffer {
    const length = this.length;
    const p = this.payloadAt;
    const first = Math.min(length, CAPACITY - p);
    const out = Buffer.allocUnsafe(length);
    out.set(this.bytes.subarray(p, p + first), 0);
    if (first < length) out.set(this.bytes.subarray(0, length - first), first);
    return out;
  }

  /** The payload as a latin1 string. */
  latin1(): string {
    return this.payload().toString("latin1");
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return this.payload().toString("utf8");
  }

  /** Give the space of the records taken back to the worker (and wake it if it waits for room). */
  release(): void {
    if (Atomics.load(this.words, READ) === this.at) return;
    Atomics.store(this.words, READ, this.at);
    this.wakeWorker();
  }

  /** Set FLAGS bits and wake the worker. */
  setFlags(bits: number): void {
    Atomics.or(this.words, FLAGS, bits);
    this.wakeWorker();
  }

  private wakeWorker(): void {
    Atomics.add(this.words, WAKE, 1);
    Atomics.notify(this.words, WAKE);
  }

  /**
   * Call `then` once the worker has written past what was read (at once if it has). Without
   * a message: Atomics.waitAsync on WRITE, which the worker notifies.
   */
  whenWritten(then: () => void): void {
    const waiting = Atomics.waitAsync(this.words, WRITE, this.at);
    if (waiting.async) void waiting.value.then(then);
    else queueMicrotask(then);
  }

  /** End a pending whenWritten() wait (its callback runs, and should find nothing to do). */
  cancelWait(): void {
    Atomics.notify(this.words, WRITE);
  }
}
