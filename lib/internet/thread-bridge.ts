/**
 * A synchronous request/response channel from a worker thread to the main thread, with the
 * main side answering asynchronously: the primitive under blockingCallFromThread, and under
 * WSGI's blocking write() (back-pressure) and synchronous wsgi.input reads.
 *
 * The worker posts a request on a MessagePort and then really blocks: Atomics.wait on a
 * SharedArrayBuffer word that the main side bumps after posting the answer, and
 * receiveMessageOnPort to take the answer off the port without running the worker's event
 * loop. The main side may take as long as it likes (a Deferred that fires later, a Promise).
 *
 * A wait never hangs for good: it sleeps in bounded slices, and after each one checks whether
 * the main side has closed the channel (the pool does when the worker is stopped or replaced)
 * and whether its own deadline has passed. Worker.terminate() interrupts Atomics.wait at once.
 *
 * Functions cannot cross threads, so what a worker calls is a name: the main side exposes
 * functions with exposeToThreads(name, fn), and a channel's handler (by default) looks names
 * up there. A channel may be given its own handler instead.
 */

import { MessageChannel, MessagePort, receiveMessageOnPort, type TransferListItem } from "node:worker_threads";
import { TimeoutError, WorkerDied } from "./error.js";
import { Logger, LogLevel } from "./log.js";
import { deserializeError, serializeError, type SerializedError } from "./thread-error.js";
import { isThenable } from "./thenable.js";

const log = new Logger("torsion.internet.threads");

/** Int32 slots of the shared buffer. */
const SEQ = 0; // bumped by the main side after each answer it posts
const STATE = 1; // 0 while open, then CLOSED
const CLOSED = 1;

/** Longest single Atomics.wait, in milliseconds: how late a missed wake-up can be noticed. */
const WAIT_SLICE_MS = 500;

/** What the worker side needs: send it in workerData with `port` in the transfer list. */
export interface BridgeInit {
  readonly shared: SharedArrayBuffer;
  readonly port: MessagePort;
}

/**
 * Answers a worker's calls: returns a value, a Deferred, a Promise, or throws. `post` is true
 * for fire-and-forget calls (callFromThread), whose result is dropped and whose errors are logged.
 */
export type BridgeHandler = (name: string, args: unknown[], post: boolean) => unknown;

interface Request {
  /** 0 for fire-and-forget. */
  id: number;
  name: string;
  args: unknown[];
}

interface Response {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: SerializedError;
}

// --- the names the main side exposes ---------------------------------------------------

const exposed = new Map<string, (...args: any[]) => unknown>();

/**
 * Make `fn` callable from worker threads as `name` (callFromThread / blockingCallFromThread).
 * Names, not functions, because a function cannot be sent to another thread; the registry is
 * this thread's. `fn` runs on the main thread and may return a value, a Deferred or a Promise.
 * Returns a function that removes this exposure again. Exposing a taken name is an error.
 */
export function exposeToThreads(name: string, fn: (...args: any[]) => unknown): () => void {
  if (typeof fn !== "function") throw new TypeError("exposeToThreads() needs a function");
  const current = exposed.get(name);
  if (current !== undefined && current !== fn) {
    throw new Error(`a function is already exposed to threads as ${JSON.stringify(name)}`);
  }
  exposed.set(name, fn);
  return () => {
    if (exposed.get(name) === fn) exposed.delete(name);
  };
}

/** Remove the function exposed as `name`; true if there was one. */
export function unexposeToThreads(name: string): boolean {
  return exposed.delete(name);
}

/** The default handler: call the function exposed as `name`. */
export const callExposed: BridgeHandler = (name, args) => {
  const fn = exposed.get(name);
  if (fn === undefined) {
    throw new Error(`no function is exposed to threads as ${JSON.stringify(name)} (see exposeToThreads)`);
  }
  return fn(...args);
};

// --- the main side ---------------------------------------------------------------------

/** The main side of one channel. Create one per worker; close it when the worker goes. */
export class BridgeHost {
  /** Give this to the worker (in workerData, with `transfer` as the transfer list). */
  readonly init: BridgeInit;
  readonly transfer: readonly MessagePort[];
  private readonly port: MessagePort;
  private readonly words: Int32Array;
  private isClosed = false;

