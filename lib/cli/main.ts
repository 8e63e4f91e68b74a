#!/usr/bin/env node
/**
 * The `torsion` command (package.json "bin": ./build/lib/cli/main.js), as Twisted's `twist`:
 *
 *     torsion [--log-level LEVEL] [--log-format text|json] web [options]
 *                               serve a web site (lib/cli/web.ts); torsion web --help
 *     torsion --help | --version
 *
 * The log options may come before the command, as twist's do, or among its options; they are
 * handed to the command, which begins logging itself (a library never does).
 *
 * main(argv, io) is the whole command and starts nothing until told to by argv, so specs
 * import it; it resolves with the exit status (0 done, 2 a usage or startup error, printed as
 * one line on stderr). Only the bin wrapper at the bottom, run when this file is the program,
 * touches process.argv and the exit status.
 */

import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { reactor as globalReactor, type NodeReactor } from "../internet/reactor.js";
import { oneLine } from "./load.js";
import { LOG_OPTIONS } from "./log-options.js";
import { formatOptions, type OptionSpec } from "./options.js";
import { webCommand } from "./web.js";

/** Where main() writes, what it runs on, and where relative paths start. */
export interface MainIO {
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
  cwd?: string;
  /** The reactor `torsion web` runs (a reactor runs once: give a new NodeReactor per call in specs). */
  reactor?: NodeReactor;
}

const TOP_OPTIONS: readonly OptionSpec[] = [
  { name: "help", short: "h", help: "Show this help and exit." },
  { name: "version", help: "Show torsion's version and exit." },
  ...LOG_OPTIONS,
];

/** The log options main() hands on to the command, by how they are spelled. */
const LOG_OPTION_NAMES = new Set(LOG_OPTIONS.map((o) => `--${o.name}`));

/** Split leading --log-level/--log-format (with their values) from the rest of argv. */
function takeLogOptions(argv: readonly string[]): { log: string[]; rest: string[] } {
  const log: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    const name = arg.split("=", 1)[0]!;
    if (!LOG_OPTION_NAMES.has(name)) break;
    if (arg.includes("=")) {
      log.push(arg);
      i += 1;
    } else {
      log.push(arg, ...argv.slice(i + 1, i + 2));
      i += 2;
    }
  }
  return { log, rest: argv.slice(i) };
}

const COMMANDS: ReadonlyArray<readonly [string, string]> = [["web", "Serve a web site: static files, a WSGI application or a resource tree."]];

/** torsion's version, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** `torsion --help`. */
export function topHelp(): string {
  return (
    "Usage: torsion [--help] [--version] [--log-level LEVEL] [--log-format FORMAT] COMMAND [options]\n\n" +
    "Run a torsion server.\n\n" +
    "Options:\n" +
    formatOptions(TOP_OPTIONS) +
    "\n\nCommands:\n" +
    COMMANDS.map(([name, help]) => `  ${name.padEnd(8)}${help}`).join("\n") +
    "\n\nRun `torsion COMMAND --help` for a command's options.\n"
  );
}

/** Run the `torsion` command with `argv` (the arguments after the program name). */
export async function main(args: readonly string[], io: MainIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  const { log, rest: argv } = takeLogOptions(args);
  const first = argv[0];
  if (first === undefined) {
    stderr.write("torsion: no command given (try torsion --help)\n");
    return 2;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    if (first === "help" && argv[1] === "web") return webCommand(["--help"], io.reactor ?? globalReactor, { stdout, stderr, cwd });
    stdout.write(topHelp());
    return 0;
  }
  if (first === "--version") {
    stdout.write(`torsion ${version()}\n`);
    return 0;
  }
  if (first === "web") return webCommand([...log, ...argv.slice(1)], io.reactor ?? globalReactor, { stdout, stderr, cwd });
  if (first.startsWith("-")) stderr.write(`torsion: unknown option ${first.split("=", 1)[0]} (try torsion --help)\n`);
  else stderr.write(`torsion: unknown command ${JSON.stringify(first)} (known commands: ${COMMANDS.map((c) => c[0]).join(", ")})\n`);
  return 2;
}

// --- the bin wrapper ---------------------------------------------------------------------

function isProgram(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Let pending output (the access log, stdout) flush; exit anyway if something lingers.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`torsion: internal error: ${oneLine(err)}\n`);
      if (process.env.TORSION_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
