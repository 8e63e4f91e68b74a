/**
 * twisted.internet.base: DelayedCall, the handle IReactorTime.callLater returns, and
 * ThreePhaseEvent, one system event's triggers (the real reactor and MemoryReactor both fire
 * their events through it). A DelayedCall's owner files
 * it in a DelayedCallQueue (timer-queue.ts): one heap ordered by (time, sequence), which both
 * Clock (task.ts) and the real reactor (through NodeTimerQueue, one Node timer for the whole
 * heap) keep their calls in, so a spec on Clock and a program on the reactor see the same order.
 */

import { Deferred } from "./deferred.js";
import { AlreadyCalled, AlreadyCancelled } from "./error.js";
import type { IDelayedCall, SystemEventPhase } from "./interfaces.js";
import { Logger } from "./log.js";
import { isThenable } from "./thenable.js";

const log = new Logger("torsion.internet.reactor");

export { DelayedCallQueue } from "./timer-queue.js";

/** Seconds on the same scale as performance.now(), for a DelayedCall built without a clock. */
function runtimeSeconds(): number {
  return performance.now() / 1000;
}

/** Scheduling order: breaks ties between calls due at the same time (first scheduled runs first). */
let nextSequence = 0;

/**
 * A call scheduled for a given time, as twisted.internet.base.DelayedCall.
 *
 * The owner of the call (a Clock, a reactor) passes three hooks: `cancel(dc)`, called before the
 * call is marked cancelled so the owner can drop it; `reset(dc)`, called after the call was moved
 * *sooner* so the owner can reorder it; and `seconds()`, the owner's clock. Moving a call later
 * (reset to a later time, delay) only records the extra delay (`delayedTime`), as Twisted does:
 * the owner notices it when the call reaches the head of its queue and re-files it then.
 */
export class DelayedCall implements IDelayedCall {
  /**
   * When true, every DelayedCall records the stack that created it and toString() shows it
   * (Twisted's DelayedCall.debug), to find who scheduled a call that misbehaves.
   */
  static debug = false;

  /** The time the owner files the call under (getTime() is this plus `delayedTime`). */
  time: number;
  /** Extra delay recorded by delay()/reset() to a later time, not yet applied to `time`. */
  delayedTime = 0;
  /** True once the call has run. */
  called = false;
  /** True once the call has been cancelled. */
  cancelled = false;
  /** The stack at creation, when DelayedCall.debug was on. */
  readonly creator: string | undefined;

  /** @internal Tie-breaker between calls due at the same time: the scheduling order. */
  sequence: number;
  /** @internal Position in the DelayedCallQueue's heap, -2 while held aside (see holdNewCalls), -1 in none. */
  queueIndex = -1;

  private func: ((...args: any[]) => unknown) | null;
  private args: readonly unknown[] | null;
  private readonly canceller: (dc: DelayedCall) => void;
  private readonly resetter: (dc: DelayedCall) => void;
  private readonly seconds: () => number;
  /** toString() frozen at cancellation in debug mode, once func and args are released. */
  private frozenString: string | undefined;

  constructor(
    time: number,
    func: (...args: any[]) => unknown,
    args: readonly unknown[],
    cancel: (dc: DelayedCall) => void,
    reset: (dc: DelayedCall) => void,
    seconds: () => number = runtimeSeconds,
  ) {
    this.time = time;
    this.func = func;
    this.args = args;
    this.canceller = cancel;
    this.resetter = reset;
    this.seconds = seconds;
    this.sequence = nextSequence++;
    if (DelayedCall.debug) this.creator = new Error("creation").stack?.split("\n").slice(2).join("\n");
  }

  getTime(): number {
    return this.time + this.delayedTime;
  }

  cancel(): void {
    this.checkPending();
    this.canceller(this);
    this.cancelled = true;
    if (DelayedCall.debug) this.frozenString = this.toString();
    // Release what the call holds: a cancelled call may be kept around by its owner's callers.
    this.func = null;
    this.args = null;
  }

  reset(secondsFromNow: number): void {
    this.checkPending();
    const newTime = this.seconds() + secondsFromNow;
    if (newTime < this.time) {
      this.delayedTime = 0;
      this.time = newTime;
      this.resetter(this);
    } else {
      this.delayedTime = newTime - this.time;
    }
  }

  delay(secondsLater: number): void {
    this.checkPending();
    this.delayedTime += secondsLater;
    if (this.delayedTime < 0) {
      this.activateDelay();
      this.resetter(this);
    }
  }

  /** Fold the recorded extra delay into `time` (Twisted's activate_delay); for the owner's queue. */
  activateDelay(): void {
    this.time += this.delayedTime;
    this.delayedTime = 0;
  }

  active(): boolean {
    return !(this.cancelled || this.called);
  }

  /**
   * Run the call: mark it called and call the function with its arguments. For the owner (Clock,
   * reactor), once it has taken the call out of its queue. What the function throws propagates:
   * the owner decides whether to log it (the reactor) or let it reach the caller (Clock.advance).
   */
  invoke(): unknown {
    const func = this.func!;
    const args = this.args!;
    this.called = true;
    this.func = null;
    this.args = null;
    return func(...args);
  }