  constructor(private readonly handler: BridgeHandler = callExposed) {
    const { port1, port2 } = new MessageChannel();
    const shared = new SharedArrayBuffer(8);
    this.port = port1;
    this.words = new Int32Array(shared);
    this.init = { shared, port: port2 };
    this.transfer = [port2];
    port1.on("message", (request: Request) => this.received(request));
    // The channel alone must not keep the process alive: a busy worker does that.
    port1.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Close the channel: a worker waiting in call() wakes and throws WorkerDied, later calls
   * fail at once, and answers still being computed are dropped.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    Atomics.store(this.words, STATE, CLOSED);
    Atomics.notify(this.words, SEQ);
    this.port.close();
  }

  private received(request: Request): void {
    if (this.isClosed) return;
    const post = request.id === 0;
    let result: unknown;
    try {
      result = this.handler(request.name, request.args, post);
    } catch (err) {
      this.answer(request, false, err);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.answer(request, true, value),
        (err) => this.answer(request, false, err),
      );
    } else {
      this.answer(request, true, result);
    }
  }

  private answer(request: Request, ok: boolean, value: unknown): void {
    if (request.id === 0) {
      if (!ok) log.failure("Error in {name} called from a worker thread:", value, { name: request.name }, LogLevel.error);
      return;
    }
    if (this.isClosed) return;
    try {
      this.port.postMessage(ok ? { id: request.id, ok, value } : { id: request.id, ok, error: serializeError(value) });
    } catch (err) {
      // The value cannot be cloned (a function, a socket): the caller gets the DataCloneError.
      this.port.postMessage({ id: request.id, ok: false, error: serializeError(err) });
    }
    // After the post, so a worker that sees the new sequence number finds the answer queued.
    Atomics.add(this.words, SEQ, 1);
    Atomics.notify(this.words, SEQ);
  }
}

// --- the worker side ---------------------------------------------------------------------

/** The worker side of one channel. */
export class BridgeClient {
  private readonly port: MessagePort;
  private readonly words: Int32Array;
  private nextId = 0;

  constructor(init: BridgeInit) {
    this.port = init.port;
    this.words = new Int32Array(init.shared);
  }

  /** True once the main side has closed the channel. */
  get closed(): boolean {
    return Atomics.load(this.words, STATE) === CLOSED;
  }

  /**
   * Ask the main side to run `name(...args)` and do not wait (callFromThread). `transfer`
   * moves ArrayBuffers (or ports) in `args` instead of copying them.
   */
  post(name: string, args: unknown[], options?: { transfer?: readonly TransferListItem[] }): void {
    if (this.closed) throw new WorkerDied("the main side has closed this worker's thread bridge");
    this.port.postMessage({ id: 0, name, args } satisfies Request, options?.transfer);
  }

  /**
   * Run `name(...args)` on the main side and block this thread until it answers; return its
   * value or throw its error. Throws WorkerDied if the main side closes the channel, and
   * TimeoutError after `timeout` seconds if one is given (a late answer is then discarded).
   * `transfer` moves ArrayBuffers (or ports) in `args` instead of copying them.
   */
  call(name: string, args: unknown[], options?: { timeout?: number; transfer?: readonly TransferListItem[] }): unknown {
    if (this.closed) throw new WorkerDied("the main side has closed this worker's thread bridge");
    const id = ++this.nextId;
    this.port.postMessage({ id, name, args } satisfies Request, options?.transfer);
    const timeout = options?.timeout;
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    for (;;) {
      // Read the sequence number before looking at the port: an answer posted after the look
      // has bumped it, so the wait below returns at once instead of sleeping through it.
      const seq = Atomics.load(this.words, SEQ);
      let received;
      while ((received = receiveMessageOnPort(this.port)) !== undefined) {
        const response = received.message as Response;
        if (response.id !== id) continue; // the answer to an earlier call that timed out
        if (response.ok) return response.value;
        throw deserializeError(response.error!);
      }
      if (this.closed) throw new WorkerDied(`the main side closed this worker's thread bridge while it waited for ${name}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`${name} called from a worker thread did not answer in ${timeout} seconds`);
      Atomics.wait(this.words, SEQ, seq, Math.min(WAIT_SLICE_MS, left));
    }
  }
}

const CURRENT = Symbol.for("torsion.threads.bridge");

/**
 * Install the channel that callFromThread/blockingCallFromThread use in this worker. Kept on
 * globalThis so that every copy of torsion loaded in the worker finds the same one.
 */
export function installBridgeClient(client: BridgeClient): void {
  (globalThis as Record<symbol, unknown>)[CURRENT] = client;
}

/** This worker's channel to the main thread, or undefined outside a torsion pool worker. */
export function currentBridge(): BridgeClient | undefined {
  return (globalThis as Record<symbol, unknown>)[CURRENT] as BridgeClient | undefined;
}
