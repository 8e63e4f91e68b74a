import { expect } from "chai";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Deferred, fail, succeed } from "../../lib/internet/deferred.js";
import { CancelledError, TimeoutError, WorkerDied } from "../../lib/internet/error.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { MemoryReactor } from "../../lib/internet/memory-reactor.js";
import { NodeReactor, reactor } from "../../lib/internet/reactor.js";
import type { ThreadPool } from "../../lib/internet/threadpool.js";
import {
  blockingCallFromThread,
  callFromThread,
  callInThread,
  callMultipleInThread,
  deferToThread,
  deferToThreadPool,
  exposeToThreads,
  getThreadPool,
  isInIOThread,
  stopThreadPool,
  suggestThreadPoolSize,
} from "../../lib/internet/threads.js";
import * as work from "../fixtures/thread-work.js";
import { Gate, HANG, makePool, outcome, stopPools } from "../fixtures/thread-helpers.js";
import { within } from "../support/wait.js";

/** Expose `fn` as `name` for one spec; undone in afterEach. */
const exposures: Array<() => void> = [];
function expose(name: string, fn: (...args: any[]) => unknown): void {
  exposures.push(exposeToThreads(name, fn));
}
function unexposeAll(): void {
  for (const undo of exposures.splice(0)) undo();
}

/** A Promise of the first call to the function exposed as `name`, with its arguments. */
function nextCall(name: string): Promise<unknown[]> {
  return new Promise((resolve) => expose(name, (...args: unknown[]) => resolve(args)));
}

/** A memory reactor's "during shutdown" triggers, run as the reactor would; their Deferreds. */
function fireShutdown(r: MemoryReactor): PromiseLike<unknown>[] {
  const hooks = r.triggers.during?.shutdown ?? [];
  r.triggers.during!.shutdown = [];
  return hooks.map(([f, args]) => f(...args)) as PromiseLike<unknown>[];
}

const memoryReactors: MemoryReactor[] = [];
function memoryReactor(): MemoryReactor {
  const r = new MemoryReactor();
  memoryReactors.push(r);
  return r;
}

async function cleanUp(): Promise<void> {
  unexposeAll();
  const logs = captureLogEvents();
  try {
    const stopping = memoryReactors.splice(0).map((r) => stopThreadPool(r, { grace: 1 }));
    stopping.push(stopThreadPool(reactor, { grace: 1 }));
    await within(Promise.all(stopping), 10, "the reactors' thread pools to stop");
    await stopPools();
  } finally {
    logs.stop();
  }
}

