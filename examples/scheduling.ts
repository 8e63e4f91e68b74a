/**
 * Scheduling tasks for the future: callLater, LoopingCall, deferLater, cooperate, and testing
 * time-dependent code with a Clock. Quoted by docs/scheduling.md.
 *
 * Run: node build/examples/scheduling.js (it exits by itself after about a second and a half).
 */

import {
  Clock,
  cooperate,
  deferLater,
  LoopingCall,
  react,
  reactor,
  type IDelayedCall,
  type IReactorTime,
} from "torsion";

// --- callLater: run a function once, later ---------------------------------------------------

function callLaterExample(): Promise<void> {
  return new Promise((resolve) => {
    const started = reactor.seconds();
    reactor.callLater(0.2, (greeting: string) => {
      console.log(`callLater: ${greeting} after ${(reactor.seconds() - started).toFixed(1)}s`);
      resolve();
    }, "hello");

    // A DelayedCall can be cancelled (or reset, or delayed) until it has run.
    const never = reactor.callLater(0.1, () => console.log("this never prints"));
    never.cancel();
    console.log(`callLater: cancelled call active? ${never.active()}`);
  });
}

// --- LoopingCall: run a function every interval ---------------------------------------------

async function loopingCallExample(): Promise<void> {
  let ticks = 0;
  const loop = new LoopingCall(() => {
    ticks += 1;
    console.log(`LoopingCall: tick ${ticks}`);
    if (ticks === 3) loop.stop(); // fires the Deferred start() returned
  });
  // start() calls the function now, then every 0.1 s; its Deferred fires when the loop stops.
  const stopped = await loop.start(0.1);
  console.log(`LoopingCall: stopped, ${stopped === loop ? "the Deferred fired with the loop" : "?"}`);
}

// --- deferLater: a Deferred that fires after a delay ------------------------------------------

async function deferLaterExample(): Promise<void> {
  const d = deferLater(reactor, 0.2, (x: number, y: number) => x + y, 2, 3);
  console.log(`deferLater: 2 + 3 = ${await d}`);
}

// --- cooperate: split a long job into steps that share the event loop -------------------------

async function cooperateExample(): Promise<void> {
  let total = 0;
  function* sumChunks(upTo: number): Generator<void> {
    for (let start = 0; start < upTo; start += 10_000) {
      for (let i = start; i < Math.min(upTo, start + 10_000); i++) total += i;
      yield; // let the reactor (timers, sockets) run between chunks
    }
  }
  const task = cooperate(sumChunks(1_000_000));
  await task.whenDone();
  console.log(`cooperate: sum of 0..999999 = ${total}`);
}

// --- Testing with Clock: advance time instead of sleeping -------------------------------------

/** Code under test: calls `onTimeout` unless `pong()` is called within `timeout` seconds. */
class Pinger {
  private readonly timer: IDelayedCall;
  constructor(clock: IReactorTime, timeout: number, onTimeout: () => void) {
    this.timer = clock.callLater(timeout, onTimeout);
  }
  pong(): void {
    if (this.timer.active()) this.timer.cancel();
  }
}

function clockExample(): void {
  const clock = new Clock();
  let timedOut = false;
  new Pinger(clock, 30, () => (timedOut = true));
  clock.advance(29.9);
  console.log(`Clock: after 29.9 s timed out? ${timedOut}`);
  clock.advance(0.1);
  console.log(`Clock: after 30 s timed out? ${timedOut}`);
}

// --- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  clockExample();
  await callLaterExample();
  await loopingCallExample();
  await deferLaterExample();
  await cooperateExample();
}

// Run the reactor until main() is done; exit status 0, or 1 with the error logged (task.react).
await react(main);
