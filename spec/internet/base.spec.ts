/**
 * Ports of the DelayedCall tests in twisted/internet/test/test_base.py, plus new tests of
 * DelayedCall's contract and of DelayedCallQueue.
 */

import { expect } from "chai";

import { DelayedCall, DelayedCallQueue } from "../../lib/internet/base.js";
import { AlreadyCalled, AlreadyCancelled } from "../../lib/internet/error.js";

function nothing(..._args: unknown[]): void {}

function noop(_dc: DelayedCall): void {}

/** A queue, a settable time, and a callLater that files calls in the queue, as a reactor would. */
function makeScheduler() {
  const queue = new DelayedCallQueue();
  const state = { now: 0 };
  const seconds = () => state.now;
  const callLater = (delay: number, f: (...args: any[]) => unknown, ...args: unknown[]) => {
    const dc = new DelayedCall(state.now + delay, f, args, queue.remove, queue.update, seconds);
    queue.push(dc);
    return dc;
  };
  const runUntil = (t: number) => {
    state.now = t;
    let dc: DelayedCall | undefined;
    while ((dc = queue.popDue(t)) !== undefined) dc.invoke();
  };
  return { queue, state, callLater, runUntil };
}

for (const debug of [false, true]) {
  describe(debug ? "DelayedCallDebugTests" : "DelayedCallNoDebugTests", () => {
    let saved: boolean;
    beforeEach(() => {
      saved = DelayedCall.debug;
      DelayedCall.debug = debug;
    });
    afterEach(() => {
      DelayedCall.debug = saved;
    });

    it("test_str: shows the time left, the state, the function and its arguments", () => {
      const dc = new DelayedCall(12, nothing, [3], noop, noop, () => 1.5);
      if (debug) {
        expect(String(dc)).to.match(/^<DelayedCall \[10\.5s\] called=0 cancelled=0 nothing\(3\)\n\ntraceback at creation:/);
      } else {
        expect(String(dc)).to.equal("<DelayedCall [10.5s] called=0 cancelled=0 nothing(3)>");
      }
    });

    it("test_repr: the template literal form is the same as String()", () => {
      const dc = new DelayedCall(13, nothing, [6], noop, noop, () => 1.6);
      expect(`${dc}`).to.equal(String(dc));
    });
  });
}

describe("DelayedCall (new tests)", () => {
  it("cancel() calls the cancel hook with the call, then marks it cancelled", () => {
    const seen: [DelayedCall, boolean][] = [];
    const dc: DelayedCall = new DelayedCall(1, nothing, [], (c) => seen.push([c, c.active()]), noop, () => 0);
    dc.cancel();
    expect(seen).to.deep.equal([[dc, true]]);
    expect(dc.cancelled).to.equal(true);
    expect(dc.active()).to.equal(false);
  });

  it("cancel(), reset() and delay() on a cancelled call raise AlreadyCancelled", () => {
    const dc = new DelayedCall(1, nothing, [], noop, noop, () => 0);
    dc.cancel();
    expect(() => dc.cancel()).to.throw(AlreadyCancelled);
    expect(() => dc.reset(1)).to.throw(AlreadyCancelled);
    expect(() => dc.delay(1)).to.throw(AlreadyCancelled);
  });

  it("cancel(), reset() and delay() on a call that ran raise AlreadyCalled", () => {
    const dc = new DelayedCall(1, nothing, [], noop, noop, () => 0);
    dc.invoke();
    expect(dc.called).to.equal(true);
    expect(() => dc.cancel()).to.throw(AlreadyCalled);
    expect(() => dc.reset(1)).to.throw(AlreadyCalled);
    expect(() => dc.delay(1)).to.throw(AlreadyCalled);
  });

  it("invoke() calls the function with its arguments and returns its result", () => {
    const dc = new DelayedCall(1, (a: number, b: string) => `${a}${b}`, [1, "x"], noop, noop, () => 0);
    expect(dc.invoke()).to.equal("1x");
  });

  it("reset() to a sooner time calls the reset hook; to a later time it only moves getTime()", () => {
    const resets: number[] = [];
    const dc = new DelayedCall(10, nothing, [], noop, (c) => resets.push(c.getTime()), () => 2);
    dc.reset(20);
    expect(dc.getTime()).to.equal(22);
    expect(resets).to.deep.equal([]);
    dc.reset(3);
    expect(dc.getTime()).to.equal(5);
    expect(resets).to.deep.equal([5]);
  });

  it("delay() adds to the due time; a negative delay that brings it sooner calls the reset hook", () => {
    const resets: number[] = [];
    const dc = new DelayedCall(10, nothing, [], noop, (c) => resets.push(c.getTime()), () => 0);
    dc.delay(5);
    expect(dc.getTime()).to.equal(15);
    dc.delay(-3);
    expect(dc.getTime()).to.equal(12);
    expect(resets).to.deep.equal([]);
    dc.delay(-4);
    expect(dc.getTime()).to.equal(8);
    expect(resets).to.deep.equal([8]);
  });

  it("toString() after cancel() no longer shows the released function", () => {
    const dc = new DelayedCall(1, nothing, [1], noop, noop, () => 0);
    dc.cancel();
    expect(String(dc)).to.equal("<DelayedCall [1s] called=0 cancelled=1>");
  });
});

