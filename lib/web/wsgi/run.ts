/**
 * The worker side of WSGIResource: the task it runs in a ThreadPool worker for each request.
 * It calls the application as application(environ, startResponse), iterates what it returns,
 * and writes the head, the chunks and last the result into the response's channel
 * (channel.ts), which the main side (response.ts) reads in order.
 *
 * The contract (application.ts), as PEP 3333 in JavaScript form:
 * - The application returns an iterable of byte chunks (Uint8Array/Buffer), an async iterable
 *   of them (an async generator), or a Promise of either. A string chunk is a TypeError.
 * - startResponse(status, headers, excInfo?) validates as Twisted does and returns write(data).
 * - A chunk goes into the channel before the next is asked for, and only when the channel has
 *   room: while the client reads slowly the main side stops reading the channel and the worker
 *   blocks (back-pressure, which Twisted lacks).
 * - The iterator is asked for its next chunk before the disconnect is checked, so a response
 *   whose client left after the last byte is counted completed. Once the client is gone, the
 *   chunk in hand is dropped and nothing more is asked for (or, with the resource's
 *   onDisconnect "drain", the rest is asked for and discarded).
 * - close() of the iterable (and return() of its iterator, which runs a generator's finally
 *   blocks) is called exactly once, on every path that leaves this worker alive.
 */

import { WorkerDied } from "../../internet/error.js";
import { currentBridge, type BridgeClient } from "../../internet/thread-bridge.js";
import { serializeError } from "../../internet/thread-error.js";
import type { StartResponse, WSGIApplication, WSGIEnviron, WSGIErrors, WSGIHeader, WSGIWrite } from "./application.js";
import { CHUNK, ChannelWriter, ERRORS, HEAD, MAX_PAYLOAD, RESERVE, RESULT } from "./channel.js";
import { InputStream } from "./input.js";
import { checkBody, checkHeaders, checkStatus, notBytes, repr, typeName } from "./validation.js";
import { WIRE_NAME, decodeEnviron, encodeHead, encodeResult, type WireEnviron, type WireError, type WireInput, type WireResult } from "./wire.js";
import { isThenable } from "../../internet/thenable.js";

/** Longest single wait, in milliseconds, before checking that the pool still has this worker. */
const WAIT_SLICE_MS = 500;

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

// --- one response -------------------------------------------------------------------------

class Run {
  readonly channel: ChannelWriter;
  readonly bridge: BridgeClient;
  status: string | null = null;
  headers: WSGIHeader[] | null = null;
  /** The head is in the channel. */
  started = false;
  readonly result: WireResult = { error: null, stopped: false, drained: false, closed: false };
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
    this.channel = new ChannelWriter(shared);
    this.write = (data) => this.writeCallable(data);
    this.startResponse = (status, headers, excInfo) => this.start(status, headers, excInfo);
  }

  environ(wire: WireEnviron, input: WireInput, urlScheme: string): WSGIEnviron {
    const environ = {
      "wsgi.version": [1, 0],
      "wsgi.url_scheme": urlScheme,
      "wsgi.run_once": false,
      "wsgi.multithread": true,
      "wsgi.multiprocess": false,
    } as unknown as WSGIEnviron;
    decodeEnviron(wire, environ);
    const fetch = input.body === null && input.length > 0 ? (offset: number, size: number) => this.read(offset, size) : null;
    environ["wsgi.input"] = new InputStream(input.length, input.body, fetch);
    environ["wsgi.errors"] = new ErrorStream(this);
    const channel = this.channel;
    environ["torsion.disconnected"] = () => channel.flags !== 0;
    return environ;
  }

  gone(): boolean {
    return this.channel.flags !== 0;
  }

  start(status: unknown, headers: unknown, excInfo?: unknown): WSGIWrite {
    // PEP 3333: with exc_info after the head went out, re-raise it; before, replace the head.
    if (excInfo !== undefined && excInfo !== null && this.started) throw excInfo;
    this.status = checkStatus(status);
    this.headers = checkHeaders(headers);
    return this.write;
  }

  /** Put one record in once there is room. False (nothing written) once the client is gone. */
  private put(kind: number, payload: Uint8Array): boolean {
    const channel = this.channel;
    for (;;) {
      const seen = channel.wakeSeen();
      if (channel.flags !== 0) return false;
      if (channel.hasRoom(payload.length)) break;
      this.checkBridge();
      channel.wait(seen, WAIT_SLICE_MS);
    }
    channel.put(kind, payload);
    return true;
  }

  /** Send one chunk (the head first, the first time). False if the client is gone. */
  send(chunk: Uint8Array): boolean {
    if (!this.started) {
      if (this.status === null) throw new Error("the application produced body bytes before it called start_response");
      if (!this.put(HEAD, Buffer.from(encodeHead(this.status, this.headers!), "latin1"))) return false;
      this.started = true;
    }
    if (chunk.length <= MAX_PAYLOAD) return this.put(CHUNK, chunk);
    for (let at = 0; at < chunk.length; at += MAX_PAYLOAD) {
      if (!this.put(CHUNK, chunk.subarray(at, at + MAX_PAYLOAD))) return false;
    }
    return true;
  }

  /** The write callable: as Twisted's, it sends the head even for empty data. */
  writeCallable(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw notBytes(data, "the data given to write()");
    if (this.status === null) throw new Error("write() was called before start_response");
    if (data.length === 0 && this.started) return;
    this.send(data);
    // The application goes on: what it wrote must not wait for its next chunk.
    this.channel.flush();
  }

  /** As the loop of put(), for asynchronous applications: their own I/O goes on meanwhile. */
  async roomAsync(length: number): Promise<boolean> {
    const channel = this.channel;
    for (;;) {
      const seen = channel.wakeSeen();
      if (channel.flags !== 0) return false;
      // Room for the head and the chunk's first record: send() then does not block.
      if (channel.hasRoom(Math.min(length, MAX_PAYLOAD) + (this.started ? 0 : 8192))) return true;
      this.checkBridge();
      await channel.waitAsync(seen, WAIT_SLICE_MS);
    }
  }

  /** As put(), and once the client is gone still written if there is room (else dropped). */
  private putAnyway(kind: number, payload: Uint8Array): void {
    if (!this.put(kind, payload) && this.channel.hasRoom(payload.length)) this.channel.put(kind, payload);
  }

  /** wsgi.errors text, in order with the body (cut to MAX_PAYLOAD bytes). */
  errors(text: string): void {
    const payload = Buffer.from(text, "utf8");
    this.putAnyway(ERRORS, payload.length > MAX_PAYLOAD ? payload.subarray(0, MAX_PAYLOAD) : payload);
    this.channel.flush();
  }

  checkBridge(): void {
    if (this.bridge.closed) throw new WorkerDied("the pool closed this worker's channel while a WSGI response waited");
  }

  read(offset: number, size: number): Uint8Array {
    return this.bridge.call(WIRE_NAME, [this.id, offset, size]) as Uint8Array;
  }

  fail(err: unknown): void {
    if (this.result.error === null) this.result.error = serializeError(err) as WireError;
  }

  /** Write the last record: a head not sent yet, then the result. */
  finish(): void {
    const result = this.result;
    if (result.error === null && !this.started && !result.stopped && !result.drained) {
      if (this.status === null) {
        result.error = serializeError(new Error("the application returned without calling start_response")) as WireError;
      } else {
        // The head of a response with no body bytes: sent even while the server stops.
        this.putAnyway(HEAD, Buffer.from(encodeHead(this.status, this.headers!), "latin1"));
        this.started = true;
      }
    }
    // The reserve holds it: never a wait here, whatever the main side does.
    const payload = Buffer.from(encodeResult(result, (RESERVE - 64) / 3), "utf8");
    this.channel.put(RESULT, payload);
    // No notify: the pool's answer to the task follows, and the main side reads then.
  }
}

