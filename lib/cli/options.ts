/**
 * Command-line option parsing for the `torsion` command, in the spirit of twisted.python.usage:
 * each command declares its options in one table, which both the parser and --help read, so
 * the help text cannot drift from what is accepted.
 *
 *     --name VALUE, --name=VALUE, -n VALUE     an option with a value
 *     --flag, -f                               a flag
 *     --                                       the end of options: the rest are positionals
 *
 * Every mistake is a UsageError whose message is one line naming the option, which the command
 * prints after its own name and exits with status 2 (Twisted's usage.UsageError).
 */

import { TorsionError } from "../internet/error.js";
import { registerErrorClasses } from "../internet/thread-error.js";

/** A mistake on the command line: printed as one line, exit status 2. */
export class UsageError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_USAGE";
}

registerErrorClasses(UsageError);

/** One option of a command. */
export interface OptionSpec {
  /** The long name, without "--" (e.g. "listen"). */
  readonly name: string;
  /** A one-letter short name, without "-". */
  readonly short?: string;
  /** Other long names accepted for the same option (e.g. Twisted's "logfile" for "access-log"). */
  readonly aliases?: readonly string[];
  /** What the value is called in help (e.g. "DESCRIPTION"); absent for a flag. */
  readonly value?: string;
  /** The option may be given more than once; every value is kept, in order. */
  readonly multiple?: boolean;
  /** The default, as shown in help. */
  readonly default?: string;
  /** One sentence (or a few) for --help. */
  readonly help: string;
}

/** What parseArgv found: the values of each option (by long name) and the positionals. */
export interface ParsedArgv {
  /** Option long name -> its values in order (a flag holds one "" per occurrence). */
  readonly values: Map<string, string[]>;
  readonly positionals: string[];
  /** The name each option was spelled with on the command line, for messages. */
  readonly spelled: Map<string, string>;
}

/**
 * Parse `argv` against `specs`. Positionals are accepted only when `allowPositionals` is
 * true. Raises UsageError for an unknown option, a missing value, a value given to a flag, or
 * an option that is not `multiple` given twice.
 */
export function parseArgv(specs: readonly OptionSpec[], argv: readonly string[], allowPositionals = false): ParsedArgv {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byLong.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byLong.set(alias, spec);
    if (spec.short !== undefined) byShort.set(spec.short, spec);
  }
  const values = new Map<string, string[]>();
  const spelled = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let written: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      written = `--${name}`;
      if (eq >= 0) inline = arg.slice(eq + 1);
      spec = byLong.get(name);
    } else if (arg.startsWith("-") && arg.length > 1) {
      written = arg.slice(0, 2);
      if (arg.length > 2) inline = arg[2] === "=" ? arg.slice(3) : arg.slice(2);
      spec = byShort.get(arg[1]);
    } else {
      positionals.push(arg);
      continue;
    }
    if (spec === undefined) throw new UsageError(`unknown option ${written} (see --help)`);
    let value: string;
    if (spec.value === undefined) {
      if (inline !== undefined) throw new UsageError(`${written} takes no value`);
      value = "";
    } else if (inline !== undefined) {
      value = inline;
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`${written} needs a value: ${written} ${spec.value}`);
      value = argv[++i];
    }
    const seen = values.get(spec.name);
    if (seen !== undefined && !spec.multiple) {
      throw new UsageError(`${written} was given more than once`);
    }
    if (seen === undefined) values.set(spec.name, [value]);
    else seen.push(value);
    spelled.set(spec.name, written);
  }
  if (!allowPositionals && positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  }
  return { values, positionals, spelled };
}

/** The options part of --help: one entry per option, with its default and repeatability. */
export function formatOptions(specs: readonly OptionSpec[], width = 100): string {
  const heads = specs.map((spec) => {
    const names = [spec.short !== undefined ? `-${spec.short}, ` : "    ", `--${spec.name}`].join("");
    return spec.value === undefined ? names : `${names} ${spec.value}`;
  });
  const column = Math.min(32, Math.max(...heads.map((h) => h.length)) + 2);
  const lines: string[] = [];
  specs.forEach((spec, i) => {
    let text = spec.help;
    if (spec.aliases?.length) text += ` (also --${spec.aliases.join(", --")})`;
    if (spec.multiple) text += " Repeatable.";
    if (spec.default !== undefined) text += ` [default: ${spec.default}]`;
    const head = `  ${heads[i]}`;
    const wrapped = wrap(text, width - column - 2);
    if (head.length + 1 > column + 2) {
      lines.push(head);
      for (const w of wrapped) lines.push(" ".repeat(column + 2) + w);
    } else {
      lines.push(head.padEnd(column + 2) + wrapped[0]);
      for (const w of wrapped.slice(1)) lines.push(" ".repeat(column + 2) + w);
    }
  });
  return lines.join("\n");
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [""];
}

// --- value parsers, each raising a UsageError that names the option ----------------------

/** A number of seconds (a decimal >= 0). */
export function parseSeconds(option: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${option} expects a number of seconds >= 0, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** An integer in [min, max]. */
export function parseInteger(option: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`${option} expects ${range}, got ${JSON.stringify(text)}`);
  }
  return n;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A size in bytes, with an optional K, M or G suffix (powers of 1024). */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(text.trim());
  const n = m === null ? NaN : Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`${option} expects a number of bytes (optionally with K, M or G), got ${JSON.stringify(text)}`);
  }
  return n;
}