describe("DelayedCallQueue", () => {
  it("runs calls in due-time order, equal times in scheduling order", () => {
    const { callLater, runUntil } = makeScheduler();
    const order: string[] = [];
    const log = (s: string) => order.push(s);
    callLater(3, log, "c");
    callLater(1, log, "a1");
    callLater(2, log, "b");
    callLater(1, log, "a2");
    callLater(1, log, "a3");
    runUntil(10);
    expect(order).to.deep.equal(["a1", "a2", "a3", "b", "c"]);
  });

  it("honours cancel, reset and delay, and keeps scheduling order among equal times after them", () => {
    const { callLater, runUntil, queue } = makeScheduler();
    const order: string[] = [];
    const log = (s: string) => order.push(s);
    const a = callLater(1, log, "a");
    const b = callLater(5, log, "b");
    const c = callLater(2, log, "c");
    callLater(3, log, "d");
    a.delay(2); // due 3, scheduled before d: runs before d
    b.reset(3); // due 3, scheduled before d too
    c.cancel();
    expect(queue.length).to.equal(3);
    expect(queue.nextTime()).to.equal(3);
    runUntil(3);
    expect(order).to.deep.equal(["a", "b", "d"]);
    expect(queue.length).to.equal(0);
    expect(queue.nextTime()).to.equal(undefined);
  });

  it("keeps heap order through many random schedules and cancellations", () => {
    const { callLater, runUntil } = makeScheduler();
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const ran: [number, number][] = [];
    const expected: [number, number][] = [];
    const calls: DelayedCall[] = [];
    for (let i = 0; i < 500; i++) {
      const t = Math.floor(random() * 50);
      calls.push(callLater(t, (time: number, n: number) => ran.push([time, n]), t, i));
    }
    calls.forEach((dc, i) => {
      if (i % 7 === 0) dc.cancel();
    });
    calls.forEach((dc, i) => {
      if (i % 7 !== 0) expected.push([dc.getTime(), i]);
    });
    expected.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    runUntil(100);
    expect(ran).to.deep.equal(expected);
  });

  it("while held, files new calls aside so a pass does not run calls scheduled during it", () => {
    const { callLater, queue, state } = makeScheduler();
    const order: string[] = [];
    callLater(0, () => {
      order.push("first");
      callLater(0, () => order.push("scheduled during the pass"));
    });
    const pass = () => {
      queue.holdNewCalls();
      let dc: DelayedCall | undefined;
      while ((dc = queue.popDue(state.now)) !== undefined) dc.invoke();
      queue.releaseNewCalls();
    };
    pass();
    expect(order).to.deep.equal(["first"]);
    expect(queue.length).to.equal(1);
    pass();
    expect(order).to.deep.equal(["first", "scheduled during the pass"]);
  });

  it("a call scheduled and cancelled while held never runs", () => {
    const { callLater, queue, state } = makeScheduler();
    const order: string[] = [];
    queue.holdNewCalls();
    const dc = callLater(0, () => order.push("x"));
    expect(queue.length).to.equal(1);
    dc.cancel();
    queue.releaseNewCalls();
    expect(queue.popDue(state.now)).to.equal(undefined);
    expect(queue.length).to.equal(0);
  });

  it("toArray() lists pending calls in run order", () => {
    const { callLater, queue } = makeScheduler();
    const b = callLater(2, nothing);
    const a = callLater(1, nothing);
    const c = callLater(2, nothing);
    expect(queue.toArray()).to.deep.equal([a, b, c]);
  });
});