describe("ReactorThreadsTests", () => {
  afterEach(cleanUp);

  it("test_suggestThreadPoolSize: changes the most workers of the reactor's pool", () => {
    const r = memoryReactor();
    suggestThreadPoolSize(r, 34);
    expect(getThreadPool(r).max).to.equal(34);
    suggestThreadPoolSize(r, 4);
    expect(getThreadPool(r).max).to.equal(4);
  });

  it("test_callInThread: the work runs in a thread that is not the reactor's", async () => {
    const r = memoryReactor();
    const called = nextCall("spec.threads.inIOThread");
    callInThread(r, work.reportInIOThread, "spec.threads.inIOThread");
    expect(await within(called, HANG, "the report")).to.deep.equal([false]);
    expect(isInIOThread()).to.equal(true);
  });

  it("test_callFromThread: callFromThread works from the reactor's thread and from a worker", async () => {
    const r = memoryReactor();
    const fromReactor = nextCall("spec.threads.fromReactor");
    const fromWorker = nextCall("spec.threads.fromWorker");
    callInThread(r, work.report, "spec.threads.fromWorker", "worker");
    callFromThread("spec.threads.fromReactor", "reactor");
    const both = await within(Promise.all([fromReactor, fromWorker]), HANG, "both calls");
    expect(both).to.deep.equal([["reactor"], ["worker"]]);
  });

  it("test_wakerOverflow: a hundred thousand callFromThread calls from a worker all arrive, in order", async () => {
    const r = memoryReactor();
    let next = 0;
    let inOrder = true;
    expose("spec.threads.flood", (i: number) => {
      if (i !== next) inOrder = false;
      next = i + 1;
    });
    const done = nextCall("spec.threads.floodDone");
    callInThread(r, work.flood, "spec.threads.flood", 100_000, "spec.threads.floodDone");
    expect(await within(done, 20, "the flood's end")).to.deep.equal([100_000]);
    expect([next, inOrder]).to.deep.equal([100_000, true]);
  });

  describe("blockingCallFromThread", () => {
    // One pool for the calls of a spec: each new pool would wait for another worker to start.
    let pool: ThreadPool | null = null;
    afterEach(() => {
      pool = null;
    });
    async function blockingCall(name: string, ...args: unknown[]): Promise<work.CallOutcome> {
      if (pool === null) {
        pool = makePool();
        pool.start();
      }
      return within(deferToThreadPool(reactor, pool, work.blockingCall, name, ...args), HANG, `blockingCall(${name})`);
    }

    it("test_blockingCallFromThread: returns the result of a Deferred that has fired", async () => {
      expose("spec.threads.foo", () => succeed("foo"));
      expect(await blockingCall("spec.threads.foo")).to.deep.equal({ ok: true, value: "foo" });
    });

    it("test_asyncBlockingCallFromThread: waits for a Deferred that fires later", async () => {
      expose("spec.threads.egg", () => {
        const d = new Deferred<string>();
        reactor.callLater(0.05, () => d.callback("egg"));
        return d;
      });
      expect(await blockingCall("spec.threads.egg")).to.deep.equal({ ok: true, value: "egg" });
    });

    it("test_errorBlockingCallFromThread: raises the error of a failed Deferred in the worker, as its own class", async () => {
      expose("spec.threads.bar", () => fail(new TimeoutError("bar")));
      expect(await blockingCall("spec.threads.bar")).to.include({ ok: false, name: "TimeoutError", message: "bar", isTimeoutError: true });
    });

    it("test_asyncErrorBlockingCallFromThread: raises the error of a Deferred that fails later", async () => {
      expose("spec.threads.spam", () => {
        const d = new Deferred<string>();
        reactor.callLater(0.05, () => d.errback(new RangeError("spam")));
        return d;
      });
      expect(await blockingCall("spec.threads.spam")).to.include({ ok: false, name: "RangeError", message: "spam", isRangeError: true });
    });

    it("returns a plain value, awaits a Promise, and re-raises what the function throws", async () => {
      expose("spec.threads.plain", (x: number) => x + 1);
      expose("spec.threads.promise", async (x: number) => x * 2);
      expose("spec.threads.throws", () => {
        throw new RangeError("thrown on the main side");
      });
      expect(await blockingCall("spec.threads.plain", 1)).to.deep.equal({ ok: true, value: 2 });
      expect(await blockingCall("spec.threads.promise", 4)).to.deep.equal({ ok: true, value: 8 });
      expect(await blockingCall("spec.threads.throws")).to.include({ ok: false, message: "thrown on the main side", isRangeError: true });
    });

    it("raises a clear error for a name nothing was exposed as, and for a result that cannot be cloned", async () => {
      expose("spec.threads.fn", () => () => 1);
      expect(await blockingCall("spec.threads.nothing")).to.include({ ok: false }).and.to.have.property("message").that.matches(/no function is exposed/);
      expect(await blockingCall("spec.threads.fn")).to.include({ ok: false, name: "DataCloneError" });
    });

    it("a worker waiting on a Deferred that never fires can be terminated, and its task fails with WorkerDied", async () => {
      const pool = makePool({ maxthreads: 1 });
      pool.start();
      const called = nextCall("spec.threads.called");
      expose("spec.threads.never", () => {
        callFromThread("spec.threads.called");
        return new Deferred();
      });
      const { onResult, done } = outcome();
      const handle = pool.callInThreadWithCallback(onResult, work.blockingCallRaw, "spec.threads.never");
      await within(called, HANG, "the blocking call to arrive");
      handle.terminate();
      const result = await within(done, HANG, "the terminated task");
      expect(result.success === false && result.failure.value).to.be.instanceOf(WorkerDied);
      const after = outcome<number>();
      pool.callInThreadWithCallback(after.onResult, work.add, 1, 2);
      expect(await within(after.done, HANG, "the next task")).to.deep.equal({ success: true, result: 3 });
    });

    it("cannot be used on the reactor's thread, where it would wait for itself", () => {
      expect(() => blockingCallFromThread("spec.threads.anything")).to.throw(/reactor's thread/);
    });
  });

  it("exposeToThreads refuses a name already taken and undoes only its own exposure", () => {
    const undo = exposeToThreads("spec.threads.taken", () => 1);
    try {
      expect(() => exposeToThreads("spec.threads.taken", () => 2)).to.throw(/already exposed/);
    } finally {
      undo();
    }
    const undoAgain = exposeToThreads("spec.threads.taken", () => 3);
    undo();
    expect(() => exposeToThreads("spec.threads.taken", () => 4)).to.throw(/already exposed/);
    undoAgain();
  });

  it("callFromThread on the reactor's thread logs the error of the function it calls", async () => {
    const logs = captureLogEvents();
    try {
      const called = new Promise<void>((resolve) =>
        expose("spec.threads.failing", () => {
          resolve();
          throw new RangeError("failed later");
        }),
      );
      callFromThread("spec.threads.failing");
      await within(called, HANG, "the call");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["failed later"]);
    } finally {
      logs.stop();
    }
  });
});

