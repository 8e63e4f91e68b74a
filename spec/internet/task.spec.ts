/**
 * Ports of twisted/test/test_task.py and twisted/test/test_cooperator.py, plus new tests.
 */

import { expect } from "chai";

import { Deferred, fail } from "../../lib/internet/deferred.js";
import { AlreadyCalled, CancelledError, NotPaused, SchedulerStopped, TaskDone, TaskFailed, TaskFinished, TaskStopped } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import type { IDelayedCall, IReactorTime } from "../../lib/internet/interfaces.js";
import { Clock, Cooperator, CooperativeTask, LoopingCall, deferLater } from "../../lib/internet/task.js";
import { assertNoResult, failureResultOf, successResultOf } from "../support/deferred-helpers.js";
import { within } from "../support/wait.js";

class TestException extends Error {}

describe("ClockTests", () => {
  it("testSeconds: a new Clock is at time 0", () => {
    expect(new Clock().seconds()).to.equal(0);
  });

  it("testCallLater: callLater returns an active IDelayedCall at now + delay", () => {
    const c = new Clock();
    const call = c.callLater(1, (_a: number, _b: number) => undefined, 1, 2);
    expect(call.getTime()).to.equal(1);
    expect(call.active()).to.equal(true);
  });

  it("testCallLaterCancelled: a cancelled call is no longer active", () => {
    const c = new Clock();
    const call = c.callLater(1, (_a: number, _b: number) => undefined, 1, 2);
    call.cancel();
    expect(call.active()).to.equal(false);
  });

  it("test_callLaterOrdering: each callLater returns a new DelayedCall", () => {
    const c = new Clock();
    const call1 = c.callLater(10, () => undefined);
    const call2 = c.callLater(1, () => undefined);
    expect(call1).to.not.equal(call2);
  });

  it("testAdvance: advance() runs the calls that came due", () => {
    const events: null[] = [];
    const c = new Clock();
    const call = c.callLater(2, () => events.push(null));
    c.advance(1);
    expect(events).to.deep.equal([]);
    c.advance(1);
    expect(events).to.deep.equal([null]);
    expect(call.active()).to.equal(false);
  });

  it("testAdvanceCancel: cancelling a call from inside it raises AlreadyCalled", () => {
    const c = new Clock();
    let raised: unknown = null;
    const call: IDelayedCall = c.callLater(1, () => {
      try {
        call.cancel();
      } catch (e) {
        raised = e;
      }
    });
    c.advance(1);
    expect(raised).to.be.instanceOf(AlreadyCalled);
  });

  it("testCallLaterDelayed: delay() postpones a call", () => {
    const events: [number, number][] = [];
    const c = new Clock();
    const call = c.callLater(1, (a: number, b: number) => events.push([a, b]), 1, 2);
    call.delay(1);
    expect(call.getTime()).to.equal(2);
    c.advance(1.5);
    expect(events).to.deep.equal([]);
    c.advance(1.0);
    expect(events).to.deep.equal([[1, 2]]);
  });

  it("testCallLaterResetLater: reset() to a later time postpones a call", () => {
    const events: [number, number][] = [];
    const c = new Clock();
    const call = c.callLater(2, (a: number, b: number) => events.push([a, b]), 1, 2);
    c.advance(1);
    call.reset(3);
    expect(call.getTime()).to.equal(4);
    c.advance(2);
    expect(events).to.deep.equal([]);
    c.advance(1);
    expect(events).to.deep.equal([[1, 2]]);
  });

  it("testCallLaterResetSooner: reset() to an earlier time brings a call forward", () => {
    const events: [number, number][] = [];
    const c = new Clock();
    const call = c.callLater(4, (a: number, b: number) => events.push([a, b]), 1, 2);
    call.reset(3);
    expect(call.getTime()).to.equal(3);
    c.advance(3);
    expect(events).to.deep.equal([[1, 2]]);
  });

  it("test_getDelayedCalls: lists every pending call", () => {
    const c = new Clock();
    const call = c.callLater(1, () => undefined);
    const call2 = c.callLater(2, () => undefined);
    expect(new Set(c.getDelayedCalls())).to.deep.equal(new Set([call, call2]));
  });

  it("test_getDelayedCallsEmpty: a new Clock has no delayed calls", () => {
    expect(new Clock().getDelayedCalls()).to.deep.equal([]);
  });

  it("test_callLaterKeepsCallsOrdered: a call reset later runs after a call scheduled between", () => {
    const result: [string, number][] = [];
    const clock = new Clock();
    const logtime = (n: string) => result.push([n, clock.seconds()]);
    const callA = clock.callLater(1.0, logtime, "a");
    callA.reset(3.0);
    clock.callLater(2.0, logtime, "b");
    clock.pump([1, 1, 1]);
    expect(result).to.deep.equal([
      ["b", 2.0],
      ["a", 3.0],
    ]);
  });

  it("test_callLaterResetKeepsCallsOrdered: resetting a call past another keeps them in time order", () => {
    const result: [string, number][] = [];
    const clock = new Clock();
    const logtime = (n: string) => result.push([n, clock.seconds()]);
    const callA = clock.callLater(1.0, logtime, "a");
    clock.callLater(2.0, logtime, "b");
    callA.reset(3.0);
    clock.pump([1, 1, 1]);
    expect(result).to.deep.equal([
      ["b", 2.0],
      ["a", 3.0],
    ]);
  });

  it("test_callLaterResetInsideCallKeepsCallsOrdered: a reset made inside a call keeps time order", () => {
    const result: [string, number][] = [];
    const clock = new Clock();
    const logtime = (n: string) => result.push([n, clock.seconds()]);
    const callB = clock.callLater(2.0, logtime, "b");
    clock.callLater(1.0, () => callB.reset(3.0));
    clock.callLater(3.0, logtime, "c");
    clock.pump(Array(10).fill(0.5));
    expect(result).to.deep.equal([
      ["c", 3.0],
      ["b", 4.0],
    ]);
  });

  // New tests: behaviour torsion promises beyond Twisted's own tests.

  it("runs calls due at the same time in the order they were scheduled", () => {
    const clock = new Clock();
    const order: number[] = [];
    for (let i = 0; i < 20; i++) clock.callLater(i % 2 === 0 ? 1 : 1.0, (n: number) => order.push(n), i);
    clock.advance(5);
    expect(order).to.deep.equal([...Array(20).keys()]);
  });

  it("runs a call scheduled during advance() for a time already reached in that same advance()", () => {
    const clock = new Clock();
    const events: string[] = [];
    clock.callLater(1, () => {
      events.push("first");
      clock.callLater(0, () => events.push("zero-delay"));
      clock.callLater(0.5, () => events.push("half"));
      clock.callLater(5, () => events.push("later"));
    });
    clock.advance(2);
    // Time is already 2 while the calls run (Twisted moves rightNow first): 2 + 0.5 is not due.
    expect(events).to.deep.equal(["first", "zero-delay"]);
    expect(clock.getDelayedCalls()).to.have.length(2);
    clock.advance(0.5);
    expect(events).to.deep.equal(["first", "zero-delay", "half"]);
  });

  it("lets an error thrown by a call propagate out of advance(), the call counting as run", () => {
    const clock = new Clock();
    const call = clock.callLater(1, () => {
      throw new TestException("boom");
    });
    const after: string[] = [];
    clock.callLater(2, () => after.push("ran"));
    expect(() => clock.advance(1)).to.throw(TestException);
    expect(call.active()).to.equal(false);
    clock.advance(1);
    expect(after).to.deep.equal(["ran"]);
  });

  it("lists delayed calls in the order they will run, and drops cancelled and run calls", () => {
    const clock = new Clock();
    const c3 = clock.callLater(3, () => undefined);
    const c1 = clock.callLater(1, () => undefined);
    const c2 = clock.callLater(2, () => undefined);
    const c4 = clock.callLater(4, () => undefined);
    c4.cancel();
    c1.delay(2.5);
    expect(clock.getDelayedCalls()).to.deep.equal([c2, c3, c1]);
    clock.advance(2);
    expect(clock.getDelayedCalls()).to.deep.equal([c3, c1]);
  });
});

