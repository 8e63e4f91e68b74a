// Tests of lib/internet/timer-queue.ts: the one timer queue that Clock and the real reactor share.
// One spec body runs against both, so what a spec on Clock shows holds for a program on the
// reactor: ports by name of twisted/test/test_internet.py (TimeTests, DelayedTests,
// CallFromThreadTests), twisted/internet/test/test_time.py (TimeTestsBuilder) and
// twisted/test/test_task.py (Cooperator, where timing matters). Then what only the real reactor
// has: passes on the loop's turns, one Node timer for the whole queue.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AlreadyCalled, AlreadyCancelled } from "../../lib/internet/error.js";
import type { IDelayedCall, IReactorTime } from "../../lib/internet/interfaces.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { Clock, Cooperator } from "../../lib/internet/task.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { within } from "../support/wait.js";

/** A clock under test and how to let its time pass. */
interface TimeHarness {
  readonly clock: IReactorTime;
  /**
   * Let `seconds` pass and every call due by then run (a marker scheduled last, on the
   * reactor), then run `check`. On the reactor `check` runs inside the marker, so a later call
   * that a slow machine let come due in the same pass has not run yet.
   */
  advance(seconds: number, check?: () => void): Promise<void>;
}

const harnesses: Array<[string, () => TimeHarness]> = [
  [
    "Clock",
    () => {
      const clock = new Clock();
      return {
        clock,
        advance: async (seconds: number, check?: () => void): Promise<void> => {
          clock.advance(seconds);
          check?.();
        },
      };
    },
  ],
  [
    "NodeReactor",
    () => {
      const reactor = new NodeReactor();
      return {
        clock: reactor,
        // Scheduled after every call the test made, for the latest time: it runs after them all.
        advance: (seconds: number, check?: () => void): Promise<void> =>
          within(
            new Promise<void>((resolve, reject) =>
              reactor.callLater(seconds, () => {
                try {
                  check?.();
                  resolve();
                } catch (err) {
                  reject(err);
                }
              }),
            ),
            10 + seconds,
            `${seconds} s of reactor time`,
          ),
      };
    },
  ],
];

/** Run order of `calls` as (getTime(), scheduling order) says. */
function byTimeThenSequence(calls: IDelayedCall[]): IDelayedCall[] {
  const seq = new Map(calls.map((c, i) => [c, i]));
  return calls.slice().sort((a, b) => a.getTime() - b.getTime() || seq.get(a)! - seq.get(b)!);
}

