/**
 * Log levels, as twisted.logger.LogLevel: debug < info < warn < error < critical.
 *
 * A numeric enum, so levels compare with `<` as Twisted's NamedConstants do; the names are
 * Twisted's, which is what the text and JSON observers write and what `levelWithName` reads.
 */

export enum LogLevel {
  debug = 0,
  info = 1,
  warn = 2,
  error = 3,
  critical = 4,
}

/** A level name that is not one of LogLevel's (Twisted's InvalidLogLevelError). */
export class InvalidLogLevelError extends Error {
  override name = "InvalidLogLevelError";
  constructor(readonly level: unknown) {
    super(`Invalid log level: ${typeof level === "string" ? JSON.stringify(level) : String(level)} (one of ${LEVEL_NAMES.join(", ")})`);
  }
}

const LEVEL_NAMES = ["debug", "info", "warn", "error", "critical"] as const;

// Merged with the enum: LogLevel.levelWithName("warn"), as Twisted's constant class.
// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace LogLevel {
  /** The level called `name`; InvalidLogLevelError for any other string. */
  export function levelWithName(name: string): LogLevel {
    const i = (LEVEL_NAMES as readonly string[]).indexOf(name);
    if (i < 0) throw new InvalidLogLevelError(name);
    return i as LogLevel;
  }

  /** Every level, lowest first. */
  export function iterconstants(): LogLevel[] {
    return [LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical];
  }
}

/** True when `value` is one of the LogLevel values. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "number" && Number.isInteger(value) && value >= LogLevel.debug && value <= LogLevel.critical;
}

/** The name of a level ("info"), or "-" for something that is not one. */
export function levelName(level: unknown): string {
  return isLogLevel(level) ? LEVEL_NAMES[level] : "-";
}
