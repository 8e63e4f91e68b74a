/**
 * ThreadPool: a pool of worker threads to which work is dispatched
 * (twisted.python.threadpool.ThreadPool), over node:worker_threads.
 *
 * What differs from Twisted, and why:
 *
 * - Work is named by module and export (a WorkRef, or a function marked with threadable()),
 *   because a function cannot cross threads. Arguments and results travel by structured clone.
 * - `onResult(success, result)` runs on the main thread (in Twisted it runs in the worker,
 *   which then hops to the reactor with callFromThread): there is no other place it could run.
 * - A worker can die (process.exit in it, an error thrown outside the task, terminate()); the
 *   task it was running fails with WorkerDied and the pool starts another worker as needed.
 *   Python cannot end a thread; Node can end a worker, so a task can be terminated
 *   (TaskHandle.terminate, ThreadPool.terminateTask) and stop() can be given a grace period.
 * - stop() returns a Deferred instead of joining threads, since the main thread must not block.
 * - Idle workers do not keep the process alive (they are unref'd); a busy one does.
 *
 * Workers start lazily: start() starts `minthreads` of them, and more are started as work
 * arrives and finds none idle, up to `maxthreads`. With `pipeline` above 1, once every worker
 * is busy a worker is handed up to that many tasks at once and runs them one after the other:
 * the next task is already there when one ends, so the round trip between threads (what limits
 * a pool of short tasks) is hidden. Each worker imports a work module once and
 * keeps it, so later tasks naming it cost one message each way.
 */

import { Worker, type TransferListItem, type WorkerOptions } from "node:worker_threads";
import { Deferred } from "./deferred.js";
import { CancelledError, WorkerDied } from "./error.js";
import { Failure } from "./failure.js";
import { Logger } from "./log.js";
import { BridgeHost, callExposed, type BridgeHandler } from "./thread-bridge.js";
import { deserializeError } from "./thread-error.js";
import type { RunMessage, WorkerInitData, WorkerMessage } from "./worker-main.js";
import { describeWorkRef, toWorkRef, type Work, type WorkArgs, type WorkRef, type WorkResult } from "./work-ref.js";

const log = new Logger("torsion.internet.threadpool");

const WORKER_MAIN = new URL("./worker-main.js", import.meta.url);

/**
 * Called on the main thread when a task ends: `(true, result)` when the work returned (or its
 * Promise/Deferred fulfilled), `(false, failure)` when it threw, its worker died, or the task
 * was cancelled before it ran.
 */
export type OnResult<R = unknown> = (...outcome: [success: true, result: R] | [success: false, failure: Failure]) => void;

/** Options passed to every worker the pool starts. */
export type PoolWorkerOptions = Pick<WorkerOptions, "resourceLimits" | "env" | "execArgv" | "argv" | "stdout" | "stderr">;

export interface ThreadPoolOptions {
  /** Workers kept alive once started (Twisted's minthreads). Default 5. */
  minthreads?: number;
  /** Most workers at once (Twisted's maxthreads). Default 20. */
  maxthreads?: number;
  /** Shown in log messages and errors. */
  name?: string;
  /** Answers callFromThread/blockingCallFromThread from this pool's workers. Default: the exposeToThreads registry. */
  bridgeHandler?: BridgeHandler;
  /** Passed to each Worker (resourceLimits, env, execArgv, ...). */
  workerOptions?: PoolWorkerOptions;
  /**
   * Tasks one worker may hold at once (default 1: a worker gets its next task when it has
   * answered the last). Above 1, when no worker is idle, busy workers are handed more, up to
   * this many each, which they run in order. A task waiting in a worker behind another cannot
   * be cancelled or terminated (both return false), and runs on that worker even if another
   * becomes free first: use it for many short tasks (WSGI requests), not for long ones.
   */
  pipeline?: number;
}

export interface StopOptions {
  /**
   * Seconds to let running work finish. When they are over, workers still busy are terminated
   * (their tasks fail with WorkerDied), and so are tasks still queued. Default: wait as long
   * as it takes, as Twisted does.
   */
  grace?: number;
}

