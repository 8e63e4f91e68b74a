/**
 * Loading the code a command line names as MODULE:EXPORT (--resource, --wsgi), with errors a
 * user can act on: one line saying which module or export is the problem, never a stack.
 *
 * The form is parseWorkRef's (lib/internet/work-ref.ts), the one used for thread work, so a
 * WorkRef that works with deferToThread works on the command line and the other way round.
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describeExports, exportOf, importModule, isModuleNotFound, type ModuleNamespace } from "../internet/work-loader.js";
import { parseWorkRef, type WorkRef } from "../internet/work-ref.js";
import { registerErrorClasses } from "../internet/thread-error.js";
import { UsageError } from "./options.js";

/** A MODULE:EXPORT that could not be loaded: printed as one line, exit status 2. */
export class LoadError extends UsageError {
  static override readonly code: string = "TORSION_ERR_LOAD";
}

registerErrorClasses(LoadError);

/** Parse MODULE:EXPORT relative to `cwd`, or raise a UsageError naming `option`. */
export function parseReference(option: string, text: string, cwd: string): WorkRef {
  try {
    return parseWorkRef(text, cwd);
  } catch (err) {
    throw new UsageError(`${option} ${text}: ${(err as Error).message}`);
  }
}

/** The first line of what was thrown, for a one-line message. */
export function oneLine(err: unknown): string {
  if (err instanceof Error) {
    const first = (err.message || String(err)).split("\n", 1)[0];
    return err.name && err.name !== "Error" ? `${err.name}: ${first}` : first;
  }
  return String(err).split("\n", 1)[0];
}

/**
 * Import the module of `ref` and return its export. Raises LoadError when the module is
 * missing, fails while being imported, or lacks the export.
 */
export async function importExport(option: string, text: string, ref: WorkRef, cwd: string): Promise<unknown> {
  let module: ModuleNamespace;
  try {
    module = await importModule(ref.module);
  } catch (err) {
    if (isModuleNotFound(err)) {
      const shown = ref.module.startsWith("file:") ? fileURLToPath(ref.module) : ref.module;
      let hint = "";
      if (!ref.module.startsWith("file:") && existsSync(resolve(cwd, ref.module))) {
        hint = ` (a bare name is a package: write ./${ref.module} for the file)`;
      }
      throw new LoadError(`${option} ${text}: cannot find module ${shown}${hint}`);
    }
    throw new LoadError(`${option} ${text}: importing the module failed: ${oneLine(err)}`);
  }
  const value = exportOf(module, ref.export);
  if (value === undefined) {
    throw new LoadError(`${option} ${text}: the module has no export named ${JSON.stringify(ref.export)}${describeExports(module)}`);
  }
  return value;
}
