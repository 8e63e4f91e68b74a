/**
 * twisted.internet.task: scheduling utilities built on IReactorTime.
 *
 * Clock, a fake IReactorTime whose time moves only when a test calls advance(); LoopingCall,
 * a function called every interval; deferLater, a Deferred fired after a delay; and Cooperator
 * (cooperate, coiterate), which runs iterators a step at a time so long jobs share the reactor.
 */

import { DelayedCall, DelayedCallQueue } from "./base.js";
import { Deferred } from "./deferred.js";
import { NotPaused, SchedulerStopped, TaskDone, TaskFailed, TaskFinished, TaskStopped } from "./error.js";
import { Failure } from "./failure.js";
import type { IDelayedCall, IReactorTime } from "./interfaces.js";
// The global reactor, asked for only when a LoopingCall or the global Cooperator first needs it
// (as Twisted's task.py imports its reactor inside LoopingCall): importing task.ts for Clock
// builds no reactor.
import { getReactor } from "./reactor.js";
import { isThenable } from "./thenable.js";

// --- Clock -------------------------------------------------------------------------------

/**
 * A deterministic IReactorTime for tests (twisted.internet.task.Clock): time starts at 0 and
 * moves only with advance(), which runs every call that has come due, in order of due time and,
 * for equal times, of scheduling. A call scheduled while advance() runs, for a time already
 * reached, runs in that same advance(), as in Twisted. An error thrown by a call propagates out
 * of advance() (the call counts as run), so a test sees it.
 */
export class Clock implements IReactorTime {
  /** The current time in seconds (Twisted's Clock.rightNow). */
  rightNow = 0;

  private readonly queue = new DelayedCallQueue();
  private readonly secondsFn = (): number => this.rightNow;

  seconds(): number {
    return this.rightNow;
  }

  callLater<A extends unknown[]>(delay: number, callable: (...args: A) => unknown, ...args: A): DelayedCall {
    const dc = new DelayedCall(
      this.rightNow + delay,
      callable as (...args: unknown[]) => unknown,
      args,
      this.queue.remove,
      this.queue.update,
      this.secondsFn,
    );
    this.queue.push(dc);
    return dc;
  }

  /** The pending calls, in the order they will run. */
  getDelayedCalls(): DelayedCall[] {
    return this.queue.toArray();
  }

  /** Move time forward by `amount` seconds and run every call that is due by then. */
  advance(amount: number): void {
    this.rightNow += amount;
    let dc: DelayedCall | undefined;
    while ((dc = this.queue.popDue(this.rightNow)) !== undefined) dc.invoke();
  }

  /** advance() by each amount in turn. */
  pump(timings: Iterable<number>): void {
    for (const amount of timings) this.advance(amount);
  }
}

// --- deferLater ----------------------------------------------------------------------------

/**
 * A Deferred that fires, after `delay` seconds on `clock`, with the result of
 * `callable(...args)` (or with undefined when there is no callable). Cancelling it cancels the
 * scheduled call, and it errbacks with CancelledError.
 */
export function deferLater<T = undefined, A extends unknown[] = []>(
  clock: IReactorTime,
  delay: number,
  callable?: ((...args: A) => T | Deferred<T> | PromiseLike<T>) | null,
  ...args: A
): Deferred<T> {
  const d = new Deferred<unknown>(() => delayedCall.cancel());
  const result = d.addCallback(() => (callable ? callable(...args) : undefined)) as Deferred<T>;
  const delayedCall = clock.callLater(delay, fireDeferLater, d);
  return result;
}

function fireDeferLater(d: Deferred<unknown>): void {
  d.callback(undefined);
}

// --- LoopingCall ---------------------------------------------------------------------------

/**
 * Call a function every `interval` seconds (twisted.internet.task.LoopingCall).
 *
 * start() returns a Deferred that fires with the LoopingCall when stop() is called, or errbacks
 * (and the loop stops) when the function throws or the Deferred/Promise it returns fails. When
 * the function returns a Deferred or Promise, the next call is scheduled only once it settles.
 * Calls keep to the grid of start time + n * interval: a late call does not shift later ones,
 * and intervals missed entirely are skipped (withCount() says how many elapsed).
 *
 * The clock defaults to the global reactor; set `loopingCall.clock = clock` (as in Twisted)
 * before start() to use another, such as a Clock in tests.
 */
