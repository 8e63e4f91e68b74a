/**
 * The worker side of WSGIResource: runs in a ThreadPool worker, calls the application as
 * application(environ, startResponse), iterates what it returns, and sends the output to the
 * main side (see wsgi.ts for the whole picture and wsgi-wire.ts for the shared state).
 *
 * The contract, as PEP 3333 in JavaScript form:
 * - The application returns an iterable of byte chunks (Uint8Array/Buffer), an async iterable
 *   of them (an async generator), or a Promise of either. A string chunk is a TypeError.
 * - startResponse(status, headers, excInfo?) validates as Twisted does and returns write(data).
 * - Each chunk is sent before the next is asked for ("completing the transmission of each
 *   bytestring before requesting another one"), and only when the transport has room: the
 *   worker blocks while the transport is paused (back-pressure, which Twisted lacks).
 * - Once the client is gone, no chunk is asked for beyond the one in flight (or, with the
 *   resource's onDisconnect "drain", the rest is asked for and discarded).
 * - close() of the iterable (and return() of its iterator, which runs a generator's finally
 *   blocks) is called exactly once, on every path that leaves this worker alive.
 *
 * A list (Array) of chunks totalling at most BATCH_LIMIT bytes is sent with the task's result,
 * in one message: nothing is computed between its chunks, so nothing is delayed by holding them.
 */

import { WorkerDied } from "../internet/error.js";
import { currentBridge, type BridgeClient } from "../internet/thread-bridge.js";
import { serializeError } from "../internet/thread-error.js";
import { InputStream } from "./wsgi-input.js";
import {
  ABANDONED,
  FLAGS,
  INFLIGHT,
  OP_ERRORS,
  OP_READ,
  OP_WRITE,
  PAUSED,
  SEQ,
  WIRE_NAME,
  type WSGIHeader,
  type WireEnviron,
  type WireError,
  type WireInput,
  type WireResult,
} from "./wsgi-wire.js";

/** A list-shaped response up to this many bytes travels with the task's result. */
export const BATCH_LIMIT = 64 * 1024;

/** Longest single wait, in milliseconds, before checking that the pool still has this worker. */
const WAIT_SLICE_MS = 500;

/** The write callable start_response returns. */
export type WSGIWrite = (data: Uint8Array) => void;

/** PEP 3333's start_response. excInfo is the error being handled (Python's exc_info()). */
export type StartResponse = (status: string, headers: WSGIHeader[], excInfo?: unknown) => WSGIWrite;

