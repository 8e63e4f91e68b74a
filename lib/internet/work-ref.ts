/**
 * Naming work for a worker thread: a module and one of its exports.
 *
 * A function cannot cross to another thread in JavaScript: a worker has its own heap, and a
 * closure's captured variables live in this one. So work is named by where it lives, and each
 * worker imports that module (once) and calls the export there, with arguments and results
 * passed by structured clone. One form is used everywhere (deferToThread, ThreadPool, the
 * `--wsgi MODULE:EXPORT` option):
 *
 *     // work.ts
 *     export const fib = threadable(import.meta.url, "fib", function fib(n: number): number { ... });
 *     // main.ts
 *     const n = await deferToThread(fib, 30);          // arguments type-checked against fib
 *     await deferToThread(workRef("/srv/app/work.js", "fib"), 30);
 *     parseWorkRef("./app.js:application");            // the command-line form
 *
 * This module has no dependencies beyond node:path and node:url, because every worker imports
 * it (through the user's module) before it can do anything.
 */

import { isAbsolute, resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Work for a worker: `module` is a file URL, an absolute path, or a package specifier
 * (imported as `import()` from torsion's own location, which finds packages installed beside
 * torsion); `export` is the name of a function it exports ("default" for a default export).
 */
export interface WorkRef {
  readonly module: string;
  readonly export: string;
}

/** The property that marks a threadable function with its WorkRef (shared across copies of torsion). */
export const WORK_REF: unique symbol = Symbol.for("torsion.workRef") as never;

/** A function marked by threadable(): callable as it is, and runnable in a worker by name. */
export type Threadable<F extends (...args: any[]) => unknown> = F & { readonly [WORK_REF]: WorkRef };

/** What the thread APIs accept as work: a WorkRef or a threadable function. */
export type Work = WorkRef | Threadable<(...args: any[]) => unknown>;

/** The argument list of a piece of work: the function's own for a threadable, else anything cloneable. */
export type WorkArgs<W> = W extends (...args: infer A) => unknown ? A : unknown[];

/** What a piece of work's Deferred fires with: the function's (awaited) return type, else unknown. */
export type WorkResult<W> = W extends (...args: any[]) => infer R ? Awaited<R> : unknown;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The WorkRefs made here, already normalized, so toWorkRef() need not redo it per task. */
const normalized = new WeakSet<WorkRef>();

function made(module: string, exportName: string): WorkRef {
  const ref = Object.freeze({ module, export: exportName });
  normalized.add(ref);
  return ref;
}

/**
 * The module part as a worker will import it: an absolute or relative path becomes a file URL
 * (relative to `base`, the current directory by default); a URL or a package specifier stays.
 */
export function normalizeModule(module: string, base: string = process.cwd()): string {
  if (module.startsWith("/")) return pathToFileURL(module).href;
  if (module === "." || module === ".." || module.startsWith("./") || module.startsWith("../")) {
    return pathToFileURL(resolvePath(base, module)).href;
  }
  if (isAbsolute(module)) return pathToFileURL(module).href;
  return module;
}

function checkExportName(name: string): void {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new TypeError(`a WorkRef export must be a JavaScript identifier, got ${JSON.stringify(name)}`);
  }
}

/** A WorkRef for `exportName` of the module at `moduleUrlOrPath` (a file URL, a path, or a package specifier). */
export function workRef(moduleUrlOrPath: string | URL, exportName: string): WorkRef {
  const module = typeof moduleUrlOrPath === "string" ? moduleUrlOrPath : moduleUrlOrPath.href;
  if (!module) throw new TypeError("a WorkRef needs a module");
  checkExportName(exportName);
  return made(normalizeModule(module), exportName);
}

/**
 * Parse the command-line form "MODULE:EXPORT". The export is what follows the last colon, so
 * file URLs ("file:///srv/app.js:app"), paths ("/srv/app.js:app", "./app.js:app", relative
 * to `base`) and package specifiers ("pkg:app", "@scope/pkg/sub:app") all work.
 */
export function parseWorkRef(text: string, base: string = process.cwd()): WorkRef {
  const colon = text.lastIndexOf(":");
  const exportName = colon < 0 ? "" : text.slice(colon + 1);
  if (colon <= 0 || !IDENTIFIER.test(exportName)) {
    throw new TypeError(
      `expected MODULE:EXPORT (for example ./app.js:application or pkg:handler), got ${JSON.stringify(text)}`,
    );
  }
  return made(normalizeModule(text.slice(0, colon), base), exportName);
}

/**
 * Mark `fn` as runnable in a worker, where it is found as export `exportName` of the module
 * at `moduleUrl` (pass `import.meta.url`). Returns `fn` itself, so the module exports it and
 * both sides use the same name:
 *
 *     export const fib = threadable(import.meta.url, "fib", function fib(n: number): number { ... });
 *
 * The export name must match, or the worker will not find it (the worker imports the module
 * and calls `module[exportName]`, which is this same function).
 */
export function threadable<F extends (...args: any[]) => unknown>(moduleUrl: string | URL, exportName: string, fn: F): Threadable<F> {
  if (typeof fn !== "function") throw new TypeError("threadable() needs a function");
  Object.defineProperty(fn, WORK_REF, { value: workRef(moduleUrl, exportName), enumerable: false });
  return fn as Threadable<F>;
}

/** True for a function marked by threadable(). */
export function isThreadable(value: unknown): value is Threadable<(...args: any[]) => unknown> {
  return typeof value === "function" && (value as { [WORK_REF]?: unknown })[WORK_REF] !== undefined;
}

/**
 * The WorkRef of `work`. A plain function is refused with a TypeError saying what to do,
 * because it cannot be sent to a worker.
 */
export function toWorkRef(work: Work | ((...args: any[]) => unknown)): WorkRef {
  if (typeof work === "function") {
    const ref = (work as { [WORK_REF]?: WorkRef })[WORK_REF];
    if (ref !== undefined) return ref;
    throw new TypeError(
      `a function cannot be sent to a worker thread: export it wrapped in threadable(import.meta.url, "${work.name || "name"}", fn), or pass a WorkRef`,
    );
  }
  if (work !== null && typeof work === "object" && typeof work.module === "string" && typeof work.export === "string") {
    if (normalized.has(work)) return work;
    checkExportName(work.export);
    return made(normalizeModule(work.module), work.export);
  }
  throw new TypeError("work must be a WorkRef ({ module, export }) or a function marked with threadable()");
}

/** "module:export", for messages. */
export function describeWorkRef(ref: WorkRef): string {
  return `${ref.module}:${ref.export}`;
}
