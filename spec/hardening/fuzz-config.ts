/**
 * Seeds and run counts shared by the hardening specs.
 *
 * - `npm test` runs each property a small number of times (the `runs(n)` given by each spec),
 *   so the whole hardening folder stays within a few seconds.
 * - FUZZ_RUNS=N runs every property N times (the long fuzz: `npm run fuzz`).
 * - FUZZ_SEED=S replays a run. Without it the seed is new each run (so every CI run explores
 *   new inputs); it is printed with every failure, with the command that replays it.
 */

import fc from "fast-check";

const envRuns = Number(process.env.FUZZ_RUNS);
/** The run count forced by FUZZ_RUNS, or 0. */
export const FUZZ_RUNS: number = Number.isInteger(envRuns) && envRuns > 0 ? envRuns : 0;

const envSeed = process.env.FUZZ_SEED;
/** The seed of this process: FUZZ_SEED, else a fresh one. */
export const FUZZ_SEED: number =
  envSeed !== undefined && envSeed !== "" && Number.isInteger(Number(envSeed)) ? Number(envSeed) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;

// A long run names its seed up front, so a run that passes can be cited and replayed too.
if (FUZZ_RUNS > 0) process.stderr.write(`hardening fuzz: FUZZ_RUNS=${FUZZ_RUNS} FUZZ_SEED=${FUZZ_SEED}\n`);

/** How many runs a property gets: FUZZ_RUNS when set, else the spec's small default. */
export function runs(defaultRuns: number): number {
  return FUZZ_RUNS > 0 ? FUZZ_RUNS : defaultRuns;
}

/**
 * fc.assert with the shared seed and run count. On failure the error names the seed, the
 * shrunk counterexample, and how to replay it (FUZZ_SEED, and fast-check's path).
 */
export function check<Ts>(property: fc.IProperty<Ts>, defaultRuns: number, extra: Partial<fc.Parameters<Ts>> = {}): void {
  const numRuns = runs(defaultRuns);
  const details = fc.check(property, { seed: FUZZ_SEED, numRuns, ...extra });
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details)}\n${describeError(details.errorInstance)}\n` +
        `Replay: FUZZ_SEED=${details.seed} FUZZ_RUNS=${numRuns} (fast-check path "${details.counterexamplePath}")`,
    );
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `Error: ${String(err)}`;
}

/** The async form of check(), for properties over real sockets or promises. */
export async function checkAsync<Ts>(
  property: fc.IAsyncProperty<Ts>,
  defaultRuns: number,
  extra: Partial<fc.Parameters<Ts>> = {},
): Promise<void> {
  const numRuns = runs(defaultRuns);
  const details = await fc.check(property, { seed: FUZZ_SEED, numRuns, ...extra });
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details)}\n${describeError(details.errorInstance)}\n` +
        `Replay: FUZZ_SEED=${details.seed} FUZZ_RUNS=${numRuns} (fast-check path "${details.counterexamplePath}")`,
    );
  }
}

/** Cut points for splitting `length` bytes: sorted, unique, inside (0, length). */
export function cutPoints(length: number, raw: readonly number[]): number[] {
  const cuts = new Set<number>();
  for (const r of raw) if (length > 1) cuts.add(1 + (r % (length - 1)));
  return [...cuts].sort((a, b) => a - b);
}

/** `data` split at `cuts` (from cutPoints). */
export function splitAt(data: Buffer, cuts: readonly number[]): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (const c of cuts) {
    parts.push(data.subarray(start, c));
    start = c;
  }
  parts.push(data.subarray(start));
  return parts;
}

/** An arbitrary way of splitting a buffer: raw cut numbers for cutPoints(). */
export const cutsArb = fc.array(fc.nat(), { maxLength: 16 });