/** wsgi.errors: text written here is logged on the main side (as errors of the application). */
export interface WSGIErrors {
  write(text: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/** The environ an application receives: PEP 3333's keys, HTTP_* headers, and torsion's own. */
export interface WSGIEnviron {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  CONTENT_TYPE: string;
  CONTENT_LENGTH: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  "wsgi.version": [1, 0];
  "wsgi.url_scheme": "http" | "https";
  "wsgi.input": InputStream;
  "wsgi.errors": WSGIErrors;
  "wsgi.multithread": true;
  "wsgi.multiprocess": false;
  "wsgi.run_once": false;
  /** True once the client has gone away (or the server is stopping): a cheap, thread-safe check. */
  "torsion.disconnected": () => boolean;
  [key: string]: unknown;
}

/** What an application may return. */
export type WSGIBody = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** A WSGI application, as it is exported by its module and called in a worker. */
export type WSGIApplication = (environ: WSGIEnviron, startResponse: StartResponse) => WSGIBody | PromiseLike<WSGIBody>;

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

// --- loading applications -------------------------------------------------------------

const applications = new Map<string, WSGIApplication>();

async function loadApplication(module: string, exportName: string, key: string): Promise<WSGIApplication> {
  const namespace = (await import(module)) as Record<string, unknown>;
  const app = namespace[exportName];
  if (typeof app !== "function") {
    throw new TypeError(
      app === undefined
        ? `the WSGI application module ${module} has no export named ${JSON.stringify(exportName)}`
        : `export ${JSON.stringify(exportName)} of ${module} is not a function, so it cannot be a WSGI application`,
    );
  }
  applications.set(key, app as WSGIApplication);
  return app as WSGIApplication;
}

// --- describing values in messages ------------------------------------------------------

function repr(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "..." : value);
  if (value instanceof Uint8Array) return `<${value.constructor.name} of ${value.length} bytes>`;
  if (Array.isArray(value)) return `[${value.map(repr).join(", ")}]`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") {
    const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
    return `<${typeof tag === "string" ? tag : (value.constructor?.name ?? "Object")}>`;
  }
  return String(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return value.constructor.name;
  if (Array.isArray(value)) return "Array";
  if (typeof value === "object") return value.constructor?.name ?? "Object";
  return typeof value;
}

function notBytes(value: unknown, what: string): TypeError {
  if (typeof value === "string") {
    return new TypeError(
      `${what} must be bytes (a Uint8Array or Buffer), not a string: encode it, e.g. with new TextEncoder().encode(text) or Buffer.from(text)`,
    );
  }
  return new TypeError(`${what} must be bytes (a Uint8Array or Buffer), not ${repr(value)} (${typeName(value)})`);
}

// --- start_response's checks (twisted.web.wsgi._WSGIResponse.startResponse) ----------------

const STATUS = /^[1-9][0-9]{2} [^\r\n\0]*$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\r\n\0]|[^\u0000-\u00ff]/;

function checkStatus(status: unknown): string {
  if (typeof status !== "string") throw new TypeError(`status must be a string like "200 OK", not ${repr(status)} (${typeName(status)})`);
  if (!STATUS.test(status)) throw new TypeError(`status must be a string like "200 OK" (three digits, a space, a reason), not ${repr(status)}`);
  return status;
}

function checkHeaders(headers: unknown): WSGIHeader[] {
  if (!Array.isArray(headers)) {
    throw new TypeError(`headers must be an array of [name, value] pairs, not ${repr(headers)} (${typeName(headers)})`);
  }
  const out: WSGIHeader[] = new Array(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const header: unknown = headers[i];
    if (!Array.isArray(header) || header.length !== 2) {
      throw new TypeError(`header must be a [name, value] pair of strings, not ${repr(header)}`);
    }
    const [name, value] = header as unknown[];
    if (typeof name !== "string" || typeof value !== "string") {
      throw new TypeError(`header must be a [name, value] pair of strings, not ${repr(header)}`);
    }
    if (!TOKEN.test(name)) throw new TypeError(`header name ${repr(name)} is not a valid HTTP token`);
    if (BAD_VALUE.test(value)) {
      throw new TypeError(`header value ${repr(value)} of ${name} holds CR, LF, NUL or characters above U+00FF (PEP 3333: latin1 only)`);
    }
    out[i] = [name, value];
  }
  return out;
}

/** A view that covers only part of its buffer is copied: structured clone would send all of it. */
function exact(chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
}

// --- one response -------------------------------------------------------------------------

class Run {
  readonly words: Int32Array;
  readonly bridge: BridgeClient;
  status: string | null = null;
  headers: WSGIHeader[] | null = null;
  /** The head has been posted to the main side. */
  started = false;
  /** Something was posted that the main side must handle before the task returns. */
  posted = false;
  readonly result: WireResult = { status: null, headers: null, chunks: null, error: null, stopped: false, drained: false, closed: false };
  readonly startResponse: StartResponse;
  readonly write: WSGIWrite;

  constructor(
    readonly id: number,
    shared: SharedArrayBuffer,
    readonly drain: boolean,
  ) {
    const bridge = currentBridge();
    if (bridge === undefined) throw new Error("a WSGI application runs only in a torsion pool worker (WSGIResource starts it there)");
    this.bridge = bridge;
    this.words = new Int32Array(shared);
    this.write = (data) => this.writeCallable(data);
    this.startResponse = (status, headers, excInfo) => this.start(status, headers, excInfo);
  }

