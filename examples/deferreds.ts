/**
 * The examples of docs/deferreds.md, run in turn: callbacks and errbacks, chaining, returning
 * a Deferred from a callback, cancellation, timeouts, DeferredList/gatherResults,
 * inlineCallbacks (and its cancellation), and Promise interop. Runs and exits:
 *
 *     npx tsc -p . && node build/examples/deferreds.js
 */

import {
  CancelledError,
  Deferred,
  DeferredList,
  ensureDeferred,
  fail,
  gatherResults,
  inlineCallbacks,
  react,
  reactor,
  succeed,
  TimeoutError,
  type Failure,
} from "torsion";

// --- callbacks and errbacks ---------------------------------------------------------------
/** A pretend network call: a Deferred that fires with `value` after `seconds`. */
function getData(value: number, seconds = 0.05): Deferred<number> {
  const d = new Deferred<number>();
  reactor.callLater(seconds, () => d.callback(value));
  return d;
}

function basics(): Deferred<void> {
  const d = getData(3);
  d.addCallback((x) => x * 2);
  d.addCallback((x) => {
    if (x > 5) throw new RangeError(`${x} is too big`);
    return x;
  });
  d.addErrback((failure: Failure) => {
    failure.trap(RangeError); // any other error goes on down the chain
    console.log(`errback: ${failure.getErrorMessage()}; recovering with 0`);
    return 0;
  });
  return d.addCallback((x) => {
    console.log(`callback: the result is ${x}`);
  });
}

// --- returning a Deferred from a callback -------------------------------------------------
function chaining(): Deferred<void> {
  return getData(1)
    .addCallback((id) => getData(id + 41)) // the chain waits for the inner Deferred
    .addCallback((answer) => {
      console.log(`chaining: the inner Deferred gave ${answer}`);
    });
}

// --- cancellation -------------------------------------------------------------------------
function cancellation(): void {
  const call = reactor.callLater(10, () => d.callback("too late"));
  const d = new Deferred<string>(() => {
    call.cancel(); // the canceller stops the work; the Deferred then fails with CancelledError
    console.log("cancellation: the canceller stopped the pending call");
  });
  d.addErrback((f) => {
    f.trap(CancelledError);
    console.log("cancellation: the Deferred failed with CancelledError");
  });
  d.cancel();
}

// --- timeouts -----------------------------------------------------------------------------
function timeouts(): Deferred<unknown> {
  const slow = getData(99, 5).addTimeout(0.1, reactor);
  return slow.addErrback((f) => {
    f.trap(TimeoutError);
    console.log(`timeout: ${f.getErrorMessage()}`);
  });
}

// --- DeferredList and gatherResults --------------------------------------------------------
function lists(): Deferred<void> {
  const dl = new DeferredList<unknown>([succeed("a"), fail(new Error("b failed")), getData(3)], { consumeErrors: true });
  dl.addCallback((pairs) => {
    const shown = pairs.map(([ok, r]) => (ok ? `ok ${String(r)}` : `failed: ${(r as Failure).getErrorMessage()}`));
    console.log(`DeferredList: ${shown.join(", ")}`);
  });
  return dl.addCallback(() =>
    gatherResults([getData(1), getData(2), getData(3)]).addCallback((results) => {
      console.log(`gatherResults: [${results.join(", ")}]`);
    }),
  );
}

// --- inlineCallbacks ------------------------------------------------------------------------
const addRemote = inlineCallbacks(function* (a: number, b: number) {
  const x: number = yield getData(a);
  const y: number = yield getData(b);
  return x + y;
});

const waitForever = inlineCallbacks(function* () {
  try {
    yield new Deferred<void>(); // never fires by itself
  } catch (e) {
    console.log(`inlineCallbacks: the generator saw ${(e as Error).name} and cleans up`);
    throw e;
  }
});

function inline(): Deferred<void> {
  return addRemote(20, 22).addCallback((sum) => {
    console.log(`inlineCallbacks: 20 + 22 = ${sum}`);
    const d = waitForever();
    d.addErrback((f) => {
      f.trap(CancelledError);
    });
    d.cancel();
  });
}

// --- Promise interop ----------------------------------------------------------------------
async function promises(): Promise<void> {
  const value = await getData(7); // a Deferred is PromiseLike
  console.log(`await: got ${value}`);
  try {
    await fail(new Error("boom"));
  } catch (e) {
    console.log(`await: caught ${(e as Error).message}`);
  }
  const fromAsync = ensureDeferred((async () => (await getData(2)) * 10)());
  fromAsync.addCallback((x) => {
    console.log(`ensureDeferred: an async function gave ${x}`);
  });
  await fromAsync;
  const d = succeed(1).addCallback(() => Promise.resolve("later")); // the chain waits for the Promise
  console.log(`Promise from a callback: ${await d}`);
}

async function main(): Promise<void> {
  await basics();
  await chaining();
  cancellation();
  await timeouts();
  await lists();
  await inline();
  await promises();
}

// Run the reactor until main() is done; exit status 0, or 1 with the error logged (task.react).
await react(main);