export class LoopingCall {
  /** The function called each interval. */
  readonly f: (...args: any[]) => unknown;
  /** The arguments it is called with. */
  readonly a: readonly unknown[];
  /** The scheduled next call, while one is scheduled. */
  call: IDelayedCall | null = null;
  /** True from start() until stop() or a failure; false by the time start()'s Deferred fires. */
  running = false;
  /** The interval given to start(). */
  interval: number | null = null;
  /** The clock time start() (or reset()) was called at. */
  starttime: number | null = null;

  private clockValue: IReactorTime | null = null;
  private deferred: Deferred<LoopingCall> | null = null;
  private runAtStart = false;
  /** When counting skips, the time the count was last taken. */
  private realLastTime: number | null = null;
  private readonly tick = (): void => this.runOnce();

  constructor(f: (...args: any[]) => unknown, ...args: unknown[]) {
    this.f = f;
    this.a = args;
  }

  /** The IReactorTime the loop is scheduled on: the global reactor unless set. */
  get clock(): IReactorTime {
    return (this.clockValue ??= getReactor());
  }

  set clock(clock: IReactorTime) {
    this.clockValue = clock;
  }

  /**
   * A LoopingCall that calls `countCallable(count)`, where count is the number of intervals
   * that elapsed since the last call: normally 1, more when calls were late (a blocked event
   * loop, a slow Deferred). With an interval of 0 the count is always 1.
   */
  static withCount(countCallable: (count: number) => unknown, options?: { clock?: IReactorTime }): LoopingCall {
    const lc: LoopingCall = new LoopingCall(() => {
      const now = lc.clock.seconds();
      if (lc.interval === 0) {
        lc.realLastTime = now;
        return countCallable(1);
      }
      let lastTime = lc.realLastTime;
      if (lastTime === null) {
        lastTime = lc.starttime!;
        if (lc.runAtStart) lastTime -= lc.interval!;
      }
      const count = lc.intervalOf(now) - lc.intervalOf(lastTime);
      if (count > 0) {
        lc.realLastTime = now;
        return countCallable(count);
      }
      return undefined;
    });
    if (options?.clock) lc.clock = options.clock;
    return lc;
  }

  /**
   * Start calling the function every `interval` seconds, the first time right away when `now`
   * is true (the default) or after one interval otherwise.
   */
  start(interval: number, now = true): Deferred<LoopingCall> {
    if (this.running) throw new Error("Tried to start an already running LoopingCall.");
    if (interval < 0) throw new RangeError("interval must be >= 0");
    this.running = true;
    // The loop may fail during the first call, which clears this.deferred: keep our own.
    const deferred = (this.deferred = new Deferred<LoopingCall>());
    this.starttime = this.clock.seconds();
    this.interval = interval;
    this.runAtStart = now;
    if (now) {
      this.runOnce();
    } else {
      this.scheduleFrom(this.starttime);
    }
    return deferred;
  }

  /** Stop calling the function; start()'s Deferred fires with this LoopingCall. */
  stop(): void {
    if (!this.running) throw new Error("Tried to stop a LoopingCall that was not running.");
    this.running = false;
    // While the function's Deferred is pending there is no call: the Deferred fires when it does.
    if (this.call !== null) {
      this.call.cancel();
      this.call = null;
      this.fireDeferred().callback(this);
    }
  }

  /** Skip the next call and start counting the interval again from now. */
  reset(): void {
    if (!this.running) throw new Error("Tried to reset a LoopingCall that was not running.");
    if (this.call !== null) {
      this.call.cancel();
      this.call = null;
      this.starttime = this.clock.seconds();
      this.scheduleFrom(this.starttime);
    }
  }