  environ(wire: WireEnviron, input: WireInput): WSGIEnviron {
    const environ = wire as unknown as WSGIEnviron;
    const fetch = input.body === null && input.length > 0 ? (offset: number, size: number) => this.read(offset, size) : null;
    environ["wsgi.input"] = new InputStream(input.length, input.body, fetch);
    environ["wsgi.errors"] = new ErrorStream(this);
    const words = this.words;
    environ["torsion.disconnected"] = () => Atomics.load(words, FLAGS) !== 0;
    return environ;
  }

  gone(): boolean {
    return Atomics.load(this.words, FLAGS) !== 0;
  }

  start(status: unknown, headers: unknown, excInfo?: unknown): WSGIWrite {
    // PEP 3333: with exc_info after the head went out, re-raise it; before, replace the head.
    if (excInfo !== undefined && excInfo !== null && this.started) throw excInfo;
    this.status = checkStatus(status);
    this.headers = checkHeaders(headers);
    return this.write;
  }

  post(args: unknown[]): void {
    if ((Atomics.load(this.words, FLAGS) & ABANDONED) !== 0) return;
    Atomics.add(this.words, INFLIGHT, 1);
    this.posted = true;
    this.bridge.post(WIRE_NAME, args);
  }

  /** Send one non-empty chunk once the transport has room. False if the client is gone. */
  send(chunk: Uint8Array): boolean {
    if (!this.waitForRoom()) return false;
    this.postChunk(chunk);
    return true;
  }

  postChunk(chunk: Uint8Array): void {
    if (this.started) {
      this.post([this.id, OP_WRITE, exact(chunk)]);
    } else {
      if (this.status === null) throw new Error("the application produced body bytes before it called start_response");
      this.started = true;
      this.post([this.id, OP_WRITE, exact(chunk), this.status, this.headers]);
    }
  }

  /** The write callable: as Twisted's, it sends the head even for empty data. */
  writeCallable(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw notBytes(data, "the data given to write()");
    if (this.status === null) throw new Error("write() was called before start_response");
    if (data.length === 0 && this.started) return;
    if (!this.waitForRoom()) return;
    this.postChunk(data);
  }

  /**
   * Block until the main side has handled every operation posted and the transport is not
   * paused. False (at once) when the client is gone or the server is stopping.
   */
  waitForRoom(): boolean {
    const words = this.words;
    for (;;) {
      const seq = Atomics.load(words, SEQ);
      if (Atomics.load(words, FLAGS) !== 0) return false;
      if (Atomics.load(words, PAUSED) === 0 && Atomics.load(words, INFLIGHT) === 0) return true;
      this.checkBridge();
      Atomics.wait(words, SEQ, seq, WAIT_SLICE_MS);
    }
  }

  async waitForRoomAsync(): Promise<boolean> {
    const words = this.words;
    for (;;) {
      const seq = Atomics.load(words, SEQ);
      if (Atomics.load(words, FLAGS) !== 0) return false;
      if (Atomics.load(words, PAUSED) === 0 && Atomics.load(words, INFLIGHT) === 0) return true;
      this.checkBridge();
      // waitAsync lets the application's own pending I/O go on while the transport drains.
      const waiting = Atomics.waitAsync(words, SEQ, seq, WAIT_SLICE_MS);
      if (waiting.async) await waiting.value;
    }
  }

  /** Before the result goes back (on another port): every posted operation has been handled. */
  waitForHandled(): void {
    if (!this.posted) return;
    const words = this.words;
    for (;;) {
      const seq = Atomics.load(words, SEQ);
      if (Atomics.load(words, INFLIGHT) === 0 || (Atomics.load(words, FLAGS) & ABANDONED) !== 0) return;
      this.checkBridge();
      Atomics.wait(words, SEQ, seq, WAIT_SLICE_MS);
    }
  }

