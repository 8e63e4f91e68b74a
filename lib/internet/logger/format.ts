/**
 * Formatting events as text (twisted.logger._format).
 *
 * `{name}` in an event's log_format is replaced by the event's `name` field. A log call must
 * never take a server down, so nothing here throws: a missing field is shown as `{name}?`, a
 * field whose toString throws as its type, a failure whose traceback throws as a note.
 */

import type { LogEvent } from "./event.js";
import { levelName } from "./levels.js";

function fieldText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return typeof value === "object" && value !== null && value.toString === Object.prototype.toString
      ? JSON.stringify(value)
      : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Substitute `{name}` fields of an event's format with the event's values, as
 * twisted.logger.formatEvent. `{{` and `}}` are literal braces. A field read back from JSON
 * that could not be written there formats as the text saved in log_flattened.
 */
export function formatEvent(event: LogEvent): string {
  const format = event.log_format;
  if (typeof format !== "string") return "";
  const flattened = event.log_flattened;
  return format.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, name: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    if (flattened !== undefined && name) {
      // torsion keys its flattened fields by name; Twisted by "name!conversion:spec".
      for (const key of [name, `${name}!s:`, `${name}!:`]) {
        if (Object.prototype.hasOwnProperty.call(flattened, key)) return fieldText(flattened[key]);
      }
    }
    if (!name || !(name in event)) return `${match}?`;
    return fieldText(event[name]);
  });
}

/** The traceback of the event's failure, or a note saying why there is none to show. */
function tracebackOf(event: LogEvent): string | null {
  const failure = event.log_failure;
  if (failure === undefined) return null;
  try {
    return (failure as { getTraceback(): string }).getTraceback();
  } catch {
    // Twisted's words: a broken failure must not hide the message it came with.
    return "(UNABLE TO OBTAIN TRACEBACK FROM EVENT)";
  }
}

/** The time as the text observers write it: ISO 8601 in UTC, to the millisecond. */
export function formatTime(when: unknown): string {
  if (typeof when !== "number" || !Number.isFinite(when)) return "-";
  return new Date(when * 1000).toISOString();
}

export interface EventAsTextOptions {
  /** Start with the time (default true). */
  includeTimestamp?: boolean;
  /** Then `[system]`: log_system, else `namespace#level` (default true). */
  includeSystem?: boolean;
  /** How to write log_time (default formatTime). */
  formatTime?: (when: number) => string;
}

/**
 * An event as one line of text (and its traceback on the lines after), as
 * twisted.logger.eventAsText: `2026-01-01T00:00:00.000Z [torsion.web#info] message`.
 */
export function eventAsText(event: LogEvent, options: EventAsTextOptions = {}): string {
  let text = formatEvent(event);
  const traceback = tracebackOf(event);
  if (traceback !== null) text = text ? `${text}\n${traceback}` : traceback;
  if (options.includeSystem ?? true) {
    const system = typeof event.log_system === "string" ? event.log_system : `${event.log_namespace ?? "-"}#${levelName(event.log_level)}`;
    text = `[${system}] ${text}`;
  }
  if (options.includeTimestamp ?? true) text = `${(options.formatTime ?? formatTime)(event.log_time)} ${text}`;
  return text;
}

/** eventAsText with the time and the system: the line the default text observers write. */
export function formatEventAsText(event: LogEvent): string {
  return eventAsText(event);
}