describe("DeferredResultTests", () => {
  afterEach(cleanUp);

  it("test_callMultiple: callMultipleInThread runs the calls in order in one thread", async () => {
    const reported = nextCall("spec.threads.appended");
    callMultipleInThread([...Array.from({ length: 10 }, (_, i) => [work.append, [i]] as const), [work.reportAppended, ["spec.threads.appended"]]]);
    expect(await within(reported, HANG, "the report")).to.deep.equal([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });

  it("test_deferredResult: deferToThread runs the function with the arguments given", async () => {
    expect(await within(deferToThread(work.add, 3, 4), HANG, "deferToThread")).to.equal(7);
    expect(await within(deferToThread(work.add, 3), HANG, "deferToThread")).to.equal(8);
  });

  it("test_deferredFailure: deferToThread errbacks with the error the function raised", async () => {
    const err = await within(
      deferToThread(work.raiseError).then(
        () => null,
        (e: Error) => e,
      ),
      HANG,
      "deferToThread",
    );
    expect(err).to.have.property("name", "NewError");
  });

  it("test_deferredFailureAfterSuccess: a failure after a success is still a failure", async () => {
    const d = deferToThread(work.add, 1, 1).addCallback(() => deferToThread(work.divideByZero));
    const err = await within(
      d.then(
        () => null,
        (e: Error) => e,
      ),
      HANG,
      "the chain",
    );
    expect(err).to.be.instanceOf(RangeError);
  });
});

describe("DeferToThreadPoolTests", () => {
  afterEach(cleanUp);

  it("test_deferredResult: deferToThreadPool runs the function with the arguments given", async () => {
    const pool = makePool();
    pool.start();
    expect(await within(deferToThreadPool(reactor, pool, work.add, 3, 4), HANG, "deferToThreadPool")).to.equal(7);
  });

  it("test_deferredFailure: deferToThreadPool errbacks with the error the function raised", async () => {
    const pool = makePool();
    pool.start();
    const d = deferToThreadPool(reactor, pool, work.raiseError, "pool");
    const err = await within(
      d.then(
        () => null,
        (e: Error) => e,
      ),
      HANG,
      "deferToThreadPool",
    );
    expect(err).to.have.property("message", "pool");
  });

  it("cancelling the Deferred of a queued task removes the task: CancelledError, and it never runs", async () => {
    const pool = makePool({ maxthreads: 1 });
    pool.start();
    const gate = new Gate();
    const first = deferToThreadPool(reactor, pool, work.waitForRelease, gate.shared);
    const second = deferToThreadPool(reactor, pool, work.exitNow, 4);
    second.cancel();
    const err = await second.then(
      () => null,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(CancelledError);
    expect(pool.queued).to.equal(0);
    gate.release();
    expect(await within(first, HANG, "the first task")).to.equal(true);
    expect(pool.workersReplaced).to.equal(0);
  });

  it("cancelling the Deferred of a running task errbacks at once; the task's late result is dropped", async () => {
    const pool = makePool({ maxthreads: 1 });
    pool.start();
    const gate = new Gate();
    const d = deferToThreadPool(reactor, pool, work.waitForRelease, gate.shared);
    await gate.started();
    d.cancel();
    const err = await d.then(
      () => null,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(CancelledError);
    gate.release();
    expect(await within(deferToThreadPool(reactor, pool, work.add, 1, 1), HANG, "the next task")).to.equal(2);
    expect(pool.completed).to.equal(2);
  });
});

describe("the reactor's thread pool", () => {
  afterEach(cleanUp);

  it("is one pool per reactor, as Twisted's (0 to 10 workers), started on first use", () => {
    const r = memoryReactor();
    const pool = getThreadPool(r);
    expect(getThreadPool(r)).to.equal(pool);
    expect(getThreadPool(memoryReactor())).to.not.equal(pool);
    expect([pool.started, pool.min, pool.max, pool.workers]).to.deep.equal([true, 0, 10, 0]);
    expect(r.triggers.during?.shutdown).to.have.length(1);
  });

  it("is stopped during the reactor's shutdown, which waits for running work; the next use makes a new pool", async () => {
    const r = memoryReactor();
    const pool = getThreadPool(r);
    const gate = new Gate();
    const running = deferToThreadPool(r, pool, work.waitForRelease, gate.shared);
    await gate.started();
    const [stopping] = fireShutdown(r);
    let stopped = false;
    void Promise.resolve(stopping).then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect([stopped, pool.joined, pool.busy]).to.deep.equal([false, true, 1]);
    gate.release();
    expect(await within(running, HANG, "the running task")).to.equal(true);
    await within(stopping!, HANG, "the shutdown trigger");
    expect(pool.workers).to.equal(0);
    expect(getThreadPool(r)).to.not.equal(pool);
  });

  it("makes a running reactor's shutdown, and so its run(), wait for running work", async () => {
    const r = new NodeReactor();
    const running = r.run();
    let ran = false;
    void running.then(() => (ran = true));
    const gate = new Gate();
    const pool = getThreadPool(r);
    const task = deferToThreadPool(r, pool, work.waitForRelease, gate.shared);
    // Added after the pool's trigger, so it runs after it.
    const shuttingDown = new Promise<void>((resolve) => r.addSystemEventTrigger("during", "shutdown", resolve));
    await gate.started();
    r.stop();
    await within(shuttingDown, HANG, "the shutdown event");
    await new Promise((resolve) => setImmediate(resolve));
    expect([ran, pool.joined, pool.busy]).to.deep.equal([false, true, 1]);
    gate.release();
    await within(running, HANG, "run() to settle");
    expect(await task).to.equal(true);
  });

  it("stopThreadPool stops it now and removes its shutdown trigger", async () => {
    const r = memoryReactor();
    const pool = getThreadPool(r);
    await within(stopThreadPool(r), HANG, "stopThreadPool");
    expect([pool.joined, r.triggers.during?.shutdown?.length]).to.deep.equal([true, 0]);
    await within(stopThreadPool(r), HANG, "stopThreadPool with no pool");
  });

  it("is refused inside a pool worker, so a module's main code imported by a worker cannot start pools", async () => {
    const pool = makePool();
    pool.start();
    const said = await within(deferToThreadPool(reactor, pool, work.askForReactorPool), HANG, "the task");
    expect(said).to.match(/inside a pool worker/);
  });
});

describe("StartupBehaviorTests", () => {
  it("testCallBeforeStartupUnexecuted (adapted): a program using the reactor's pool without running the reactor exits when its work is done", async function () {
    this.timeout(20_000);
    const program = fileURLToPath(new URL("../fixtures/thread-program.js", import.meta.url));
    const { code, stdout, stderr } = await within(
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [program], { timeout: 15_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
        });
        child.stdin?.end();
      }),
      18,
      "the program to exit",
    );
    expect({ code, stdout, stderr }).to.deep.equal({ code: 0, stdout: "3\n", stderr: "" });
  });
});
