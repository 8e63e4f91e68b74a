/**
 * The log options of the `torsion` command, as twist's: --log-level and --log-format. The
 * command is the program, so it begins logging itself (a library never does: see
 * lib/internet/logger/global.ts); these say how.
 */

import {
  FilteringLogObserver,
  InvalidLogLevelError,
  LogLevel,
  LogLevelFilterPredicate,
  globalLogBeginner,
  jsonFileLogObserver,
  textFileLogObserver,
  type LogBeginner,
  type LogOutput,
} from "../internet/log.js";
import { UsageError, type OptionSpec } from "./options.js";

/** The options, for a command's table (torsion web's) and for main(), which takes them before the command. */
export const LOG_OPTIONS: readonly OptionSpec[] = [
  {
    name: "log-level",
    value: "LEVEL",
    multiple: true,
    default: "info",
    help:
      "Log events at LEVEL and above to stderr: debug, info, warn, error or critical. " +
      "NAMESPACE=LEVEL sets one namespace and those under it (torsion.web=debug).",
  },
  { name: "log-format", value: "FORMAT", default: "text", help: "The log's format on stderr: text (one line an event) or json (Twisted's JSON records)." },
];

/** --log-level and --log-format, parsed. */
export interface LogOptions {
  /** The least level logged from namespaces not named below. */
  readonly level: LogLevel;
  /** [namespace, level] for each NAMESPACE=LEVEL, in order. */
  readonly namespaces: ReadonlyArray<readonly [string, LogLevel]>;
  readonly format: "text" | "json";
}

function parseLevel(option: string, text: string): LogLevel {
  try {
    return LogLevel.levelWithName(text.trim().toLowerCase());
  } catch (err) {
    if (!(err instanceof InvalidLogLevelError)) throw err;
    throw new UsageError(`${option} expects debug, info, warn, error or critical, got ${JSON.stringify(text)}`);
  }
}

/** Parse the values of --log-level (LEVEL or NAMESPACE=LEVEL) and --log-format. */
export function parseLogOptions(levels: readonly string[], format: string | undefined): LogOptions {
  let level = LogLevel.info;
  const namespaces: Array<[string, LogLevel]> = [];
  for (const text of levels) {
    const eq = text.indexOf("=");
    if (eq < 0) {
      level = parseLevel("--log-level", text);
      continue;
    }
    const namespace = text.slice(0, eq).trim();
    if (!/^[\w$-]+(\.[\w$-]+)*$/.test(namespace)) throw new UsageError(`--log-level expects NAMESPACE=LEVEL with a dotted namespace, got ${JSON.stringify(text)}`);
    namespaces.push([namespace, parseLevel("--log-level", text.slice(eq + 1))]);
  }
  if (format !== undefined && format !== "text" && format !== "json") throw new UsageError(`--log-format expects text or json, got ${JSON.stringify(format)}`);
  return { level, namespaces, format: format ?? "text" };
}

/**
 * Begin logging as --log-level and --log-format say, to `stderr`: the command is the program,
 * so it chooses where the log goes (a library never does).
 */
export function beginLogging(options: LogOptions, stderr: LogOutput, beginner: LogBeginner = globalLogBeginner): void {
  const levels = new LogLevelFilterPredicate(options.level);
  for (const [namespace, level] of options.namespaces) levels.setLogLevelForNamespace(namespace, level);
  const output = options.format === "json" ? jsonFileLogObserver(stderr) : textFileLogObserver(stderr);
  beginner.beginLoggingTo([new FilteringLogObserver(output, [levels])]);
}
