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
import { isThenable } from "./thenable.js";

const log = new Logger("torsion.internet.defer");

/** A callback's return value: a value, a Deferred of one, or a Promise of one. */
export type Chainable<T> = T | Deferred<T> | PromiseLike<T>;

type AnyCallback = (result: any, ...args: any[]) => unknown;

/**
 * A step with extra arguments: `fn(result, ...args)`. A step without them is the bare
 * function, so the common case stores nothing but the function.
 */
class BoundStep {
  constructor(
    readonly fn: AnyCallback,
    readonly args: unknown[],
  ) {}
}

/** The step Twisted calls _CONTINUE: hand this chain's result to a Deferred waiting on it. */
class ContinueStep {
  constructor(readonly chainee: Deferred<unknown>) {}
}

/** One half of a step: what runs on success, or what runs on failure. */
type StepEntry = AnyCallback | BoundStep | ContinueStep;

// A step takes one slot when it is only a callback (the common case: addCallback) or a
// ContinueStep; otherwise a tag slot says what the next slot(s) hold.
/** Next slot: the errback; the callback is passthru. */
const ERRBACK_ONLY = 1;
/** Next slot: the one entry used for both (addBoth). */
const BOTH = 2;
/** Next two slots: the callback, then the errback. */
const PAIR = 3;

function entry(fn: AnyCallback, args: unknown[] | null | undefined): StepEntry {
  return args && args.length ? new BoundStep(fn, args) : fn;
}

/** No result yet (Twisted's _NO_RESULT): distinct from every value a callback can return. */
const NO_RESULT: unique symbol = Symbol("NO_RESULT");

/**
 * Reports a Failure left at the end of a chain when its Deferred is garbage collected, as
 * Twisted's DebugInfo.__del__ does. The held value is the Failure, never the Deferred, so the
 * registry does not keep the Deferred alive.
 */
const unhandledFailures = new FinalizationRegistry<Failure | DebuggedFailure>((held) => {
  if (held instanceof Failure) {
    log.failure("Unhandled error in Deferred:", held);
  } else {
    log.failure("Unhandled error in Deferred: (debug: {debugInfo})", held.failure, { debugInfo: held.debugInfo });
  }
});

/** What the unhandled-error report holds for a Deferred created or fired while debugging. */
interface DebuggedFailure {
  failure: Failure;
  debugInfo: string;
}

/**
 * Where a Deferred was created and first fired, recorded only while debugging is on
 * (Twisted's DebugInfo). Kept beside the Deferred, not in it, so debugging costs nothing
 * when it is off.
 */
interface DebugInfo {
  creator?: string;
  invoker?: string;
}

const debugInfos = new WeakMap<object, DebugInfo>();
let debugging = false;

/**
 * Record the stack where each Deferred is created and first fired, and show both in
 * AlreadyCalledError and in the unhandled-error report (defer.setDebugging).
 */
export function setDebugging(on: boolean): void {
  debugging = on;
}

/** Whether Deferred debugging is on (defer.getDebugging). */
export function getDebugging(): boolean {
  return debugging;
}

/** The caller's stack, without this helper's frames: `skip` more frames are dropped. */
function captureStack(skip: number): string {
  const lines = (new Error().stack ?? "").split("\n");
  return lines.slice(2 + skip).join("\n");
}

function formatDebugInfo(info: DebugInfo | undefined): string {
  if (info === undefined) return "";
  let text = "";
  if (info.creator !== undefined) {
    text += " C: Deferred was created:\n C:" + info.creator.replace(/\n/g, "\n C:") + "\n";
  }
  if (info.invoker !== undefined) {
    text += " I: First Invoker was:\n I:" + info.invoker.replace(/\n/g, "\n I:") + "\n";
  }
  return text;
}

export type Canceller<T> = (d: Deferred<T>) => void;

export class Deferred<T = unknown> implements PromiseLike<T> {
  /** True once callback() or errback() has been called. */
  called = false;
  /** How many times pause() has been called more than unpause(). */
  paused = 0;

