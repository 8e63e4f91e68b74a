/**
 * Logging, as twisted.logger: the pieces live in lib/internet/logger/, one concept a file; this
 * module gathers them (every module of torsion imports its Logger from here) and adds the
 * capture the specs use.
 *
 * A Logger emits structured events ({log_namespace, log_level, log_format, log_time, ...fields})
 * to the global LogPublisher, which hands each to its observers. Until a program calls
 * `globalLogBeginner.beginLoggingTo(observers)`, warnings and errors go to stderr and everything
 * else is kept, not printed (logger/global.ts); docs/logging.md is the how-to.
 */

import type { Failure } from "./failure.js";
import type { LogEvent, LogObserver } from "./logger/event.js";
import { formatEvent } from "./logger/format.js";
import type { LogPublisher } from "./logger/observer.js";
import { globalLogPublisher } from "./logger/global.js";

export type { LogEvent, LogObserver } from "./logger/event.js";
export { InvalidLogLevelError, LogLevel } from "./logger/levels.js";
export { eventAsText, formatEvent, formatEventAsText, formatTime, type EventAsTextOptions } from "./logger/format.js";
export { LimitedHistoryLogObserver, LogPublisher, bitbucketLogObserver } from "./logger/observer.js";
export { FilteringLogObserver, LogLevelFilterPredicate, PredicateResult, shouldLogEvent, type LogFilterPredicate } from "./logger/filter.js";
export { fileLogObserver, textFileLogObserver, type LogOutput, type TextFileLogObserverOptions } from "./logger/file.js";
export {
  eventAsJSON,
  eventFromJSON,
  eventsFromJSONLogFile,
  eventsFromJSONLogStream,
  failureAsJSON,
  failureFromJSON,
  jsonFileLogObserver,
  type EventsFromJSONOptions,
} from "./logger/json.js";
export { Logger } from "./logger/logger.js";
export { LogBeginner, MORE_THAN_ONCE_WARNING, globalLogBeginner, globalLogPublisher, type BeginLoggingOptions, type LogBeginnerOptions } from "./logger/global.js";

/**
 * For specs: replace the publisher's observers with a capture until `stop()` is called.
 * While capturing, nothing reaches stderr (or the log the program began), so expected errors
 * do not clutter test output.
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
  const removed = publisher.observers;
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
      // Back in their order, after anything added meanwhile is kept where it is.
      for (const o of removed) publisher.addObserver(o);
    },
  };
}
