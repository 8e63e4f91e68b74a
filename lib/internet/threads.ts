/**
 * Threads, as twisted.internet.threads and the reactor's IReactorThreads: run work in a worker
 * thread and get a Deferred of its result; from inside a worker, call back into the main thread.
 *
 *     // work.ts: imported by the main program and, once each, by the workers
 *     export const fib = threadable(import.meta.url, "fib", function fib(n: number): number { ... });
 *     // main.ts
 *     const result = await deferToThread(fib, 30);
 *
 * Work is named by module and export (see work-ref.ts): a function cannot cross threads.
 * For the same reason a worker reaches the main thread by name: the main side registers
 * functions with exposeToThreads(name, fn), and a worker calls them with callFromThread(name,
 * ...args) (fire and forget) or blockingCallFromThread(name, ...args) (wait for the answer).
 *
 * Each reactor owns a default pool (Twisted's reactor.threadpool: 0 to 10 workers), created
 * and started on first use and stopped "during shutdown", so shutdown waits for running work
 * (kept in reactor-threadpool.ts, which NodeReactor's getThreadPool/suggestThreadPoolSize/
 * callInThread delegate to; the functions here default to the global reactor).
 */

import { isMainThread } from "node:worker_threads";
import { Deferred } from "./deferred.js";
import { Logger } from "./log.js";
import { getReactor } from "./reactor.js";
import * as reactorPools from "./reactor-threadpool.js";
import type { ThreadsReactor } from "./reactor-threadpool.js";
import { callExposed, currentBridge } from "./thread-bridge.js";
import type { OnResult, StopOptions, TaskHandle, ThreadPool } from "./threadpool.js";
import type { Work, WorkArgs, WorkResult } from "./work-ref.js";

export { threadable, workRef, parseWorkRef, isThreadable, type WorkRef, type Threadable, type Work } from "./work-ref.js";
export { exposeToThreads, unexposeToThreads } from "./thread-bridge.js";

const log = new Logger("torsion.internet.threads");

export type { ThreadsReactor } from "./reactor-threadpool.js";

/** True on Node's main thread, where the reactor runs (Twisted's threadable.isInIOThread). */
export function isInIOThread(): boolean {
  return isMainThread;
}

// --- the reactor's pool ----------------------------------------------------------------------

/**
 * The reactor's default pool (the global reactor's unless given another), created and started
 * on first use, and stopped by a "during shutdown" trigger (so shutdown waits for running
 * work). Refused inside a pool worker: a work module that ran its program's main code when a
 * worker imported it would otherwise start pools within pools; guard such code with
 * `if (isInIOThread())`.
 */
export function getThreadPool(reactor: ThreadsReactor = getReactor()): ThreadPool {
  return reactorPools.getThreadPool(reactor);
}

/**
 * Stop the reactor's default pool now (its shutdown trigger does this) and forget it, so the
 * next getThreadPool() makes a new one. `grace` as ThreadPool.stop. Fires at once if the
 * reactor has no pool.
 */
export function stopThreadPool(reactor: ThreadsReactor = getReactor(), options?: StopOptions): Deferred<void> {
  return reactorPools.stopThreadPool(reactor, options);
}

/** Set the most workers of the reactor's pool (Twisted's reactor.suggestThreadPoolSize). */
export function suggestThreadPoolSize(reactor: ThreadsReactor, size: number): void {
  reactorPools.suggestThreadPoolSize(reactor, size);
}

/** Run `work(...args)` in the reactor's pool; errors are logged (Twisted's reactor.callInThread). */
export function callInThread<W extends Work>(reactor: ThreadsReactor, work: W, ...args: WorkArgs<W>): TaskHandle {
  return reactorPools.callInThread(reactor, work, ...args);
}

// --- twisted.internet.threads ----------------------------------------------------------------

/**
 * Run `work(...args)` in `pool` and return a Deferred of its result. Cancelling the Deferred
 * removes the task from the queue if it has not started; a running task is left to finish and
 * its result dropped (end it with the pool's terminateTask if it must stop).
 *
 * `reactor` is kept for Twisted's signature: results already arrive on the reactor's thread.
 */
export function deferToThreadPool<W extends Work>(
  reactor: unknown,
  pool: ThreadPool,
  work: W,
  ...args: WorkArgs<W>
): Deferred<WorkResult<W>> {
  void reactor;
  let task: TaskHandle | undefined;
  const d = new Deferred<WorkResult<W>>(() => {
    task?.cancel();
  });
  const onResult: OnResult<WorkResult<W>> = (success, result) => {
    if (d.called) return; // cancelled while it ran
    if (success) d.callback(result);
    else d.errback(result);
  };
  task = pool.callInThreadWithCallback(onResult, work, ...args);
  return d;
}

/** Run `work(...args)` in the global reactor's pool and return a Deferred of its result. */
export function deferToThread<W extends Work>(work: W, ...args: WorkArgs<W>): Deferred<WorkResult<W>> {
  const reactor = getReactor();
  return deferToThreadPool(reactor, getThreadPool(reactor), work, ...args);
}

/**
 * Run several calls one after the other in the same worker of the global reactor's pool
 * (Twisted's callMultipleInThread); an error stops the run and is logged.
 */
export function callMultipleInThread(calls: ReadonlyArray<readonly [work: Work, args?: readonly unknown[]]>): TaskHandle {
  return getThreadPool(getReactor()).callMultipleInThread(calls);
}

// --- from inside a worker ------------------------------------------------------------------

/**
 * From a worker: run the main-side function exposed as `name` with `args` on the main thread,
 * without waiting. Calls run in the order they were made. Its errors are logged on the main
 * side. On the main thread, the call is made on a later turn of the loop.
 */
export function callFromThread(name: string, ...args: unknown[]): void {
  const bridge = currentBridge();
  if (bridge !== undefined) {
    bridge.post(name, args);
    return;
  }
  if (!isMainThread) throw new Error("callFromThread() works only in a torsion pool worker or on the main thread");
  setImmediate(() => {
    try {
      const result = callExposed(name, args, true);
      if (result instanceof Deferred) {
        result.addErrback((failure) => log.failure("Error in {name} called with callFromThread:", failure, { name }));
      } else if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
        (result as PromiseLike<unknown>).then(undefined, (err) => log.failure("Error in {name} called with callFromThread:", err, { name }));
      }
    } catch (err) {
      log.failure("Error in {name} called with callFromThread:", err, { name });
    }
  });
}

/**
 * From a worker: run the main-side function exposed as `name` with `args` on the main thread,
 * block this worker until it returns or its Deferred/Promise settles, and return its result
 * (by structured clone) or throw its error (class name, message and stack kept). If the pool
 * ends the worker's channel meanwhile (stop, terminate), throws WorkerDied.
 */
export function blockingCallFromThread<R = unknown>(name: string, ...args: unknown[]): R {
  const bridge = currentBridge();
  if (bridge === undefined) {
    throw new Error(
      isMainThread
        ? "blockingCallFromThread() called on the reactor's thread: it would wait for itself forever"
        : "blockingCallFromThread() works only in a torsion pool worker",
    );
  }
  return bridge.call(name, args) as R;
}
