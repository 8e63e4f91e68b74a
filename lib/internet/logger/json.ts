/**
 * Saving and loading events as JSON (twisted.logger._json), in Twisted's own format, so a log
 * written by torsion reads in Twisted and the other way round:
 *
 * - each record is RS (U+001E) + JSON + LF (RFC 7464 JSON text sequences) by default;
 * - log_level is `{"name": "info", "__class_uuid__": "02E59486-..."}`, a failure
 *   `{"type": {"__name__": ...}, "value": ..., "__class_uuid__": "E76887E2-..."}`;
 * - a field JSON cannot hold (a protocol, a socket, a cycle) is `{"unpersistable": true}`, and
 *   log_flattened keeps the text of every field the format names, so the message still formats;
 * - bytes are written as Latin-1 text (Twisted's "charmap").
 */

import { Failure } from "../failure.js";
import type { LogEvent, LogObserver } from "./event.js";
import { fileLogObserver, type LogOutput } from "./file.js";
import { formatEvent } from "./format.js";
import { LogLevel, isLogLevel, levelName } from "./levels.js";
import { Logger } from "./logger.js";

const log = new Logger("torsion.logger.json");

const LEVEL_UUID = "02E59486-F24D-46AD-8224-3ACDF2A5732A";
const FAILURE_UUID = "E76887E2-20ED-49BF-A8F8-BA25CC586F2D";
const UNPERSISTABLE = { unpersistable: true } as const;

/** The frames of a V8 stack as Twisted's Failure keeps them: [function, file, line, locals, globals]. */
function framesOf(stack: string): Array<[string, string, number, [], []]> {
  const frames: Array<[string, string, number, [], []]> = [];
  for (const line of stack.split("\n")) {
    const m = /^\s+at (?:(.*?) \()?(.+?):(\d+):\d+\)?$/.exec(line);
    if (m !== null) frames.push([m[1] ?? "<anonymous>", m[2]!, Number(m[3]), [], []]);
  }
  // Twisted lists the outermost call first, as a Python traceback does; V8 the innermost.
  return frames.reverse();
}

/**
 * A Failure as JSON, in the shape of Twisted's Failure state (so Twisted's eventsFromJSONLogFile
 * reads it and can print its traceback), plus `traceback`: the JavaScript stack as it was.
 */
export function failureAsJSON(failure: Failure): Record<string, unknown> {
  const traceback = failure.getTraceback();
  return {
    type: { __name__: failure.value.name, __module__: "javascript" },
    value: failure.value.message,
    count: 1,
    captureVars: false,
    frames: framesOf(traceback),
    stack: [],
    tb: null,
    parents: [`javascript.${failure.value.name}`],
    pickled: 1,
    traceback,
    __class_uuid__: FAILURE_UUID,
  };
}

/**
 * A failure read back from JSON: an Error of the same name, message and stack. For a failure
 * Twisted wrote (no `traceback`, a value it could not save), the stack is made from its frames.
 */
