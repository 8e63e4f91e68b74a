/**
 * Fuzzing Deferred (lib/internet/deferred.ts) with random programs over a few Deferreds:
 * callback, errback, addCallback/addErrback/addBoth (returning a value, throwing, or returning
 * another Deferred), pause/unpause, cancel (with and without a canceller) and chainDeferred.
 *
 * What must hold for every program: nothing escapes a Deferred's methods but AlreadyCalledError
 * from a second callback()/errback() (never from the first); no step runs twice; and once every
 * Deferred is unpaused and fired, every addBoth step of a Deferred not waiting on another has
 * run exactly once (addCallback/addErrback steps at most once: only on their path).
 */

import { expect } from "chai";
import fc from "fast-check";
import { Deferred } from "../../lib/internet/deferred.js";
import { AlreadyCalledError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { check } from "./fuzz-config.js";

const POOL = 4;

type Behaviour = { kind: "value" } | { kind: "throw" } | { kind: "deferred"; target: number };

type Op =
  | { op: "callback"; d: number }
  | { op: "errback"; d: number }
  | { op: "addCallback" | "addErrback" | "addBoth"; d: number; behaviour: Behaviour }
  | { op: "pause" | "unpause" | "cancel"; d: number }
  | { op: "chain"; d: number; target: number };

const index = fc.integer({ min: 0, max: POOL - 1 });
const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant({ kind: "value" as const }),
  fc.constant({ kind: "throw" as const }),
  index.map((target) => ({ kind: "deferred" as const, target })),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom("callback" as const, "errback" as const), d: index }),
  fc.record({ op: fc.constantFrom("addCallback" as const, "addErrback" as const, "addBoth" as const), d: index, behaviour }),
  fc.record({ op: fc.constantFrom("pause" as const, "unpause" as const, "cancel" as const), d: index }),
  fc.record({ op: fc.constant("chain" as const), d: index, target: index }),
);

/** Which Deferreds have a canceller, and what it does: nothing, fire with a value, or errback. */
const cancellersArb = fc.array(fc.constantFrom("none", "noop", "callback", "errback"), { minLength: POOL, maxLength: POOL });

interface Step {
  d: number;
  runs: number;
  /** Set when the step ran on the other path's result (an assertion thrown in a step would be its failure). */
  wrongPath: boolean;
  /** addBoth: runs whatever the result; addCallback/addErrback run only on their path. */
  both: boolean;
}

function runProgram(cancellers: string[], ops: Op[]): void {
  const ds: Deferred<unknown>[] = cancellers.map((c) => {
    if (c === "none") return new Deferred<unknown>();
    return new Deferred<unknown>((d) => {
      if (c === "callback") d.callback("cancelled-with-value");
      else if (c === "errback") d.errback(new Error("canceller errback"));
    });
  });
  const fired = ds.map(() => false);
  // unpause() only undoes the program's own pause(): a Deferred waiting on another is paused by
  // its chain too, and unpausing that (Twisted allows it as well) detaches the chain.
  const userPaused = ds.map(() => 0);
  const cancelled = ds.map(() => false);
  const steps: Step[] = [];
  const returned = new Set<number>();

  const makeStep = (d: number, b: Behaviour, path: "callback" | "errback" | "both") => {
    const step: Step = { d, runs: 0, wrongPath: false, both: path === "both" };
    steps.push(step);
    return (result: unknown): unknown => {
      step.runs++;
      // A step runs on its own path only: a callback never sees a Failure, an errback always does.
      if (path !== "both" && result instanceof Failure !== (path === "errback")) step.wrongPath = true;
      if (b.kind === "throw") throw new Error("step raised");
      if (b.kind === "deferred" && b.target !== d && !returned.has(b.target)) {
        // A Deferred may be returned from a step once (Twisted: it then belongs to that chain).
        returned.add(b.target);
        return ds[b.target];
      }
      return result;
    };
  };

  const fire = (i: number, how: "callback" | "errback") => {
    const first = !fired[i] && !ds[i].called;
    try {
      if (how === "callback") ds[i].callback(`v${i}`);
      else ds[i].errback(new Error(`e${i}`));
    } catch (err) {
      expect(err, `${how} on d${i} raised ${String(err)}`).to.be.instanceOf(AlreadyCalledError);
      expect(first, "the first fire raised AlreadyCalledError").to.equal(false);
    }
    fired[i] = true;
  };

  for (const o of ops) {
    const d = ds[o.d];
    switch (o.op) {
      case "callback":
      case "errback":
        fire(o.d, o.op);
        break;
      case "addCallback":
        d.addCallback(makeStep(o.d, o.behaviour, "callback"));
        break;
      case "addErrback":
        d.addErrback(makeStep(o.d, o.behaviour, "errback"));
        break;
      case "addBoth":
        d.addBoth(makeStep(o.d, o.behaviour, "both"));
        break;
      case "pause":
        userPaused[o.d]++;
        d.pause();
        break;
      case "unpause":
        if (userPaused[o.d] > 0) {
          userPaused[o.d]--;
          d.unpause();
        }
        break;
      case "cancel":
        cancelled[o.d] = true;
        d.cancel();
        break;
      case "chain":
        if (o.target !== o.d && !returned.has(o.target)) {
          returned.add(o.target);
          d.chainDeferred(ds[o.target]);
        }
        break;
    }
  }

  // Let everything run: unpause all, fire what is unfired, and consume every failure.
  const unpauseAll = () => {
    ds.forEach((d, i) => {
      for (; userPaused[i] > 0; userPaused[i]--) d.unpause();
    });
  };
  unpauseAll();
  for (let i = 0; i < POOL; i++) if (!ds[i].called) fire(i, "callback");
  unpauseAll();
  for (const d of ds) d.addErrback(() => null);

  for (const step of steps) {
    const d = ds[step.d];
    expect(step.runs, "a step ran twice").to.be.at.most(1);
    expect(step.wrongPath, "a callback got a Failure, or an errback a value").to.equal(false);
    if (step.both && !d.waiting) expect(step.runs, `an addBoth step of a fired d${step.d} never ran`).to.equal(1);
  }
}

describe("hardening: Deferred fuzzing", () => {
  it("random programs never throw but AlreadyCalledError, never run a step twice or on the wrong path, and run every step of a fired Deferred", () => {
    const logs = captureLogEvents();
    try {
      check(
        fc.property(cancellersArb, fc.array(opArb, { maxLength: 30 }), (cancellers, ops) => {
          runProgram(cancellers, ops);
        }),
        1000,
      );
    } finally {
      logs.stop();
    }
  });

  it("a second callback or errback always raises AlreadyCalledError and changes nothing", () => {
    check(
      fc.property(fc.array(fc.constantFrom("callback", "errback"), { minLength: 2, maxLength: 6 }), (fires) => {
        const d = new Deferred<string>();
        const results: unknown[] = [];
        d.addBoth((r) => {
          results.push(r);
          return null;
        });
        fires.forEach((how, i) => {
          const f = () => (how === "callback" ? d.callback("x") : d.errback(new Error("y")));
          if (i === 0) f();
          else expect(f).to.throw(AlreadyCalledError);
        });
        expect(results.length).to.equal(1);
      }),
      200,
    );
  });
});
