/**
 * A chain of N callbacks on a Deferred fired synchronously, against the same chain of .then()
 * on a native Promise, measured in the same process, interleaved over several rounds.
 *
 *     node build/bench/defer.js [links] [rounds]
 *
 * Two shapes: "fired first" (callback(), then N addCallback: each step runs as it is added)
 * and "built first" (N addCallback, then callback(): one loop runs them all). The Promise
 * side is the same N .then() steps, awaited, since a Promise never runs a step synchronously.
 * Prints each round, the medians in ns per link, and the median ratio Promise/Deferred.
 */

import { Deferred } from "../lib/internet/deferred.js";
import { interleave } from "./support/rounds.js";
import { median } from "./support/stats.js";

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 15);
/** Chains per measurement, so each timing is long enough to read (about a few ms). */
const REPS = 500;

function inc(x: number): number {
  return x + 1;
}

function deferredBuiltFirst(): number {
  const d = new Deferred<number>();
  for (let i = 0; i < N; i++) d.addCallback(inc);
  let out = 0;
  d.addCallback((x) => {
    out = x;
  });
  d.callback(0);
  return out;
}

function deferredFiredFirst(): number {
  const d = new Deferred<number>();
  d.callback(0);
  for (let i = 0; i < N; i++) d.addCallback(inc);
  let out = 0;
  d.addCallback((x) => {
    out = x;
  });
  return out;
}

async function promiseChain(): Promise<number> {
  let p: Promise<number> = Promise.resolve(0);
  for (let i = 0; i < N; i++) p = p.then(inc);
  return p;
}

function timeSync(f: () => number): number {
  const start = process.hrtime.bigint();
  for (let r = 0; r < REPS; r++) {
    if (f() !== N) throw new Error("wrong result");
  }
  return Number(process.hrtime.bigint() - start) / (REPS * N);
}

async function timeAsync(f: () => Promise<number>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let r = 0; r < REPS; r++) {
    if ((await f()) !== N) throw new Error("wrong result");
  }
  return Number(process.hrtime.bigint() - start) / (REPS * N);
}

async function main(): Promise<void> {
  // Warm up every path so the first round is not the JIT's.
  for (let i = 0; i < 3; i++) {
    timeSync(deferredBuiltFirst);
    timeSync(deferredFiredFirst);
    await timeAsync(promiseChain);
  }
  console.log(`chain of ${N} links, ${REPS} chains per timing, ${ROUNDS} rounds (ns per link)`);
  console.log("round  deferred(built first)  deferred(fired first)  promise.then");
  const measure = (side: "built" | "fired" | "promise"): number | Promise<number> =>
    side === "promise" ? timeAsync(promiseChain) : timeSync(side === "built" ? deferredBuiltFirst : deferredFiredFirst);
  const { built, fired, promise } = await interleave(["built", "fired", "promise"], ROUNDS, measure, (r, { built: b, fired: f, promise: p }) =>
    console.log(`${String(r + 1).padStart(5)}  ${b.toFixed(1).padStart(21)}  ${f.toFixed(1).padStart(21)}  ${p.toFixed(1).padStart(12)}`),
  );
  const mb = median(built);
  const mf = median(fired);
  const mp = median(promise);
  const ratio = (xs: number[]): number => median(promise.map((p, i) => p / xs[i]!));
  console.log(`median ns/link: deferred built first ${mb.toFixed(1)}, deferred fired first ${mf.toFixed(1)}, promise ${mp.toFixed(1)}`);
  console.log(`Deferred (built first) is ${ratio(built).toFixed(2)}x faster per link than Promise.then (median of per-round ratios)`);
  console.log(`Deferred (fired first) is ${ratio(fired).toFixed(2)}x faster per link than Promise.then (median of per-round ratios)`);
}

await main();
