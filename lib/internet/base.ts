/**
 * twisted.internet.base: DelayedCall, the handle IReactorTime.callLater returns, and
 * DelayedCallQueue, the time-ordered queue both Clock (task.ts) and the real reactor keep their
 * calls in.
 */

import { AlreadyCalled, AlreadyCancelled } from "./error.js";
import type { IDelayedCall } from "./interfaces.js";

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
  /** @internal Position in the DelayedCallQueue holding the call, -1 when in none. */
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

/**
 * DelayedCalls ordered by due time, then by the order they were scheduled: a binary min-heap,
 * so scheduling, cancelling and taking the next due call cost O(log n).
 *
 * It cooperates with DelayedCall's hooks: pass `queue.remove` as the call's `cancel` hook and
 * `queue.update` as its `reset` hook. A call moved later keeps its place until it reaches the
 * head, where popDue()/nextTime() re-file it under its new time (Twisted's reactor does the same
 * in runUntilCurrent), so calls still run in (getTime(), scheduling order).
 *
 * The real reactor, like Twisted's, must not run a call scheduled *while* it is running due
 * calls until its next pass, even if that call is already due; holdNewCalls()/releaseNewCalls()
 * bracket such a pass (the calls scheduled meanwhile wait aside, as Twisted's _newTimedCalls).
 * Clock does not hold: a call scheduled during advance() for a time already reached runs in that
 * same advance(), as in Twisted.
 */
export class DelayedCallQueue {
  private readonly heap: DelayedCall[] = [];
  /** Calls scheduled while held, in scheduling order; null when not held. */
  private held: DelayedCall[] | null = null;

  /** How many calls are waiting (held ones included). */
  get length(): number {
    return this.heap.length + (this.held?.length ?? 0);
  }

  /** File a call. */
  push(dc: DelayedCall): void {
    if (this.held !== null) {
      this.held.push(dc);
      return;
    }
    const heap = this.heap;
    dc.queueIndex = heap.length;
    heap.push(dc);
    this.siftUp(dc.queueIndex);
  }

  /** Take a call out (its `cancel` hook). A call not in the queue is ignored. */
  readonly remove = (dc: DelayedCall): void => {
    const i = dc.queueIndex;
    if (i < 0) {
      if (this.held !== null) {
        const j = this.held.indexOf(dc);
        if (j >= 0) this.held.splice(j, 1);
      }
      return;
    }
    const heap = this.heap;
    const last = heap.pop()!;
    dc.queueIndex = -1;
    if (last !== dc) {
      heap[i] = last;
      last.queueIndex = i;
      this.siftDown(i);
      this.siftUp(last.queueIndex);
    }
  };

  /** Re-file a call whose time moved sooner (its `reset` hook). */
  readonly update = (dc: DelayedCall): void => {
    if (dc.queueIndex >= 0) this.siftUp(dc.queueIndex);
    // A held call is filed under its new time when the hold is released.
  };

  /** The time the next call is due, or undefined when the queue (held calls aside) is empty. */
  nextTime(): number | undefined {
    const head = this.settledHead();
    return head?.time;
  }

  /** Remove and return the next call if it is due at `now` or earlier, else undefined. */
  popDue(now: number): DelayedCall | undefined {
    const head = this.settledHead();
    if (head === undefined || head.time > now) return undefined;
    this.remove(head);
    return head;
  }

  /** From now on, file new calls aside until releaseNewCalls(). */
  holdNewCalls(): void {
    if (this.held === null) this.held = [];
  }

  /** File the calls scheduled during the hold, and stop holding. */
  releaseNewCalls(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (const dc of held) {
      dc.activateDelay();
      this.push(dc);
    }
  }

  /** Every waiting call, sorted by due time then scheduling order. */
  toArray(): DelayedCall[] {
    const all = this.heap.concat(this.held ?? []);
    return all.sort((a, b) => a.getTime() - b.getTime() || a.sequence - b.sequence);
  }

  /** Forget every call (without cancelling them). */
  clear(): void {
    for (const dc of this.heap) dc.queueIndex = -1;
    this.heap.length = 0;
    if (this.held !== null) this.held.length = 0;
  }

  /** The head, after re-filing heads that were moved later. */
  private settledHead(): DelayedCall | undefined {
    const heap = this.heap;
    while (heap.length > 0) {
      const head = heap[0]!;
      if (head.delayedTime === 0) return head;
      head.activateDelay();
      this.siftDown(0);
    }
    return undefined;
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const dc = heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(dc, parent)) break;
      heap[i] = parent;
      parent.queueIndex = i;
      i = parentIndex;
    }
    heap[i] = dc;
    dc.queueIndex = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const dc = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(heap[right]!, heap[child]!)) child = right;
      const c = heap[child]!;
      if (!before(c, dc)) break;
      heap[i] = c;
      c.queueIndex = i;
      i = child;
    }
    heap[i] = dc;
    dc.queueIndex = i;
  }
}

function before(a: DelayedCall, b: DelayedCall): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}