/** A snapshot of a pool's counters, for operators. */
export interface ThreadPoolStatistics {
  workers: number;
  idle: number;
  busy: number;
  queued: number;
  completed: number;
  failed: number;
  cancelled: number;
  workersReplaced: number;
  terminated: number;
}

/** Which worker runs (or ran) a task. */
export interface WorkerInfo {
  /** The worker's number in its pool, from 1. */
  readonly id: number;
  /** node:worker_threads' threadId. */
  readonly threadId: number;
}

export type TaskState = "queued" | "running" | "done";

/** One submitted task: what it is, where it runs, and how to stop it. */
export class TaskHandle {
  state: TaskState = "queued";
  /** @internal */ message: RunMessage | null;
  /** @internal */ transfer: readonly TransferListItem[] | undefined;
  /** @internal */ onResult: OnResult<any> | null;
  /** @internal */ lateArgs: (() => readonly unknown[]) | null = null;
  /** @internal */ runner: PoolWorker | null = null;

  /** @internal */
  constructor(
    /** The pool the task was given to. */
    readonly pool: ThreadPool,
    /** Unique within its pool, from 1. */
    readonly id: number,
    /** The work (the first, for callMultipleInThread). */
    readonly work: WorkRef,
    message: RunMessage,
    onResult: OnResult<any> | null,
    transfer: readonly TransferListItem[] | undefined,
  ) {
    this.message = message;
    this.onResult = onResult;
    this.transfer = transfer;
  }

  /** The worker running the task (or that ran it); null while queued. */
  get worker(): WorkerInfo | null {
    return this.runner?.info ?? null;
  }

  /**
   * Remove the task from the queue if it has not started: it fails with CancelledError.
   * Returns false (and does nothing) once it runs: see terminate().
   */
  cancel(): boolean {
    return this.pool.cancelTask(this);
  }

  /**
   * End the task now: a queued task is cancelled; a running one is ended by terminating its
   * worker (it fails with WorkerDied, and the pool replaces the worker). False if already done.
   */
  terminate(reason?: string): boolean {
    return this.pool.terminateTask(this, reason);
  }

  toString(): string {
    return `<TaskHandle ${this.id} ${describeWorkRef(this.work)} ${this.state}>`;
  }
}

/** @internal One worker thread of a pool. */
class PoolWorker {
  readonly info: WorkerInfo;
  task: TaskHandle | null = null;
  /** Tasks posted to it behind `task` (pipelining), in the order it will run them. */
  readonly waiting: TaskHandle[] = [];
  /** The worker ran worker-main far enough to say so. */
  ready = false;
  /** Terminated (or retired) by the pool, waiting for its exit event. */
  dying = false;
  /** The error it died of, from its "error" event. */
  cause: Error | undefined;

  constructor(
    readonly id: number,
    readonly worker: Worker,
    readonly bridge: BridgeHost,
  ) {
    this.info = Object.freeze({ id, threadId: worker.threadId });
  }
}

type Phase = "new" | "running" | "stopping" | "stopped";

export class ThreadPool {
  /** Twisted's ThreadPool.min. */
  min: number;
  /** Twisted's ThreadPool.max. */
  max: number;
  readonly name: string | undefined;
  /** Tasks one worker may hold at once (see ThreadPoolOptions.pipeline). */
  readonly pipeline: number;

  private phase: Phase = "new";
  private readonly bridgeHandler: BridgeHandler;
  private readonly workerOptions: PoolWorkerOptions | undefined;
  /** Every worker that has not exited yet, dying ones included. */
  private readonly all = new Set<PoolWorker>();
  private readonly idleWorkers: PoolWorker[] = [];
  private alive = 0;
  private busyCount = 0;
  private readonly queue: (TaskHandle | undefined)[] = [];
  private head = 0;
  private nextTaskId = 1;
  private nextWorkerId = 1;
  /** Workers that died or were terminated and have not been replaced yet. */
  private lost = 0;
  /** The last worker died before it was ready: do not keep restarting it just to meet min. */
  private startupBroken = false;
  private maintaining = false;
  private maintainAgain = false;
  private stopWaiters: Deferred<void>[] = [];
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private graceDeadline = Infinity;
  private counts = { completed: 0, failed: 0, cancelled: 0, workersReplaced: 0, terminated: 0 };

