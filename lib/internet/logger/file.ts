/**
 * Writing events to a file-like stream (twisted.logger._file).
 */

import type { LogEvent, LogObserver } from "./event.js";
import { eventAsText } from "./format.js";

/** Anything with write(text): process.stderr, a fs.WriteStream, a spec's collector. */
export interface LogOutput {
  write(text: string): unknown;
  flush?(): unknown;
}

/**
 * An observer that writes `formatEvent(event)` to `outFile` for each event, and skips an event
 * formatted as null or "" (Twisted's FileLogObserver).
 */
export function fileLogObserver(outFile: LogOutput, formatEvent: (event: LogEvent) => string | null): LogObserver {
  return function fileLogObserver(event: LogEvent): void {
    const text = formatEvent(event);
    if (text === null || text === "") return;
    outFile.write(text);
    if (typeof outFile.flush === "function") outFile.flush();
  };
}

export interface TextFileLogObserverOptions {
  /** How to write the time (default ISO 8601 UTC with milliseconds); null leaves it out. */
  timeFormat?: ((when: number) => string) | null;
}

/**
 * An observer writing each event as text (`time [namespace#level] message`, then the
 * traceback of a failure), as twisted.logger.textFileLogObserver. It filters nothing: wrap it
 * in a FilteringLogObserver for levels.
 */
export function textFileLogObserver(outFile: LogOutput = process.stderr, options: TextFileLogObserverOptions = {}): LogObserver {
  const timeFormat = options.timeFormat;
  return fileLogObserver(outFile, (event) => {
    const text = eventAsText(event, {
      includeTimestamp: timeFormat !== null,
      formatTime: timeFormat ?? undefined,
    });
    return `${text}\n`;
  });
}
