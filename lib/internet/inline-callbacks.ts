/**
 * inlineCallbacks and ensureDeferred (twisted.internet.defer): write Deferred-using code as
 * straight-line code.
 *
 *     const fetchTwice = inlineCallbacks(function* (url: string) {
 *       const first: string = yield getPage(url);   // a Deferred, a Promise or a plain value
 *       const second: string = yield getPage(url);
 *       return first + second;                       // the result of the returned Deferred
 *     });
 *
 * The generator is resumed with each yielded Deferred's result, or has its failure thrown in
 * at the `yield`. Unlike an async function, it can be cancelled: cancelling the returned
 * Deferred cancels the Deferred the generator is waiting on (as Twisted does), and the
 * generator may catch that CancelledError and go on.
 */

import { Deferred } from "./deferred.js";
import { NotACoroutineError } from "./error.js";
import { Failure } from "./failure.js";
import { isThenable } from "./thenable.js";

/** A generator object, as a generator function returns. */
function isGenerator(value: unknown): value is Generator<unknown, unknown, unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as Generator).next === "function" &&
    typeof (value as Generator).throw === "function" &&
    typeof (value as Generator)[Symbol.iterator] === "function"
  );
}

/** The marker a cancel() sends down the returned Deferred to its first step. */
class InlineCallbacksCancelled extends Error {}

interface Status {
  /** The Deferred to fire when the generator finishes. */
  deferred: Deferred<unknown>;
  /** The Deferred the generator is waiting on. */
  waitingOn: Deferred<unknown> | null;
}

/**
 * Drive `gen` from `result`: send values in, throw failures in, until it yields a Deferred
 * without a result (then return; that Deferred's step resumes it) or finishes. A loop, not
 * recursion, for Deferreds that already have results, so a generator that yields many of
 * them does not grow the stack.
 */
function drive(result: unknown, gen: Generator<unknown, unknown, unknown>, status: Status): void {
  for (;;) {
    let step: IteratorResult<unknown, unknown>;
    try {
      step = result instanceof Failure ? gen.throw(result.value) : gen.next(result);
    } catch (err) {
      status.deferred.errback(err);
      return;
    }
    if (step.done) {
      status.deferred.callback(step.value);
      return;
    }
    let yielded = step.value;
    if (!(yielded instanceof Deferred) && isThenable(yielded)) yielded = Deferred.fromPromise(yielded);
    if (!(yielded instanceof Deferred)) {
      result = yielded;
      continue;
    }
    let synchronous = true;
    let gotResult = false;
    let syncResult: unknown;
    yielded.addBoth((r: unknown) => {
      if (synchronous) {
        gotResult = true;
        syncResult = r;
      } else {
        drive(r, gen, status);
      }
      // The generator has the result now; the yielded Deferred goes on with undefined, so
      // a failure it carried is not reported as unhandled (as in Twisted).
      return undefined;
    });
    synchronous = false;
    if (!gotResult) {
      status.waitingOn = yielded as Deferred<unknown>;
      return;
    }
    result = syncResult;
  }
}

/** Run `gen` and give a Deferred of its return value that cancels what it waits on. */
function cancellableInlineCallbacks<T>(gen: Generator<unknown, T, any>): Deferred<T> {
  const status: Status = { deferred: undefined as unknown as Deferred<unknown>, waitingOn: null };

  // Twisted puts handleCancel in front of the returned Deferred's chain at cancel time; here
  // it is that Deferred's first step from the start, passing everything else through.
  const cancel = (it: Deferred<unknown>): void => {
    it.errback(new InlineCallbacksCancelled());
  };
  const handleCancel = (failure: Failure): unknown => {
    if (!(failure.value instanceof InlineCallbacksCancelled)) return failure;
    // Wait for the generator to finish (it may catch the cancellation and go on), through a
    // new Deferred that can itself be cancelled the same way.
    status.deferred = newDeferred();
    status.waitingOn?.cancel();
    return status.deferred;
  };
  const newDeferred = (): Deferred<unknown> => new Deferred<unknown>(cancel).addErrback(handleCancel);

  const deferred = newDeferred();
  status.deferred = deferred;
  drive(undefined, gen, status);
  return deferred as Deferred<T>;
}

/**
 * Wrap a generator function so each call runs it as described above and returns a Deferred of
 * its return value. A function that does not return a generator raises TypeError when called.
 */
export function inlineCallbacks<A extends unknown[], T>(
  f: (...args: A) => Generator<unknown, T, any>,
): (...args: A) => Deferred<T> {
  return function unwindGenerator(this: unknown, ...args: A): Deferred<T> {
    const gen = f.apply(this, args);
    if (!isGenerator(gen)) {
      throw new TypeError(`inlineCallbacks requires ${f.name || "the function"} to produce a generator; instead got ${String(gen)}`);
    }
    return cancellableInlineCallbacks(gen);
  };
}

/**
 * A Deferred for a generator object (driven as inlineCallbacks drives it) or for a Promise
 * (the call of an async function); anything else raises NotACoroutineError
 * (Deferred.fromCoroutine).
 */
export function fromCoroutine<T>(coro: Generator<unknown, T, any> | PromiseLike<T>): Deferred<T> {
  if (isGenerator(coro)) return cancellableInlineCallbacks(coro as Generator<unknown, T, any>);
  if (isThenable(coro)) return Deferred.fromPromise(coro);
  throw new NotACoroutineError(`${describe(coro)} is not a coroutine`);
}

/**
 * A Deferred for a Deferred (itself), a Promise (fromPromise: it cannot be cancelled, see
 * docs/deferreds.md) or a generator object (driven as inlineCallbacks drives it);
 * anything else raises NotACoroutineError.
 */
export function ensureDeferred<T>(coro: Deferred<T> | PromiseLike<T> | Generator<unknown, T, any>): Deferred<T> {
  if (coro instanceof Deferred) return coro;
  if (isGenerator(coro) || isThenable(coro)) return fromCoroutine(coro);
  throw new NotACoroutineError(`${describe(coro)} is not a coroutine or a Deferred`);
}

function describe(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