  /** As Twisted's repr, in JavaScript terms: `LoopingCall<0.5>(poll, 1, "x")`. */
  toString(): string {
    const parts = [this.f.name || "<anonymous>"];
    for (const arg of this.a) parts.push(reprArg(arg));
    return `LoopingCall<${this.interval}>(${parts.join(", ")})`;
  }

  /**
   * One call of the function, as Twisted's maybeDeferred(f) with the next call scheduled once
   * it settles; a plain (synchronous) result schedules it at once, with no Deferred made: with
   * thousands of loops (idle-connection checks), the tick is the hot path.
   */
  private runOnce(): void {
    this.call = null;
    let result: unknown;
    try {
      result = this.f(...this.a);
    } catch (err) {
      this.loopFailed(Failure.from(err));
      return;
    }
    if (result instanceof Failure) {
      this.loopFailed(result);
    } else if (result instanceof Deferred || isThenable(result)) {
      const d = result instanceof Deferred ? result : Deferred.fromPromise(result);
      d.addCallbacks(this.callDone, (failure: Failure) => this.loopFailed(failure));
    } else {
      this.callDone();
    }
  }

  private readonly callDone = (): void => {
    if (this.running) {
      this.scheduleFrom(this.clock.seconds());
    } else {
      this.fireDeferred().callback(this);
    }
  };

  private loopFailed(failure: Failure): void {
    this.running = false;
    this.fireDeferred().errback(failure);
  }

  private fireDeferred(): Deferred<LoopingCall> {
    const d = this.deferred!;
    this.deferred = null;
    return d;
  }

  private intervalOf(t: number): number {
    return Math.trunc((t - this.starttime!) / this.interval!);
  }

  /** Schedule the next call at the next point of the start + n * interval grid after `when`. */
  private scheduleFrom(when: number): void {
    this.call = this.clock.callLater(this.howLong(when), this.tick);
  }

  private howLong(when: number): number {
    const interval = this.interval!;
    if (interval === 0) return 0;
    const runningFor = when - this.starttime!;
    const untilNextInterval = interval - pyMod(runningFor, interval);
    // A remainder so small that adding it to `when` changes nothing means we are on the grid
    // point already: wait a whole interval (Twisted's floating-point guard).
    if (when === when + untilNextInterval) return interval;
    return untilNextInterval;
  }
}

