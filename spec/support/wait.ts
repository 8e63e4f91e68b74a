/**
 * Bounded waits for specs on real sockets, processes and threads. Every wait on something
 * outside the spec's control has a bound, so a hang fails the one test with a message naming
 * what never happened, instead of stalling the run until mocha's own timeout. Times are seconds,
 * as everywhere in torsion.
 */

/** `promise`'s outcome, or a rejection saying `what` did not happen within `seconds`. */
export function within<T>(promise: PromiseLike<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${seconds} s waiting for ${what}`)), seconds * 1000);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Check `condition` every 2 ms until it holds (it may be async: a query, a connection attempt);
 * fail after `seconds` saying `what`. For states that no event announces.
 */
export async function until(condition: () => boolean | Promise<boolean>, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const held = condition();
    if (typeof held === "boolean" ? held : await held) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A Promise and the function that resolves it, for a callback to signal and a spec to wait on. */
export interface Later<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
}

/** A Promise resolved later by whoever holds it (Node 20 has no Promise.withResolvers). */
export function later<T = void>(): Later<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
