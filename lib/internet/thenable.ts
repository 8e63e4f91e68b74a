/**
 * What counts as a thenable, decided once for every module that waits on one (Deferred's
 * callback chain, inlineCallbacks, the Cooperator, the reactor's shutdown triggers, the thread
 * layer on both sides, render() results in the Site and in DummyRequest).
 *
 * Promise/A+ section 1.2: "a thenable is an object or function that defines a then method".
 * Functions count (some libraries make callable promises), so do Deferreds. This module imports
 * nothing, because worker threads load it before anything else.
 */

/**
 * True for an object or function whose `then` is callable. A `then` getter that throws is
 * taken as "not a thenable" (the value stays a plain result) rather than thrown from here:
 * every caller would otherwise need its own guard around a type test.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return false;
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    return false;
  }
}
