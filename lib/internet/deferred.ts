/**
 * Deferred: a result that is not there yet, with a chain of callbacks and errbacks
 * (twisted.internet.defer.Deferred).
 *
 * Unlike a Promise, a Deferred runs its callbacks synchronously as soon as it has a result,
 * can be paused, and can be cancelled (its canceller, or a CancelledError, reaches whatever
 * it is waiting on). It is also PromiseLike, so `await d` gives the result or throws the error.
 *
 * The callback loop is Twisted's own algorithm (Deferred._runCallbacks): a callback that returns
 * a Deferred without a result pauses this chain until it fires, and chains of such Deferreds
 * are run with an explicit stack, never by recursion, so a chain of any length cannot overflow.
 */

import { AlreadyCalledError, CancelledError, TimeoutError } from "./error.js";
import { Failure } from "./failure.js";
import type { IReactorTime } from "./interfaces.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.defer");

/** A callback's return value: a value, a Deferred of one, or a Promise of one. */
export type Chainable<T> = T | Deferred<T> | PromiseLike<T>;

type AnyCallback = (result: any, ...args: any[]) => unknown;

/** The marker Twisted calls _CONTINUE: hand this chain's result to a waiting Deferred. */
const CONTINUE: AnyCallback = () => undefined;

/** No result yet (Twisted's _NO_RESULT): distinct from every value a callback can return. */
const NO_RESULT: unique symbol = Symbol("NO_RESULT");

/**
 * Reports a Failure left at the end of a chain when its Deferred is garbage collected, as
 * Twisted's DebugInfo.__del__ does. The held value is the Failure, never the Deferred, so the
 * registry does not keep the Deferred alive.
 */
const unhandledFailures = new FinalizationRegistry<Failure>((failure) => {
  log.failure("Unhandled error in Deferred:", failure);
});

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export type Canceller<T> = (d: Deferred<T>) => void;

export class Deferred<T = unknown> implements PromiseLike<T> {
  /** True once callback() or errback() has been called. */
  called = false;
  /** How many times pause() has been called more than unpause(). */
  paused = 0;

  /** The current result: a value, a Failure, or the Deferred this one waits on. */
  private result: unknown = NO_RESULT;
  /** Flat list of [callback, callbackArgs, errback, errbackArgs] quadruples, from `cursor` on. */
  private callbacks: unknown[] = [];
  private cursor = 0;
  private runningCallbacks = false;
  private suppressAlreadyCalled = false;
  private canceller: Canceller<T> | undefined;
  /** The Deferred whose chain this one is waiting on (Twisted's _chainedTo), for debugging. */
  private chainedTo: Deferred<unknown> | null = null;
  /** True while a Failure result is registered for the unhandled-error report. */
  private reportingFailure = false;
  /** A Failure that then() handed to a Promise: observed, so not reported as unhandled. */
  private observedFailure: Failure | null = null;

  constructor(canceller?: Canceller<T>) {
    this.canceller = canceller;
  }

  // --- adding callbacks ----------------------------------------------------------------

  /**
   * Add a callback and an errback as one step: exactly one of them runs, with the result of
   * the step before. Whatever it returns (or throws) is the input of the next step.
   */
  addCallbacks<R = T, E = never>(
    callback: ((result: T, ...args: any[]) => Chainable<R>) | null,
    errback?: ((failure: Failure, ...args: any[]) => Chainable<E>) | null,
    options?: { callbackArgs?: unknown[]; errbackArgs?: unknown[] },
  ): Deferred<R | E> {
    this.callbacks.push(
      callback ?? passthru,
      options?.callbackArgs ?? null,
      errback ?? passthru,
      options?.errbackArgs ?? null,
    );
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<R | E>;
  }

  /** Add a step that runs only on success: `callback(result, ...args)`. */
  addCallback<R, A extends unknown[] = []>(
    callback: (result: T, ...args: A) => Chainable<R>,
    ...args: A
  ): Deferred<R> {
    this.callbacks.push(callback, args.length ? args : null, passthru, null);
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<R>;
  }

  /** Add a step that runs only on failure: `errback(failure, ...args)`; its return value recovers. */
  addErrback<R = T, A extends unknown[] = []>(
    errback: (failure: Failure, ...args: A) => Chainable<R>,
    ...args: A
  ): Deferred<T | R> {
    this.callbacks.push(passthru, null, errback, args.length ? args : null);
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<T | R>;
  }