  /** The current result: a value, a Failure, or the Deferred this one waits on. */
  private result: unknown = NO_RESULT;
  /**
   * Flat list of steps, from `cursor` on (see ERRBACK_ONLY, BOTH, PAIR): one array for the
   * whole chain, so adding a step without extra arguments allocates nothing.
   */
  private callbacks: unknown[] = [];
  /** Slots of `callbacks` in use; the array is reused, not shrunk, once a chain has run. */
  private count = 0;
  private cursor = 0;
  private runningCallbacks = false;
  private suppressAlreadyCalled = false;
  // Canceller<any>, not Canceller<T>: a function-typed field would make Deferred invariant in
  // T, and a Deferred<void> must pass where a Deferred<unknown> is expected.
  private canceller: Canceller<any> | undefined;
  /** The Deferred whose chain this one is waiting on (Twisted's _chainedTo), for toString(). */
  private chainedTo: Deferred<unknown> | null = null;
  /** True while a Failure result is registered for the unhandled-error report. */
  private reportingFailure = false;
  /** A Failure that then() handed to a Promise: observed, so not reported as unhandled. */
  private observedFailure: Failure | null = null;

  constructor(canceller?: Canceller<T>) {
    this.canceller = canceller;
    if (debugging) debugInfos.set(this, { creator: captureStack(0) });
  }

  // --- adding callbacks ----------------------------------------------------------------

  /**
   * Add a callback and an errback as one step: exactly one of them runs, with the result of
   * the step before. Whatever it returns (or throws) is the input of the next step.
   * A null callback or errback passes the result (or Failure) through.
   */
  addCallbacks<R = T, E = never>(
    callback: ((result: T, ...args: any[]) => Chainable<R>) | null,
    errback?: ((failure: Failure, ...args: any[]) => Chainable<E>) | null,
    options?: { callbackArgs?: unknown[] | null; errbackArgs?: unknown[] | null },
  ): Deferred<R | E> {
    if (callback != null && typeof callback !== "function") throw notCallable(callback);
    if (errback != null && typeof errback !== "function") throw notCallable(errback);
    const onFailure = entry(errback ?? passthru, options?.errbackArgs);
    if (onFailure === passthru) {
      this.push1(entry(callback ?? passthru, options?.callbackArgs));
    } else {
      this.push3(PAIR, entry(callback ?? passthru, options?.callbackArgs), onFailure);
    }
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<R | E>;
  }

  // The one-step helpers read extra arguments from `arguments` rather than a rest parameter:
  // a rest parameter allocates an (empty) array on every call, and this is the hot path.

  /** Add a step that runs only on success: `callback(result, ...args)`. */
  addCallback<R, A extends unknown[] = []>(callback: (result: T, ...args: A) => Chainable<R>, ...args: A): Deferred<R>;
  addCallback(callback: AnyCallback): Deferred<unknown> {
    if (typeof callback !== "function") throw notCallable(callback);
    if (arguments.length > 1) {
      this.push1(new BoundStep(callback, restArgs(arguments)));
    } else if (this.called && this.paused === 0 && this.cursor === this.count && !this.runningCallbacks) {
      // Fast path: a callback added to a fired, idle Deferred runs now, without the loop's
      // bookkeeping. Same semantics as pushing it and running the loop.
      const input = this.result;
      if (input instanceof Failure) return this as Deferred<unknown>;
      this.runningCallbacks = true;
      let result: unknown;
      try {
        result = callback(input);
      } catch (err) {
        result = Failure.from(err);
      }
      this.runningCallbacks = false;
      this.result = result;
      if (result !== null && typeof result === "object" && !(result instanceof Failure) && this.adopt()) {
        return this as Deferred<unknown>;
      }
      if (this.cursor < this.count || this.result instanceof Failure) this.runCallbacks();
      return this as Deferred<unknown>;
    } else {
      this.push1(callback);
    }
    if (this.called) this.runCallbacks();
    return this as Deferred<unknown>;
  }

