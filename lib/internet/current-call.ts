/**
 * What the reactor (or a Clock) is running right now: the name of the delayed call's function,
 * for error messages. A Deferred notes it when first fired, so an AlreadyCalledError can say
 * where the first firing happened without recording a stack for every Deferred (a stack costs
 * microseconds; this costs one read). setDebugging(true) still records the full stacks.
 */

/**
 * The name of the function a delayed call or a callFromThread call is running ("<anonymous>"
 * for an unnamed one), or null outside one. A name, not the function: a Deferred keeps it.
 */
export let currentCall: string | null = null;

/** Set what is running now; returns what ran before, for the caller to restore. */
export function enterCall(name: string | null): string | null {
  const outer = currentCall;
  currentCall = name;
  return outer;
}
