/**
 * Loading what a WorkRef names (work-ref.ts): import its module, once per thread, and take its
 * export. One loader for the thread pool's workers (worker-main.ts) and for the `torsion`
 * command's --resource and --wsgi options (lib/cli/load.ts), so both find a module the same
 * way and describe a missing export the same way.
 *
 * It imports no module (only a type): every worker loads it before anything else.
 */
import type { WorkRef } from "./work-ref.js";

/** A module's namespace object, as import() gives it. */
export type ModuleNamespace = Record<string, unknown>;

const modules = new Map<string, Promise<ModuleNamespace>>();

/**
 * Import `module` (a file URL or a package specifier, as normalizeModule leaves it) once: later
 * calls share the first import. One that failed is tried again by the next call, so a fixed
 * file or a package installed meanwhile is found.
 */
export function importModule(module: string): Promise<ModuleNamespace> {
  let loading = modules.get(module);
  if (loading === undefined) {
    loading = import(module) as Promise<ModuleNamespace>;
    modules.set(module, loading);
    loading.catch(() => modules.delete(module));
  }
  return loading;
}

/** Whether an import() failed because the module is not there (rather than failing as it ran). */
export function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "ERR_UNSUPPORTED_DIR_IMPORT";
}

/** " (it exports: a, b, ...)": what a module offers, for a message about a missing export. */
export function describeExports(namespace: ModuleNamespace): string {
  const names = Object.keys(namespace).filter((k) => k !== "__esModule");
  if (names.length === 0) return "";
  return ` (it exports: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ", ..." : ""})`;
}

/** The export `name` of `namespace`, or undefined when it has none. */
export function exportOf(namespace: ModuleNamespace, name: string): unknown {
  return name in namespace ? namespace[name] : undefined;
}

/**
 * The function `ref` names. A missing export or one that is not a function is a TypeError that
 * names the module and the export.
 */
export async function loadFunction(ref: WorkRef): Promise<(...args: unknown[]) => unknown> {
  const namespace = await importModule(ref.module);
  const fn = exportOf(namespace, ref.export);
  if (typeof fn !== "function") {
    throw new TypeError(
      fn === undefined
        ? `module ${ref.module} has no export named ${JSON.stringify(ref.export)}${describeExports(namespace)}`
        : `export ${JSON.stringify(ref.export)} of ${ref.module} is not a function`,
    );
  }
  return fn as (...args: unknown[]) => unknown;
}
