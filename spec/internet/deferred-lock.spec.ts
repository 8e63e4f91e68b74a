/**
 * Tests for lib/internet/deferred-lock.ts: ports of OtherPrimitivesTests (lock and semaphore)
 * from twisted/test/test_defer.py.
 */

import { expect } from "chai";

import { Deferred } from "../../lib/internet/deferred.js";
import { DeferredLock, DeferredSemaphore } from "../../lib/internet/deferred-lock.js";
import { CancelledError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { assertImmediateFailure } from "../support/deferred-helpers.js";

describe("OtherPrimitivesTests (DeferredLock, DeferredSemaphore)", () => {
  let counter: number;
  const incr = (): void => {
    counter++;
  };
  beforeEach(() => {
    counter = 0;
  });

  it("testLock: acquire, queue, release, run and cancel a waiting acquire", () => {
    const lock = new DeferredLock();
    lock.acquire().addCallback(incr);
    expect(lock.locked).to.equal(true);
    expect(counter).to.equal(1);

    lock.acquire().addCallback(incr);
    expect(lock.locked).to.equal(true);
    expect(counter).to.equal(1);

    lock.release();
    expect(lock.locked).to.equal(true);
    expect(counter).to.equal(2);

    lock.release();
    expect(lock.locked).to.equal(false);
    expect(counter).to.equal(2);

    expect(() => (lock.run as (f?: unknown) => unknown)()).to.throw(TypeError);

    const firstUnique = {};
    const secondUnique = {};
    const controlDeferred = new Deferred<object>();
    let result: unknown = null;
    const helper = (resultValue: unknown, returnValue: unknown = undefined): unknown => {
      result = resultValue;
      return returnValue;
    };
    const resultDeferred = lock.run(helper, firstUnique, controlDeferred);
    expect(lock.locked).to.equal(true);
    expect(result).to.equal(firstUnique);

    resultDeferred.addCallback((r) => helper(r));

    lock.acquire().addCallback(incr);
    expect(lock.locked).to.equal(true);
    expect(counter).to.equal(2);

    controlDeferred.callback(secondUnique);
    expect(result).to.equal(secondUnique);
    expect(lock.locked).to.equal(true);
    expect(counter).to.equal(3);

    const d = lock.acquire().addBoth((r) => helper(r));
    d.cancel();
    expect(result).to.be.instanceOf(Failure);
    expect((result as Failure).type).to.equal(CancelledError);

    lock.release();
    expect(lock.locked).to.equal(false);
  });

  it("test_cancelLockAfterAcquired: cancelling an acquire that has the lock does nothing", () => {
    const lock = new DeferredLock();
    const d = lock.acquire();
    d.addErrback(() => {
      throw new Error("Unexpected errback call!");
    });
    d.cancel();
    expect(lock.locked).to.equal(true);
  });

  it("test_cancelLockBeforeAcquired: cancelling a waiting acquire errbacks it with CancelledError", () => {
    const lock = new DeferredLock();
    lock.acquire();
    const d = lock.acquire();
    d.cancel();
    assertImmediateFailure(d, CancelledError);
    expect(lock.waiting).to.have.length(0);
  });

  it("testSemaphore: run, acquire up to the limit, cancel a waiter, release", () => {
    const N = 13;
    const sem = new DeferredSemaphore(N);
    const controlDeferred = new Deferred<void>();
    let helperArg: unknown = null;
    const helper = (arg: unknown): Deferred<void> => {
      helperArg = arg;
      return controlDeferred;
    };
    const results: unknown[] = [];
    const uniqueObject = {};
    const resultDeferred = sem.run(helper, uniqueObject);
    resultDeferred.addCallback((r) => {
      results.push(r);
    });
    resultDeferred.addCallback(incr);
    expect(results).to.deep.equal([]);
    expect(helperArg).to.equal(uniqueObject);
    controlDeferred.callback();
    expect(results.pop()).to.equal(undefined);
    expect(counter).to.equal(1);

    counter = 0;
    for (let i = 1; i <= N; i++) {
      sem.acquire().addCallback(incr);
      expect(counter).to.equal(i);
    }

    const success: boolean[] = [];
    const d = sem.acquire().addCallbacks(
      () => {
        success.push(false);
      },
      () => {
        success.push(true);
      },
    );
    d.cancel();
    expect(success).to.deep.equal([true]);

    sem.acquire().addCallback(incr);
    expect(counter).to.equal(N);

    sem.release();
    expect(counter).to.equal(N + 1);

    for (let i = 1; i <= N; i++) {
      sem.release();
      expect(counter).to.equal(N + 1);
    }
  });

  it("test_semaphoreInvalidTokens: fewer than one token is a RangeError", () => {
    expect(() => new DeferredSemaphore(0)).to.throw(RangeError);
    expect(() => new DeferredSemaphore(-1)).to.throw(RangeError);
  });

  it("test_cancelSemaphoreAfterAcquired: cancelling an acquire that has a token does nothing", () => {
    const sem = new DeferredSemaphore(1);
    const d = sem.acquire();
    d.addErrback(() => {
      throw new Error("Unexpected errback call!");
    });
    d.cancel();
    expect(sem.tokens).to.equal(0);
  });

  it("test_cancelSemaphoreBeforeAcquired: cancelling a waiting acquire errbacks it with CancelledError", () => {
    const sem = new DeferredSemaphore(1);
    sem.acquire();
    const d = sem.acquire();
    d.cancel();
    assertImmediateFailure(d, CancelledError);
  });

  it("test_asyncWithLockException (as run): the lock is released when the function throws", () => {
    const lock = new DeferredLock();
    const errors: Failure[] = [];
    lock
      .run(() => {
        expect(lock.locked).to.equal(true);
        throw new Error("some specific exception");
      })
      .addErrback((f) => {
        errors.push(f);
      });
    expect(errors[0]!.getErrorMessage()).to.equal("some specific exception");
    expect(lock.locked).to.equal(false);
  });

  it("releasing an unlocked lock or a semaphore with all its tokens is an error", () => {
    expect(() => new DeferredLock().release()).to.throw(/unlocked/);
    expect(() => new DeferredSemaphore(2).release()).to.throw(/too many/);
  });

  it("await lock.acquire() gives the lock", async () => {
    const lock = new DeferredLock();
    const got = await lock.acquire();
    expect(got).to.equal(lock);
    expect(lock.locked).to.equal(true);
  });
});
