/**
 * Logging, as twisted.logger in small.
 *
 * A Logger emits structured events ({log_namespace, log_level, log_format, ...fields}) to the
 * global LogPublisher, which hands each to its observers. By default one observer writes a
 * line to stderr; specs swap it for a capture with `captureLogEvents()`.
 *
 *     const log = new Logger("torsion.web.http");
 *     log.info("Listening on {port}", { port: 8080 });
 *     log.failure("Unhandled error in {protocol}", failure, { protocol: "Echo" });
 */

import { Failure } from "./failure.js";

export enum LogLevel {
  debug = 0,
  info = 1,
  warn = 2,
  error = 3,
  critical = 4,
}

/** One log event. Extra keys are the event's fields, substituted into log_format. */
export interface LogEvent {
  log_namespace: string;
  log_level: LogLevel;
  log_format: string;
  /** Seconds since the epoch. */
  log_time: number;
  log_failure?: Failure;
  [field: string]: unknown;
}

export type LogObserver = (event: LogEvent) => void;

/**
 * Substitute `{name}` fields of an event's format with the event's values, as
 * twisted.logger.formatEvent. `{{` and `}}` are literal braces. A missing field is shown as
 * `{name}?` rather than raising: a log call must never take a server down.
 */
export function formatEvent(event: LogEvent): string {
  return event.log_format.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, name: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    if (!name || !(name in event)) return `${match}?`;
    const value = event[name];
    if (typeof value === "string") return value;
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    try {
      return typeof value === "object" && value !== null && value.toString === Object.prototype.toString
        ? JSON.stringify(value)
        : String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  });
}

/** The text a default observer writes for an event: the formatted message, then any traceback. */
export function formatEventAsText(event: LogEvent): string {
  const when = new Date(event.log_time * 1000).toISOString();
  let text = `${when} [${event.log_namespace}#${LogLevel[event.log_level]}] ${formatEvent(event)}`;
  if (event.log_failure) text += `\n${event.log_failure.getTraceback()}`;
  return text;
}

/**
 * Dispatches events to observers, as twisted.logger.LogPublisher. An observer that throws is
 * removed from this dispatch only and reported to the others, so one bad observer cannot
 * silence the log.
 */
export class LogPublisher {
  private observers: LogObserver[] = [];

  addObserver(observer: LogObserver): void {
    if (!this.observers.includes(observer)) this.observers.push(observer);
  }

  removeObserver(observer: LogObserver): void {
    const i = this.observers.indexOf(observer);
    if (i >= 0) this.observers.splice(i, 1);
  }

  get observerCount(): number {
    return this.observers.length;
  }

  publish(event: LogEvent): void {
    for (const observer of this.observers.slice()) {
      try {
        observer(event);
      } catch (err) {
        const failing = observer;
        for (const other of this.observers) {
          if (other === failing) continue;
          try {
            other({
              log_namespace: "torsion.logger",
              log_level: LogLevel.error,
              log_format: "Temporarily disabling observer {observer} due to exception",
              log_time: Date.now() / 1000,
              log_failure: new Failure(err),
              observer: failing.name || "observer",
            });
          } catch {
            // an observer failing on the failure report is ignored: nothing left to tell
          }
        }
      }
    }
  }
}

/** Writes each event at or above `minLevel` as one line (plus traceback) to a stream. */
export function textFileLogObserver(
  stream: { write(text: string): unknown } = process.stderr,
  minLevel: LogLevel = LogLevel.info,
): LogObserver {
  return function textFileObserver(event: LogEvent): void {
    if (event.log_level >= minLevel) stream.write(formatEventAsText(event) + "\n");
  };
}

/** The publisher every Logger uses unless given another. */
export const globalLogPublisher = new LogPublisher();

/** The observer installed at start-up: text to stderr, info and above. */
export const defaultLogObserver = textFileLogObserver(process.stderr, LogLevel.info);
globalLogPublisher.addObserver(defaultLogObserver);

export class Logger {
  constructor(
    readonly namespace: string,
    private readonly publisher: LogPublisher = globalLogPublisher,
  ) {}

  emit(level: LogLevel, format: string, fields?: Record<string, unknown>): void {
    this.publisher.publish({
      ...fields,
      log_namespace: this.namespace,
      log_level: level,
      log_format: format,
      log_time: Date.now() / 1000,
    });
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

/**
 * For specs: replace the global observers with a capture until `stop()` is called.
 * While capturing, nothing reaches stderr, so expected errors do not clutter test output.
 *
 *     const logs = captureLogEvents();
 *     try { ... ; expect(logs.events.some(e => e.log_failure)).to.equal(true) } finally { logs.stop() }
 */
export interface LogCapture {
  readonly events: LogEvent[];
  /** The events' formatted messages, in order. */
  messages(): string[];
  /** The failures logged, in order. */
  failures(): Failure[];
  stop(): void;
}

export function captureLogEvents(publisher: LogPublisher = globalLogPublisher): LogCapture {
  const events: LogEvent[] = [];
  const observer: LogObserver = (event) => {
    events.push(event);
  };
  const removed = publisher === globalLogPublisher ? [defaultLogObserver] : [];
  for (const o of removed) publisher.removeObserver(o);
  publisher.addObserver(observer);
  let stopped = false;
  return {
    events,
    messages: () => events.map(formatEvent),
    failures: () => events.flatMap((e) => (e.log_failure ? [e.log_failure] : [])),
    stop() {
      if (stopped) return;
      stopped = true;
      publisher.removeObserver(observer);
      for (const o of removed) publisher.addObserver(o);
    },
  };
}
