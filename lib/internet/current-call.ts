/**
 * What the reactor (or a Clock) is running right now: the delayed call's (or callFromThread
 * call's) function, for error messages. A Deferred notes it when first fired, so an
 * AlreadyCalledError can say where the first firing happened without recording a stack for
 * every Deferred (a stack costs microseconds, and even reading a function's name costs more
 * than this one read: the name is read only when the error is made). setDebugging(true) still
 * records the full stacks.
 */

/**
 * The function a delayed call or a callFromThread call is running, or null outside one. A
 * Deferred fired meanwhile keeps a reference to it (not to its arguments).
 */
export let currentCall: Function | null = null;

/** Set what is running now; returns what ran before, for the caller to restore. */
export function enterCall(call: Function | null): Function | null {
  const outer = currentCall;
  currentCall = call;
  return outer;
}