  checkBridge(): void {
    if (this.bridge.closed) throw new WorkerDied("the pool closed this worker's channel while a WSGI response waited");
  }

  read(offset: number, size: number): Uint8Array {
    return this.bridge.call(WIRE_NAME, [this.id, OP_READ, offset, size]) as Uint8Array;
  }

  fail(err: unknown): void {
    if (this.result.error === null) this.result.error = serializeError(err) as WireError;
  }

  finish(): WireResult {
    this.waitForHandled();
    const result = this.result;
    if (!this.started) {
      result.status = this.status;
      result.headers = this.headers;
    }
    if (result.error === null && result.status === null && !this.started && !result.stopped && !result.drained) {
      result.error = serializeError(new Error("the application returned without calling start_response")) as WireError;
    }
    return result;
  }
}

class ErrorStream implements WSGIErrors {
  constructor(private readonly run: Run) {}

  write(text: string): void {
    if (typeof text !== "string") throw new TypeError(`wsgi.errors.write() argument must be a string, not ${repr(text)} (${typeName(text)})`);
    this.run.post([this.run.id, OP_ERRORS, text]);
  }

  writelines(lines: Iterable<string>): void {
    let text = "";
    for (const line of lines) {
      if (typeof line !== "string") throw new TypeError(`wsgi.errors.writelines() takes strings, not ${repr(line)} (${typeName(line)})`);
      text += line;
    }
    this.write(text);
  }