for (const [name, make] of harnesses) {
  describe(`timer queue on ${name}`, () => {
    let h: TimeHarness;
    beforeEach(() => {
      h = make();
    });

    it("test_callLater: the function runs once, with its arguments, after the delay", async () => {
      const seen: unknown[][] = [];
      const dc = h.clock.callLater(0.01, (...args: unknown[]) => seen.push(args), 1, "two");
      expect(seen).to.deep.equal([]);
      await h.advance(0.01);
      expect(seen).to.deep.equal([[1, "two"]]);
      expect(dc.active()).to.equal(false);
    });

    it("callLater(0) does not run synchronously: it runs on the next pass", async () => {
      let ran = false;
      h.clock.callLater(0, () => (ran = true));
      expect(ran).to.equal(false);
      await h.advance(0);
      expect(ran).to.equal(true);
    });

    it("callLater(0.0049) runs before callLater(0.005) scheduled just before it", async () => {
      const order: string[] = [];
      const late = h.clock.callLater(0.005, () => order.push("0.005"));
      const early = h.clock.callLater(0.0049, () => order.push("0.0049"));
      await h.advance(0.005);
      // Due times decide (they are 0.1 ms apart less the time between the two calls).
      const expected = byTimeThenSequence([late, early]).map((c) => (c === late ? "0.005" : "0.0049"));
      expect(order).to.deep.equal(expected);
    });

    it("calls run in order of due time, then of scheduling (200 calls, many due together on Clock)", async () => {
      const order: IDelayedCall[] = [];
      const calls: IDelayedCall[] = [];
      for (let i = 0; i < 200; i++) {
        const delay = Math.floor(Math.random() * 20) / 1000;
        const dc: IDelayedCall = h.clock.callLater(delay, () => order.push(dc));
        calls.push(dc);
      }
      await h.advance(0.02);
      expect(order.length).to.equal(200);
      expect(order).to.deep.equal(byTimeThenSequence(calls));
    });

    it("a call scheduled while due calls run waits for them: A and B due together, A schedules C", async () => {
      const order: string[] = [];
      h.clock.callLater(0, () => {
        order.push("A");
        h.clock.callLater(0, () => order.push("C"));
      });
      h.clock.callLater(0, () => order.push("B"));
      await h.advance(0);
      await h.advance(0);
      expect(order).to.deep.equal(["A", "B", "C"]);
    });

    it("test_callLaterReset: reset() later postpones, reset() sooner brings forward", async () => {
      const order: string[] = [];
      const a = h.clock.callLater(0.01, () => order.push("a"));
      const b = h.clock.callLater(0.02, () => order.push("b"));
      a.reset(0.03);
      b.reset(0.001);
      await h.advance(0.015, () => expect(order).to.deep.equal(["b"]));
      await h.advance(0.02);
      expect(order).to.deep.equal(["b", "a"]);
    });

    it("delay() postpones a call; a negative delay() brings it forward", async () => {
      const order: string[] = [];
      const a = h.clock.callLater(0.005, () => order.push("a"));
      const b = h.clock.callLater(0.02, () => order.push("b"));
      a.delay(0.02);
      b.delay(-0.019);
      await h.advance(0.01, () => expect(order).to.deep.equal(["b"]));
      await h.advance(0.02);
      expect(order).to.deep.equal(["b", "a"]);
    });

    it("test_cancelDelayedCall / test_cancelCancelledDelayedCall: a cancelled call never runs; cancelling twice raises", async () => {
      let ran = false;
      const dc = h.clock.callLater(0, () => (ran = true));
      dc.cancel();
      expect(() => dc.cancel()).to.throw(AlreadyCancelled);
      await h.advance(0.001);
      expect(ran).to.equal(false);
    });

    it("test_cancelCalledDelayedCallSynchronous: cancelling a call from inside itself raises AlreadyCalled", async () => {
      let raised: unknown;
      const dc: IDelayedCall = h.clock.callLater(0, () => {
        try {
          dc.cancel();
        } catch (err) {
          raised = err;
        }
      });
      await h.advance(0);
      expect(raised).to.be.instanceOf(AlreadyCalled);
    });

    it("test_cancelCalledDelayedCallAsynchronous: cancelling a call that already ran raises AlreadyCalled", async () => {
      const dc = h.clock.callLater(0, () => {});
      await h.advance(0);
      expect(() => dc.cancel()).to.throw(AlreadyCalled);
      expect(() => dc.reset(1)).to.throw(AlreadyCalled);
      expect(() => dc.delay(1)).to.throw(AlreadyCalled);
    });

    it("test_active / testGetDelayedCalls: a call is active and listed until it runs or is cancelled", async () => {
      const a = h.clock.callLater(0.001, () => {});
      const b = h.clock.callLater(0.002, () => {});
      const c = h.clock.callLater(0.003, () => {});
      b.cancel();
      expect(h.clock.getDelayedCalls()).to.deep.equal([a, c]);
      expect([a.active(), b.active(), c.active()]).to.deep.equal([true, false, true]);
      await h.advance(0.003);
      expect(h.clock.getDelayedCalls()).to.deep.equal([]);
      expect([a.active(), c.active()]).to.deep.equal([false, false]);
    });

    it("100,000 calls, half cancelled: the other half run, in (time, sequence) order", async () => {
      const n = 100_000;
      const ran: IDelayedCall[] = [];
      const kept: IDelayedCall[] = [];
      const calls: IDelayedCall[] = [];
      for (let i = 0; i < n; i++) {
        const dc: IDelayedCall = h.clock.callLater(Math.random() * 0.05, () => ran.push(dc));
        calls.push(dc);
      }
      expect(h.clock.getDelayedCalls().length).to.equal(n);
      for (let i = 0; i < n; i++) {
        if (i % 2 === 0) calls[i]!.cancel();
        else kept.push(calls[i]!);
      }
      expect(h.clock.getDelayedCalls().length).to.equal(n / 2);
      await h.advance(0.05);
      expect(ran.length).to.equal(n / 2);
      expect(ran).to.deep.equal(byTimeThenSequence(kept));
    });

    it("testCooperation (test_task.py) on this clock: tasks take turns, one step a tick", async () => {
      const order: string[] = [];
      const coop = new Cooperator({
        scheduler: (tick) => h.clock.callLater(1e-8, tick),
        terminationPredicateFactory: () => () => true, // one step per tick
      });
      function* steps(tag: string): Generator<undefined> {
        for (let i = 0; i < 3; i++) {
          order.push(`${tag}${i}`);
          yield undefined;
        }
      }
      const done = [coop.coiterate(steps("a")), coop.coiterate(steps("b"))];
      for (let i = 0; i < 8; i++) await h.advance(0.001);
      expect(order).to.deep.equal(["a0", "b0", "a1", "b1", "a2", "b2"]);
      expect(done.map((d) => d.called)).to.deep.equal([true, true]);
    });

    it("test_removingLastTaskStopsScheduledCall (test_task.py): no tick stays scheduled once the last task is gone", async () => {
      const coop = new Cooperator({ scheduler: (tick) => h.clock.callLater(1e-8, tick) });
      const task = coop.cooperate([1, 2, 3][Symbol.iterator]());
      expect(h.clock.getDelayedCalls().length).to.equal(1);
      task.stop();
      expect(h.clock.getDelayedCalls()).to.deep.equal([]);
    });
  });
}

