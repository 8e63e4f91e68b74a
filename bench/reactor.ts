/**
 * The reactor's clock: torsion's NodeReactor against raw Node timers (setImmediate, setTimeout,
 * setInterval) and, where python3-twisted is installed, Twisted 22.4's default reactor
 * (bench/reactor_twisted.py, one process per measurement), in the same run, interleaved
 * rounds; prints medians and ratios.
 *
 * 1. chain: CHAIN chained callLater(0) (each call schedules the next); raw: a setImmediate
 *    chain. Aim: within 1.5x of setImmediate, at least 5x Twisted.
 * 2. random: RANDOM calls with random delays in [0, 50 ms), every other one cancelled at once,
 *    timed until the rest have fired; raw: setTimeout/clearTimeout. Aim: at least 3x Twisted.
 * 3. looping: LOOPS LoopingCalls at 1 s for LOOP_SECONDS; raw: setInterval. CPU microseconds
 *    per tick (process CPU time over the window / ticks), lower is better.
 *
 * The chain and random cases run each JavaScript side once, uncounted, before the rounds (the
 * JIT); Twisted runs in CPython, which has none. Each torsion measurement uses a fresh NodeReactor (not run(): Node's loop is always turning),
 * so no state carries over between rounds. A watchdog ends the run after WATCHDOG_SECONDS.
 *
 *     node build/bench/reactor.js [rounds]        (default 5)
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NodeReactor } from "../lib/internet/reactor.js";
import { LoopingCall } from "../lib/internet/task.js";
import { interleave } from "./support/rounds.js";
import { watchdog } from "./support/servers.js";
import { median } from "./support/stats.js";

const ROUNDS = Number(process.argv[2] ?? 5);
const CHAIN = 10_000;
const RANDOM = 100_000;
const MAX_DELAY = 0.05;
const LOOPS = 10_000;
const LOOP_SECONDS = 2.5;
const WATCHDOG_SECONDS = 300;

const PYTHON = "/usr/bin/python3";
const TWISTED_SCRIPT = fileURLToPath(new URL("../../bench/reactor_twisted.py", import.meta.url));

type Side = "torsion" | "node" | "twisted";

// ---------------------------------------------------------------------------
// torsion

function torsionChain(): Promise<number> {
  const reactor = new NodeReactor();
  return new Promise((resolve) => {
    let left = CHAIN;
    const start = performance.now();
    const step = (): void => {
      if (--left === 0) resolve((performance.now() - start) / 1000);
      else reactor.callLater(0, step);
    };
    reactor.callLater(0, step);
  });
}

function torsionRandom(): Promise<number> {
  const reactor = new NodeReactor();
  return new Promise((resolve) => {
    let left = RANDOM / 2;
    const start = performance.now();
    const fired = (): void => {
      if (--left === 0) resolve((performance.now() - start) / 1000);
    };
    const calls = [];
    for (let i = 0; i < RANDOM; i++) calls.push(reactor.callLater(Math.random() * MAX_DELAY, fired));
    for (let i = 0; i < RANDOM; i += 2) calls[i]!.cancel();
  });
}

function torsionLooping(): Promise<number> {
  const reactor = new NodeReactor();
  let ticks = 0;
  const tick = (): void => {
    ticks++;
  };
  const loops: LoopingCall[] = [];
  for (let i = 0; i < LOOPS; i++) {
    const lc = new LoopingCall(tick);
    lc.clock = reactor;
    lc.start(1, false);
    loops.push(lc);
  }
  const cpu = process.cpuUsage();
  return new Promise((resolve) => {
    reactor.callLater(LOOP_SECONDS, () => {
      const used = process.cpuUsage(cpu);
      for (const lc of loops) lc.stop();
      resolve((used.user + used.system) / Math.max(1, ticks));
    });
  });
}

// ---------------------------------------------------------------------------
// raw Node timers

function nodeChain(): Promise<number> {
  return new Promise((resolve) => {
    let left = CHAIN;
    const start = performance.now();
    const step = (): void => {
      if (--left === 0) resolve((performance.now() - start) / 1000);
      else setImmediate(step);
    };
    setImmediate(step);
  });
}

function nodeRandom(): Promise<number> {
  return new Promise((resolve) => {
    let left = RANDOM / 2;
    const start = performance.now();
    const fired = (): void => {
      if (--left === 0) resolve((performance.now() - start) / 1000);
    };
    const timers = [];
    for (let i = 0; i < RANDOM; i++) timers.push(setTimeout(fired, Math.random() * MAX_DELAY * 1000));
    for (let i = 0; i < RANDOM; i += 2) clearTimeout(timers[i]);
  });
}

function nodeLooping(): Promise<number> {
  let ticks = 0;
  const tick = (): void => {
    ticks++;
  };
  const intervals: NodeJS.Timeout[] = [];
  for (let i = 0; i < LOOPS; i++) intervals.push(setInterval(tick, 1000));
  const cpu = process.cpuUsage();
  return new Promise((resolve) => {
    setTimeout(() => {
      const used = process.cpuUsage(cpu);
      for (const t of intervals) clearInterval(t);
      resolve((used.user + used.system) / Math.max(1, ticks));
    }, LOOP_SECONDS * 1000);
  });
}

// ---------------------------------------------------------------------------
// Twisted (a process per measurement; the script times itself, so start-up is not counted)

function twisted(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [TWISTED_SCRIPT, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out) as Record<string, number>);
      else reject(new Error(`reactor_twisted.py ${args.join(" ")} exited with ${code}`));
    });
  });
}

async function twistedAvailable(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  const probe = spawn(PYTHON, ["-c", "import twisted.internet.task"], { stdio: "ignore" });
  return new Promise((resolve) => {
    probe.on("exit", (code) => resolve(code === 0));
    probe.on("error", () => resolve(false));
  });
}

// ---------------------------------------------------------------------------

interface Case {
  readonly name: string;
  readonly unit: string;
  /** Lower is better for every figure here (seconds, microseconds). */
  readonly measure: Record<Side, () => Promise<number>>;
  /** The raw Node label. */
  readonly nodeLabel: string;
  /** Whether to run each JavaScript side once, uncounted, first. */
  readonly warm: boolean;
}

