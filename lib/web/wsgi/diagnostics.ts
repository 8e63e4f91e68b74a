/**
 * "Blame the previous response": what ran last on each worker of a pool, so that a response
 * that overruns its time budget can name the response before it on the same worker.
 *
 * A response that overruns is usually the victim, not the culprit: state kept per worker (a
 * database connection, a cursor) left busy by the previous response, stopped when its client
 * went away, blocks it. Worker ids are never reused in a pool; a record goes when its worker
 * is terminated or dies under a WSGI response, otherwise the worker's next response overwrites
 * it.
 */

import type { Logger } from "../../internet/log.js";
import type { ThreadPool, WorkerInfo } from "../../internet/threadpool.js";

/** How a response ended, in the words of the counters. */
export type WSGIResponseEnd = "completed" | "stoppedByDisconnect" | "drained" | "error";

/** The last response a worker ran to its end (its worker still alive). */
interface LastResponse {
  id: number;
  application: string;
  request: string;
  end: WSGIResponseEnd;
  /** The resource's logger: a warning about it goes to that application's namespace. */
  log: Logger;
}

/** Per pool, per worker id: the response that ran last on it. */
const lastOnWorker = new WeakMap<ThreadPool, Map<number, LastResponse>>();

/** Remember response `id` as the last that `worker` of `pool` ran (the worker lives on). */
export function remember(pool: ThreadPool, worker: WorkerInfo, id: number, application: string, request: string, end: WSGIResponseEnd, log: Logger): void {
  let records = lastOnWorker.get(pool);
  if (records === undefined) {
    records = new Map();
    lastOnWorker.set(pool, records);
  }
  const record = records.get(worker.id);
  if (record === undefined) {
    records.set(worker.id, { id, application, request, end, log });
    return;
  }
  // One record per worker, rewritten by each response it runs.
  record.id = id;
  record.application = application;
  record.request = request;
  record.end = end;
  record.log = log;
}

/** A worker that died takes its state with it: what ran on it before explains nothing more. */
export function forgetWorker(pool: ThreadPool, worker: WorkerInfo): void {
  lastOnWorker.get(pool)?.delete(worker.id);
}

/**
 * Response `id` of `overran` overran its budget and `worker` was terminated. If the response
 * before it on that worker was stopped early (or failed), it probably left per-worker state (a
 * cursor, a connection mid-result) busy, and this one waited on it: name that application too.
 */
export function blamePrevious(pool: ThreadPool, worker: WorkerInfo, id: number, overran: string): void {
  const records = lastOnWorker.get(pool);
  const previous = records?.get(worker.id);
  // The worker is gone: so is the state its responses left.
  records?.delete(worker.id);
  if (previous === undefined || previous.id === id) return;
  if (previous.end !== "stoppedByDisconnect" && previous.end !== "error") return;
  const how = previous.end === "error" ? "ended by an error" : "stopped when its client went away";
  previous.log.warn(
    `the previous response on worker {worker} was {application}'s {request}, ${how}; an application that keeps a cursor or connection per worker must release it in close()/finally (see docs/disconnect-during-query.md)`,
    {
      worker: worker.id,
      application: previous.application,
      request: previous.request,
      previousEnd: previous.end,
      overran,
    },
  );
}