describe("timer queue on the real reactor only", () => {
  const logs = captureLogsOfEachTest();

  it("callLater(0) runs on the next turn of the loop, before setImmediate work queued after it", async () => {
    const reactor = new NodeReactor();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      reactor.callLater(0, () => order.push("callLater(0)"));
      setImmediate(() => {
        order.push("setImmediate");
        resolve();
      });
    });
    await within(done, 5, "the next turn");
    expect(order).to.deep.equal(["callLater(0)", "setImmediate"]);
  });

  it("a call scheduled during a pass waits for the next pass: setImmediate work queued meanwhile runs first", async () => {
    const reactor = new NodeReactor();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      reactor.callLater(0, () => {
        order.push("A");
        reactor.callLater(0, () => {
          order.push("C");
          resolve();
        });
        setImmediate(() => order.push("D"));
      });
    });
    await within(done, 5, "the call scheduled during the pass");
    expect(order).to.deep.equal(["A", "D", "C"]);
  });

  it("a callLater(0) that reschedules itself forever does not starve the loop's other work", async () => {
    const reactor = new NodeReactor();
    let spins = 0;
    let going = true;
    const spin = (): void => {
      spins++;
      if (going) reactor.callLater(0, spin);
    };
    reactor.callLater(0, spin);
    await within(new Promise<void>((resolve) => setTimeout(resolve, 5)), 5, "a 5 ms timer while callLater(0) spins");
    going = false;
    expect(spins).to.be.greaterThan(1);
  });

  it("test_threadsAreRunInScheduledOrder: callFromThread calls run in order, before the timed calls of the same pass", async () => {
    const reactor = new NodeReactor();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      reactor.callLater(0, () => {
        order.push("timed");
        resolve();
      });
      for (let i = 0; i < 3; i++) reactor.callFromThread(() => order.push(`thread${i}`));
    });
    await within(done, 5, "the pass");
    expect(order).to.deep.equal(["thread0", "thread1", "thread2", "timed"]);
  });

  it("test_lotsOfThreadsAreScheduledCorrectly: 100 callFromThread calls from a call all run, in order", async () => {
    const reactor = new NodeReactor();
    const seen: number[] = [];
    await within(
      new Promise<void>((resolve) => {
        reactor.callLater(0, () => {
          for (let i = 0; i < 100; i++) reactor.callFromThread((n: number) => (seen.push(n), n === 99 && resolve()), i);
        });
      }),
      5,
      "100 calls from threads",
    );
    expect(seen).to.deep.equal([...Array(100).keys()]);
  });

  it("100,000 pending calls cost one Node timer, re-armed only when the head changes", () => {
    const reactor = new NodeReactor();
    const timers = reactor._timers;
    expect(timers.nodeTimers).to.equal(0);
    const calls: IDelayedCall[] = [];
    // Later and later: the head is the first call, so the Node timer is armed once.
    for (let i = 0; i < 100_000; i++) calls.push(reactor.callLater(100 + i / 1000, () => {}));
    expect(timers.nodeTimers).to.equal(1);
    expect(timers.timersArmed).to.equal(1);
    // An earlier call is the new head: armed again, still one timer.
    const sooner = reactor.callLater(50, () => {});
    expect(timers.nodeTimers).to.equal(1);
    expect(timers.timersArmed).to.equal(2);
    for (const dc of calls) dc.cancel();
    expect(timers.nodeTimers).to.equal(1);
    sooner.cancel();
    // Only cancelled calls left: no timer keeps the process alive.
    expect(timers.nodeTimers).to.equal(0);
    expect(reactor.getDelayedCalls()).to.deep.equal([]);
  });

  it("a call due in under a millisecond (the Cooperator's 1e-8) takes no Node timer: it runs on the next turns", async () => {
    const reactor = new NodeReactor();
    const ran = new Promise<void>((resolve) => reactor.callLater(1e-8, resolve));
    expect(reactor._timers.nodeTimers).to.equal(0);
    await within(ran, 5, "callLater(1e-8)");
  });

  it("a Cooperator on the reactor schedules its ticks without a Node timer", async () => {
    const reactor = new NodeReactor();
    const coop = new Cooperator({ scheduler: (tick) => reactor.callLater(1e-8, tick) });
    let steps = 0;
    const done = coop.coiterate(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          steps++;
          yield undefined;
        }
      })(),
    );
    expect(reactor._timers.nodeTimers).to.equal(0);
    await within(done, 10, "the cooperative task");
    expect(steps).to.equal(1000);
  });

  it("test_delayedCallStopsReactor (test_time.py): the reactor can be stopped by a delayed call", async () => {
    const reactor = new NodeReactor();
    reactor.callLater(0, () => reactor.stop());
    await within(reactor.run(), 10, "run() to settle");
    expect(reactor.running).to.equal(false);
  });

  it("test_distantDelayedCall (test_time.py): a call 2**128 s away does not stop normal operation", async () => {
    const reactor = new NodeReactor();
    const distant = reactor.callLater(2 ** 128 + 1, () => {});
    reactor.callFromThread(() => reactor.callFromThread(() => reactor.stop()));
    await within(reactor.run(), 10, "run() to settle");
    expect(distant.active()).to.equal(true);
    expect(reactor.getDelayedCalls()).to.include(distant);
    distant.cancel();
  });

  it("a call that throws is logged, and the calls due with it still run", async () => {
    const reactor = new NodeReactor();
    const order: string[] = [];
    reactor.callLater(0, function boom() {
      throw new Error("boom");
    });
    const done = new Promise<void>((resolve) => reactor.callLater(0, () => (order.push("after"), resolve())));
    await within(done, 5, "the second call");
    expect(order).to.deep.equal(["after"]);
    expect(logs.messages().some((m) => /Unhandled error in a delayed call/.test(m))).to.equal(true);
  });

  it("a program whose only pending calls were cancelled exits at once", async function () {
    this.timeout(15000);
    const reactorModule = fileURLToPath(new URL("../../lib/internet/reactor.js", import.meta.url));
    const script = `import { reactor } from ${JSON.stringify(reactorModule)};
      const calls = [];
      for (let i = 0; i < 1000; i++) calls.push(reactor.callLater(3600 + i, () => console.log("never")));
      reactor.callLater(0.01, () => { for (const c of calls) c.cancel(); console.log("cancelled"); });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      const code = await within(new Promise<number | null>((resolve) => child.on("exit", resolve)), 10, "the child to exit (its calls were an hour away)");
      expect(code).to.equal(0);
      expect(stdout).to.equal("cancelled\n");
    } finally {
      if (child.exitCode === null) child.kill();
    }
  });
});