  /** Add the same function as callback and errback: it gets the result or the Failure. */
  addBoth<R, A extends unknown[] = []>(
    callback: (result: T | Failure, ...args: A) => Chainable<R>,
    ...args: A
  ): Deferred<R> {
    const a = args.length ? args : null;
    this.callbacks.push(callback, a, callback, a);
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<R>;
  }

  /**
   * Fire `d` with this chain's result at this point, and go on with `undefined`
   * (Twisted's chainDeferred).
   */
  chainDeferred(d: Deferred<T>): Deferred<void> {
    d.chainedTo = this as Deferred<unknown>;
    return this.addCallbacks(
      (result) => d.callback(result),
      (failure) => d.errback(failure),
    ) as unknown as Deferred<void>;
  }

  // --- firing ----------------------------------------------------------------------------

  /** Fire the chain with a success. A second call raises AlreadyCalledError. */
  callback(result: T): void {
    if (result instanceof Deferred) {
      throw new TypeError("Deferred.callback() was given a Deferred: chain it with chainDeferred() instead");
    }
    this.startRunCallbacks(result);
  }

  /** Fire the chain with a failure: a Failure, or any error (wrapped in a Failure). */
  errback(reason: unknown = new Error("Deferred.errback() called without a reason")): void {
    this.startRunCallbacks(Failure.from(reason));
  }

  /** Stop running callbacks until unpause() is called as many times as pause() was. */
  pause(): void {
    this.paused++;
  }

  unpause(): void {
    this.paused--;
    if (this.paused) return;
    if (this.called) this.runCallbacks();
  }

  /**
   * Cancel: call the canceller (which may fire the Deferred with anything); if the Deferred is
   * still unfired, errback it with CancelledError and ignore the one later callback/errback
   * that the cancelled operation may still deliver. If the chain is waiting on another
   * Deferred, cancel that one instead.
   */
  cancel(): void {
    if (!this.called) {
      const canceller = this.canceller;
      if (canceller) {
        canceller(this);
      } else {
        this.suppressAlreadyCalled = true;
      }
      if (!this.called) this.errback(new Failure(new CancelledError()));
    } else if (this.result instanceof Deferred) {
      this.result.cancel();
    }
  }

  /**
   * Errback with TimeoutError if the Deferred has not fired within `timeout` seconds on
   * `clock`, by cancelling it. `onTimeoutCancel(result, timeout)` may replace that conversion.
   */
  addTimeout(
    timeout: number,
    clock: IReactorTime,
    onTimeoutCancel?: (result: unknown, timeout: number) => unknown,
  ): Deferred<T> {
    let timedOut = false;
    const delayedCall = clock.callLater(timeout, () => {
      timedOut = true;
      this.cancel();
    });
    this.addBoth((result) => {
      if (timedOut) return (onTimeoutCancel ?? cancelledToTimedOutError)(result, timeout);
      return result;
    });
    this.addBoth((result) => {
      if (delayedCall.active()) delayedCall.cancel();
      return result;
    });
    return this;
  }

  /** True while the Deferred has no result yet, or is waiting on another Deferred. */
  get waiting(): boolean {
    return !this.called || this.result instanceof Deferred || this.paused > 0;
  }

  // --- Promise interop ---------------------------------------------------------------------

  /**
   * PromiseLike: `await d` resolves with the result at this point of the chain or rejects with
   * the Failure's error. The chain is left as it is, and a Failure handed to a Promise here
   * counts as handled (it is not reported when the Deferred is collected).
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return new Promise<T>((resolve, reject) => {
      this.addCallbacks(
        (result) => {
          resolve(result);
          return result;
        },
        (failure) => {
          this.observedFailure = failure;
          reject(failure.value);
          return failure as never;
        },
      );
    }).then(onfulfilled, onrejected);
  }

  /** A Promise of the result (consuming nothing: see then()). */
  asPromise(): Promise<T> {
    return this.then();
  }

  /** A Deferred that fires with a Promise's (or any thenable's) outcome. */
  static fromPromise<T>(promise: PromiseLike<T>): Deferred<T> {
    const d = new Deferred<T>();
    promise.then(
      (value) => d.callback(value),
      (err) => d.errback(err),
    );
    return d;
  }

  toString(): string {
    if (!this.called) return "<Deferred (no result)>";
    if (this.result instanceof Deferred) return `<Deferred waiting on ${this.result}>`;
    return `<Deferred current result: ${String(this.result)}>`;
  }

  // --- the callback loop -----------------------------------------------------------------