  /** Nothing is buffered here: each write is already on its way. */
  flush(): void {}
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

function checkBody(body: unknown): void {
  if (typeof body === "string") {
    throw new TypeError("the application returned a string: return an iterable of byte chunks instead, e.g. [new TextEncoder().encode(text)]");
  }
  if (body === null || typeof body !== "object" || (!(Symbol.iterator in body) && !(Symbol.asyncIterator in body))) {
    throw new TypeError(`the application must return an iterable of byte chunks (Uint8Array), not ${repr(body)} (${typeName(body)})`);
  }
}

// --- close(), exactly once -------------------------------------------------------------------

type Closable = { close?: () => unknown };

/** Call return() on the iterator (a generator's finally blocks run) and close() on the iterable. */
function closeSync(run: Run, body: object, iterator: AnyIterator | null): void {
  const close = (body as Closable).close;
  try {
    if (iterator !== null && typeof iterator.return === "function" && (iterator !== body || typeof close !== "function")) {
      run.result.closed = true;
      iterator.return();
    }
  } catch (err) {
    run.fail(err);
  }
  try {
    if (typeof close === "function") {
      run.result.closed = true;
      close.call(body);
    }
  } catch (err) {
    run.fail(err);
  }
}

async function closeAsync(run: Run, body: object, iterator: AnyIterator | null): Promise<void> {
  const close = (body as Closable).close;
  try {
    if (iterator !== null && typeof iterator.return === "function" && (iterator !== body || typeof close !== "function")) {
      run.result.closed = true;
      await iterator.return();
    }
  } catch (err) {
    run.fail(err);
  }
  try {
    if (typeof close === "function") {
      run.result.closed = true;
      await close.call(body);
    }
  } catch (err) {
    run.fail(err);
  }
}

// --- iterating -----------------------------------------------------------------------------

/** A small list of chunks: checked and returned with the result, in one message. */
function batched(run: Run, body: unknown[]): boolean {
  let total = 0;
  for (let i = 0; i < body.length; i++) {
    const chunk = body[i];
    if (!(chunk instanceof Uint8Array)) return false;
    total += chunk.length;
    if (total > BATCH_LIMIT) return false;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < body.length; i++) {
    const chunk = body[i] as Uint8Array;
    if (chunk.length > 0) chunks.push(exact(chunk));
  }
  if (chunks.length > 0 && run.status === null) throw new Error("the application produced body bytes before it called start_response");
  run.result.chunks = chunks;
  return true;
}

function iterateSync(run: Run, body: Iterable<unknown>): WireResult {
  let iterator: Iterator<unknown> | null = null;
  try {
    if (Array.isArray(body) && !run.gone() && batched(run, body)) return run.finish();
    iterator = body[Symbol.iterator]();
    let draining = false;
    for (;;) {
      if (!draining && run.gone()) {
        if (!run.drain) {
          run.result.stopped = true;
          break;
        }
        draining = true;
      }
      const step = iterator.next();
      if (step.done) break;
      const chunk = step.value;
      if (!(chunk instanceof Uint8Array)) throw notBytes(chunk, "each chunk the application yields");
      if (chunk.length === 0 || draining) continue;
      if (!run.send(chunk) && !run.drain) {
        run.result.stopped = true;
        break;
      }
    }
    if (draining || (run.drain && run.gone())) run.result.drained = true;
  } catch (err) {
    run.fail(err);
  }
  closeSync(run, body as object, iterator);
  return run.finish();
}

async function iterateAsync(run: Run, body: AsyncIterable<unknown> | Iterable<unknown>): Promise<WireResult> {
  let iterator: AnyIterator | null = null;
  try {
    iterator =
      Symbol.asyncIterator in body ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (body as Iterable<unknown>)[Symbol.iterator]();
    let draining = false;
    for (;;) {
      if (!draining && run.gone()) {
        if (!run.drain) {
          run.result.stopped = true;
          break;
        }
        draining = true;
      }
      const step = await iterator.next();
      if (step.done) break;
      const chunk = step.value;
      if (!(chunk instanceof Uint8Array)) throw notBytes(chunk, "each chunk the application yields");
      if (chunk.length === 0 || draining) continue;
      if (!(await run.waitForRoomAsync())) {
        if (!run.drain) {
          run.result.stopped = true;
          break;
        }
        continue;
      }
      run.postChunk(chunk);
    }
    if (draining || (run.drain && run.gone())) run.result.drained = true;
  } catch (err) {
    run.fail(err);
  }
  await closeAsync(run, body as object, iterator);
  return run.finish();
}

function runApplication(run: Run, app: WSGIApplication, environ: WSGIEnviron): WireResult | Promise<WireResult> {
  let body: unknown;
  try {
    body = app(environ, run.startResponse);
  } catch (err) {
    run.fail(err);
    return run.finish();
  }
  if (isThenable(body)) {
    return Promise.resolve(body).then(
      (resolved) => {
        try {
          checkBody(resolved);
        } catch (err) {
          run.fail(err);
          return run.finish();
        }
        return iterateAsync(run, resolved as AsyncIterable<unknown>);
      },
      (err: unknown) => {
        run.fail(err);
        return run.finish();
      },
    );
  }
  try {
    checkBody(body);
  } catch (err) {
    run.fail(err);
    return run.finish();
  }
  if (!(Symbol.iterator in (body as object))) return iterateAsync(run, body as AsyncIterable<unknown>);
  return iterateSync(run, body as Iterable<unknown>);
}

/**
 * The task WSGIResource runs in a pool worker for each request (not for applications to call).
 * Synchronous when the application is loaded and returns a synchronous iterable.
 */
export function runWSGI(
  module: string,
  exportName: string,
  environ: WireEnviron,
  input: WireInput,
  shared: SharedArrayBuffer,
  id: number,
  drain: boolean,
): WireResult | Promise<WireResult> {
  const run = new Run(id, shared, drain);
  const env = run.environ(environ, input);
  const key = module + "\0" + exportName;
  const app = applications.get(key);
  if (app !== undefined) return runApplication(run, app, env);
  return loadApplication(module, exportName, key).then(
    (loaded) => runApplication(run, loaded, env),
    (err: unknown) => {
      run.fail(err);
      return run.finish();
    },
  );
}
