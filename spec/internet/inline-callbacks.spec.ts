/**
 * Tests for lib/internet/inline-callbacks.ts: ports of twisted/test/test_defer.py
 * (EnsureDeferredTests, DeferredTests.test_fromCoroutineRequiresCoroutine and
 * test_inlineCallbacksTracebacks), twisted/test/test_defgen.py (InlineCallbacksTests) and
 * twisted/internet/test/test_inlinecb.py (CancellationTests).
 */

import { expect } from "chai";

import { Deferred, fail, succeed } from "../../lib/internet/deferred.js";
import { CancelledError, NotACoroutineError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { ensureDeferred, fromCoroutine, inlineCallbacks } from "../../lib/internet/inline-callbacks.js";
import { assertNoResult, failureResultOf, successResultOf } from "../support/deferred-helpers.js";

/** A Deferred that fires with "hi" on the next turn (test_defgen's getThing). */
function getThing(): Deferred<string> {
  const d = new Deferred<string>();
  setImmediate(() => d.callback("hi"));
  return d;
}

/** A Deferred that fails on the next turn (test_defgen's getOwie). */
function getOwie(): Deferred<never> {
  const d = new Deferred<never>();
  setImmediate(() => d.errback(new RangeError("OMG")));
  return d;
}

class TerminalException extends Error {}

describe("EnsureDeferredTests", () => {
  it("test_passesThroughDeferreds: a Deferred is returned as it is", () => {
    const d1 = new Deferred<void>();
    expect(ensureDeferred(d1)).to.equal(d1);
  });

  it("test_willNotAllowNonDeferredOrCoroutine: anything else raises NotACoroutineError", () => {
    expect(() => ensureDeferred("something" as never)).to.throw(NotACoroutineError, /not a coroutine or a Deferred/);
  });

  it("test_ensureDeferredCoroutine: an async function's call becomes a Deferred of its result", async () => {
    async function run(): Promise<string> {
      return await succeed("foo");
    }
    const r = run();
    expect(r).to.be.instanceOf(Promise);
    const d = ensureDeferred(r);
    expect(d).to.be.instanceOf(Deferred);
    await r;
    expect(successResultOf(d)).to.equal("foo");
  });

  it("test_ensureDeferredGenerator: a generator object becomes a Deferred of its return value", () => {
    function* run(): Generator<unknown, string, string> {
      const res = yield succeed("foo");
      return res;
    }
    const r = run();
    const d = ensureDeferred(r);
    expect(d).to.be.instanceOf(Deferred);
    expect(successResultOf(d)).to.equal("foo");
  });
});

describe("DeferredTests (coroutines)", () => {
  it("test_fromCoroutineRequiresCoroutine: only a generator or a Promise is accepted", () => {
    const notCoroutines: unknown[] = [(x: unknown) => x, 1, true, function f() {}, null, undefined, {}];
    for (const thing of notCoroutines) {
      expect(() => fromCoroutine(thing as never), String(thing)).to.throw(NotACoroutineError);
    }
  });

  it("test_inlineCallbacksTracebacks: an uncaught failure thrown into the generator keeps its error and stack", () => {
    function getDivisionFailure(): Failure {
      try {
        throw new RangeError("division by zero");
      } catch (e) {
        return new Failure(e);
      }
    }
    const f = getDivisionFailure();
    const d = new Deferred<void>();
    d.errback(f);
    const ic = inlineCallbacks(function* ic(dd: Deferred<void>) {
      yield dd;
    });
    const newFailure = failureResultOf(ic(d), RangeError);
    expect(newFailure.value).to.equal(f.value);
    expect(newFailure.getTraceback()).to.match(/at getDivisionFailure /);
  });
});

describe("InlineCallbacksTests", () => {
  it("testBasics: yields a Deferred that succeeds and one that fails; the return value is the result", async () => {
    const genBasics = inlineCallbacks(function* () {
      const x: string = yield getThing();
      expect(x).to.equal("hi");
      try {
        yield getOwie();
      } catch (e) {
        expect((e as Error).message).to.equal("OMG");
      }
      return "WOOSH";
    });
    expect(await genBasics()).to.equal("WOOSH");
  });

  it("testBuggy: an error thrown by the generator fails the Deferred", async () => {
    const genBuggy = inlineCallbacks(function* () {
      yield getThing();
      throw new RangeError("division by zero");
    });
    let caught: unknown = null;
    await genBuggy().then(undefined, (e) => (caught = e));
    expect(caught).to.be.instanceOf(RangeError);
  });

  it("testNothing: a generator that never yields gives undefined", () => {
    // eslint-disable-next-line require-yield
    const genNothing = inlineCallbacks(function* () {
      return undefined;
    });
    expect(successResultOf(genNothing())).to.equal(undefined);
  });

  it("testHandledTerminalFailure: a failure caught in the generator does not fail the Deferred", () => {
    const gen = inlineCallbacks(function* () {
      try {
        yield fail(new TerminalException("Handled Terminal Failure"));
      } catch (e) {
        if (!(e instanceof TerminalException)) throw e;
      }
    });
    expect(successResultOf(gen())).to.equal(undefined);
  });

  it("testHandledTerminalAsyncFailure: the same with a Deferred that fails later", () => {
    const gen = inlineCallbacks(function* (d: Deferred<void>) {
      try {
        yield d;
      } catch (e) {
        if (!(e instanceof TerminalException)) throw e;
      }
    });
    const d = new Deferred<void>();
    const result = gen(d);
    d.errback(new TerminalException("Handled Terminal Failure"));
    expect(successResultOf(result)).to.equal(undefined);
  });

  it("testStackUsage: yielding 5000 fired Deferreds does not grow the stack", () => {
    const gen = inlineCallbacks(function* () {
      for (let x = 0; x < 5000; x++) yield succeed(1);
      return 0;
    });
    expect(successResultOf(gen())).to.equal(0);
  });

  it("testStackUsage2: yielding 5000 plain values does not grow the stack", () => {
    const gen = inlineCallbacks(function* () {
      for (let x = 0; x < 5000; x++) yield 1;
      return 0;
    });
    expect(successResultOf(gen())).to.equal(0);
  });

  it("testYieldNonDeferred: a yielded plain value is the value of the yield", () => {
    const gen = inlineCallbacks(function* () {
      const five: number = yield 5;
      return five;
    });
    expect(successResultOf(gen())).to.equal(5);
  });

  it("testReturnNoValue: a bare return gives undefined", () => {
    const gen = inlineCallbacks(function* () {
      yield 5;
      return;
    });
    expect(successResultOf(gen())).to.equal(undefined);
  });

  it("testReturnValue: the return value is the result", () => {
    const gen = inlineCallbacks(function* () {
      yield 5;
      return 6;
    });
    expect(successResultOf(gen())).to.equal(6);
  });

  it("test_nonGeneratorReturn: a function that returns no generator raises TypeError naming inlineCallbacks", () => {
    const noYield = inlineCallbacks((() => 5) as never);
    expect(() => noYield()).to.throw(TypeError, /inlineCallbacks/);
  });

  it("yields a Promise and gets its value", async () => {
    const gen = inlineCallbacks(function* () {
      const v: number = yield Promise.resolve(41);
      return v + 1;
    });
    expect(await gen()).to.equal(42);
  });

  it("passes its arguments and `this` to the generator function", () => {
    const obj = {
      base: 10,
      add: inlineCallbacks(function* (this: { base: number }, n: number) {
        yield succeed(null);
        return this.base + n;
      }),
    };
    expect(successResultOf(obj.add(5))).to.equal(15);
  });
});

// --- twisted/internet/test/test_inlinecb.py ------------------------------------------------

class UntranslatedError extends Error {}
class TranslatedError extends Error {}
class DontFail extends Error {
  constructor(readonly actualValue: number) {
    super(`DontFail(${actualValue})`);
  }
}

describe("CancellationTests", () => {
  let outstanding: Deferred<unknown>[];
  const getDeferred = (): Deferred<unknown> => {
    const d = new Deferred<unknown>();
    outstanding.push(d);
    return d;
  };
  const sampleInlineCB = inlineCallbacks(function* (getChildDeferred: () => Deferred<unknown> = getDeferred) {
    let x: number;
    try {
      x = yield getChildDeferred();
    } catch (e) {
      if (e instanceof UntranslatedError) throw new TranslatedError();
      if (e instanceof DontFail) x = e.actualValue - 2;
      else throw e;
    }
    return x + 1;
  });

  beforeEach(() => {
    outstanding = [];
  });
  afterEach(() => {
    while (outstanding.length) outstanding.shift()!.callback(undefined);
  });

  it("test_cascadeCancellingOnCancel: cancelling D cancels C at once", () => {
    let childResult: unknown = "FAILURE";
    const d = sampleInlineCB(() => {
      const c = new Deferred<unknown>();
      c.addErrback((f) => {
        childResult = f.check(CancelledError);
        return f;
      });
      return c;
    });
    d.addErrback(() => undefined);
    d.cancel();
    expect(childResult, "no cascade cancelling occurs").to.equal(CancelledError);
  });

  it("test_errbackCancelledErrorOnCancel: C's CancelledError reaches D", () => {
    const d = sampleInlineCB();
    d.cancel();
    failureResultOf(d, CancelledError);
  });

  it("test_errorToErrorTranslation: G may translate C's error into another error", () => {
    const a = new Deferred<unknown>((it) => it.errback(new UntranslatedError()));
    const d = sampleInlineCB(() => a);
    d.cancel();
    failureResultOf(d, TranslatedError);
  });

  it("test_errorToSuccessTranslation: G may translate C's error into a result", () => {
    const a = new Deferred<unknown>((it) => it.errback(new DontFail(4321)));
    const d = sampleInlineCB(() => a);
    const results: number[] = [];
    d.addCallback((r) => {
      results.push(r);
    });
    d.cancel();
    expect(results).to.deep.equal([4320]);
  });

  it("test_asynchronousCancellation: D fires only once C reaches the point G waits on", () => {
    const moreDeferred = new Deferred<number>();
    const deferMe = (): Deferred<unknown> => {
      const d = new Deferred<unknown>();
      d.addErrback((f) => {
        f.trap(CancelledError);
        return moreDeferred;
      });
      return d;
    };
    const d = sampleInlineCB(deferMe);
    d.cancel();
    assertNoResult(d);
    moreDeferred.callback(6543);
    expect(successResultOf(d)).to.equal(6544);
  });

  it("cancelling twice while waiting cancels what the generator then waits on", () => {
    const first = new Deferred<number>();
    const second = new Deferred<number>();
    let secondCancelled = false;
    second.addErrback((f) => {
      secondCancelled = f.check(CancelledError) !== null;
      return f;
    });
    const gen = inlineCallbacks(function* () {
      try {
        yield first;
      } catch {
        // carry on after the first cancellation
      }
      return yield second;
    });
    const d = gen();
    d.cancel();
    assertNoResult(d);
    d.cancel();
    expect(secondCancelled).to.equal(true);
    failureResultOf(d, CancelledError);
  });

  it("a failure handled by the generator is not left on the yielded Deferred", () => {
    const failed = fail(new RangeError("handled"));
    const gen = inlineCallbacks(function* () {
      try {
        yield failed;
      } catch {
        return "ok";
      }
    });
    expect(successResultOf(gen())).to.equal("ok");
    expect(successResultOf(failed)).to.equal(undefined);
  });
});
