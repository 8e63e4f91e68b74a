/**
 * CPU work in the reactor's thread pool: a few Fibonacci numbers and a prime count computed in
 * worker threads with deferToThread, while the main thread stays free; the workers report
 * progress back with callFromThread. The program prints the results and exits by itself.
 *
 *     node build/examples/threads.js
 *
 * The workers import this same module to find `fib` and `countPrimes`, so the program's own
 * code runs only on the main thread (`if (isInIOThread())` at the bottom).
 */
import {
  callFromThread,
  deferToThread,
  exposeToThreads,
  gatherResults,
  isInIOThread,
  reactor,
  stopThreadPool,
  threadable,
} from "torsion";

// --- the work: exported, and marked with where a worker finds it -------------------------------

export const fib = threadable(import.meta.url, "fib", function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
});

export const countPrimes = threadable(import.meta.url, "countPrimes", function countPrimes(limit: number): number {
  const composite = new Uint8Array(limit);
  let count = 0;
  for (let i = 2; i < limit; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < limit; j += i) composite[j] = 1;
    // From a worker, the main thread is reached by name: see exposeToThreads below.
    if (count % 100_000 === 0) callFromThread("progress", `${count} primes so far`);
  }
  return count;
});

// --- the program: runs on the main thread only ----------------------------------------------

async function main(): Promise<void> {
  exposeToThreads("progress", (message: string) => console.log(`progress: ${message}`));

  const ns = [25, 27, 30];
  const fibs = await gatherResults(ns.map((n) => deferToThread(fib, n)));
  ns.forEach((n, i) => console.log(`fib(${n}) = ${fibs[i]}`));

  const primes = await deferToThread(countPrimes, 5_000_000);
  console.log(`primes below 5000000: ${primes}`);

  // Not needed to exit (idle workers do not keep Node alive), but a tidy end: the pool's
  // workers exit now. reactor.stop() does this too when the reactor runs.
  await stopThreadPool(reactor);
  console.log("thread pool stopped");
}

if (isInIOThread()) await main();
