/**
 * What the two sides of a WSGI response share: the layout of the response's shared memory
 * block, the operations a worker sends to the main side, and the record it returns.
 *
 * The main side (wsgi.ts) and the worker side (wsgi-worker.ts) each import this module; it
 * has no runtime dependencies, so a worker loads nothing of the web layer it does not use.
 *
 * One shared block (an Int32Array over a SharedArrayBuffer) per response carries the state
 * that must be seen at once across threads, without a message:
 *
 * - FLAGS: DISCONNECTED (the client went away: notifyFinish errbacked), STOPPING (the
 *   reactor is shutting down) and ABANDONED (the main side has given up on the response). environ["torsion.disconnected"]() is one Atomics.load of it.
 * - PAUSED: 1 while the transport is paused (the request's push producer was paused).
 * - INFLIGHT: operations the worker has posted and the main side has not yet handled. The
 *   worker posts a body chunk only when this is 0 and PAUSED is 0, which is what bounds what
 *   the server holds to the transport's bufferSize plus one chunk.
 * - SEQ: bumped (and Atomics.notify'd) by the main side after every change above, so a
 *   waiting worker wakes at once.
 */

/** Int32 slots of a response's shared block. */
export const FLAGS = 0;
export const PAUSED = 1;
export const INFLIGHT = 2;
export const SEQ = 3;
/** Bytes in a shared block (4 Int32 slots). */
export const SHARED_BYTES = 16;

/** FLAGS bits. */
export const DISCONNECTED = 1;
export const STOPPING = 2;
/** The main side no longer listens (the response timed out before its task started): do not wait for it. */
export const ABANDONED = 4;

/** The one name under which the main side is exposed to workers (see exposeToThreads). */
export const WIRE_NAME = "torsion.web.wsgi";

/** Operations a worker sends, as [responseId, op, ...]. */
export const OP_WRITE = 0; // [id, OP_WRITE, chunk, status?, headers?]: the head goes with the first write
export const OP_ERRORS = 1; // [id, OP_ERRORS, text]: a wsgi.errors write
export const OP_READ = 2; // [id, OP_READ, offset, size]: a blocking read of the request body

/** A response header as PEP 3333 has it: [name, value], both latin1 strings. */
export type WSGIHeader = [name: string, value: string];

/** The environ as it crosses to the worker: strings, booleans and the version pair. */
export type WireEnviron = Record<string, string | boolean | number[]>;

/** How the request body reaches the worker. */
export interface WireInput {
  /** Its length in bytes. */
  length: number;
  /** The whole body, when it is small enough to send with the task; else read through OP_READ. */
  body: Uint8Array | null;
}

/** An error as SerializedError (thread-error.ts), kept structural here to stay dependency-free. */
export type WireError = { name: string; className: string; message: string; stack?: string };

/** What the worker's task returns when the application is done with the response. */
export interface WireResult {
  /** The status to send, if the head has not been sent yet (null: start_response never called). */
  status: string | null;
  headers: WSGIHeader[] | null;
  /** Body chunks not posted during the run (a small list-shaped response travels here whole). */
  chunks: Uint8Array[] | null;
  /** The application (or its close()) failed: log this and end the response as Twisted does. */
  error: WireError | null;
  /** The iteration ended because the client went away (or the server is stopping). */
  stopped: boolean;
  /** The client went away and the application was iterated to its end anyway (onDisconnect "drain"). */
  drained: boolean;
  /** close() or return() was called on the application's iterable. */
  closed: boolean;
}