const cases: Case[] = [
  {
    name: `chain: ${CHAIN} chained callLater(0)`,
    unit: "ms",
    nodeLabel: "setImmediate chain",
    warm: true,
    measure: {
      torsion: async () => (await torsionChain()) * 1000,
      node: async () => (await nodeChain()) * 1000,
      twisted: async () => (await twisted(["chain", String(CHAIN)])).seconds! * 1000,
    },
  },
  {
    name: `random: ${RANDOM} callLater in [0, ${MAX_DELAY * 1000} ms), half cancelled, until the rest fired`,
    unit: "ms",
    nodeLabel: "setTimeout/clearTimeout",
    warm: true,
    measure: {
      torsion: async () => (await torsionRandom()) * 1000,
      node: async () => (await nodeRandom()) * 1000,
      twisted: async () => (await twisted(["random", String(RANDOM)])).seconds! * 1000,
    },
  },
  {
    name: `looping: ${LOOPS} LoopingCalls at 1 s for ${LOOP_SECONDS} s`,
    unit: "us CPU/tick",
    nodeLabel: "setInterval",
    warm: false,
    measure: {
      torsion: torsionLooping,
      node: nodeLooping,
      twisted: async () => (await twisted(["looping", String(LOOPS), String(LOOP_SECONDS)])).us_per_tick!,
    },
  },
];

async function main(): Promise<void> {
  const dog = watchdog("bench/reactor", WATCHDOG_SECONDS);
  const withTwisted = await twistedAvailable();
  if (!withTwisted) console.log("Twisted not found (/usr/bin/python3 with python3-twisted): its column is skipped");
  const sides: Side[] = withTwisted ? ["torsion", "node", "twisted"] : ["torsion", "node"];
  console.log(`bench/reactor: ${ROUNDS} interleaved rounds, medians (lower is better)`);
  for (const c of cases) {
    // One uncounted run of each JavaScript side first, so neither is measured before the JIT.
    if (c.warm) for (const side of ["torsion", "node"] as const) await c.measure[side]();
    const results = await interleave(sides, ROUNDS, (side) => c.measure[side]());
    const t = median(results.torsion);
    const n = median(results.node);
    let line = `${c.name}\n  torsion ${t.toFixed(2)} ${c.unit}   ${c.nodeLabel} ${n.toFixed(2)} ${c.unit}   torsion/${c.nodeLabel} ${(t / n).toFixed(2)}x`;
    if (withTwisted) {
      const tw = median(results.twisted);
      line += `   Twisted ${tw.toFixed(2)} ${c.unit}   torsion ${(tw / t).toFixed(2)}x faster than Twisted`;
    }
    console.log(line);
  }
  clearTimeout(dog);
}

await main();
