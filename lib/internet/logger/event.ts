/**
 * The log event and observer types (twisted.logger._interfaces).
 *
 * An event is a plain object: Twisted's `log_*` keys, and any other keys as the event's fields,
 * which `log_format` names in braces.
 */

import type { Failure } from "../failure.js";
import type { LogLevel } from "./levels.js";

export interface LogEvent {
  log_namespace: string;
  log_level: LogLevel;
  log_format: string;
  /** Seconds since the epoch. */
  log_time: number;
  log_failure?: Failure;
  /** Who logged it, shown instead of `namespace#level` in text output (Twisted's log_system). */
  log_system?: string;
  /**
   * The formatted text of each field named in log_format, added when an event is written as
   * JSON, so a field that cannot be written (a protocol, a socket) still formats when read back.
   */
  log_flattened?: Record<string, unknown>;
  /** When present, each publisher and filter appends [itself, the observer it called] (Twisted's log_trace). */
  log_trace?: Array<[unknown, LogObserver]>;
  [field: string]: unknown;
}

/** Anything that receives events: a function, as Twisted's ILogObserver is a callable. */
export type LogObserver = (event: LogEvent) => void;