function reprArg(value: unknown): string {
  if (typeof value === "function") return value.name || "<anonymous>";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Python's float modulo: the result has the sign of the divisor. */
function pyMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

// --- Cooperator ----------------------------------------------------------------------------

/** One unit of a cooperative task's work; yielding a Deferred or Promise pauses the task until it settles. */
export type CooperativeIterator<T = unknown> = Iterator<T>;

const EPSILON = 0.00000001;

function defaultScheduler(callable: () => void): IDelayedCall {
  return getReactor().callLater(EPSILON, callable);
}

/** Twisted's _Timer: each tick may run for 10 ms of wall-clock time. */
function defaultTerminationPredicateFactory(): () => boolean {
  const end = performance.now() + 10;
  return () => performance.now() >= end;
}

/**
 * A task inside a Cooperator (twisted.internet.task.CooperativeTask), made by
 * Cooperator.cooperate(): it can be paused, resumed and stopped, and whenDone() tells when it
 * ends.
 */
export class CooperativeTask<T = unknown> {
  private readonly deferreds: Deferred<Iterator<T>>[] = [];
  private pauseCount = 0;
  /** Why the task ended (TaskFinished, TaskStopped, TaskFailed, SchedulerStopped), or null. */
  private completionState: Error | null = null;
  private completionResult: Iterator<T> | Failure | null = null;

  /** @internal Use Cooperator.cooperate(). */
  constructor(
    private readonly iterator: Iterator<T>,
    private readonly cooperator: Cooperator,
  ) {
    cooperator.addTask(this as CooperativeTask);
  }

  /**
   * A Deferred that fires with the iterator once it is exhausted, or fails with the error it
   * threw, TaskStopped when stop() ended it, or SchedulerStopped when its Cooperator stopped.
   */
  whenDone(): Deferred<Iterator<T>> {
    const d = new Deferred<Iterator<T>>();
    if (this.completionState === null) {
      this.deferreds.push(d);
    } else {
      fireWith(d, this.completionResult!);
    }
    return d;
  }

  /** Do no work until resume() is called as many times as pause() was. Throws when the task ended. */
  pause(): void {
    this.checkFinish();
    this.pauseCount++;
    if (this.pauseCount === 1) this.cooperator.removeTask(this as CooperativeTask);
  }

  /** Undo one pause(). Throws NotPaused when the task is not paused. */
  resume(): void {
    if (this.pauseCount === 0) throw new NotPaused();
    this.pauseCount--;
    if (this.pauseCount === 0 && this.completionState === null) this.cooperator.addTask(this as CooperativeTask);
  }

  /** End the task now; whenDone() Deferreds fail with TaskStopped. Throws when the task already ended. */
  stop(): void {
    this.checkFinish();
    this.completeWith(new TaskStopped(), new Failure(new TaskStopped()));
  }

  /** @internal End the task with `state`, and fire the whenDone() Deferreds with `result`. */
  completeWith(state: Error, result: Iterator<T> | Failure): void {
    this.completionState = state;
    this.completionResult = result;
    if (!this.pauseCount) this.cooperator.removeTask(this as CooperativeTask);
    // Fire only once the task is out of the Cooperator: a callback may stop the Cooperator or
    // touch other tasks, and must not find this one half-removed.
    for (const d of this.deferreds) fireWith(d, result);
    this.deferreds.length = 0;
  }

  /** @internal Take one item from the iterator; end on exhaustion or error, pause on a Deferred. */
  oneWorkUnit(): void {
    let step: IteratorResult<T>;
    try {
      step = this.iterator.next();
    } catch (err) {
      if (this.completionState === null) this.completeWith(new TaskFailed(), Failure.from(err));
      return;
    }
    // The step itself may have ended the task (stopped it, or its Cooperator): nothing to follow.
    if (this.completionState !== null) return;
    if (step.done) {
      this.completeWith(new TaskFinished(), this.iterator);
      return;
    }
    let value: unknown = step.value;
    if (!(value instanceof Deferred) && isThenable(value)) value = Deferred.fromPromise(value);
    if (value instanceof Deferred) {
      this.pause();
      value.addCallbacks(
        () => this.resume(),
        (failure: Failure) => this.completeWith(new TaskFailed(), failure),
      );
    }
  }

  private checkFinish(): void {
    if (this.completionState !== null) throw this.completionState;
  }
}

function fireWith<T>(d: Deferred<T>, result: T | Failure): void {
  if (result instanceof Failure) {
    d.errback(result);
  } else {
    d.callback(result);
  }
}

export interface CooperatorOptions {
  /**
   * Called at the start of each tick; returns a predicate that says when the tick should end.
   * The default lets a tick run for 10 ms.
   */
  terminationPredicateFactory?: () => () => boolean;
  /**
   * Schedules the next tick: takes a function and calls it later, returning an IDelayedCall.
   * The default is `reactor.callLater(1e-8, tick)` on the global reactor; tests pass their own.
   */
  scheduler?: (tick: () => void) => IDelayedCall;
  /** Whether tasks run as soon as they are added (true, the default) or once start() is called. */
  started?: boolean;
}

/**
 * A cooperative task scheduler (twisted.internet.task.Cooperator): it runs iterators a step at
 * a time, round-robin, each tick lasting until its termination predicate says so, then yields
 * to the reactor until its scheduler calls it again. A task whose iterator yields a Deferred
 * (or Promise) is paused until it settles, which makes a Cooperator a tool to serialize
 * asynchronous work or to bound parallelism as well as to split long computations.
 */
export class Cooperator {
  private tasks: CooperativeTask[] = [];
  private metarator: Iterator<CooperativeTask> = [][Symbol.iterator]();
  private readonly terminationPredicateFactory: () => () => boolean;
  private readonly scheduler: (tick: () => void) => IDelayedCall;
  private delayedCall: IDelayedCall | null = null;
  private stopped = false;
  private started: boolean;
  private mustScheduleOnStart = false;
  private readonly tickFn = (): void => this.tick();

  constructor(options: CooperatorOptions = {}) {
    this.terminationPredicateFactory = options.terminationPredicateFactory ?? defaultTerminationPredicateFactory;
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.started = options.started ?? true;
  }

  /** As cooperate(), returning only the task's whenDone() Deferred (or firing `doneDeferred`). */
  coiterate<T>(iterator: Iterator<T>, doneDeferred: Deferred<Iterator<T>> = new Deferred()): Deferred<Iterator<T>> {
    new CooperativeTask(iterator, this).whenDone().chainDeferred(doneDeferred);
    return doneDeferred;
  }

  /** Run `iterator` as a cooperative task, one next() per turn. */
  cooperate<T>(iterator: Iterator<T>): CooperativeTask<T> {
    return new CooperativeTask(iterator, this);
  }

  /** Start scheduling ticks (for a Cooperator made with `started: false`, or after stop()). */
  start(): void {
    this.stopped = false;
    this.started = true;
    if (this.mustScheduleOnStart) {
      this.mustScheduleOnStart = false;
      this.reschedule();
    }
  }

  /** Stop: every task ends with SchedulerStopped, and tasks added from now on end at once. */
  stop(): void {
    this.stopped = true;
    // Iterate over a snapshot: completeWith() removes each task from this.tasks. (Twisted
    // iterates the live list and so skips every other task: their whenDone() never fires.)
    // Empty the live array too: a tick in progress iterates it and must do no more work.
    const tasks = this.tasks.slice();
    this.tasks.length = 0;
    for (const task of tasks) task.completeWith(new SchedulerStopped(), new Failure(new SchedulerStopped()));
    if (this.delayedCall !== null) {
      this.delayedCall.cancel();
      this.delayedCall = null;
    }
  }

  /** True when started and not stopped. */
  get running(): boolean {
    return this.started && !this.stopped;
  }

  /** @internal */
  addTask(task: CooperativeTask): void {
    this.tasks.push(task);
    if (this.stopped) {
      task.completeWith(new SchedulerStopped(), new Failure(new SchedulerStopped()));
    } else {
      this.reschedule();
    }
  }

  /** @internal */
  removeTask(task: CooperativeTask): void {
    const i = this.tasks.indexOf(task);
    if (i >= 0) this.tasks.splice(i, 1);
    // No work left: do not wake up for nothing.
    if (this.tasks.length === 0 && this.delayedCall !== null) {
      this.delayedCall.cancel();
      this.delayedCall = null;
    }
  }

  private tick(): void {
    this.delayedCall = null;
    const terminator = this.terminationPredicateFactory();
    // The round-robin position (metarator) survives across ticks, so every task gets its turn
    // even when each tick ends after one step. An array iterator reads the live array, as
    // Python's list iterator does, so tasks removed or added meanwhile are seen.
    outer: while (this.tasks.length > 0) {
      for (let r = this.metarator.next(); !r.done; r = this.metarator.next()) {
        r.value.oneWorkUnit();
        if (terminator()) break outer;
      }
      this.metarator = this.tasks[Symbol.iterator]();
    }
    this.reschedule();
  }

  private reschedule(): void {
    if (!this.started) {
      this.mustScheduleOnStart = true;
      return;
    }
    if (this.delayedCall === null && this.tasks.length > 0) this.delayedCall = this.scheduler(this.tickFn);
  }
}

/** The global Cooperator, scheduled on the global reactor. */
export const theCooperator = new Cooperator();

/** Run `iterator` cooperatively on the global Cooperator; the Deferred fires when it is done. */
export function coiterate<T>(iterator: Iterator<T>): Deferred<Iterator<T>> {
  return theCooperator.coiterate(iterator);
}

/** Run `iterator` as a task of the global Cooperator. */
export function cooperate<T>(iterator: Iterator<T>): CooperativeTask<T> {
  return theCooperator.cooperate(iterator);
}

export { TaskDone, TaskFailed, TaskFinished, TaskStopped, SchedulerStopped, NotPaused };
export { react, type ReactReactor } from "./react.js";