class ErrorStream implements WSGIErrors {
  constructor(private readonly run: Run) {}

  write(text: string): void {
    if (typeof text !== "string") throw new TypeError(`wsgi.errors.write() argument must be a string, not ${repr(text)} (${typeName(text)})`);
    this.run.errors(text);
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

function iterateSync(run: Run, body: Iterable<unknown>): void {
  let iterator: Iterator<unknown> | null = null;
  // An array's iterator runs no application code: what it yields can wait for the result.
  const calls = !Array.isArray(body);
  try {
    iterator = body[Symbol.iterator]();
    let draining = false;
    for (;;) {
      if (calls) run.channel.flush();
      // Asked before the disconnect is checked: the last chunk delivered means completed.
      const step = iterator.next();
      if (step.done) break;
      const chunk = step.value;
      if (!(chunk instanceof Uint8Array)) throw notBytes(chunk, "each chunk the application yields");
      if (draining) continue;
      if (run.gone() || (chunk.length > 0 && !run.send(chunk))) {
        if (!startDraining(run)) break;
        draining = true;
      }
    }
  } catch (err) {
    run.fail(err);
  }
  run.channel.flush();
  closeSync(run, body as object, iterator);
  run.finish();
}

/** The client is gone: drain (true) or stop (false), as the resource says. */
function startDraining(run: Run): boolean {
  if (run.drain) run.result.drained = true;
  else run.result.stopped = true;
  return run.drain;
}

async function iterateAsync(run: Run, body: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  let iterator: AnyIterator | null = null;
  try {
    iterator =
      Symbol.asyncIterator in body ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (body as Iterable<unknown>)[Symbol.iterator]();
    let draining = false;
    for (;;) {
      run.channel.flush();
      const step = await iterator.next();
      if (step.done) break;
      const chunk = step.value;
      if (!(chunk instanceof Uint8Array)) throw notBytes(chunk, "each chunk the application yields");
      if (draining) continue;
      if (run.gone() || (chunk.length > 0 && (!(await run.roomAsync(chunk.length)) || !run.send(chunk)))) {
        if (!startDraining(run)) break;
        draining = true;
      }
    }
  } catch (err) {
    run.fail(err);
  }
  run.channel.flush();
  await closeAsync(run, body as object, iterator);
  run.finish();
}

function runApplication(run: Run, app: WSGIApplication, environ: WSGIEnviron): void | Promise<void> {
  let body: unknown;
  try {
    body = app(environ, run.startResponse);
  } catch (err) {
    run.fail(err);
    return run.finish();
  }
  if (isThenable(body)) {
    run.channel.flush();
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
 * `head` is "module\0export\0id\0drain\0url_scheme\0body length"; `body` is the request body
 * when it travels with the task (else it is read through the bridge). Everything the response produces goes
 * into `channel`, and the task itself returns nothing. Synchronous when the application is
 * loaded and returns a synchronous iterable.
 */
export function runWSGI(head: string, environ: WireEnviron, body: Uint8Array | null, channel: SharedArrayBuffer): void | Promise<void> {
  const [module, exportName, id, drain, urlScheme, length] = head.split("\0");
  const run = new Run(Number(id), channel, drain === "1");
  const env = run.environ(environ, { length: Number(length), body }, urlScheme);
  const key = module + "\0" + exportName;
  const app = applications.get(key);
  if (app !== undefined) return runApplication(run, app, env);
  return loadApplication(module, exportName, key).then(
    (loaded) => runApplication(run, loaded, env),
    (err: unknown) => {
      run.fail(err);
      run.finish();
    },
  );
}