  /** Add a step that runs only on failure: `errback(failure, ...args)`; its return value recovers. */
  addErrback<R = T, A extends unknown[] = []>(
    errback: (failure: Failure, ...args: A) => Chainable<R>,
    ...args: A
  ): Deferred<T | R>;
  addErrback(errback: AnyCallback): Deferred<unknown> {
    if (typeof errback !== "function") throw notCallable(errback);
    this.push2(ERRBACK_ONLY, arguments.length > 1 ? new BoundStep(errback, restArgs(arguments)) : errback);
    if (this.called) this.runCallbacks();
    return this as Deferred<unknown>;
  }

  /** Add the same function as callback and errback: it gets the result or the Failure. */
  addBoth<R, A extends unknown[] = []>(callback: (result: T | Failure, ...args: A) => Chainable<R>, ...args: A): Deferred<R>;
  addBoth(callback: AnyCallback): Deferred<unknown> {
    if (typeof callback !== "function") throw notCallable(callback);
    const e = arguments.length > 1 ? new BoundStep(callback, restArgs(arguments)) : callback;
    this.push2(BOTH, e);
    if (this.called) this.runCallbacks();
    return this as Deferred<unknown>;
  }

  /**
   * Fire `d` with this chain's result at this point, and go on with `undefined`
   * (Twisted's chainDeferred). Unlike returning `d` from a callback, this chains by
   * recursion, so very long chainDeferred chains can exhaust the stack, as in Twisted.
   */
  chainDeferred(d: Deferred<T>): Deferred<void> {
    d.chainedTo = this as Deferred<unknown>;
    return this.addCallbacks(
      (result) => d.callback(result),
      (failure) => d.errback(failure),
    ) as unknown as Deferred<void>;
  }

  private push1(step: StepEntry): void {
    this.callbacks[this.count++] = step;
  }

  private push2(tag: number, step: StepEntry): void {
    const cbs = this.callbacks;
    const n = this.count;
    cbs[n] = tag;
    cbs[n + 1] = step;
    this.count = n + 2;
  }

  private push3(tag: number, onSuccess: StepEntry, onFailure: StepEntry): void {
    const cbs = this.callbacks;
    const n = this.count;
    cbs[n] = tag;
    cbs[n + 1] = onSuccess;
    cbs[n + 2] = onFailure;
    this.count = n + 3;
  }

  // --- firing ----------------------------------------------------------------------------