  constructor(options: ThreadPoolOptions = {}) {
    const min = options.minthreads ?? 5;
    const max = options.maxthreads ?? 20;
    checkSizes(min, max);
    this.min = min;
    this.max = max;
    this.name = options.name;
    this.bridgeHandler = options.bridgeHandler ?? callExposed;
    this.workerOptions = options.workerOptions;
    const pipeline = options.pipeline ?? 1;
    if (!Number.isInteger(pipeline) || pipeline < 1) throw new RangeError(`pipeline must be an integer >= 1, got ${pipeline}`);
    this.pipeline = pipeline;
  }

  // --- state -----------------------------------------------------------------------------

  /** True between start() and stop(). */
  get started(): boolean {
    return this.phase === "running";
  }

  /** True once stop() was called (until start() again): new work is refused. */
  get joined(): boolean {
    return this.phase === "stopping" || this.phase === "stopped";
  }

  /** Workers alive, idle or busy (not counting ones being terminated). */
  get workers(): number {
    return this.alive;
  }

  /** Workers running a task. */
  get busy(): number {
    return this.busyCount;
  }

  /** Workers alive and waiting for work. */
  get idle(): number {
    return this.idleWorkers.length;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Tasks whose work returned. */
  get completed(): number {
    return this.counts.completed;
  }

  /** Tasks that threw, or whose worker died or was terminated. */
  get failed(): number {
    return this.counts.failed;
  }

  /** Tasks cancelled before they ran. */
  get cancelled(): number {
    return this.counts.cancelled;
  }

  /** Workers started in place of ones that died or were terminated. */
  get workersReplaced(): number {
    return this.counts.workersReplaced;
  }

  /** Workers terminated while running a task (terminateTask, or stop's grace period). */
  get terminated(): number {
    return this.counts.terminated;
  }

  statistics(): ThreadPoolStatistics {
    return { workers: this.workers, idle: this.idle, busy: this.busy, queued: this.queued, ...this.counts };
  }

  // --- life cycle ------------------------------------------------------------------------

  /** Start the pool: `min` workers now, more as work arrives; queued work starts running. */
  start(): void {
    if (this.phase === "stopping") throw new Error(`${this} is stopping: start it again once stop() has fired`);
    if (this.phase === "running") return;
    this.phase = "running";
    this.maintain();
  }

  /**
   * Stop the pool. New work is refused at once; queued and running work goes on, and the
   * returned Deferred fires when it has finished and every worker has exited. With `grace`,
   * work still running (or queued) after that many seconds is ended: its workers are
   * terminated and those tasks fail with WorkerDied.
   */
  stop(options: StopOptions = {}): Deferred<void> {
    const d = new Deferred<void>();
    if (this.phase === "new" || this.phase === "stopped") {
      this.phase = "stopped";
      const never = this.drainQueue();
      for (const task of never) this.settle(task, false, new WorkerDied(`${this} was stopped before task ${task.id} ran`));
      d.callback(undefined);
      return d;
    }
    this.phase = "stopping";
    this.stopWaiters.push(d);
    if (options.grace !== undefined) this.setGrace(options.grace);
    this.maintain();
    return d;
  }

  /**
   * Set `min` and `max` (either may be left out). While running, idle workers above the new
   * max are ended now and busy ones when they finish; workers are started up to the new min.
   */
  adjustPoolsize(minthreads: number = this.min, maxthreads: number = this.max): void {
    checkSizes(minthreads, maxthreads);
    this.min = minthreads;
    this.max = maxthreads;
    this.maintain();
  }

  // --- submitting work ---------------------------------------------------------------------

  /** Run `work(...args)` in a worker. An error it throws is logged. */
  callInThread<W extends Work>(work: W, ...args: WorkArgs<W>): TaskHandle {
    return this.submit(work, args);
  }

  /** Run `work(...args)` in a worker, then call `onResult(success, result)` on this thread. */
  callInThreadWithCallback<W extends Work>(onResult: OnResult<WorkResult<W>> | null, work: W, ...args: WorkArgs<W>): TaskHandle {
    return this.submit(work, args, { onResult });
  }

  /**
   * Run several calls one after the other in the same worker, as one task; its result is the
   * array of their results. The first that throws ends the task with its error.
   */
  callMultipleInThread(calls: ReadonlyArray<readonly [work: Work, args?: readonly unknown[]]>, onResult: OnResult<unknown[]> | null = null): TaskHandle {
    if (calls.length === 0) throw new TypeError("callMultipleInThread() needs at least one call");
    const message: RunMessage = [0, 1];
    for (const [work, args] of calls) pushCall(message, toWorkRef(work), args ?? []);
    return this.enqueue(toWorkRef(calls[0]![0]), message, onResult, undefined);
  }

  /**
   * The general form of callInThread: `args` as an array, and options: `onResult`, and
   * `transfer`, a transfer list for the arguments (ArrayBuffers to move, MessagePorts).
   * `args` may also be a function returning the array: it is called once, on this thread,
   * when the task is handed to a worker, so that what only a running task needs (a buffer
   * shared with it, say) is not held by every task waiting in the queue. If it throws, the
   * task fails with its error.
   */
  submit<W extends Work>(
    work: W,
    args: WorkArgs<W> | (() => WorkArgs<W>),
    options?: { onResult?: OnResult<WorkResult<W>> | null; transfer?: readonly TransferListItem[] },
  ): TaskHandle {
    const ref = toWorkRef(work);
    const message: RunMessage = [0, 0];
    const late = typeof args === "function" ? (args as () => readonly unknown[]) : null;
    pushCall(message, ref, late === null ? (args as readonly unknown[]) : []);
    const task = this.enqueue(ref, message, options?.onResult ?? null, options?.transfer, late);
    return task;
  }

  private enqueue(
    ref: WorkRef,
    message: RunMessage,
    onResult: OnResult<any> | null,
    transfer: readonly TransferListItem[] | undefined,
    lateArgs: (() => readonly unknown[]) | null = null,
  ): TaskHandle {
    const id = this.nextTaskId++;
    message[0] = id;
    const task = new TaskHandle(this, id, ref, message, onResult, transfer);
    task.lateArgs = lateArgs;
    if (this.joined) {
      // Twisted drops work given to a stopped pool silently; a Deferred that never fires is
      // worse than an error, so the task fails (asynchronously, as a task would).
      task.state = "done";
      queueMicrotask(() => this.settle(task, false, new WorkerDied(`${this} is stopped: task ${id} was not run`)));
      return task;
    }
    this.queue.push(task);
    this.maintain();
    return task;
  }

  // --- ending work ---------------------------------------------------------------------

  /** Cancel a queued task (see TaskHandle.cancel). */
  cancelTask(taskOrId: TaskHandle | number): boolean {
    const task = this.findTask(taskOrId);
    if (task === undefined || task.state !== "queued") return false;
    const at = this.queue.indexOf(task, this.head);
    if (at >= 0) this.queue.splice(at, 1);
    this.counts.cancelled++;
    this.settle(task, false, new CancelledError(`task ${task.id} (${describeWorkRef(task.work)}) was cancelled before it ran`), true);
    return true;
  }

  /**
   * End a task now (see TaskHandle.terminate): the worker running it is terminated and the task
   * fails with WorkerDied; a queued task is cancelled. False if there is no such task running
   * or queued.
   */
  terminateTask(taskOrId: TaskHandle | number, reason?: string): boolean {
    const task = this.findTask(taskOrId);
    if (task === undefined) return false;
    if (task.state === "queued") return this.cancelTask(task);
    if (task.state !== "running" || task.runner === null) return false;
    const worker = task.runner;
    // Waiting behind another task in its worker: ending it would end that one too.
    if (worker.task !== task) return false;
    this.kill(worker, true);
    this.maintain();
    const why = reason ?? "terminateTask() was called";
    this.settle(task, false, new WorkerDied(`task ${task.id} (${describeWorkRef(task.work)}) was terminated with its worker ${worker.id}: ${why}`));
    return true;
  }

  private findTask(taskOrId: TaskHandle | number): TaskHandle | undefined {
    if (typeof taskOrId !== "number") return taskOrId.pool === this ? taskOrId : undefined;
    for (const worker of this.all) {
      if (worker.task?.id === taskOrId) return worker.task;
      for (const task of worker.waiting) if (task.id === taskOrId) return task;
    }
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.id === taskOrId) return this.queue[i];
    return undefined;
  }

