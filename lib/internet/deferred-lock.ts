/**
 * DeferredLock and DeferredSemaphore (twisted.internet.defer): mutual exclusion and bounded
 * concurrency for code that waits on Deferreds. acquire() gives a Deferred that fires with the
 * lock when it is yours; waiters are served first come, first served. Cancelling a waiting
 * acquire() removes it from the queue and errbacks it with CancelledError; cancelling one that
 * has fired does nothing.
 */

import { Deferred, maybeDeferred, type Chainable } from "./deferred.js";

abstract class ConcurrencyPrimitive {
  /** The acquire() Deferreds not yet fired, in order. */
  readonly waiting: Deferred<this>[] = [];

  abstract acquire(): Deferred<this>;
  abstract release(): void;

  protected cancelAcquire = (d: Deferred<this>): void => {
    // The canceller only runs for an unfired Deferred, which is still in the queue.
    this.waiting.splice(this.waiting.indexOf(d), 1);
  };

  /**
   * Acquire, call `f(...args)`, and release when its result (a Deferred or Promise is waited
   * for) is there, success or failure. The returned Deferred has f's result.
   */
  run<R, A extends unknown[]>(f: (...args: A) => Chainable<R>, ...args: A): Deferred<R> {
    if (typeof f !== "function") throw new TypeError("run() needs a function to call");
    return this.acquire().addCallback(() =>
      maybeDeferred(f, ...args).addBoth((result) => {
        this.release();
        return result;
      }),
    ) as Deferred<R>;
  }
}

/** A lock: one holder at a time. `locked` says whether someone holds it. */
export class DeferredLock extends ConcurrencyPrimitive {
  locked = false;

  acquire(): Deferred<this> {
    const d = new Deferred<this>(this.cancelAcquire);
    if (this.locked) {
      this.waiting.push(d);
    } else {
      this.locked = true;
      d.callback(this);
    }
    return d;
  }

  /** Release the lock, handing it to the first waiter if there is one. */
  release(): void {
    if (!this.locked) throw new Error("Tried to release an unlocked lock");
    this.locked = false;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.locked = true;
      next.callback(this);
    }
  }
}

/** At most `limit` holders at once; `tokens` is how many more may acquire now. */
export class DeferredSemaphore extends ConcurrencyPrimitive {
  tokens: number;
  readonly limit: number;

  constructor(tokens: number) {
    super();
    if (!(tokens >= 1)) throw new RangeError("DeferredSemaphore requires tokens >= 1");
    this.tokens = tokens;
    this.limit = tokens;
  }

  acquire(): Deferred<this> {
    const d = new Deferred<this>(this.cancelAcquire);
    if (this.tokens === 0) {
      this.waiting.push(d);
    } else {
      this.tokens--;
      d.callback(this);
    }
    return d;
  }

  /** Give a token back, handing it to the first waiter if there is one. */
  release(): void {
    if (this.tokens >= this.limit) throw new Error("Someone released me too many times: too many tokens!");
    this.tokens++;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.tokens--;
      next.callback(this);
    }
  }
}