export function failureFromJSON(saved: Record<string, unknown>): Failure {
  const type = (saved.type ?? {}) as { __name__?: unknown };
  const message = typeof saved.value === "string" ? saved.value : "";
  const error = new Error(message);
  error.name = typeof type.__name__ === "string" ? type.__name__ : "Error";
  if (typeof saved.traceback === "string") {
    error.stack = saved.traceback;
  } else {
    const lines = ["Traceback (most recent call last):"];
    for (const frame of Array.isArray(saved.frames) ? saved.frames : []) {
      if (Array.isArray(frame)) lines.push(`  File "${String(frame[1])}", line ${String(frame[2])}, in ${String(frame[0])}`);
    }
    lines.push(`${error.name}: ${message}`);
    error.stack = lines.join("\n");
  }
  return new Failure(error);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A value as JSON can hold it, or the unpersistable marker. `seen` guards against cycles. */
function persistable(value: unknown, seen: Set<object>): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : UNPERSISTABLE;
  if (typeof value !== "object") return UNPERSISTABLE; // undefined, function, symbol, bigint
  if (value instanceof Failure) return failureAsJSON(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
  if (seen.has(value)) return UNPERSISTABLE;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => persistable(v, seen));
    if (!isPlainObject(value)) return UNPERSISTABLE;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = persistable(v, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/** The text of each field log_format names, as formatEvent writes it. */
function flatten(event: LogEvent): Record<string, unknown> | undefined {
  if (typeof event.log_format !== "string") return undefined;
  const flat: Record<string, unknown> = { ...event.log_flattened };
  for (const m of event.log_format.matchAll(/\{\{|\}\}|\{([^{}]+)\}/g)) {
    const name = m[1];
    // Twisted's key for the text of "{name}": a reader from either side finds it.
    const key = `${name}!s:`;
    if (name === undefined || !(name in event) || key in flat) continue;
    flat[key] = formatEvent({ ...event, log_format: `{${name}}`, log_flattened: undefined });
  }
  return Object.keys(flat).length > 0 ? flat : undefined;
}

/** An event as one line of JSON (no newline in it), as twisted.logger.eventAsJSON. */
export function eventAsJSON(event: LogEvent): string {
  const seen = new Set<object>();
  const out: Record<string, unknown> = {};
  const flattened = flatten(event);
  for (const [key, value] of Object.entries(event)) {
    if (key === "log_trace" || key === "log_flattened") continue;
    if (key === "log_level" && isLogLevel(value)) out[key] = { name: levelName(value), __class_uuid__: LEVEL_UUID };
    else out[key] = persistable(value, seen);
  }
  if (flattened !== undefined) out.log_flattened = flattened;
  return JSON.stringify(out);
}

function revive(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const uuid = (value as { __class_uuid__?: unknown }).__class_uuid__;
  if (typeof uuid !== "string") return value;
  const upper = uuid.toUpperCase();
  if (upper === LEVEL_UUID) {
    const name = (value as { name?: unknown }).name;
    // An unknown level name (a future version's) reads back as null, as Twisted's None: the event has no level.
    return typeof name === "string" && ["debug", "info", "warn", "error", "critical"].includes(name) ? LogLevel.levelWithName(name) : null;
  }
  if (upper === FAILURE_UUID) return failureFromJSON(value as Record<string, unknown>);
  return value;
}

/** An event read from eventAsJSON's text. SyntaxError for text that is not JSON. */
export function eventFromJSON(text: string): LogEvent {
  return JSON.parse(text, revive) as LogEvent;
}

/** An observer writing each event as RS + JSON + LF to `outFile` (Twisted's jsonFileLogObserver). */
export function jsonFileLogObserver(outFile: LogOutput, recordSeparator = "\x1e"): LogObserver {
  return fileLogObserver(outFile, (event) => `${recordSeparator}${eventAsJSON(event)}\n`);
}

export interface EventsFromJSONOptions {
  /** The record separator; by default RS when the input starts with one, else newlines. */
  recordSeparator?: string;
}

/** Splits chunks of a JSON log into events, skipping (and logging) records it cannot read. */
class RecordReader {
  private buffer: Buffer = Buffer.alloc(0);
  private separator: Buffer | null;
  private needsNewline = true;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(options: EventsFromJSONOptions) {
    this.separator = options.recordSeparator === undefined ? null : Buffer.from(options.recordSeparator, "utf8");
    if (this.separator !== null) this.chooseSeparator(this.separator);
  }

  private chooseSeparator(separator: Buffer): void {
    // An empty separator means one record a line; then a record needs no trailing newline.
    this.needsNewline = separator.length > 0;
    this.separator = separator.length > 0 ? separator : Buffer.from("\n");
  }

  *feed(chunk: string | Uint8Array): Generator<LogEvent> {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buffer = this.buffer.length === 0 ? bytes : Buffer.concat([this.buffer, bytes]);
    if (this.separator === null) {
      if (this.buffer.length === 0) return;
      this.chooseSeparator(this.buffer[0] === 0x1e ? Buffer.from([0x1e]) : Buffer.alloc(0));
    }
    const separator = this.separator!;
    let start = 0;
    for (let at = this.buffer.indexOf(separator, start); at >= 0; at = this.buffer.indexOf(separator, start)) {
      const record = this.buffer.subarray(start, at);
      start = at + separator.length;
      if (record.length > 0) {
        const event = this.read(record);
        if (event !== null) yield event;
      }
    }
    this.buffer = this.buffer.subarray(start);
  }

  *end(): Generator<LogEvent> {
    if (this.buffer.length > 0) {
      const event = this.read(this.buffer);
      this.buffer = Buffer.alloc(0);
      if (event !== null) yield event;
    }
  }

  private read(record: Buffer): LogEvent | null {
    if (this.needsNewline && record[record.length - 1] !== 0x0a) {
      log.error("Unable to read truncated JSON record: {record}", { record: Buffer.from(record) });
      return null;
    }
    let text: string;
    try {
      text = this.decoder.decode(record);
    } catch {
      log.error("Unable to decode UTF-8 for JSON record: {record}", { record: Buffer.from(record) });
      return null;
    }
    try {
      return eventFromJSON(text);
    } catch {
      log.error("Unable to read JSON record: {record}", { record: Buffer.from(record) });
      return null;
    }
  }
}

/**
 * The events of a log written by jsonFileLogObserver (torsion's or Twisted's), from its text or
 * bytes, whole or as chunks. Truncated or unreadable records are logged and skipped.
 *
 *     for (const event of eventsFromJSONLogFile(readFileSync("app.log.json"))) ...
 */
export function* eventsFromJSONLogFile(
  input: string | Uint8Array | Iterable<string | Uint8Array>,
  options: EventsFromJSONOptions = {},
): Generator<LogEvent> {
  const reader = new RecordReader(options);
  const chunks = typeof input === "string" || input instanceof Uint8Array ? [input] : input;
  for (const chunk of chunks) yield* reader.feed(chunk);
  yield* reader.end();
}

/** eventsFromJSONLogFile for a stream (fs.createReadStream(path)), read as it arrives. */
export async function* eventsFromJSONLogStream(
  input: AsyncIterable<string | Uint8Array>,
  options: EventsFromJSONOptions = {},
): AsyncGenerator<LogEvent> {
  const reader = new RecordReader(options);
  for await (const chunk of input) yield* reader.feed(chunk);
  yield* reader.end();
}