  // --- the dispatcher ------------------------------------------------------------------------

  /**
   * Bring workers and work together: retire extra idle workers, hand queued tasks to idle or
   * new workers, keep `min` workers, and finish a stop. Re-entrant calls (from a worker's exit
   * during a spawn, say) are folded into the running one.
   */
  private maintain(): void {
    if (this.maintaining) {
      this.maintainAgain = true;
      return;
    }
    this.maintaining = true;
    try {
      do {
        this.maintainAgain = false;
        this.maintainOnce();
      } while (this.maintainAgain);
    } finally {
      this.maintaining = false;
    }
    if (this.phase === "stopping" && this.all.size === 0 && this.queued === 0) this.stopped();
  }

  private maintainOnce(): void {
    if (this.phase !== "running" && this.phase !== "stopping") return;
    while (this.alive > this.max && this.idleWorkers.length > 0) this.retire(this.idleWorkers.pop()!);
    while (this.head < this.queue.length) {
      let worker = this.idleWorkers.pop();
      if (worker === undefined) {
        if (this.alive >= this.max) break;
        worker = this.spawn();
      }
      this.assign(worker, this.dequeue());
    }
    if (this.pipeline > 1 && this.head < this.queue.length) this.pipelineQueued();
    if (this.phase === "running") {
      while (this.alive < this.min && !this.startupBroken) this.idleWorkers.push(this.spawn());
    } else {
      while (this.idleWorkers.length > 0) this.retire(this.idleWorkers.pop()!);
    }
  }