  /**
   * As Twisted's repr: `<DelayedCall [10.5s] called=0 cancelled=0 nothing(3)>`, with the time
   * left until the call and, in debug mode, the stack that created it. (Twisted shows the
   * object's id; JavaScript objects have none.)
   */
  toString(): string {
    if (this.frozenString !== undefined) return this.frozenString;
    let s = `<DelayedCall [${this.time - this.seconds()}s] called=${Number(this.called)} cancelled=${Number(this.cancelled)}`;
    if (this.func !== null) {
      const name = this.func.name || "<anonymous>";
      s += ` ${name}(${this.args!.map(safeRepr).join(", ")})`;
    }
    if (this.creator !== undefined) s += `\n\ntraceback at creation: \n\n${this.creator}`;
    return s + ">";
  }

  private checkPending(): void {
    if (this.cancelled) throw new AlreadyCancelled();
    if (this.called) throw new AlreadyCalled();
  }
}

function safeRepr(value: unknown): string {
  try {
    if (typeof value === "string") return JSON.stringify(value);
    if (typeof value === "function") return `<function ${value.name || "<anonymous>"}>`;
    if (value !== null && typeof value === "object") {
      const s = String(value);
      return s === "[object Object]" ? JSON.stringify(value) : s;
    }
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// --- ThreePhaseEvent -----------------------------------------------------------------------

type Callable = (...args: any[]) => unknown;

/** One system event trigger: what addSystemEventTrigger was given. */
export interface Trigger {
  readonly callable: Callable;
  readonly args: readonly unknown[];
}


/**
 * Call `done` once every one of `results` has settled (at once, synchronously, when there are
 * none, as Twisted's DeferredList([]) fires at once). Failures are logged, never propagated.
 */
/** @internal */
export function _whenAllSettled(results: PromiseLike<unknown>[], what: string, done: () => void): void {
  let pending = results.length;
  if (pending === 0) {
    done();
    return;
  }
  const settle = (): void => {
    if (--pending === 0) done();
  };
  const failed = (err: unknown): void => {
    log.failure("A {what} system event trigger failed", err, { what });
    settle();
  };
  for (const r of results) {
    if (r instanceof Deferred) {
      r.addCallbacks(
        () => settle(),
        (f: unknown) => failed(f),
      );
    } else {
      r.then(settle, failed);
    }
  }
}

/**
 * One system event's triggers in three phases, as twisted.internet.base._ThreePhaseEvent:
 * "before" triggers run first and any Deferred (or Promise) they return delays the rest;
 * then "during", then "after". torsion also lets a "during" trigger's Deferred delay "after"
 * (so, for example, "after shutdown" sees every port closed).
 */
export class ThreePhaseEvent {
  before: Trigger[] = [];
  during: Trigger[] = [];
  after: Trigger[] = [];
  state: "BASE" | "BEFORE" = "BASE";
  private finishedBefore: Trigger[] = [];

  addTrigger(phase: SystemEventPhase, callable: Callable, args: readonly unknown[]): Trigger {
    if (phase !== "before" && phase !== "during" && phase !== "after") {
      throw new TypeError(`invalid phase: ${String(phase)}`);
    }
    const trigger: Trigger = { callable, args };
    this[phase].push(trigger);
    return trigger;
  }

  /**
   * Remove a trigger that has not run. Removing a "before" trigger that already ran during the
   * current firing is allowed and does nothing (Twisted warns); anything else unknown raises.
   */
  removeTrigger(phase: SystemEventPhase, trigger: Trigger): void {
    if (phase !== "before" && phase !== "during" && phase !== "after") {
      throw new TypeError(`invalid phase: ${String(phase)}`);
    }
    if (this.state === "BEFORE" && phase === "before" && this.finishedBefore.includes(trigger)) return;
    const list = this[phase];
    const i = list.indexOf(trigger);
    if (i < 0) throw new Error("Tried to remove a system event trigger that wasn't added (or already ran).");
    list.splice(i, 1);
  }

  /** Run the triggers; `done` is called when the "after" phase has run. */
  fireEvent(done: () => void = () => {}): void {
    this.state = "BEFORE";
    this.finishedBefore = [];
    const results: PromiseLike<unknown>[] = [];
    while (this.before.length) {
      const t = this.before.shift()!;
      this.finishedBefore.push(t);
      const r = runTrigger(t);
      if (isThenable(r)) results.push(r);
    }
    _whenAllSettled(results, "before", () => this.continueFiring(done));
  }

  private continueFiring(done: () => void): void {
    this.state = "BASE";
    this.finishedBefore = [];
    const results: PromiseLike<unknown>[] = [];
    while (this.during.length) {
      const r = runTrigger(this.during.shift()!);
      if (isThenable(r)) results.push(r);
    }
    _whenAllSettled(results, "during", () => {
      while (this.after.length) runTrigger(this.after.shift()!);
      done();
    });
  }
}

function runTrigger(t: Trigger): unknown {
  try {
    return t.callable(...t.args);
  } catch (err) {
    log.failure("A system event trigger raised", err);
    return undefined;
  }
}
