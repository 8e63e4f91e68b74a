/**
 * Each reactor's default thread pool (Twisted's reactor.threadpool: 0 to 10 workers), created
 * and started on first use and stopped "during shutdown", so shutdown waits for running work.
 * NodeReactor's getThreadPool/suggestThreadPoolSize/callInThread delegate here, and
 * lib/internet/threads offers the same functions with the global reactor as the default: this
 * module takes the reactor as an argument, so the reactor can import it without a cycle.
 */

import type { Deferred } from "./deferred.js";
import { succeed } from "./deferred.js";
import { reactorBehind } from "./global-reactor.js";
import type { IReactorCore } from "./interfaces.js";
import { currentBridge } from "./thread-bridge.js";
import { ThreadPool, type StopOptions, type TaskHandle } from "./threadpool.js";
import type { Work, WorkArgs } from "./work-ref.js";

/** What the default-pool functions need of a reactor: its shutdown event. */
export type ThreadsReactor = Pick<IReactorCore, "addSystemEventTrigger"> & Partial<Pick<IReactorCore, "removeSystemEventTrigger">>;

/** Twisted's reactor pool: ThreadPool(0, 10, "twisted.internet.reactor"). */
const DEFAULT_MIN = 0;
const DEFAULT_MAX = 10;

interface ReactorPool {
  pool: ThreadPool;
  trigger: unknown;
}

const reactorPools = new WeakMap<object, ReactorPool>();

/**
 * The reactor's default pool, created and started on first use, and stopped by a "during
 * shutdown" trigger (so shutdown waits for running work). Refused inside a pool worker: a work
 * module that ran its program's main code when a worker imported it would otherwise start
 * pools within pools; guard such code with `if (isInIOThread())`.
 */
export function getThreadPool(reactor: ThreadsReactor): ThreadPool {
  reactor = reactorBehind(reactor);
  const known = reactorPools.get(reactor);
  if (known !== undefined) return known.pool;
  if (currentBridge() !== undefined) {
    throw new Error(
      "the reactor's thread pool was asked for inside a pool worker: guard the program's main code with `if (isInIOThread())` so workers importing the module do not run it",
    );
  }
  const pool = new ThreadPool({ minthreads: DEFAULT_MIN, maxthreads: DEFAULT_MAX, name: "torsion.internet.reactor" });
  const entry: ReactorPool = { pool, trigger: undefined };
  reactorPools.set(reactor, entry);
  entry.trigger = reactor.addSystemEventTrigger("during", "shutdown", () => stopPool(reactor, entry, true));
  pool.start();
  return pool;
}

/**
 * Stop the reactor's default pool now (its shutdown trigger does this) and forget it, so the
 * next getThreadPool() makes a new one. `grace` as ThreadPool.stop. Fires at once if the
 * reactor has no pool.
 */
export function stopThreadPool(reactor: ThreadsReactor, options?: StopOptions): Deferred<void> {
  reactor = reactorBehind(reactor);
  const entry = reactorPools.get(reactor);
  if (entry === undefined) return succeed(undefined);
  return stopPool(reactor, entry, false, options);
}

function stopPool(reactor: ThreadsReactor, entry: ReactorPool, fromTrigger: boolean, options?: StopOptions): Deferred<void> {
  if (reactorPools.get(reactor) === entry) reactorPools.delete(reactor);
  if (!fromTrigger && reactor.removeSystemEventTrigger) {
    try {
      reactor.removeSystemEventTrigger(entry.trigger);
    } catch {
      // Already run or removed: nothing to undo.
    }
  }
  return entry.pool.stop(options);
}

/** Set the most workers of the reactor's pool (Twisted's reactor.suggestThreadPoolSize). */
export function suggestThreadPoolSize(reactor: ThreadsReactor, size: number): void {
  const pool = getThreadPool(reactor);
  pool.adjustPoolsize(Math.min(pool.min, size), size);
}

/** Run `work(...args)` in the reactor's pool; errors are logged (Twisted's reactor.callInThread). */
export function callInThread<W extends Work>(reactor: ThreadsReactor, work: W, ...args: WorkArgs<W>): TaskHandle {
  return getThreadPool(reactor).callInThread(work, ...args);
}