  /** Every worker is busy: hand queued tasks to the least loaded ones, up to `pipeline` each. */
  private pipelineQueued(): void {
    while (this.head < this.queue.length) {
      const task = this.queue[this.head]!;
      // A transfer list cannot be sent twice: such a task waits for an idle worker.
      if (task.transfer !== undefined) return;
      let best: PoolWorker | null = null;
      for (const worker of this.all) {
        if (worker.dying || !worker.ready || worker.task === null) continue;
        const load = 1 + worker.waiting.length;
        if (load < this.pipeline && (best === null || load < 1 + best.waiting.length)) best = worker;
      }
      if (best === null) return;
      this.dequeue();
      task.state = "running";
      task.runner = best;
      best.waiting.push(task);
      try {
        best.worker.postMessage(messageOf(task));
      } catch (err) {
        best.waiting.pop();
        queueMicrotask(() => this.settle(task, false, err));
      }
    }
  }

  /** Tasks a worker held behind its running one go back to the head of the queue, in order. */
  private requeueWaiting(worker: PoolWorker): void {
    if (worker.waiting.length === 0) return;
    const tasks = worker.waiting.splice(0);
    for (const task of tasks) {
      task.state = "queued";
      task.runner = null;
    }
    this.queue.splice(this.head, 0, ...tasks);
  }

  private dequeue(): TaskHandle {
    const task = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return task;
  }

  private drainQueue(): TaskHandle[] {
    const tasks = this.queue.slice(this.head) as TaskHandle[];
    this.queue.length = 0;
    this.head = 0;
    return tasks;
  }

