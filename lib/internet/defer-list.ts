/**
 * DeferredList and gatherResults (twisted.internet.defer): wait for several Deferreds at once.
 *
 * A DeferredList adds one step to each Deferred it is given, so steps added to them before
 * change what it sees and steps added after see what it leaves (with consumeErrors, a failure
 * becomes `undefined` there, so it is not reported as unhandled), as in Twisted.
 */

import { Deferred } from "./deferred.js";
import { FirstError } from "./error.js";
import { Failure } from "./failure.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.defer");

/** A Deferred that succeeded: [SUCCESS, result]; one that failed: [FAILURE, failure]. */
export const SUCCESS = true;
export const FAILURE = false;

export type DeferredListResult<T> = [true, T] | [false, Failure];

export interface DeferredListOptions {
  /** Fire with [result, index] as soon as one Deferred succeeds. */
  fireOnOneCallback?: boolean;
  /** Errback with FirstError as soon as one Deferred fails. */
  fireOnOneErrback?: boolean;
  /** Turn each failure into `undefined` on its own Deferred once recorded here. */
  consumeErrors?: boolean;
}

/**
 * Fires with an array of [success, result] pairs, in the order of `deferredList`, once every
 * Deferred has fired; or earlier, as the options say. With fireOnOneCallback the result is
 * [result, index] instead, typed here as the general case (cast it).
 */
export class DeferredList<T = unknown> extends Deferred<DeferredListResult<T>[]> {
  readonly fireOnOneCallback: boolean;
  readonly fireOnOneErrback: boolean;
  readonly consumeErrors: boolean;
  /** The results so far: a pair for each Deferred that has fired, `undefined` for the others. */
  readonly resultList: (DeferredListResult<T> | undefined)[];
  finishedCount = 0;
  private readonly deferredList: Deferred<T>[];

  constructor(deferredList: Iterable<Deferred<T>>, options: DeferredListOptions = {}) {
    super();
    this.deferredList = [...deferredList];
    this.resultList = new Array(this.deferredList.length).fill(undefined);
    if (this.deferredList.length === 0 && !options.fireOnOneCallback) this.callback([]);
    // Set before adding the steps: a Deferred that has already fired runs its step at once.
    this.fireOnOneCallback = options.fireOnOneCallback ?? false;
    this.fireOnOneErrback = options.fireOnOneErrback ?? false;
    this.consumeErrors = options.consumeErrors ?? false;
    this.deferredList.forEach((d, index) => {
      d.addCallbacks(
        (result) => this.cbDeferred(result, index, SUCCESS),
        (failure) => this.cbDeferred(failure, index, FAILURE),
      );
    });
  }

  private cbDeferred(result: unknown, index: number, succeeded: boolean): unknown {
    this.resultList[index] = [succeeded, result] as DeferredListResult<T>;
    this.finishedCount++;
    if (!this.called) {
      if (succeeded && this.fireOnOneCallback) {
        this.callback([result, index] as never);
      } else if (!succeeded && this.fireOnOneErrback) {
        this.errback(new Failure(new FirstError(result as Failure, index)));
      } else if (this.finishedCount === this.resultList.length) {
        this.callback(this.resultList as DeferredListResult<T>[]);
      }
    }
    if (!succeeded && this.consumeErrors) return undefined;
    return result;
  }

  /**
   * Before it has fired, cancel every Deferred in the list (an error thrown by one's canceller
   * is logged and the others are still cancelled); afterwards, do nothing.
   */
  override cancel(): void {
    if (this.called) return;
    for (const d of this.deferredList) {
      try {
        d.cancel();
      } catch (err) {
        log.failure("Exception raised from user supplied canceller", err);
      }
    }
  }
}

/**
 * A Deferred of the results of `deferredList`, in order; it errbacks with FirstError (whose
 * subFailure is the failure and index its position) as soon as one fails. Cancelling it cancels
 * them all.
 */
export function gatherResults<T>(
  deferredList: Iterable<Deferred<T>>,
  options: { consumeErrors?: boolean } = {},
): Deferred<T[]> {
  const d = new DeferredList<T>(deferredList, { fireOnOneErrback: true, consumeErrors: options.consumeErrors ?? false });
  return d.addCallback((pairs) => pairs.map((pair) => pair[1] as T));
}
