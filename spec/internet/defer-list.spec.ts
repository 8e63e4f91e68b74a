/**
 * Tests for lib/internet/defer-list.ts: ports of the DeferredList and gatherResults tests of
 * twisted/test/test_defer.py (DeferredTests, FirstErrorTests, DeferredListEmptyTests).
 */

import { expect } from "chai";

import { DeferredList, FAILURE, SUCCESS, gatherResults } from "../../lib/internet/defer-list.js";
import { Deferred, fail, succeed } from "../../lib/internet/deferred.js";
import { CancelledError, FirstError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { assertNoResult, failureResultOf, fakeCallbackCanceller, successResultOf } from "../support/deferred-helpers.js";

class GenericError extends Error {}

describe("DeferredTests (DeferredList and gatherResults)", () => {
  it("testDeferredList: one [success, result] pair per Deferred, in order", () => {
    const defr1 = new Deferred<string>();
    const defr2 = new Deferred<string>();
    const defr3 = new Deferred<string>();
    const dl = new DeferredList([defr1, defr2, defr3]);
    const result: unknown[] = [];
    dl.addCallbacks(
      (list) => {
        result.push(...list);
      },
      (f) => {
        result.push(f);
      },
    );
    defr1.callback("1");
    defr2.addErrback(() => undefined);
    defr2.errback(new GenericError("2"));
    defr3.callback("3");
    const pairs = result as [boolean, unknown][];
    expect(pairs[0]).to.deep.equal([SUCCESS, "1"]);
    expect(pairs[1]![0]).to.equal(FAILURE);
    expect((pairs[1]![1] as Failure).value.message).to.equal("2");
    expect(pairs[2]).to.deep.equal([SUCCESS, "3"]);
  });

  it("testEmptyDeferredList: an empty list fires with [] at once, or never with fireOnOneCallback", () => {
    const result: unknown[] = [];
    new DeferredList([]).addCallbacks((r) => {
      result.push(r);
    });
    expect(result).to.deep.equal([[]]);
    result.length = 0;
    const dl2 = new DeferredList([], { fireOnOneCallback: true });
    dl2.addCallbacks((r) => {
      result.push(r);
    });
    expect(result).to.deep.equal([]);
  });

  it("testDeferredListFireOnOneError: the first failure errbacks with FirstError", () => {
    const defr1 = new Deferred<string>();
    const defr2 = new Deferred<string>();
    const defr3 = new Deferred<string>();
    const dl = new DeferredList([defr1, defr2, defr3], { fireOnOneErrback: true });
    const result: Failure[] = [];
    dl.addErrback((f) => {
      result.push(f);
    });
    defr2.addErrback(() => undefined);
    defr1.callback("1");
    expect(result).to.deep.equal([]);
    defr2.errback(new GenericError("from def2"));
    expect(result).to.have.length(1);
    const aFailure = result[0]!;
    expect(aFailure.check(FirstError)).to.equal(FirstError);
    const firstError = aFailure.value as FirstError;
    expect(firstError.subFailure.type).to.equal(GenericError);
    expect(firstError.subFailure.value.message).to.equal("from def2");
    expect(firstError.index).to.equal(1);
  });

  it("testDeferredListDontConsumeErrors: without consumeErrors the failure stays on the Deferred", () => {
    const d1 = new Deferred<void>();
    const dl = new DeferredList([d1]);
    const errorTrap: Failure[] = [];
    d1.addErrback((f) => {
      errorTrap.push(f);
    });
    const resultLists: unknown[][] = [];
    dl.addCallback((r) => {
      resultLists.push(r);
    });
    d1.errback(new GenericError("Bang"));
    expect(errorTrap[0]!.value.message).to.equal("Bang");
    expect(resultLists).to.have.length(1);
    const first = resultLists[0]![0] as [boolean, Failure];
    expect(first[1].value.message).to.equal("Bang");
  });

  it("testDeferredListConsumeErrors: with consumeErrors the failure is consumed", () => {
    const d1 = new Deferred<void>();
    const dl = new DeferredList([d1], { consumeErrors: true });
    const errorTrap: Failure[] = [];
    d1.addErrback((f) => {
      errorTrap.push(f);
    });
    const resultLists: unknown[][] = [];
    dl.addCallback((r) => {
      resultLists.push(r);
    });
    d1.errback(new GenericError("Bang"));
    expect(errorTrap).to.deep.equal([]);
    expect(resultLists).to.have.length(1);
    const first = resultLists[0]![0] as [boolean, Failure];
    expect(first[1].value.message).to.equal("Bang");
  });

  it("testDeferredListFireOnOneErrorWithAlreadyFiredDeferreds: an already-failed Deferred errbacks at once", () => {
    const d1 = new Deferred<void>();
    const d2 = new Deferred<void>();
    d1.errback(new GenericError("Bang"));
    const dl = new DeferredList([d1, d2], { fireOnOneErrback: true });
    failureResultOf(dl);
    d1.addErrback(() => undefined);
  });

  it("testDeferredListWithAlreadyFiredDeferreds: already-fired Deferreds are counted at once", () => {
    const d1 = new Deferred<number>();
    const d2 = new Deferred<number>();
    d1.errback(new GenericError("Bang"));
    d2.callback(2);
    const dl = new DeferredList([d1, d2]);
    successResultOf(dl);
    d1.addErrback(() => undefined);
  });

  it("test_cancelDeferredList: cancelling an unfired DeferredList cancels every Deferred", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const dl = new DeferredList([one, two]);
    dl.cancel();
    failureResultOf(one, CancelledError);
    failureResultOf(two, CancelledError);
  });

  it("test_cancelDeferredListCallback: after cancel it fires with the pairs", () => {
    const one = new Deferred<string>(fakeCallbackCanceller);
    const two = new Deferred<string>();
    const dl = new DeferredList([one, two]);
    dl.cancel();
    failureResultOf(two, CancelledError);
    const result = successResultOf(dl);
    expect(result[0]![0]).to.equal(true);
    expect(result[0]![1]).to.equal("Callback Result");
    expect(result[1]![0]).to.equal(false);
    expect((result[1]![1] as Failure).check(CancelledError)).to.equal(CancelledError);
  });

  it("test_cancelDeferredListWithFireOnOneCallback: cancels every Deferred", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const dl = new DeferredList([one, two], { fireOnOneCallback: true });
    dl.cancel();
    failureResultOf(one, CancelledError);
    failureResultOf(two, CancelledError);
  });

  it("test_cancelDeferredListWithFireOnOneCallbackAndDeferredCallback: fires with [result, index]", () => {
    const one = new Deferred<string>(fakeCallbackCanceller);
    const two = new Deferred<string>();
    const dl = new DeferredList([one, two], { fireOnOneCallback: true });
    dl.cancel();
    failureResultOf(two, CancelledError);
    expect(successResultOf(dl)).to.deep.equal(["Callback Result", 0]);
  });

  it("test_cancelDeferredListWithFireOnOneErrback: errbacks with FirstError of CancelledError", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const dl = new DeferredList([one, two], { fireOnOneErrback: true });
    dl.cancel();
    failureResultOf(one, CancelledError);
    failureResultOf(two, CancelledError);
    const f = failureResultOf(dl, FirstError);
    expect((f.value as FirstError).subFailure.check(CancelledError)).to.equal(CancelledError);
  });

  it("test_cancelDeferredListWithFireOnOneErrbackAllDeferredsCallback: all cancellers succeed: the pairs", () => {
    const one = new Deferred<string>(fakeCallbackCanceller);
    const two = new Deferred<string>(fakeCallbackCanceller);
    const dl = new DeferredList([one, two], { fireOnOneErrback: true });
    dl.cancel();
    expect(successResultOf(dl)).to.deep.equal([
      [true, "Callback Result"],
      [true, "Callback Result"],
    ]);
  });

  it("test_cancelDeferredListWithOriginalDeferreds: only the Deferreds given are cancelled", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const argumentList = [one, two];
    const dl = new DeferredList(argumentList);
    const three = new Deferred<void>();
    argumentList.push(three);
    dl.cancel();
    failureResultOf(one, CancelledError);
    failureResultOf(two, CancelledError);
    assertNoResult(three);
  });

  it("test_cancelDeferredListWithException: a throwing canceller is logged and the rest are cancelled", () => {
    const logs = captureLogEvents();
    try {
      const one = new Deferred<void>(() => {
        throw new RangeError("test");
      });
      const two = new Deferred<void>();
      const dl = new DeferredList([one, two]);
      dl.cancel();
      failureResultOf(two, CancelledError);
      const errors = logs.failures().filter((f) => f.check(RangeError));
      expect(errors).to.have.length(1);
    } finally {
      logs.stop();
    }
  });

  it("test_cancelFiredOnOneCallbackDeferredList: once fired by one success, cancel does nothing", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const dl = new DeferredList([one, two], { fireOnOneCallback: true });
    one.callback();
    dl.cancel();
    assertNoResult(two);
  });

  it("test_cancelFiredOnOneErrbackDeferredList: once fired by one failure, cancel does nothing", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const dl = new DeferredList([one, two], { fireOnOneErrback: true });
    one.errback(new GenericError("test"));
    dl.cancel();
    assertNoResult(two);
    failureResultOf(one, GenericError);
    failureResultOf(dl, FirstError);
  });

  it("test_gatherResults: the results in order, or the first failure", () => {
    const results: number[][] = [];
    gatherResults([succeed(1), succeed(2)]).addCallback((r) => {
      results.push(r);
    });
    expect(results).to.deep.equal([[1, 2]]);
    const errors: Failure[] = [];
    const dl = [succeed(1), fail<number>(new RangeError())];
    gatherResults(dl).addErrback((f) => {
      errors.push(f);
    });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(Failure);
    dl[1]!.addErrback(() => 1);
  });

  it("test_gatherResultsWithConsumeErrors: consumeErrors takes the failure off the Deferred", () => {
    const dgood = succeed(1);
    const dbad = fail<number>(new RangeError("oh noes"));
    const d = gatherResults([dgood, dbad], { consumeErrors: true });
    const unconsumed: Failure[] = [];
    dbad.addErrback((f) => {
      unconsumed.push(f);
    });
    const gathered: Failure[] = [];
    d.addErrback((f) => {
      gathered.push(f);
    });
    expect([unconsumed.length, gathered.length]).to.deep.equal([0, 1]);
    expect(gathered[0]!.value).to.be.instanceOf(FirstError);
    expect((gathered[0]!.value as FirstError).subFailure.value).to.be.instanceOf(RangeError);
  });

  it("test_cancelGatherResults: cancelling cancels every Deferred and errbacks with FirstError", () => {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const result = gatherResults([one, two]);
    result.cancel();
    failureResultOf(one, CancelledError);
    failureResultOf(two, CancelledError);
    const f = failureResultOf(result, FirstError);
    expect((f.value as FirstError).subFailure.check(CancelledError)).to.equal(CancelledError);
  });

  it("test_cancelGatherResultsWithAllDeferredsCallback: all cancellers succeed: the results", () => {
    const one = new Deferred<string>(fakeCallbackCanceller);
    const two = new Deferred<string>(fakeCallbackCanceller);
    const result = gatherResults([one, two]);
    result.cancel();
    expect(successResultOf(result)).to.deep.equal(["Callback Result", "Callback Result"]);
  });

  it("test_continueCallbackNotFirst: a Deferred waiting on a gatherResults continues when it fires", () => {
    const results: unknown[] = [];
    const failures: Failure[] = [];
    const a = new Deferred<string>();
    const outer = succeed("outer");
    outer.addCallback((result: string) => {
      results.push(["cb", result]);
      const d = new Deferred<void>();
      d.addCallback((r) => {
        results.push(["firstCallback", r ?? null]);
        return gatherResults([a]);
      });
      d.addCallback((r) => {
        results.push(["secondCallback", r]);
      });
      d.addErrback((f) => {
        failures.push(f);
      });
      d.callback();
      return d;
    });
    outer.addErrback((f) => {
      failures.push(f);
    });
    expect(results).to.deep.equal([
      ["cb", "outer"],
      ["firstCallback", null],
    ]);
    a.callback("withers");
    expect(failures).to.deep.equal([]);
    expect(results).to.deep.equal([
      ["cb", "outer"],
      ["firstCallback", null],
      ["secondCallback", ["withers"]],
    ]);
  });
});

describe("FirstErrorTests", () => {
  it("test_repr: names the index and the sub-failure's error", () => {
    const error = new FirstError(new Failure(new RangeError("some text")), 3);
    expect(error.message).to.equal("FirstError[#3, some text]");
  });

  it("test_str: String() gives the index and the sub-failure", () => {
    const f = new Failure(new RangeError("some text"));
    const error = new FirstError(f, 5);
    expect(String(error)).to.equal("FirstError: FirstError[#5, some text]");
    expect(error.subFailure).to.equal(f);
    expect(error.index).to.equal(5);
  });
});

describe("DeferredListEmptyTests", () => {
  it("testDeferredListEmpty: an empty DeferredList calls back with []", () => {
    let ran = false;
    new DeferredList([]).addCallback((res) => {
      ran = true;
      expect(res).to.deep.equal([]);
    });
    expect(ran, "callback was never run").to.equal(true);
  });
});