  private spawn(): PoolWorker {
    const bridge = new BridgeHost(this.bridgeHandler);
    let thread: Worker;
    try {
      thread = new Worker(WORKER_MAIN, {
        ...this.workerOptions,
        workerData: { bridge: bridge.init } satisfies WorkerInitData,
        transferList: [...bridge.transfer],
      });
    } catch (err) {
      bridge.close();
      throw err;
    }
    const worker = new PoolWorker(this.nextWorkerId++, thread, bridge);
    thread.unref();
    thread.on("message", (message: WorkerMessage) => this.received(worker, message));
    thread.on("error", (err: Error) => {
      worker.cause ??= err;
    });
    thread.on("exit", (code: number) => this.exited(worker, code));
    this.all.add(worker);
    this.alive++;
    if (this.lost > 0) {
      this.lost--;
      this.counts.workersReplaced++;
    }
    return worker;
  }

  private assign(worker: PoolWorker, task: TaskHandle): void {
    task.state = "running";
    task.runner = worker;
    worker.task = task;
    this.busyCount++;
    worker.worker.ref(); // a busy worker keeps the process alive until its task is done
    try {
      const message = messageOf(task);
      task.message = null;
      if (task.transfer) worker.worker.postMessage(message, task.transfer);
      else worker.worker.postMessage(message);
    } catch (err) {
      // The arguments cannot be cloned (a function, a socket): the task fails, the worker stays.
      worker.task = null;
      this.busyCount--;
      worker.worker.unref();
      this.idleWorkers.push(worker);
      queueMicrotask(() => this.settle(task, false, err));
    }
    task.transfer = undefined;
  }

  /** End an idle worker the pool no longer needs. */
  private retire(worker: PoolWorker): void {
    worker.dying = true;
    this.alive--;
    worker.bridge.close();
    void worker.worker.terminate();
  }

  /** End a worker now, with whatever it is running; `replace` it when more work comes. */
  private kill(worker: PoolWorker, replace: boolean): void {
    const at = this.idleWorkers.indexOf(worker);
    if (at >= 0) this.idleWorkers.splice(at, 1);
    this.requeueWaiting(worker);
    if (worker.task !== null) {
      worker.task = null;
      this.busyCount--;
      this.counts.terminated++;
    }
    if (replace) this.lost++;
    this.retire(worker);
  }

  private received(worker: PoolWorker, message: WorkerMessage): void {
    if (message.t === "ready") {
      worker.ready = true;
      this.startupBroken = false;
      return;
    }
    const task = worker.task;
    // An answer from a worker being terminated: its task has already failed.
    if (task === null || task.id !== message.id || worker.dying) return;
    const next = worker.waiting.shift();
    if (next !== undefined) {
      // Pipelined: the worker has already started its next task.
      next.message = null;
      worker.task = next;
    } else {
      worker.task = null;
      this.busyCount--;
      this.idleWorkers.push(worker);
    }
    this.maintain();
    // Unref only if it stayed idle: a worker handed the next task at once stays ref'd.
    if (worker.task === null && !worker.dying) worker.worker.unref();
    if (message.ok) this.settle(task, true, message.v);
    else this.settle(task, false, deserializeError(message.err));
  }

  private exited(worker: PoolWorker, code: number): void {
    this.all.delete(worker);
    worker.bridge.close();
    const task = worker.task;
    if (!worker.dying) {
      // Not ended by the pool: it died (process.exit, an uncaught error, an out-of-memory).
      worker.dying = true;
      this.alive--;
      const at = this.idleWorkers.indexOf(worker);
      if (at >= 0) this.idleWorkers.splice(at, 1);
      this.requeueWaiting(worker);
      if (task !== null) {
        worker.task = null;
        this.busyCount--;
      }
      if (worker.ready) {
        this.lost++;
      } else {
        this.startupBroken = true;
        log.failure("A worker of {pool} failed to start", worker.cause ?? new WorkerDied(`exit code ${code}`), { pool: String(this) });
      }
      this.maintain();
      if (task !== null) {
        const cause = worker.cause;
        const why = cause ? `: ${cause.name}: ${cause.message}` : "";
        this.settle(
          task,
          false,
          new WorkerDied(`worker ${worker.id} exited with code ${code} while running task ${task.id} (${describeWorkRef(task.work)})${why}`, { cause }),
        );
      }
      return;
    }
    this.maintain();
  }

