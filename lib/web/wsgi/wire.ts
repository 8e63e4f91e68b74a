/**
 * What crosses between the two sides of a WSGI response besides the channel's records: the
 * task's arguments (the environ, compactly; the request body, when small) and the encodings of
 * the head and the result records (channel.ts carries them).
 *
 * The environ travels as one string, names and values joined by NUL: cloning one string to
 * the worker costs a copy, cloning an object of thirty keys costs thirty (the main thread's
 * largest cost per request before). A value holding a NUL (a percent-decoded %00 in the path)
 * makes it travel as an array instead.
 *
 * Dependency-free, as channel.ts.
 */

import type { WSGIHeader } from "./application.js";

/** The name under which the main side answers a worker's reads of a large request body. */
export const WIRE_NAME = "torsion.web.wsgi";

/** How the request body reaches the worker. */
export interface WireInput {
  /** Its length in bytes. */
  length: number;
  /** The whole body, when it is small enough to send with the task; else read through WIRE_NAME. */
  body: Uint8Array | null;
}

/** An error as SerializedError (thread-error.ts), kept structural here. */
export type WireError = { name: string; className: string; message: string; stack?: string };

/** The environ's strings as they cross: "name\0value\0name\0value...", or the same as an array. */
export type WireEnviron = string | string[];

const NUL = "\0";

/** Build a WireEnviron from name/value pairs, in order. */
export class EnvironEncoder {
  private joined = "";
  private pairs: string[] | null = null;

  add(name: string, value: string): void {
    if (this.pairs !== null) {
      this.pairs.push(name, value);
      return;
    }
    if (value.indexOf(NUL) !== -1) {
      this.pairs = this.joined === "" ? [] : this.joined.slice(0, -1).split(NUL);
      this.pairs.push(name, value);
      return;
    }
    this.joined += name + NUL + value + NUL;
  }

  done(): WireEnviron {
    return this.pairs ?? this.joined;
  }
}

/** The environ's strings as an object (the worker adds the rest). */
export function decodeEnviron(wire: WireEnviron, into: Record<string, unknown>): void {
  const parts = typeof wire === "string" ? wire.split(NUL) : wire;
  // A joined string ends with NUL: its last part is empty and unpaired.
  const n = parts.length - (parts.length & 1);
  for (let i = 0; i < n; i += 2) into[parts[i]] = parts[i + 1];
}

// --- the head record --------------------------------------------------------------------

/** Status and headers as one latin1 string (start_response has checked neither holds a NUL). */
export function encodeHead(status: string, headers: readonly WSGIHeader[]): string {
  let s = status;
  for (let i = 0; i < headers.length; i++) s += NUL + headers[i][0] + NUL + headers[i][1];
  return s;
}

export function decodeHead(text: string): { status: string; headers: WSGIHeader[] } {
  const parts = text.split(NUL);
  const headers: WSGIHeader[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) headers.push([parts[i], parts[i + 1]]);
  return { status: parts[0], headers };
}

// --- the result record ---------------------------------------------------------------

/** How the application's part of the response ended: the last record of the channel. */
export interface WireResult {
  /** The application (or its close()) failed: log this and end the response as Twisted does. */
  error: WireError | null;
  /** The iteration ended because the client went away (or the server is stopping). */
  stopped: boolean;
  /** The client went away and the application was iterated to its end anyway (onDisconnect "drain"). */
  drained: boolean;
  /** close() or return() was called on the application's iterable. */
  closed: boolean;
}

const STOPPED = 1;
const DRAINED = 2;
const CLOSED = 4;

/** The result as text no longer than `limit` UTF-16 units (a long stack is cut to fit). */
export function encodeResult(result: WireResult, limit: number): string {
  const bits = (result.stopped ? STOPPED : 0) | (result.drained ? DRAINED : 0) | (result.closed ? CLOSED : 0);
  if (result.error === null) return String(bits);
  const error = result.error;
  let text: string | null = null;
  try {
    text = `${bits}${NUL}${JSON.stringify(error)}`;
  } catch {
    // A property JSON cannot hold (a BigInt, a cycle): the four fields below still say what failed.
  }
  if (text === null || text.length > limit) {
    const short = { name: error.name, className: error.className, message: error.message.slice(0, limit / 4), stack: error.stack?.slice(0, limit / 2) };
    text = `${bits}${NUL}${JSON.stringify(short)}`;
  }
  return text;
}

export function decodeResult(text: string): WireResult {
  const nul = text.indexOf(NUL);
  const bits = Number(nul === -1 ? text : text.slice(0, nul));
  return {
    error: nul === -1 ? null : (JSON.parse(text.slice(nul + 1)) as WireError),
    stopped: (bits & STOPPED) !== 0,
    drained: (bits & DRAINED) !== 0,
    closed: (bits & CLOSED) !== 0,
  };
}