  private startRunCallbacks(result: unknown): void {
    if (this.called) {
      if (this.suppressAlreadyCalled) {
        this.suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError();
    }
    this.called = true;
    this.result = result;
    this.runCallbacks();
  }

  private runCallbacks(): void {
    if (this.runningCallbacks) return; // a callback added by a running callback: the loop picks it up
    const chain: Deferred<unknown>[] = [this as Deferred<unknown>];
    while (chain.length) {
      const current = chain[chain.length - 1]!;
      if (current.paused) return;
      let finished = true;
      current.chainedTo = null;
      const callbacks = current.callbacks;
      while (current.cursor < callbacks.length) {
        const i = current.cursor;
        current.cursor = i + 4;
        const isFailure = current.result instanceof Failure;
        const fn = callbacks[isFailure ? i + 2 : i] as AnyCallback;
        const args = callbacks[isFailure ? i + 3 : i + 1] as unknown[] | null;
        callbacks[i] = callbacks[i + 1] = callbacks[i + 2] = callbacks[i + 3] = undefined;

        if (fn === CONTINUE) {
          // Give the waiting Deferred our result, and forget it ourselves.
          const chainee = args![0] as Deferred<unknown>;
          chainee.result = current.result;
          current.result = undefined;
          current.clearFailureReport();
          chainee.paused--;
          chain.push(chainee);
          finished = false;
          break;
        }

        if (fn === passthru) continue;

        current.runningCallbacks = true;
        try {
          current.result = args === null ? fn(current.result) : fn(current.result, ...args);
        } catch (err) {
          current.result = Failure.from(err);
        } finally {
          current.runningCallbacks = false;
        }

        let next = current.result;
        if (next !== null && typeof next === "object" && !(next instanceof Failure) && !(next instanceof Deferred) && isThenable(next)) {
          next = current.result = Deferred.fromPromise(next);
        }
        if (next instanceof Deferred) {
          const inner = next as Deferred<unknown>;
          const innerResult = inner.result;
          if (innerResult === NO_RESULT || innerResult instanceof Deferred || inner.paused) {
            // The inner Deferred has no result yet: pause and wait for it.
            current.pause();
            current.chainedTo = inner;
            inner.callbacks.push(CONTINUE, [current], CONTINUE, [current]);
            break;
          }
          // It has one: take it and keep going.
          inner.result = undefined;
          inner.clearFailureReport();
          current.result = innerResult;
        }
      }

      if (finished) {
        // Compact the consumed callbacks so a long-lived Deferred does not hold them.
        if (current.cursor >= callbacks.length) {
          callbacks.length = 0;
          current.cursor = 0;
        }
        if (current.result instanceof Failure) {
          current.reportIfUnhandled(current.result);
        } else {
          current.clearFailureReport();
        }
        chain.pop();
      }
    }
  }

  private reportIfUnhandled(failure: Failure): void {
    if (failure === this.observedFailure) {
      this.clearFailureReport();
      return;
    }
    if (this.reportingFailure) unhandledFailures.unregister(this);
    unhandledFailures.register(this, failure, this);
    this.reportingFailure = true;
  }

  private clearFailureReport(): void {
    if (this.reportingFailure) {
      unhandledFailures.unregister(this);
      this.reportingFailure = false;
    }
  }
}

/** The identity step used when addCallbacks is given no callback or no errback. */
export function passthru<T>(value: T): T {
  return value;
}

function cancelledToTimedOutError(value: unknown, timeout: number): unknown {
  if (value instanceof Failure) {
    value.trap(CancelledError);
    throw new TimeoutError(`Deferred timed out after ${timeout} seconds`);
  }
  return value;
}

// --- constructors ------------------------------------------------------------------------

/** A Deferred that has already succeeded with `result`. */
export function succeed<T>(result: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(result);
  return d;
}

/** A Deferred that has already failed with `reason`. */
export function fail<T = never>(reason: unknown = new Error("fail() called without a reason")): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(reason);
  return d;
}

/**
 * Call `f(...args)` and always get a Deferred: its Deferred as it is, a Promise converted,
 * a value wrapped with succeed(), a throw wrapped with fail().
 */
export function maybeDeferred<T, A extends unknown[]>(f: (...args: A) => Chainable<T>, ...args: A): Deferred<T> {
  let result: Chainable<T>;
  try {
    result = f(...args);
  } catch (err) {
    return fail<T>(err);
  }
  if (result instanceof Deferred) return result;
  if (result instanceof Failure) return fail<T>(result);
  if (isThenable(result)) return Deferred.fromPromise(result);
  return succeed(result as T);
}