/** Twisted's TestableLoopingCall: a LoopingCall on a given clock. */
function testableLoopingCall(clock: IReactorTime, f: (...args: any[]) => unknown, ...args: unknown[]): LoopingCall {
  const lc = new LoopingCall(f, ...args);
  lc.clock = clock;
  return lc;
}

describe("LoopTests", () => {
  it("test_callbackTimeSkips: a call that overruns its interval skips to the next future interval", () => {
    const times: number[] = [];
    let callDuration = 0;
    const clock = new Clock();
    const call = testableLoopingCall(clock, () => {
      times.push(clock.seconds());
      clock.advance(callDuration);
    });
    callDuration = 2;
    call.start(0.5);
    expect(times).to.deep.equal([0]);
    expect(clock.seconds()).to.equal(callDuration);
    // A call was due at 2, but 2 is the present, not the future: skipped.
    clock.advance(0);
    expect(times).to.deep.equal([0]);
    callDuration = 1;
    clock.advance(0.5);
    expect(times).to.deep.equal([0, 2.5]);
    expect(clock.seconds()).to.equal(3.5);
    clock.advance(0);
    expect(times).to.deep.equal([0, 2.5]);
    callDuration = 0;
    clock.advance(0.5);
    expect(times).to.deep.equal([0, 2.5, 4]);
    expect(clock.seconds()).to.equal(4);
  });

  it("test_reactorTimeSkips: a late call schedules the next one at the next future interval", () => {
    const times: number[] = [];
    const clock = new Clock();
    const call = testableLoopingCall(clock, () => times.push(clock.seconds()));
    call.start(0.5);
    expect(times).to.deep.equal([0]);
    clock.advance(2);
    expect(times).to.deep.equal([0, 2]);
    clock.advance(1);
    expect(times).to.deep.equal([0, 2, 3]);
    clock.advance(0);
    expect(times).to.deep.equal([0, 2, 3]);
  });

  it("test_reactorTimeCountSkips: withCount passes how many intervals elapsed", () => {
    const times: [number, number][] = [];
    const clock = new Clock();
    const call = LoopingCall.withCount((numCalls) => times.push([clock.seconds(), numCalls]));
    call.clock = clock;
    const INTERVAL = 0.5;
    const REALISTIC_DELAY = 0.01;
    call.start(INTERVAL);
    expect(times).to.deep.equal([[0, 1]]);
    clock.advance(INTERVAL + REALISTIC_DELAY);
    expect(times).to.deep.equal([
      [0, 1],
      [INTERVAL + REALISTIC_DELAY, 1],
    ]);
    clock.advance(3 * INTERVAL + REALISTIC_DELAY);
    const expected = [
      [0, 1],
      [INTERVAL + REALISTIC_DELAY, 1],
      [4 * INTERVAL + 2 * REALISTIC_DELAY, 3],
    ];
    expect(times).to.deep.equal(expected);
    clock.advance(0);
    expect(times).to.deep.equal(expected);
  });

  it("test_countLengthyIntervalCounts: withCount counts only intervals that fully elapsed", () => {
    const times: [number, number][] = [];
    const clock = new Clock();
    const call = LoopingCall.withCount((count) => times.push([clock.seconds(), count]), { clock });
    const INTERVAL = 0.5;
    const REALISTIC_DELAY = 0.01;
    call.start(INTERVAL);
    expect(times.pop()).to.deep.equal([0, 1]);
    clock.advance(INTERVAL + REALISTIC_DELAY);
    expect(times.pop()).to.deep.equal([INTERVAL + REALISTIC_DELAY, 1]);
    clock.advance(INTERVAL * 1.75);
    expect(times.pop()).to.deep.equal([2.75 * INTERVAL + REALISTIC_DELAY, 1]);
    clock.advance(INTERVAL * 0.25);
    expect(times.pop()).to.deep.equal([3.0 * INTERVAL + REALISTIC_DELAY, 1]);
  });

  it("test_withCountFloatingPointBoundary: withCount never passes 0 and the counts sum to the intervals", () => {
    const clock = new Clock();
    const accumulator: number[] = [];
    const call = LoopingCall.withCount((n) => accumulator.push(n), { clock });
    const count = 10;
    const timespan = 1.0;
    const interval = timespan / count;
    call.start(interval, false);
    for (let x = 0; x < count; x++) clock.advance(interval);
    let sum = 0;
    for (let x = 0; x < count; x++) sum += interval;
    const epsilon = timespan - sum;
    clock.advance(epsilon);
    // The test is only meaningful when the float inaccuracy exists and the clock reached the span.
    expect(Math.abs(epsilon)).to.be.greaterThan(0);
    expect(clock.seconds()).to.be.at.least(timespan);
    expect(accumulator.reduce((a, b) => a + b, 0)).to.equal(count);
    expect(accumulator).to.not.include(0);
  });

  it("test_withCountIntervalZero: with an interval of 0 the count is always 1", () => {
    const clock = new Clock();
    const accumulator: number[] = [];
    const loop: LoopingCall = LoopingCall.withCount((cnt) => {
      accumulator.push(cnt);
      if (accumulator.length > 4) loop.stop();
    });
    loop.clock = clock;
    const deferred = loop.start(0, false);
    clock.advance(0);
    expect(successResultOf(deferred)).to.equal(loop);
    expect(accumulator).to.deep.equal([1, 1, 1, 1, 1]);
  });

  it("test_withCountIntervalZeroDelay: with an interval of 0, a slow Deferred still gives a count of 1", () => {
    const clock = new Clock();
    const deferred = new Deferred<void>();
    const accumulator: number[] = [];
    const loop: LoopingCall = LoopingCall.withCount((cnt) => {
      accumulator.push(cnt);
      if (accumulator.length === 2) return deferred;
      if (accumulator.length > 4) loop.stop();
      return undefined;
    });
    loop.clock = clock;
    loop.start(0, false);
    clock.advance(0);
    expect(accumulator).to.deep.equal([1, 1]);
    clock.advance(2);
    expect(accumulator).to.deep.equal([1, 1]);
    deferred.callback(undefined);
    clock.advance(0);
    expect(accumulator).to.deep.equal([1, 1, 1, 1, 1]);
  });

  it("test_withCountIntervalZeroDelayThenNonZeroInterval: counts skipped intervals after the interval changes", () => {
    const clock = new Clock();
    const deferred = new Deferred<void>();
    const accumulator: number[] = [];
    const loop = LoopingCall.withCount((cnt) => {
      accumulator.push(cnt);
      return accumulator.length === 2 ? deferred : undefined;
    });
    loop.clock = clock;
    loop.start(0, false);
    clock.advance(10);
    expect(accumulator).to.deep.equal([1, 1]);
    loop.interval = 2;
    deferred.callback(undefined);
    clock.advance(7);
    expect(accumulator).to.deep.equal([1, 1, 3]);
    clock.advance(2);
    expect(accumulator).to.deep.equal([1, 1, 3, 1]);
    clock.advance(4);
    expect(accumulator).to.deep.equal([1, 1, 3, 1, 2]);
  });

  it("testBasicFunction: calls f with its arguments each interval; stop() fires start()'s Deferred with the loop", () => {
    const clock = new Clock();
    const L: unknown[][] = [];
    const lc = testableLoopingCall(clock, (...args: unknown[]) => L.push(args), "a", "b", { d: "d" });
    const D = lc.start(0.1);
    const theResult: LoopingCall[] = [];
    D.addCallback((r) => {
      theResult.push(r);
    });
    clock.pump([0.05, 0.1, 0.1]);
    expect(L).to.have.length(3);
    for (const args of L) expect(args).to.deep.equal(["a", "b", { d: "d" }]);
    lc.stop();
    expect(theResult[0]).to.equal(lc);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
  });

  it("testDelayedStart: with now=false the first call waits one interval", () => {
    const clock = new Clock();
    const L: unknown[] = [];
    const lc = testableLoopingCall(clock, (x: unknown) => L.push(x), null);
    const d = lc.start(0.1, false);
    const theResult: LoopingCall[] = [];
    d.addCallback((r) => {
      theResult.push(r);
    });
    clock.pump([0.05, 0.1, 0.1]);
    expect(L).to.have.length(2);
    lc.stop();
    expect(theResult[0]).to.equal(lc);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
  });

  it("testBadDelay: start() with a negative interval throws RangeError", () => {
    const lc = new LoopingCall(() => undefined);
    lc.clock = new Clock();
    expect(() => lc.start(-1)).to.throw(RangeError);
  });

  for (const [name, delay] of [
    ["testStopAtOnce", 0],
    ["testStoppingBeforeDelayedStart", 10],
  ] as const) {
    it(`${name}: stop() before the first call prevents every call (interval ${delay})`, () => {
      const ran: null[] = [];
      const clock = new Clock();
      const lc = testableLoopingCall(clock, () => ran.push(null));
      lc.start(delay, false);
      lc.stop();
      clock.advance(20);
      expect(ran).to.deep.equal([]);
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });
  }

  it("test_reset: reset() skips the next call and restarts the interval from now", () => {
    const ran: null[] = [];
    const c = new Clock();
    const lc = testableLoopingCall(c, () => ran.push(null));
    lc.start(2, false);
    c.advance(1);
    lc.reset();
    c.advance(1);
    expect(ran).to.deep.equal([]);
    c.advance(1);
    expect(ran).to.deep.equal([null]);
  });

  it("test_reprFunction: toString() includes the function's name and arguments", () => {
    function installReactor(_x: number, _options: object): void {}
    expect(String(new LoopingCall(installReactor, 1, { key: 2 }))).to.equal('LoopingCall<null>(installReactor, 1, {"key":2})');
  });

  // New tests.

  it("start() on a running loop and stop() on a stopped loop throw", () => {
    const clock = new Clock();
    const lc = testableLoopingCall(clock, () => undefined);
    expect(() => lc.stop()).to.throw(Error, /not running/);
    lc.start(1);
    expect(() => lc.start(1)).to.throw(Error, /already running/);
    lc.stop();
    expect(lc.running).to.equal(false);
  });

  it("waits for a returned Promise before scheduling the next call", async () => {
    const clock = new Clock();
    const calls: number[] = [];
    let release!: () => void;
    const lc = testableLoopingCall(clock, () => {
      calls.push(clock.seconds());
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    lc.start(1);
    clock.advance(5);
    expect(calls).to.deep.equal([0]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1);
    expect(calls).to.deep.equal([0, 6]);
    lc.stop();
  });

  it("can be started again after it was stopped", () => {
    const clock = new Clock();
    const calls: number[] = [];
    const lc = testableLoopingCall(clock, () => calls.push(clock.seconds()));
    lc.start(1);
    clock.advance(1);
    lc.stop();
    clock.advance(5);
    lc.start(1, false);
    clock.advance(1);
    expect(calls).to.deep.equal([0, 1, 7]);
    lc.stop();
  });
});

describe("ReactorLoopTests", () => {
  // Twisted runs these on the real reactor; the behaviour does not depend on real time, so
  // here they run on a Clock.

  it("testFailure: start()'s Deferred errbacks with what f throws, and the loop stops", () => {
    const clock = new Clock();
    const lc = testableLoopingCall(clock, (x: string) => {
      throw new TestException(x);
    }, "bar");
    const f = failureResultOf(lc.start(0.1));
    expect(f.value).to.be.instanceOf(TestException);
    expect(f.getErrorMessage()).to.equal("bar");
    expect(lc.running).to.equal(false);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
  });

  it("testFailAndStop: f that stops the loop then throws still errbacks", () => {
    const clock = new Clock();
    const lc: LoopingCall = testableLoopingCall(clock, (x: string) => {
      lc.stop();
      throw new TestException(x);
    }, "bar");
    expect(failureResultOf(lc.start(0.1)).value).to.be.instanceOf(TestException);
  });

  it("testEveryIteration: with an interval of 0, f runs every turn until stopped", () => {
    const clock = new Clock();
    const ran: null[] = [];
    const lc: LoopingCall = testableLoopingCall(clock, () => {
      ran.push(null);
      if (ran.length > 5) lc.stop();
    });
    const d = lc.start(0);
    for (let i = 0; i < 10; i++) clock.advance(0);
    expect(successResultOf(d)).to.equal(lc);
    expect(ran).to.have.length(6);
  });

  it("testStopAtOnceLater: stop() from another scheduled call prevents later calls", () => {
    const clock = new Clock();
    const ran: null[] = [];
    const lc = testableLoopingCall(clock, () => ran.push(null));
    lc.start(1, false);
    clock.callLater(0, () => lc.stop());
    clock.pump([0, 1, 1]);
    expect(ran).to.deep.equal([]);
  });

  it("testWaitDeferred: f is not called again until its Deferred fires", () => {
    const clock = new Clock();
    const calls: number[] = [];
    const lc: LoopingCall = testableLoopingCall(clock, () => {
      calls.push(clock.seconds());
      const d = new Deferred<void>();
      d.addCallback(() => lc.stop());
      clock.callLater(1, () => d.callback(undefined));
      return d;
    });
    lc.start(0.2);
    clock.pump([0.2, 0.8]);
    expect(calls).to.deep.equal([0]);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
  });

  it("testFailurePropagation: a failed Deferred from f errbacks start()'s Deferred", () => {
    const clock = new Clock();
    const lc = testableLoopingCall(clock, () => {
      const d = new Deferred<void>();
      clock.callLater(0.3, () => d.errback(new TestException()));
      return d;
    });
    const d = lc.start(1);
    assertNoResult(d);
    clock.pump([0.3]);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
    expect(failureResultOf(d).value).to.be.instanceOf(TestException);
  });

  it("test_deferredWithCount: a slow Deferred makes withCount report the skipped intervals", () => {
    const testClock = new Clock();
    const d = new Deferred<void>();
    const deferredCounts: number[] = [];
    const lc = LoopingCall.withCount((possibleCount) => {
      deferredCounts.push(possibleCount);
      return deferredCounts.length === 1 ? d : undefined;
    });
    lc.clock = testClock;
    lc.start(0.2, false);
    expect(deferredCounts).to.deep.equal([]);
    testClock.pump([0.2, 0.4]);
    expect(deferredCounts).to.have.length(1);
    d.callback(undefined);
    testClock.pump([0.2]);
    expect(deferredCounts).to.deep.equal([1, 3]);
  });
});

describe("DeferLaterTests", () => {
  it("test_callback: fires after the delay with the function's result", () => {
    const results: [string, string][] = [];
    const flag = {};
    const clock = new Clock();
    const d = deferLater(clock, 3, (foo: string, bar: string) => {
      results.push([foo, bar]);
      return flag;
    }, "foo", "bar");
    clock.advance(2);
    expect(results).to.deep.equal([]);
    assertNoResult(d);
    clock.advance(1);
    expect(results).to.deep.equal([["foo", "bar"]]);
    expect(successResultOf(d)).to.equal(flag);
  });

  it("test_errback: errbacks with what the function throws", () => {
    const clock = new Clock();
    const d = deferLater(clock, 1, (): string => {
      throw new TestException();
    });
    clock.advance(1);
    expect(failureResultOf(d).value).to.be.instanceOf(TestException);
  });

  it("test_cancel: cancelling cancels the scheduled call and errbacks with CancelledError", () => {
    const called: unknown[] = [];
    const clock = new Clock();
    const d = deferLater(clock, 1, (x: unknown) => called.push(x), null);
    d.cancel();
    expect(failureResultOf(d).value).to.be.instanceOf(CancelledError);
    expect(clock.getDelayedCalls()).to.deep.equal([]);
    clock.advance(1);
    expect(called).to.deep.equal([]);
  });

  it("test_noCallback: without a function it fires with undefined", () => {
    const clock = new Clock();
    const d = deferLater(clock, 2.0);
    assertNoResult(d);
    clock.advance(2.0);
    expect(successResultOf(d)).to.equal(undefined);
  });

  it("waits for a Deferred returned by the function", () => {
    const clock = new Clock();
    const inner = new Deferred<string>();
    const d = deferLater(clock, 1, () => inner);
    clock.advance(1);
    assertNoResult(d);
    inner.callback("done");
    expect(successResultOf(d)).to.equal("done");
  });
});

// --- test_cooperator.py --------------------------------------------------------------------

/** Twisted's FakeDelayedCall: records cancellation of a scheduled tick. */
class FakeDelayedCall implements IDelayedCall {
  cancelled = false;
  constructor(readonly func: () => void) {}
  cancel(): void {
    this.cancelled = true;
  }
  getTime(): number {
    return 0;
  }
  reset(): void {}
  delay(): void {}
  active(): boolean {
    return !this.cancelled;
  }
}

/** Twisted's FakeScheduler: ticks run only when the test pumps. */
class FakeScheduler {
  work: FakeDelayedCall[] = [];
  readonly schedule = (thunk: () => void): IDelayedCall => {
    const unit = new FakeDelayedCall(thunk);
    this.work.push(unit);
    return unit;
  };
  pump(): void {
    const work = this.work;
    this.work = [];
    for (const unit of work) if (!unit.cancelled) unit.func();
  }
}

/** A Cooperator whose ticks run on a Clock (Twisted's tests use the real reactor). */
function clockCooperator(clock: Clock, options: { terminationPredicateFactory?: () => () => boolean } = {}): Cooperator {
  return new Cooperator({ ...options, scheduler: (f) => clock.callLater(0.00000001, f) });
}

/** Run the clock until nothing is scheduled (bounded). */
function drain(clock: Clock): void {
  for (let i = 0; i < 1000 && clock.getDelayedCalls().length > 0; i++) clock.advance(0.01);
  expect(clock.getDelayedCalls(), "clock did not drain").to.deep.equal([]);
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

describe("CooperatorTests", () => {
  const RESULT = "done";
  const ebIter = (err: Failure) => {
    err.trap(SchedulerStopped);
    return RESULT;
  };
  const cbIter = (): never => {
    throw new Error("coiterate's Deferred should not succeed");
  };

  it("testStoppedRejectsNewTasks: a stopped Cooperator fails new tasks with SchedulerStopped", () => {
    for (const stuff of [undefined, new Deferred<Iterator<unknown>>()]) {
      const c = new Cooperator({ scheduler: new FakeScheduler().schedule });
      c.stop();
      const d = c.coiterate([][Symbol.iterator](), stuff).addCallbacks(cbIter, ebIter);
      expect(successResultOf(d)).to.equal(RESULT);
    }
  });

  it("testStopRunning: stop() keeps a running iterator from completing", () => {
    const clock = new Clock();
    const c = clockCooperator(clock);
    let value = -1;
    function* myiter() {
      for (const i of range(3)) {
        value = i;
        yield i;
      }
    }
    const d = c.coiterate(myiter()).addCallbacks(cbIter, ebIter);
    c.stop();
    drain(clock);
    expect(successResultOf(d)).to.equal(RESULT);
    expect(value).to.equal(-1);
  });

  it("testStopOutstanding: stop() fires coiterate's Deferred of a task waiting on a Deferred", () => {
    const clock = new Clock();
    const testControlD = new Deferred<void>();
    const outstandingD = new Deferred<string>();
    let resumed = false;
    function* myiter() {
      clock.callLater(0, () => testControlD.callback(undefined));
      yield outstandingD;
      resumed = true;
    }
    const c = clockCooperator(clock);
    const d = c.coiterate(myiter());
    testControlD.addCallback(() => {
      c.stop();
      outstandingD.callback("arglebargle");
    });
    d.addCallbacks(cbIter, ebIter);
    drain(clock);
    expect(successResultOf(d)).to.equal(RESULT);
    expect(resumed).to.equal(false);
  });

  it("testUnexpectedError: an iterator that throws fails coiterate's Deferred", () => {
    const clock = new Clock();
    const c = clockCooperator(clock);
    const myiter: Iterator<unknown> = {
      next() {
        throw new RangeError("boom");
      },
    };
    const d = c.coiterate(myiter);
    drain(clock);
    expect(failureResultOf(d).value).to.be.instanceOf(RangeError);
  });

  it("testUnexpectedErrorActuallyLater: a yielded Deferred that fails later fails the task", () => {
    const clock = new Clock();
    function* myiter() {
      const D = new Deferred<void>();
      clock.callLater(0, () => D.errback(new RangeError()));
      yield D;
    }
    const c = clockCooperator(clock);
    const d = c.coiterate(myiter());
    drain(clock);
    expect(failureResultOf(d).value).to.be.instanceOf(RangeError);
  });

  it("testUnexpectedErrorNotActuallyLater: a yielded Deferred that already failed fails the task", () => {
    const clock = new Clock();
    function* myiter() {
      yield fail(new RangeError());
    }
    const c = clockCooperator(clock);
    const d = c.coiterate(myiter());
    drain(clock);
    expect(failureResultOf(d).value).to.be.instanceOf(RangeError);
  });

  it("testCooperation: tasks take turns, one step each", () => {
    const clock = new Clock();
    const L: unknown[] = [];
    function* myiter(things: Iterable<unknown>) {
      for (const th of things) {
        L.push(th);
        yield null;
      }
    }
    const groupsOfThings: unknown[][] = [["a", "b", "c"], [1, 2, 3], ["d", "e", "f"], [4, 5, 6]];
    const c = clockCooperator(clock);
    const done: unknown[] = [];
    for (const stuff of groupsOfThings) c.coiterate(myiter(stuff)).addCallback((it) => done.push(it));
    drain(clock);
    expect(done).to.have.length(4);
    // zip(*groups), flattened: one item from each group in turn.
    expect(L).to.deep.equal(["a", 1, "d", 4, "b", 2, "e", 5, "c", 3, "f", 6]);
  });

  it("testResourceExhaustion: a tick ends when its termination predicate says so", () => {
    const output: number[] = [];
    let stopped = false;
    function* myiter() {
      for (let i = 0; i < 100; i++) {
        output.push(i);
        if (i === 9) stopped = true;
        yield i;
      }
    }
    const scheduler = new FakeScheduler();
    const c = new Cooperator({ scheduler: scheduler.schedule, terminationPredicateFactory: () => () => stopped });
    c.coiterate(myiter()).addErrback(ebIter);
    scheduler.pump();
    c.stop();
    expect(stopped).to.equal(true);
    expect(output).to.deep.equal([...range(10)]);
  });

  it("testCallbackReCoiterate: coiterate from a whenDone callback schedules one tick at a time", () => {
    const calls: { func: () => void }[] = [];
    const sched = (f: () => void): IDelayedCall => {
      expect(calls, "a second tick was scheduled while one was pending").to.deep.equal([]);
      const call = new FakeDelayedCall(f);
      calls.push(call);
      return call;
    };
    const c = new Cooperator({ scheduler: sched, terminationPredicateFactory: () => () => true });
    const d = c.coiterate([][Symbol.iterator]());
    const done: unknown[] = [];
    d.addCallback(() => {
      c.coiterate([][Symbol.iterator]()).addBoth((r) => done.push(r));
    });
    let work = 0;
    while (done.length === 0) {
      work++;
      while (calls.length) {
        calls.shift()!.func();
        work++;
      }
      if (work > 50) throw new Error("Cooperator took too long");
    }
  });

  it("test_removingLastTaskStopsScheduledCall: removing the last task cancels the scheduled tick", () => {
    let last: FakeDelayedCall | null = null;
    let scheduled = 0;
    const coop = new Cooperator({
      scheduler: (f) => {
        scheduled++;
        return (last = new FakeDelayedCall(f));
      },
    });
    const task1 = coop.cooperate([1, 2][Symbol.iterator]());
    const task2 = coop.cooperate([1, 2][Symbol.iterator]());
    expect(scheduled).to.equal(1);
    const first = last!;
    task1.stop();
    expect(first.cancelled).to.equal(false);
    task2.stop();
    expect(first.cancelled).to.equal(true);
    coop.cooperate([1, 2][Symbol.iterator]());
    expect(scheduled).to.equal(2);
    expect(last!.cancelled).to.equal(false);
    coop.stop();
    expect(last!.cancelled).to.equal(true);
  });

  it("test_runningWhenStarted: a Cooperator started on creation is running", () => {
    expect(new Cooperator({ scheduler: new FakeScheduler().schedule }).running).to.equal(true);
  });

  it("test_runningWhenNotStarted: a Cooperator made with started: false is not running", () => {
    expect(new Cooperator({ started: false }).running).to.equal(false);
  });

  it("test_runningWhenRunning: start() makes it running", () => {
    const c = new Cooperator({ started: false, scheduler: new FakeScheduler().schedule });
    c.start();
    expect(c.running).to.equal(true);
    c.stop();
  });

  it("test_runningWhenStopped: stop() makes it not running", () => {
    const c = new Cooperator({ started: false, scheduler: new FakeScheduler().schedule });
    c.start();
    c.stop();
    expect(c.running).to.equal(false);
  });

  // New tests.

  it("stop() fails every task with SchedulerStopped (Twisted skips every other one)", () => {
    const c = new Cooperator({ scheduler: new FakeScheduler().schedule });
    const results: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      c.coiterate(range(3)).addErrback((f) => {
        results.push(f.trap(SchedulerStopped));
        return undefined;
      });
    }
    c.stop();
    expect(results).to.deep.equal(Array(5).fill(SchedulerStopped));
  });

  it("stop() from inside a task's step ends the tick: no other task does more work", () => {
    const scheduler = new FakeScheduler();
    const c = new Cooperator({ scheduler: scheduler.schedule, terminationPredicateFactory: () => () => false });
    const steps: string[] = [];
    function* stopper() {
      steps.push("stopper");
      c.stop();
      yield new Deferred<void>(); // ignored: the task already ended
    }
    function* other(name: string) {
      for (;;) {
        steps.push(name);
        yield;
      }
    }
    const failures: unknown[] = [];
    for (const it of [stopper(), other("a"), other("b")]) {
      c.coiterate(it).addErrback((f) => {
        failures.push(f.trap(SchedulerStopped));
      });
    }
    scheduler.pump();
    scheduler.pump();
    expect(steps).to.deep.equal(["stopper"]);
    expect(failures).to.have.length(3);
    expect(scheduler.work).to.deep.equal([]);
  });

  it("a Cooperator made with started: false queues tasks until start()", () => {
    const scheduler = new FakeScheduler();
    const c = new Cooperator({ started: false, scheduler: scheduler.schedule });
    const it = range(2);
    const d = c.coiterate(it);
    expect(scheduler.work).to.have.length(0);
    c.start();
    expect(scheduler.work).to.have.length(1);
    scheduler.pump();
    expect(successResultOf(d)).to.equal(it);
  });

  it("a task that yields a Promise waits for it to settle", async () => {
    const scheduler = new FakeScheduler();
    const c = new Cooperator({ scheduler: scheduler.schedule, terminationPredicateFactory: () => () => false });
    const steps: string[] = [];
    let release!: () => void;
    function* work() {
      steps.push("before");
      yield new Promise<void>((resolve) => {
        release = resolve;
      });
      steps.push("after");
    }
    const it = work();
    const d = c.coiterate(it);
    scheduler.pump();
    scheduler.pump();
    expect(steps).to.deep.equal(["before"]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    scheduler.pump();
    expect(steps).to.deep.equal(["before", "after"]);
    expect(successResultOf(d)).to.equal(it);
  });

  it("cooperate() returns a CooperativeTask", () => {
    const c = new Cooperator({ scheduler: new FakeScheduler().schedule });
    const t = c.cooperate(range(1));
    expect(t).to.be.instanceOf(CooperativeTask);
    c.stop();
  });
});

describe("RunStateTests", () => {
  class UnhandledException extends Error {}

  let doDeferNext: boolean;
  let doStopNext: boolean;
  let doDieNext: boolean;
  let work: unknown[];
  let scheduler: FakeScheduler;
  let cooperator: Cooperator;
  let task: CooperativeTask<unknown>;
  let iterator: Iterator<unknown>;

  function* worker(): Generator<unknown> {
    let i = 0;
    for (;;) {
      i++;
      if (doDeferNext) {
        doDeferNext = false;
        const d = new Deferred<unknown>();
        work.push(d);
        yield d;
      } else if (doStopNext) {
        return;
      } else if (doDieNext) {
        throw new UnhandledException();
      } else {
        work.push(i);
        yield i;
      }
    }
  }

  beforeEach(() => {
    doDeferNext = doStopNext = doDieNext = false;
    work = [];
    scheduler = new FakeScheduler();
    // One unit of work per tick.
    cooperator = new Cooperator({ scheduler: scheduler.schedule, terminationPredicateFactory: () => () => true });
    iterator = worker();
    task = cooperator.cooperate(iterator);
    cooperator.start();
  });

  it("test_pauseResume: a paused task does no work until resumed", () => {
    scheduler.pump();
    expect(work).to.deep.equal([1]);
    scheduler.pump();
    expect(work).to.deep.equal([1, 2]);
    task.pause();
    scheduler.pump();
    expect(work).to.deep.equal([1, 2]);
    task.resume();
    // Resuming itself does no work...
    expect(work).to.deep.equal([1, 2]);
    scheduler.pump();
    // ...the next tick does.
    expect(work).to.deep.equal([1, 2, 3]);
  });

  it("test_resumeNotPaused: resume() on a task that is not paused throws NotPaused", () => {
    expect(() => task.resume()).to.throw(NotPaused);
    task.pause();
    task.resume();
    expect(() => task.resume()).to.throw(NotPaused);
  });

  it("test_pauseTwice: pauses stack: two pauses need two resumes", () => {
    task.pause();
    scheduler.pump();
    expect(work).to.deep.equal([]);
    task.pause();
    scheduler.pump();
    expect(work).to.deep.equal([]);
    task.resume();
    scheduler.pump();
    expect(work).to.deep.equal([]);
    task.resume();
    scheduler.pump();
    expect(work).to.deep.equal([1]);
  });

  it("test_pauseWhileDeferred: a task paused while waiting needs both the Deferred and resume()", () => {
    doDeferNext = true;
    scheduler.pump();
    expect(work).to.have.length(1);
    expect(work[0]).to.be.instanceOf(Deferred);
    scheduler.pump();
    expect(work).to.have.length(1);
    task.pause();
    scheduler.pump();
    expect(work).to.have.length(1);
    task.resume();
    scheduler.pump();
    expect(work).to.have.length(1);
    (work[0] as Deferred<unknown>).callback("STUFF!");
    scheduler.pump();
    expect(work).to.have.length(2);
    expect(work[1]).to.equal(2);
  });

  it("test_whenDone: each whenDone() Deferred fires with the iterator, independently", () => {
    const deferred1 = task.whenDone();
    const deferred2 = task.whenDone();
    const results1: unknown[] = [];
    const results2: unknown[] = [];
    const final1: unknown[] = [];
    const final2: unknown[] = [];
    deferred1.addCallback((r) => {
      results1.push(r);
      return 1;
    });
    deferred2.addCallback((r) => {
      results2.push(r);
      return 2;
    });
    deferred1.addCallback((r) => {
      final1.push(r);
    });
    deferred2.addCallback((r) => {
      final2.push(r);
    });
    doStopNext = true;
    scheduler.pump();
    expect(results1).to.have.length(1);
    expect(results2).to.have.length(1);
    expect(results1[0]).to.equal(iterator);
    expect(results2[0]).to.equal(iterator);
    expect(final1).to.deep.equal([1]);
    expect(final2).to.deep.equal([2]);
  });

  it("test_whenDoneError: whenDone() fails with what the iterator throws", () => {
    const results: Failure[] = [];
    task.whenDone().addErrback((f) => {
      results.push(f);
    });
    doDieNext = true;
    scheduler.pump();
    expect(results).to.have.length(1);
    expect(results[0]!.check(UnhandledException)).to.equal(UnhandledException);
  });

  it("test_whenDoneStop: whenDone() fails with TaskStopped after stop()", () => {
    const errors: Failure[] = [];
    task.whenDone().addErrback((f) => {
      errors.push(f);
    });
    task.stop();
    expect(errors).to.have.length(1);
    expect(errors[0]!.check(TaskStopped)).to.equal(TaskStopped);
  });

  it("test_whenDoneAlreadyDone: whenDone() on a finished task fires at once with the iterator", () => {
    doStopNext = true;
    scheduler.pump();
    const results: unknown[] = [];
    task.whenDone().addCallback((r) => {
      results.push(r);
    });
    expect(results).to.deep.equal([iterator]);
  });

  it("test_stopStops: a stopped task does no work, and stop()/pause() then throw TaskStopped", () => {
    task.whenDone().addErrback(() => undefined);
    task.stop();
    scheduler.pump();
    expect(work).to.have.length(0);
    expect(() => task.stop()).to.throw(TaskStopped);
    expect(() => task.pause()).to.throw(TaskStopped);
    scheduler.pump();
    expect(work).to.deep.equal([]);
  });

  it("test_pauseStopResume: resume() of a paused, stopped task does nothing", () => {
    task.pause();
    task.stop();
    task.resume();
    scheduler.pump();
    expect(work).to.deep.equal([]);
  });

  it("test_stopDeferred: a task stopped while waiting on a Deferred does not resume when it fires", () => {
    doDeferNext = true;
    scheduler.pump();
    const d = work.pop() as Deferred<unknown>;
    const results: unknown[] = [];
    d.addBoth((r) => {
      results.push(r);
    });
    scheduler.pump();
    task.stop();
    scheduler.pump();
    d.callback(7);
    scheduler.pump();
    // The Cooperator's own callback consumed the value: no unhandled error, no further work.
    expect(results).to.deep.equal([undefined]);
    expect(work).to.deep.equal([]);
  });

  it("test_stopExhausted: stop() on an exhausted task throws TaskDone (torsion: TaskFinished)", () => {
    doStopNext = true;
    scheduler.pump();
    expect(() => task.stop()).to.throw(TaskDone);
    expect(() => task.stop()).to.throw(TaskFinished);
  });

  it("test_stopErrored: stop() on a task whose iterator threw throws TaskFailed", () => {
    task.whenDone().addErrback(() => undefined);
    doDieNext = true;
    scheduler.pump();
    expect(() => task.stop()).to.throw(TaskFailed);
  });

  it("test_stopCooperatorReentrancy: stopping the Cooperator from a whenDone() callback works", () => {
    const callbackPhases: unknown[] = [];
    task.whenDone().addCallback((result) => {
      callbackPhases.push(result);
      cooperator.stop();
      callbackPhases.push("done");
    });
    doStopNext = true;
    scheduler.pump();
    expect(callbackPhases).to.deep.equal([iterator, "done"]);
  });
});

// --- on the global reactor --------------------------------------------------------------------

describe("LoopTests (global reactor)", () => {
  it("test_defaultClock: a LoopingCall's default clock is the global reactor", async () => {
    // getReactor() is the reactor itself; `reactor` is its stand-in (see global-reactor.ts).
    const { getReactor } = await import("../../lib/internet/reactor.js");
    expect(new LoopingCall(() => undefined).clock).to.equal(getReactor());
  });
});

describe("AliasTests", () => {
  it("test_cooperate: the global cooperate() runs the iterator on the global reactor", async () => {
    const { theCooperator, cooperate } = await import("../../lib/internet/task.js");
    const d = new Deferred<string>();
    function* doit() {
      yield 1;
      yield 2;
      yield 3;
      d.callback("yay");
    }
    const theTask = cooperate(doit());
    expect(theTask).to.be.instanceOf(CooperativeTask);
    expect(theCooperator.running).to.equal(true);
    expect(await within(d, 5, "the global cooperator to run the task")).to.equal("yay");
  });
});