  /** Deliver a task's outcome. Everything about the pool is up to date before user code runs. */
  private settle(task: TaskHandle, ok: boolean, value: unknown, cancelled = false): void {
    task.state = "done";
    task.message = null;
    if (!cancelled) {
      if (ok) this.counts.completed++;
      else this.counts.failed++;
    }
    const onResult = task.onResult;
    task.onResult = null;
    if (onResult === null) {
      if (!ok && !cancelled) log.failure("Unhandled error in {work} run by {pool}:", value, { work: describeWorkRef(task.work), pool: String(this) });
      return;
    }
    try {
      if (ok) onResult(true, value);
      else onResult(false, Failure.from(value));
    } catch (err) {
      log.failure("Error in the onResult callback of {work}:", err, { work: describeWorkRef(task.work) });
    }
  }

  // --- stopping ----------------------------------------------------------------------------

  private setGrace(seconds: number): void {
    const deadline = Date.now() + Math.max(0, seconds) * 1000;
    if (deadline >= this.graceDeadline) return;
    this.graceDeadline = deadline;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (seconds <= 0) this.graceOver(seconds);
    else this.graceTimer = setTimeout(() => this.graceOver(seconds), seconds * 1000);
  }

  private graceOver(seconds: number): void {
    this.graceTimer = undefined;
    if (this.phase !== "stopping") return;
    const running: TaskHandle[] = [];
    for (const worker of this.all) {
      if (worker.dying) continue;
      if (worker.task !== null) running.push(worker.task);
      this.kill(worker, false);
    }
    // After the kills: tasks that waited in a worker are back in the queue, and never ran.
    const never = this.drainQueue();
    this.maintain();
    for (const task of running) {
      this.settle(task, false, new WorkerDied(`${this} stopped: task ${task.id} (${describeWorkRef(task.work)}) was still running after the grace period of ${seconds} s; its worker was terminated`));
    }
    for (const task of never) {
      this.settle(task, false, new WorkerDied(`${this} stopped: the grace period of ${seconds} s ended before task ${task.id} (${describeWorkRef(task.work)}) ran`));
    }
  }

  private stopped(): void {
    this.phase = "stopped";
    this.lost = 0;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.graceDeadline = Infinity;
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const d of waiters) d.callback(undefined);
  }

  toString(): string {
    return `ThreadPool(${this.name ?? "unnamed"})`;
  }
}

function checkSizes(min: number, max: number): void {
  if (!Number.isInteger(min) || min < 0) throw new RangeError(`minthreads must be an integer >= 0, got ${min}`);
  if (!Number.isInteger(max) || max < min) throw new RangeError(`maxthreads must be an integer >= minthreads (${min}), got ${max}`);
}

/** Where a single call's arguments sit in its RunMessage: [id, many, module, export, args]. */
const FIRST_ARGS = 4;

/** A task's message, its arguments computed now if they are late (once: a requeued task keeps them). */
function messageOf(task: TaskHandle): RunMessage {
  const message = task.message!;
  const late = task.lateArgs;
  if (late !== null) {
    task.lateArgs = null;
    const args = late();
    if (!Array.isArray(args)) throw new TypeError("the arguments of a task must be an array");
    message[FIRST_ARGS] = args;
  }
  return message;
}

function pushCall(message: RunMessage, ref: WorkRef, args: readonly unknown[]): void {
  if (!Array.isArray(args)) throw new TypeError("the arguments of a task must be an array");
  message.push(ref.module, ref.export, args);
}