  /**
   * Fire the chain with a success (a Failure given here takes the errback path, as in
   * Twisted). A second call raises AlreadyCalledError.
   */
  callback(result: T | Failure): void {
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
   * `clock`, by cancelling it. The timeout covers the steps added before this call, not
   * those added after. `onTimeoutCancel(result, timeout)` replaces the default conversion
   * of CancelledError into TimeoutError, and runs only when the timeout cancelled.
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

  /** True while the Deferred has no result yet, or is waiting on another Deferred, or is paused. */
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

  /**
   * A Deferred that fires with a Promise's (or any thenable's) outcome. A Promise cannot be
   * cancelled: cancelling the Deferred errbacks it with CancelledError and ignores the
   * Promise's later outcome.
   */
  static fromPromise<T>(promise: PromiseLike<T>): Deferred<T> {
    const d = new Deferred<T>();
    promise.then(
      (value) => d.callback(value),
      (err) => d.errback(err),
    );
    return d;
  }

  toString(): string {
    if (this.chainedTo !== null) return `<Deferred waiting on ${this.chainedTo.describeShort()}>`;
    if (this.result === NO_RESULT) return "<Deferred>";
    return `<Deferred current result: ${describeResult(this.result)}>`;
  }

  private describeShort(): string {
    return this.result === NO_RESULT ? "Deferred (no result)" : "Deferred";
  }

  // --- the callback loop -----------------------------------------------------------------

  private startRunCallbacks(result: unknown): void {
    if (this.called) {
      if (this.suppressAlreadyCalled) {
        this.suppressAlreadyCalled = false;
        return;
      }
      if (debugging) {
        const info = debugInfos.get(this);
        throw new AlreadyCalledError("\n" + formatDebugInfo(info));
      }
      throw new AlreadyCalledError();
    }
    if (debugging) {
      // skip startRunCallbacks and callback()/errback(): the invoker is who fired it.
      const info = debugInfos.get(this) ?? {};
      info.invoker = captureStack(2);
      debugInfos.set(this, info);
    }
    this.called = true;
    this.result = result;
    this.runCallbacks();
  }

  /**
   * Twisted's _runCallbacks. `current` walks down into a Deferred that a finished one hands its
   * result to (the CONTINUE step) and back up via `stack`, so chains of any depth run in this
   * one frame. The stack is allocated only when a chain is met.
   */
  private runCallbacks(): void {
    if (this.runningCallbacks) return; // a callback added by a running callback: the loop picks it up
    let stack: Deferred<unknown>[] | null = null;
    let current = this as Deferred<unknown>;
    for (;;) {
      if (current.paused) return;
      let finished = true;
      current.chainedTo = null;
      const callbacks = current.callbacks;
      // True for the whole loop, not per step: only the steps run user code, and a step that
      // adds steps to this Deferred must leave them to this loop rather than recurse.
      current.runningCallbacks = true;
      // The cursor lives in a local while the loop runs: nothing reads this Deferred's cursor
      // while runningCallbacks is set, and it is stored back whenever the loop stops.
      let cursor = current.cursor;
      const start = cursor;
      // Whether the result is a Failure, kept in a local: set wherever the result changes
      // below, so a step of a successful chain costs no instanceof check.
      let failed = current.result instanceof Failure;
      while (cursor < current.count) {
        const i = cursor;
        const head = callbacks[i];
        let fn: AnyCallback;
        let args: unknown[] | null = null;
        if (typeof head === "function") {
          // The common step: a callback alone (addCallback), no extra arguments.
          cursor = i + 1;
          if (failed || head === passthru) continue;
          fn = head as AnyCallback;
        } else {
          let step: StepEntry;
          if (typeof head === "object") {
            cursor = i + 1;
            if (head instanceof ContinueStep) {
              // Give the waiting Deferred our result, forget it ourselves, and run the
              // waiting one's chain; we resume here when it is done.
              const chainee = head.chainee;
              current.cursor = cursor;
              callbacks.fill(undefined, start, cursor);
              chainee.result = current.result;
              current.result = undefined;
              current.clearFailureReport();
              chainee.paused--;
              current.runningCallbacks = false;
              (stack ??= []).push(current);
              current = chainee;
              finished = false;
              break;
            }
            if (failed) continue;
            step = head as BoundStep;
          } else if (head === BOTH) {
            cursor = i + 2;
            step = callbacks[i + 1] as StepEntry;
            callbacks[i + 1] = undefined;
          } else if (head === ERRBACK_ONLY) {
            cursor = i + 2;
            step = callbacks[i + 1] as StepEntry;
            callbacks[i + 1] = undefined;
            if (!failed) continue;
          } else {
            cursor = i + 3;
            step = callbacks[failed ? i + 2 : i + 1] as StepEntry;
            callbacks[i + 1] = callbacks[i + 2] = undefined;
          }
          if (typeof step === "function") {
            if (step === passthru) continue;
            fn = step;
          } else {
            // Only a BoundStep can follow a tag: a ContinueStep always stands alone.
            fn = (step as BoundStep).fn;
            args = (step as BoundStep).args;
          }
        }

        let result: unknown;
        try {
          result = args === null ? fn(current.result) : fn(current.result, ...args);
        } catch (err) {
          result = Failure.from(err);
        }
        current.result = result;

        if (result !== null && typeof result === "object") {
          failed = result instanceof Failure;
          if (!failed) {
            if (current.adopt()) break;
            // adopt() may have taken a fired Deferred's result, or a thenable's failure.
            failed = current.result instanceof Failure;
          }
        } else {
          failed = false;
        }
      }
      if (finished) current.cursor = cursor;
      // Steps run are cleared here in one pass, not one by one in the loop, so the Deferred
      // does not keep their functions alive.

      if (finished) {
        current.runningCallbacks = false;
        if (current.cursor >= current.count) {
          // All run: start over at the front of the array, or of a new one when this one is
          // big (dropping it is cheaper than clearing it, and a long-lived Deferred should
          // not keep a big array).
          if (current.count > 64) current.callbacks = [];
          else callbacks.fill(undefined, start, current.count);
          current.cursor = current.count = 0;
        } else {
          callbacks.fill(undefined, start, current.cursor);
        }
        if (current.result instanceof Failure) {
          current.reportIfUnhandled(current.result);
        } else if (current.reportingFailure) {
          current.clearFailureReport();
        }
        if (stack === null || stack.length === 0) return;
        current = stack.pop()!;
      }
    }
  }

  /**
   * The step just run returned an object: if it is a Deferred (or a thenable, converted to
   * one), take its result when it has one, else pause and wait for it. True when waiting.
   */
  private adopt(): boolean {
    let next = this.result;
    if (!(next instanceof Deferred)) {
      if (!isThenable(next)) return false;
      try {
        next = this.result = Deferred.fromPromise(next);
      } catch (err) {
        // then() itself threw: that is the step's failure.
        this.result = Failure.from(err);
        return false;
      }
    }
    const inner = next as Deferred<unknown>;
    if (inner === (this as Deferred<unknown>)) {
      // Twisted warns and the chain then waits on itself forever; an error is kinder.
      this.result = new Failure(
        new TypeError("Callback returned the Deferred it was attached to; this breaks the callback chain"),
      );
      return false;
    }
    const innerResult = inner.result;
    if (innerResult === NO_RESULT || innerResult instanceof Deferred || inner.paused) {
      // The inner Deferred has no result yet: pause and wait for it. It is not running
      // its callbacks (it has no result), so appending to its list directly is safe.
      this.pause();
      this.chainedTo = inner;
      inner.push1(new ContinueStep(this as Deferred<unknown>));
      return true;
    }
    // It has one: take it and keep going.
    inner.result = undefined;
    inner.clearFailureReport();
    this.result = innerResult;
    return false;
  }

  private reportIfUnhandled(failure: Failure): void {
    if (failure === this.observedFailure) {
      this.clearFailureReport();
      return;
    }
    if (this.reportingFailure) unhandledFailures.unregister(this);
    // Reading the stack turns V8's captured frames (which hold each frame's receiver: this
    // very Deferred, in runCallbacks) into a string, so the report does not keep it alive.
    void failure.value.stack;
    const info = debugInfos.get(this);
    unhandledFailures.register(this, info ? { failure, debugInfo: formatDebugInfo(info) } : failure, this);
    this.reportingFailure = true;
  }

  private clearFailureReport(): void {
    if (this.reportingFailure) {
      unhandledFailures.unregister(this);
      this.reportingFailure = false;
    }
  }
}

/** Twisted asserts callable() when a step is added; so does torsion, with a TypeError. */
function notCallable(value: unknown): TypeError {
  return new TypeError(`a Deferred step must be a function, not ${describeResult(value)}`);
}

/** The extra arguments of a call, from the second on. */
function restArgs(args: IArguments): unknown[] {
  const out = new Array<unknown>(args.length - 1);
  for (let i = 1; i < args.length; i++) out[i - 1] = args[i];
  return out;
}

function describeResult(result: unknown): string {
  if (typeof result === "string") return JSON.stringify(result);
  try {
    return String(result);
  } catch {
    return Object.prototype.toString.call(result);
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

/**
 * Log `failure` as an unhandled error and return it, so `d.addErrback(logError)` reports an
 * error and keeps it on the chain (defer.logError).
 */
export function logError(failure: Failure): Failure {
  log.failure("Unhandled Error", failure);
  return failure;
}
