/**
 * Load from the benchmark's own process, always bounded: autocannon for a fixed time, or
 * tasks in concurrent lanes up to a count and/or a time.
 */

import type autocannon from "autocannon";

/**
 * One autocannon run against `url`: `connections` keep-alive connections, no pipelining, for
 * `seconds`. A run with any error or any non-2xx answer throws: its figure would not be the
 * server's speed at serving the page.
 */
export async function autocannonRound(url: string, connections: number, seconds: number): Promise<autocannon.Result> {
  // Loaded here, not on import: the servers (child processes, bench/load's pool workers) import
  // their benchmark's module too, and must not carry autocannon in their memory.
  const { default: autocannon } = await import("autocannon");
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
  return result;
}

/** At least one bound: the number of tasks, the time, or both (whichever comes first). */
export type LaneBounds = { lanes: number; count: number; seconds?: number } | { lanes: number; count?: number; seconds: number };

/**
 * Run `task` in `lanes` concurrent loops, each starting its next task when its last one has
 * settled, until `count` tasks have started or `seconds` have passed; resolves when every lane
 * has finished (a task under way is not cut short), with the number of tasks run. `i` numbers
 * the tasks from 0 across all lanes; `lane` is the loop's own number. A task that throws ends
 * the run with its error.
 */
export async function inLanes(bounds: LaneBounds, task: (i: number, lane: number) => Promise<unknown>): Promise<number> {
  const count = bounds.count ?? Infinity;
  const until = bounds.seconds === undefined ? Infinity : performance.now() + bounds.seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(bounds.lanes, count) }, async (_, lane) => {
      while (next < count && performance.now() < until) await task(next++, lane);
    }),
  );
  return next;
}
