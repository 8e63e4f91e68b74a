/**
 * The timer queue: DelayedCalls in one heap ordered by (time, sequence), shared by Clock
 * (task.ts) and the real reactor, and NodeTimerQueue, which runs that heap on Node's event loop
 * with one Node timer for the earliest call, as Twisted's reactor runs its heap from one
 * select() timeout.
 *
 * Twisted's reactor loop is: wait for I/O (with a timeout until the earliest call), then
 * runUntilCurrent(): the callFromThread calls queued so far, then every timed call due now.
 * A call scheduled during that pass, even callLater(0), waits for the next pass, so a call that
 * reschedules itself cannot starve I/O. NodeTimerQueue keeps that rule: a pass runs from the
 * Node timer (a call came due) or from setImmediate (a call is due now, or work came from
 * callFromThread), and calls scheduled meanwhile are held aside until the pass ends.
 */

import type { DelayedCall } from "./base.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.reactor");

/** Where a DelayedCall sits when it is filed aside during a pass (see holdNewCalls). */
const HELD = -2;

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
  private holding = false;
  /** Calls scheduled while holding, in scheduling order (cancelled ones are skipped on release). */
  private held: DelayedCall[] = [];
  private heldLive = 0;

  /** How many calls are waiting (held ones included). */
  get length(): number {
    return this.heap.length + this.heldLive;
  }

  /** The earliest filed call as filed (a call moved later may still sit there), or undefined. */
  head(): DelayedCall | undefined {
    return this.heap[0];
  }

  /** File a call. True when it became the head of the heap (the owner may need to re-arm). */
  push(dc: DelayedCall): boolean {
    if (this.holding) {
      dc.queueIndex = HELD;
      this.held.push(dc);
      this.heldLive++;
      return false;
    }
    const heap = this.heap;
    dc.queueIndex = heap.length;
    heap.push(dc);
    this.siftUp(dc.queueIndex);
    return dc.queueIndex === 0;
  }

  /** Take a call out (its `cancel` hook). A call not in the queue is ignored. O(log n). */
  readonly remove = (dc: DelayedCall): void => {
    const i = dc.queueIndex;
    if (i < 0) {
      if (i === HELD) {
        // Left in `held`; releaseNewCalls() skips it since it is no longer marked HELD.
        dc.queueIndex = -1;
        this.heldLive--;
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
    return this.settledHead()?.time;
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
    this.holding = true;
  }

  /** File the calls scheduled during the hold, and stop holding. */
  releaseNewCalls(): void {
    this.holding = false;
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    this.heldLive = 0;
    for (const dc of held) {
      if (dc.queueIndex !== HELD) continue; // cancelled while held
      dc.activateDelay();
      this.push(dc);
    }
  }

  /** Every waiting call, sorted by due time then scheduling order. */
  toArray(): DelayedCall[] {
    const all = this.heap.concat(this.held.filter((dc) => dc.queueIndex === HELD));
    return all.sort((a, b) => a.getTime() - b.getTime() || a.sequence - b.sequence);
  }

  /** Forget every call (without cancelling them). */
  clear(): void {
    for (const dc of this.heap) dc.queueIndex = -1;
    for (const dc of this.held) dc.queueIndex = -1;
    this.heap.length = 0;
    this.held = [];
    this.heldLive = 0;
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

/** The largest delay setTimeout accepts (about 24.8 days); a longer wait re-arms on expiry. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Node's timers count whole milliseconds: a call due sooner than this is run from setImmediate
 * (the next turn of the loop) instead of paying a 1 ms timer, as Twisted's select() would wait
 * only that long. The Cooperator's callLater(1e-8) relies on it.
 */
const TIMER_RESOLUTION = 0.001;

type Callable = (...args: any[]) => unknown;

/**
 * A DelayedCallQueue run on Node's event loop, for the reactor: one Node timer armed for the
 * earliest call (re-armed only when the head changes), passes on setImmediate for calls due now
 * and for callFromThread work, and Twisted's runUntilCurrent rule (see the module comment).
 *
 * The Node timer is referenced while any call waits, so pending calls keep the process alive;
 * once the queue is empty (every call ran or was cancelled) no timer is left, and an idle
 * program exits. setWeak(true) (a stopped reactor) unreferences it.
 */
export class NodeTimerQueue {
  readonly queue = new DelayedCallQueue();
  /** The Node timer armed for the earliest call, or null. */
  private timer: NodeJS.Timeout | null = null;
  /** The reactor time `timer` fires at. */
  private timerDue = Infinity;
  /** True while a setImmediate pass is pending. */
  private passScheduled = false;
  private threadCalls: Array<[Callable, readonly unknown[]]> = [];
  private weak = false;
  /** How many times a Node timer was armed (for specs: it is re-armed only when the head changes). */
  timersArmed = 0;

  /** DelayedCall's hooks, bound once. */
  readonly cancelHook = (dc: DelayedCall): void => {
    this.queue.remove(dc);
    // Nothing left to wait for: drop the timer so an idle program can exit.
    if (this.timer !== null && this.queue.length === 0) this.disarm();
  };

  readonly resetHook = (dc: DelayedCall): void => {
    this.queue.update(dc);
    if (this.queue.head() === dc) this.rearm(this.seconds());
  };

  constructor(readonly seconds: () => number) {}

  /** How many Node timers are armed for the whole queue: 0 or 1. */
  get nodeTimers(): number {
    return this.timer === null ? 0 : 1;
  }

  /** File `dc`; arm (or re-arm) Node's timer or schedule a pass if it is the new head. */
  add(dc: DelayedCall, now: number): void {
    if (this.queue.push(dc)) this.rearm(now);
  }

  /** Run `f(...args)` at the start of the next pass, in order (Twisted's threadCallQueue). */
  callFromThread(f: Callable, args: readonly unknown[]): void {
    this.threadCalls.push([f, args]);
    this.schedulePass();
  }

  /** When true, the Node timer does not keep the process alive (a stopped reactor). */
  setWeak(weak: boolean): void {
    this.weak = weak;
    if (this.timer !== null) {
      if (weak) this.timer.unref();
      else this.timer.ref();
    }
  }

  /** Twisted's runUntilCurrent: the thread calls queued so far, then every timed call now due. */
  runUntilCurrent(): void {
    const calls = this.threadCalls;
    if (calls.length > 0) {
      // calls queued while these run wait for the next pass
      this.threadCalls = [];
      for (const [f, args] of calls) {
        try {
          f(...args);
        } catch (err) {
          log.failure("Unhandled error in a call from a thread", err);
        }
      }
    }
    const queue = this.queue;
    queue.holdNewCalls();
    const now = this.seconds();
    let dc: DelayedCall | undefined;
    while ((dc = queue.popDue(now)) !== undefined) {
      try {
        dc.invoke();
      } catch (err) {
        log.failure("Unhandled error in a delayed call {call}", err, { call: dc.toString() });
      }
    }
    queue.releaseNewCalls();
    // Reading the clock costs about as much as a pass: only when the head is not due anyway.
    const due = queue.nextTime();
    if (due !== undefined && due - now < TIMER_RESOLUTION) this.schedulePass();
    else this.rearm(this.seconds());
  }

  private readonly immediatePass = (): void => {
    this.passScheduled = false;
    this.runUntilCurrent();
  };

  private readonly timerPass = (): void => {
    this.timer = null;
    this.timerDue = Infinity;
    this.runUntilCurrent();
  };

  private schedulePass(): void {
    if (!this.passScheduled) {
      this.passScheduled = true;
      setImmediate(this.immediatePass);
    }
  }

  /** Make sure something wakes up for the head: a pass now, or the Node timer. */
  private rearm(now: number): void {
    const due = this.queue.nextTime();
    if (due === undefined) {
      if (this.timer !== null) this.disarm();
      return;
    }
    if (due - now < TIMER_RESOLUTION) {
      this.schedulePass();
      return;
    }
    // A timer already armed for this time or sooner will do: when it fires, the pass re-arms.
    if (this.timer !== null) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    const ms = Math.min(MAX_TIMER_MS, Math.ceil((due - now) * 1000));
    this.timer = setTimeout(this.timerPass, ms);
    this.timerDue = ms === MAX_TIMER_MS ? now + ms / 1000 : due;
    this.timersArmed++;
    if (this.weak) this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer!);
    this.timer = null;
    this.timerDue = Infinity;
  }
}
