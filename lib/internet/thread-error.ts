/**
 * Errors that cross a thread boundary, in either direction (a worker's exception to the main
 * side, a main-side function's failure back into a blockingCallFromThread).
 *
 * Structured clone keeps only the built-in error types and drops everything else: a
 * `class NewError extends Error` arrives as a plain Error, its `code` gone. So an error is sent
 * as a plain record (name, class name, message, stack, cloneable own properties, cause) and
 * rebuilt on the other side: as the same class when that side knows it (the built-in errors and
 * torsion's own, from error.ts), else as an Error subclass carrying the original class name.
 * Message and stack are always the thrower's.
 */

import * as torsionErrors from "./error.js";
import { NonErrorThrown } from "./failure.js";

/** An error as it travels between threads. */
export interface SerializedError {
  /** The error's `name` property. */
  name: string;
  /** The name of its constructor (what the receiving side rebuilds). */
  className: string;
  message: string;
  stack?: string;
  /** Own enumerable properties that structured clone can carry (code, errno, status, ...). */
  props?: Record<string, unknown>;
  cause?: SerializedError;
  /** Set when a non-Error value was thrown: that value if it clones, else its description. */
  thrown?: { value: unknown };
}

type ErrorClass = new (...args: any[]) => Error;

const BUILTIN: Record<string, ErrorClass> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
};

let known: Map<string, ErrorClass> | undefined;

/** The classes this side can rebuild as themselves: the built-ins and torsion's errors. */
function knownClasses(): Map<string, ErrorClass> {
  if (known) return known;
  known = new Map(Object.entries(BUILTIN));
  for (const value of Object.values(torsionErrors)) {
    if (typeof value === "function" && value.prototype instanceof Error) known.set(value.name, value as ErrorClass);
  }
  return known;
}

/**
 * Make error classes defined outside error.ts (the HTTP parser's, the protocols', the CLI's)
 * known to the thread layer, so that one thrown on either side arrives as itself and
 * `failure.trap(ThatClass)` works. Each module that defines an error class calls this once,
 * beside the class: a thread that has the class has loaded that module, so it knows it too.
 */
export function registerErrorClasses(...classes: ErrorClass[]): void {
  const map = knownClasses();
  for (const cls of classes) {
    const existing = map.get(cls.name);
    if (existing !== undefined && existing !== cls && !(cls.name in BUILTIN)) {
      throw new Error(`two error classes named ${cls.name} were registered with the thread layer`);
    }
    if (existing === undefined) map.set(cls.name, cls);
  }
}

/** Error subclasses made to carry a class name this side does not know, one per name. */
const standIns = new Map<string, ErrorClass>();

function standIn(className: string): ErrorClass {
  let cls = standIns.get(className);
  if (!cls) {
    cls = class extends Error {};
    Object.defineProperty(cls, "name", { value: className });
    Object.defineProperty(cls.prototype, "name", { value: className, writable: true, configurable: true });
    standIns.set(className, cls);
  }
  return cls;
}

function cloneable(value: unknown): boolean {
  if (value === null || typeof value !== "object") return typeof value !== "function" && typeof value !== "symbol";
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

const SKIPPED = new Set(["name", "message", "stack", "cause"]);

/** Turn anything thrown into a record that structured clone carries without loss. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (err instanceof NonErrorThrown) err = err.thrown;
  if (!(err instanceof Error)) {
    const value = cloneable(err) ? err : String(err);
    return { name: "NonErrorThrown", className: "NonErrorThrown", message: "", thrown: { value } };
  }
  const out: SerializedError = {
    name: typeof err.name === "string" ? err.name : "Error",
    className: err.constructor?.name || "Error",
    message: typeof err.message === "string" ? err.message : String(err.message),
  };
  if (typeof err.stack === "string") out.stack = err.stack;
  for (const key of Object.keys(err)) {
    if (SKIPPED.has(key)) continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (cloneable(value)) (out.props ??= {})[key] = value;
  }
  // A cause chain can be long or cyclic; a few levels say what happened.
  if (err.cause !== undefined && depth < 8) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** Rebuild an error sent by serializeError, as the same class where this side has it. */
export function deserializeError(record: SerializedError): Error {
  if (record.thrown) {
    const err = new NonErrorThrown(record.thrown.value);
    if (record.stack) err.stack = record.stack;
    return err;
  }
  const cls = knownClasses().get(record.className) ?? standIn(record.className);
  // Object.create, not `new`: some classes need constructor arguments (FirstError,
  // CannotListenError) and every constructor would overwrite the stack with this thread's.
  const err = Object.create(cls.prototype) as Error;
  const hidden = { writable: true, configurable: true, enumerable: false };
  Object.defineProperty(err, "message", { ...hidden, value: record.message });
  Object.defineProperty(err, "name", { ...hidden, value: record.name });
  Object.defineProperty(err, "stack", {
    ...hidden,
    value: record.stack ?? `${record.name}: ${record.message}`,
  });
  if (record.cause) Object.defineProperty(err, "cause", { ...hidden, value: deserializeError(record.cause) });
  if (record.props) Object.assign(err, record.props);
  return err;
}
