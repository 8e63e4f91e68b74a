/**
 * Beginning to log (twisted.logger._global): what a process does with events before and after
 * it chooses where its log goes.
 *
 * A library imported into a program must not chatter: until someone calls
 * `globalLogBeginner.beginLoggingTo(observers)`, the global publisher
 *
 * 1. writes warnings, errors and critical events (an unhandled error, a failure nobody
 *    handled) to stderr, without a timestamp, so a problem is never silent; and
 * 2. keeps the last `initialBufferSize` events (200, Twisted's figure) of every level, info
 *    included ("Starting factory"), in a LimitedHistoryLogObserver.
 *
 * beginLoggingTo adds the observers, replays the kept events to them (so a log file begun after
 * option parsing still shows what happened first), and removes both temporary observers. The
 * buffer follows Twisted rather than dropping the early events: it costs at most 200 events of
 * memory, and a program that begins logging late loses nothing it would want.
 *
 * Twisted also redirects sys.stdout/stderr and the warnings module into the log; Node's
 * console and process warnings are left as they are (a program that wants them can add a
 * process.on("warning") handler that logs).
 */

import type { LogEvent, LogObserver } from "./event.js";
import { eventAsText } from "./format.js";
import { fileLogObserver, type LogOutput } from "./file.js";
import { FilteringLogObserver, LogLevelFilterPredicate } from "./filter.js";
import { LogLevel } from "./levels.js";
import { LimitedHistoryLogObserver, LogPublisher } from "./observer.js";

export const MORE_THAN_ONCE_WARNING =
  "Warning: primary log target selected twice at <{fileNow}:{lineNow}> - previously selected at <{fileThen}:{lineThen}>. " +
  "Remove one of the calls to beginLoggingTo.";

export interface LogBeginnerOptions {
  /** How many events to keep until logging begins (default 200). */
  initialBufferSize?: number;
  /** The least level written to the error stream until logging begins (default warn). */
  errorStreamLevel?: LogLevel;
}

export interface BeginLoggingOptions {
  /** Do not replay the events kept before logging began (default false). */
  discardBuffer?: boolean;
}

/** Where beginLoggingTo was called from, for the "selected twice" warning. */
function callSite(): { file: string; line: number } {
  const stack = new Error().stack?.split("\n") ?? [];
  // [0] "Error", [1] callSite, [2] beginLoggingTo, [3] its caller
  const frame = stack[3] ?? "";
  const m = /\(?((?:file:\/\/)?[^()\s]+?):(\d+):\d+\)?\s*$/.exec(frame);
  return m === null ? { file: "<unknown>", line: 0 } : { file: m[1]!, line: Number(m[2]) };
}

export class LogBeginner {
  static readonly DEFAULT_BUFFER_SIZE = 200;
  private readonly initialBuffer: LimitedHistoryLogObserver;
  private temporaryObserver: LogObserver | null;
  private previousBegin: { file: string; line: number } = { file: "", line: 0 };

  constructor(
    private readonly publisher: LogPublisher,
    errorStream: LogOutput,
    options: LogBeginnerOptions = {},
  ) {
    this.initialBuffer = new LimitedHistoryLogObserver(options.initialBufferSize ?? LogBeginner.DEFAULT_BUFFER_SIZE);
    const toErrorStream = new FilteringLogObserver(
      fileLogObserver(errorStream, (event) => `${eventAsText(event, { includeTimestamp: false })}\n`),
      [new LogLevelFilterPredicate(options.errorStreamLevel ?? LogLevel.warn)],
    );
    this.temporaryObserver = new LogPublisher(this.initialBuffer, toErrorStream);
    publisher.addObserver(this.temporaryObserver);
  }

  /** True once beginLoggingTo has been called. */
  get begun(): boolean {
    return this.temporaryObserver === null;
  }

  /**
   * Send the log to `observers` from now on: add them, replay the events kept so far to them
   * (unless discardBuffer), and stop writing to the error stream. Meant to be called once; a
   * second call adds its observers and logs a warning naming both call sites.
   */
  beginLoggingTo(observers: Iterable<LogObserver>, options: BeginLoggingOptions = {}): void {
    const site = callSite();
    const added = [...observers];
    for (const observer of added) this.publisher.addObserver(observer);
    if (this.temporaryObserver !== null) {
      this.publisher.removeObserver(this.temporaryObserver);
      this.temporaryObserver = null;
      if (!options.discardBuffer) {
        // To the new observers only: the ones already on the publisher saw these events.
        const replay: LogObserver = (event: LogEvent) => {
          for (const observer of added) observer(event);
        };
        this.initialBuffer.replayTo(replay);
      }
    } else {
      // Published directly, not through a Logger: logger.ts imports this module.
      this.publisher({
        log_namespace: "torsion.logger",
        log_level: LogLevel.warn,
        log_format: MORE_THAN_ONCE_WARNING,
        log_time: Date.now() / 1000,
        fileNow: site.file,
        lineNow: site.line,
        fileThen: this.previousBegin.file,
        lineThen: this.previousBegin.line,
      });
    }
    this.previousBegin = site;
  }
}

/** The publisher every Logger uses unless given another (twisted.logger.globalLogPublisher). */
export const globalLogPublisher = new LogPublisher();

/** The process's LogBeginner, on the global publisher, writing to stderr until logging begins. */
export const globalLogBeginner = new LogBeginner(globalLogPublisher, process.stderr);
