/**
 * The Logger a module logs through (twisted.logger.Logger): it stamps each event with its
 * namespace, level and time and hands it to an observer, the global publisher unless given one.
 *
 *     const log = new Logger("torsion.web.http");
 *     log.info("Listening on {port}", { port: 8080 });
 *     log.failure("Unhandled error in {protocol}", failure, { protocol: "Echo" });
 */

import { Failure } from "../failure.js";
import type { LogEvent, LogObserver } from "./event.js";
import { InvalidLogLevelError, LogLevel, isLogLevel } from "./levels.js";
import { globalLogPublisher } from "./global.js";

export class Logger {
  private readonly observer: LogObserver;

  constructor(
    readonly namespace: string,
    observer: LogObserver = globalLogPublisher,
  ) {
    this.observer = observer;
  }

  emit(level: LogLevel, format: string, fields?: Record<string, unknown>): void {
    if (!isLogLevel(level)) {
      // As Twisted's: the bad call is reported, not thrown at the code that logged.
      this.failure("Got invalid log level {invalidLevel} in {logger}.emit()", new InvalidLogLevelError(level), { invalidLevel: level, logger: this.namespace });
      return;
    }
    const event: LogEvent = {
      ...fields,
      log_namespace: this.namespace,
      log_level: level,
      log_format: format,
      log_time: Date.now() / 1000,
    };
    this.observer(event);
  }

  debug(format: string, fields?: Record<string, unknown>): void {
    this.emit(LogLevel.debug, format, fields);
  }

  info(format: string, fields?: Record<string, unknown>): void {
    this.emit(LogLevel.info, format, fields);
  }

  warn(format: string, fields?: Record<string, unknown>): void {
    this.emit(LogLevel.warn, format, fields);
  }

  error(format: string, fields?: Record<string, unknown>): void {
    this.emit(LogLevel.error, format, fields);
  }

  critical(format: string, fields?: Record<string, unknown>): void {
    this.emit(LogLevel.critical, format, fields);
  }

  /** Log a Failure (or any thrown value) at `level` (critical by default, as Twisted). */
  failure(format: string, failure: unknown, fields?: Record<string, unknown>, level: LogLevel = LogLevel.critical): void {
    this.emit(level, format, { ...fields, log_failure: Failure.from(failure) });
  }
}
