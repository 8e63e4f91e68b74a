import { expect } from "chai";
import { CancelledError, TimeoutError, WorkerDied } from "../../lib/internet/error.js";
import { NonErrorThrown } from "../../lib/internet/failure.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { ThreadPool } from "../../lib/internet/threadpool.js";
import { exposeToThreads } from "../../lib/internet/thread-bridge.js";
import { workRef } from "../../lib/internet/work-ref.js";
import * as work from "../fixtures/thread-work.js";
import { Gate, HANG, failureOf, makePool, outcome, stopPools } from "../fixtures/thread-helpers.js";
import { within } from "../support/wait.js";

const gc = (globalThis as { gc?: () => void }).gc;

describe("ThreadPoolTests", function () {
  let logs: LogCapture | undefined;
  afterEach(async () => {
    logs?.stop();
    logs = undefined;
    await stopPools();
  });

  it("test_attributes: min and max are the sizes given to the constructor", () => {
    const pool = new ThreadPool({ minthreads: 12, maxthreads: 22 });
    expect([pool.min, pool.max]).to.deep.equal([12, 22]);
    const defaults = new ThreadPool();
    expect([defaults.min, defaults.max]).to.deep.equal([5, 20]);
  });

  it("test_start: start() starts the minimum number of workers", () => {
    const none = makePool({ minthreads: 0, maxthreads: 2 });
    none.start();
    expect(none.workers).to.equal(0);
    const two = makePool({ minthreads: 2, maxthreads: 2 });
    expect(two.workers).to.equal(0);
    two.start();
    expect(two.workers).to.equal(2);
  });

  it("test_adjustingWhenPoolStopped: adjustPoolsize on a stopped pool starts no workers", async () => {
    const pool = makePool();
    pool.start();
    await within(pool.stop(), HANG, "stop()");
    pool.adjustPoolsize(2, 2);
    expect([pool.min, pool.workers]).to.deep.equal([2, 0]);
  });

  it("test_threadCreationArguments: the pool keeps no reference to a task's arguments once it ran", async function () {
    if (!gc) this.skip();
    const pool = makePool({ maxthreads: 1 });
    pool.start();
    let unique: object | undefined = { unique: true };
    const uniqueRef = new WeakRef(unique);
    const { onResult, done } = outcome();
    const handle = pool.callInThreadWithCallback(onResult, work.echo, unique);
    unique = undefined;
    await within(done, HANG, "the task");
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs hold until the job ends
    gc!();
    expect(uniqueRef.deref()).to.equal(undefined);
    expect(handle.state).to.equal("done"); // the handle, still held, does not pin them either
  });

  it("test_threadCreationArgumentsCallInThreadWithCallback: no reference to onResult, arguments or result afterwards", async function () {
    if (!gc) this.skip();
    const pool = makePool({ maxthreads: 1 });
    pool.start();
    let unique: object | undefined = { unique: true };
    const uniqueRef = new WeakRef(unique);
    let resultRef: WeakRef<object> | undefined;
    let fired!: () => void;
    const finished = new Promise<void>((resolve) => (fired = resolve));
    let onResult: ((success: boolean, result: unknown) => void) | undefined = (_success, result) => {
      resultRef = new WeakRef(result as object);
      fired();
    };
    const onResultRef = new WeakRef(onResult);
    const handle = pool.callInThreadWithCallback(onResult, work.echo, unique);
    unique = undefined;
    onResult = undefined;
    await within(finished, HANG, "onResult");
    await new Promise((resolve) => setImmediate(resolve));
    gc!();
    expect(uniqueRef.deref()).to.equal(undefined);
    expect(onResultRef.deref()).to.equal(undefined);
    expect(resultRef!.deref()).to.equal(undefined);
    expect(handle.state).to.equal("done");
  });

  it("test_callInThread: ten calls given with callInThread all run", async () => {
    const pool = makePool();
    pool.start();
    const seen: number[] = [];
    let allSeen!: () => void;
    const all = new Promise<void>((resolve) => (allSeen = resolve));
    const undo = exposeToThreads("spec.threadpool.count", (i: number) => {
      seen.push(i);
      if (seen.length === 10) allSeen();
    });
    try {
      for (let i = 0; i < 10; i++) pool.callInThread(work.report, "spec.threadpool.count", i);
      await within(all, HANG, "ten calls to report");
      expect([...seen].sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      undo();
    }
  });

  it("test_callInThreadException: callInThread logs the error the work raised", async () => {
    logs = captureLogEvents();
    const pool = makePool({ maxthreads: 1 });
    pool.callInThread(work.raiseError, "logged");
    pool.start();
    await within(pool.stop(), HANG, "stop() after the work");
    const failures = logs.failures();
    expect(failures).to.have.length(1);
    expect(failures[0]!.value.name).to.equal("NewError");
    expect(failures[0]!.getErrorMessage()).to.equal("logged");
  });

  it("test_callInThreadWithCallback: onResult gets (true, result)", async () => {
    const pool = makePool({ maxthreads: 1 });
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, work.echo, "test");
    pool.start();
    expect(await within(done, HANG, "onResult")).to.deep.equal({ success: true, result: "test" });
  });

  it("test_callInThreadWithCallbackExceptionInCallback: onResult gets (false, failure) for the error raised", async () => {
    const pool = makePool({ maxthreads: 1 });
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, work.raiseError);
    pool.start();
    const result = await within(done, HANG, "onResult");
    expect(result.success).to.equal(false);
    expect(failureOf(result).constructor.name).to.equal("NewError");
  });

  it("test_callInThreadWithCallbackExceptionInOnResult: an error raised by onResult is logged", async () => {
    logs = captureLogEvents();
    const pool = makePool({ maxthreads: 1 });
    const results: unknown[] = [];
    pool.callInThreadWithCallback(
      (success, result) => {
        results.push(success, result);
        throw new work.NewError("in onResult");
      },
      work.echo,
      null,
    );
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, work.echo, 1);
    pool.start();
    await within(done, HANG, "the second task");
    expect(results).to.deep.equal([true, null]);
    expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["in onResult"]);
  });

  it("test_existingWork: work given before start() runs once the pool starts", async () => {
    const pool = makePool({ maxthreads: 1 });
    const { onResult, done } = outcome<number>();
    pool.callInThreadWithCallback(onResult, work.add, 1, 2);
    expect([pool.queued, pool.workers]).to.deep.equal([1, 0]);
    pool.start();
    expect(await within(done, HANG, "the queued work")).to.deep.equal({ success: true, result: 3 });
  });

  it("test_workerStateTransition: a worker goes from waiting to working and back", async () => {
    const pool = makePool({ maxthreads: 1 });
    pool.start();
    expect([pool.workers, pool.idle, pool.busy]).to.deep.equal([0, 0, 0]);
    const gate = new Gate();
    const { onResult, done } = outcome<boolean>();
    pool.callInThreadWithCallback(onResult, work.waitForRelease, gate.shared);
    await gate.started();
    expect([pool.workers, pool.idle, pool.busy]).to.deep.equal([1, 0, 1]);
    gate.release();
    expect(await within(done, HANG, "the released task")).to.deep.equal({ success: true, result: true });
    expect([pool.workers, pool.idle, pool.busy]).to.deep.equal([1, 1, 0]);
  });
});

describe("RaceConditionTests", () => {
  afterEach(stopPools);

  it("test_synchronization: with spare capacity, work that releases blocked workers runs at once", async () => {
    const pool = makePool({ maxthreads: 4 });
    pool.start();
    const gate = new Gate();
    const waits = [1, 2, 3].map(() => {
      const { onResult, done } = outcome<boolean>();
      pool.callInThreadWithCallback(onResult, work.waitForRelease, gate.shared);
      return done;
    });
    await gate.started(3);
    pool.callInThread(work.release, gate.shared);
    const results = await within(Promise.all(waits), HANG, "the three waiting tasks");
    expect(results.map((r) => r.success && r.result)).to.deep.equal([true, true, true]);
  });
});

describe("MemoryBackedTests", () => {
  afterEach(stopPools);

  it("test_workBeforeStarting: start() starts enough workers for the work given before it", () => {
    const pool = makePool({ minthreads: 0, maxthreads: 10 });
    for (let i = 0; i < 3; i++) pool.callInThread(work.echo, i);
    expect(pool.workers).to.equal(0);
    pool.start();
    expect([pool.workers, pool.busy, pool.queued]).to.deep.equal([3, 3, 0]);
  });

  it("test_tooMuchWorkBeforeStarting: no more than max workers start for a backlog", () => {
    const pool = makePool({ minthreads: 0, maxthreads: 2 });
    for (let i = 0; i < 6; i++) pool.callInThread(work.echo, i);
    pool.start();
    expect([pool.workers, pool.busy, pool.queued]).to.deep.equal([2, 2, 4]);
  });
});

describe("ThreadPool over worker threads", () => {
  let logs: LogCapture | undefined;
  afterEach(async () => {
    logs?.stop();
    logs = undefined;
    await stopPools();
  });

  function started(options?: { minthreads?: number; maxthreads?: number }): ThreadPool {
    const pool = makePool(options);
    pool.start();
    return pool;
  }

  it("an error raised in the worker fails the task with the worker's message, stack, class name and properties", async () => {
    const pool = started();
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, work.raiseError, "from the worker");
    const err = failureOf(await within(done, HANG, "the task")) as Error & { code?: string };
    expect(err).to.be.instanceOf(Error);
    expect(err.message).to.equal("from the worker");
    expect(err.name).to.equal("NewError");
    expect(err.constructor.name).to.equal("NewError");
    expect(err.code).to.equal("E_NEW");
    expect(err.stack).to.contain("from the worker").and.to.contain("thread-work.js");
  });

  it("torsion's error classes and the built-in ones arrive as themselves; a thrown non-Error as NonErrorThrown", async () => {
    const pool = started();
    const timeout = outcome();
    const range = outcome();
    const str = outcome();
    pool.callInThreadWithCallback(timeout.onResult, work.raiseTimeout);
    pool.callInThreadWithCallback(range.onResult, work.divideByZero);
    pool.callInThreadWithCallback(str.onResult, work.throwString);
    const [t, r, s] = await within(Promise.all([timeout.done, range.done, str.done]), HANG, "the tasks");
    expect(failureOf(t)).to.be.instanceOf(TimeoutError).and.to.have.property("message", "timed out in the worker");
    expect(failureOf(r)).to.be.instanceOf(RangeError);
    const thrown = failureOf(s);
    expect(thrown).to.be.instanceOf(NonErrorThrown);
    expect((thrown as NonErrorThrown).thrown).to.equal("boom");
  });

  it("runs async work and reports its fulfilled value", async () => {
    const pool = started();
    const { onResult, done } = outcome<number>();
    pool.callInThreadWithCallback(onResult, work.asyncDouble, 21);
    expect(await within(done, HANG, "the task")).to.deep.equal({ success: true, result: 42 });
  });

  it("imports a work module once per worker: its state lasts from one task to the next", async () => {
    const pool = started({ maxthreads: 1 });
    const { onResult, done } = outcome();
    let got!: (values: number[]) => void;
    const reported = new Promise<number[]>((resolve) => (got = resolve));
    const undo = exposeToThreads("spec.threadpool.appended", (values: number[]) => got(values));
    try {
      pool.callInThread(work.append, 1);
      pool.callInThread(work.append, 2);
      pool.callInThreadWithCallback(onResult, work.reportAppended, "spec.threadpool.appended");
      await within(done, HANG, "the tasks");
      expect(await within(reported, HANG, "the report")).to.deep.equal([1, 2]);
    } finally {
      undo();
    }
  });

  it("runs a WorkRef as well as a threadable function, and refuses a plain function at once", async () => {
    const pool = started();
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, workRef(new URL("../fixtures/thread-work.js", import.meta.url), "add"), 2, 3);
    expect(await within(done, HANG, "the task")).to.deep.equal({ success: true, result: 5 });
    const callInThread = pool.callInThread.bind(pool) as (work: unknown) => unknown;
    expect(() => callInThread(work.notThreadable)).to.throw(TypeError, /threadable/);
  });

  it("fails a task naming a missing export or one that is not a function", async () => {
    const pool = started();
    const missing = outcome();
    const notFunction = outcome();
    const module = new URL("../fixtures/thread-work.js", import.meta.url);
    pool.callInThreadWithCallback(missing.onResult, workRef(module, "noSuchExport"));
    pool.callInThreadWithCallback(notFunction.onResult, workRef(module, "notAFunction"));
    const [m, n] = await within(Promise.all([missing.done, notFunction.done]), HANG, "the tasks");
    expect(failureOf(m)).to.be.instanceOf(TypeError).and.to.match(/no export named "noSuchExport"/);
    expect(failureOf(n)).to.be.instanceOf(TypeError).and.to.match(/not a function/);
  });

  it("fails a task whose arguments or result cannot be cloned, and the worker stays usable", async () => {
    const pool = started({ maxthreads: 1 });
    const badArgs = outcome();
    const badResult = outcome();
    const after = outcome();
    pool.callInThreadWithCallback(badArgs.onResult, work.echo, (() => 1) as never);
    pool.callInThreadWithCallback(badResult.onResult, work.returnFunction);
    pool.callInThreadWithCallback(after.onResult, work.add, 1, 1);
    const [a, r, n] = await within(Promise.all([badArgs.done, badResult.done, after.done]), HANG, "the tasks");
    expect(failureOf(a).name).to.equal("DataCloneError");
    expect(failureOf(r).name).to.equal("DataCloneError");
    expect(n).to.deep.equal({ success: true, result: 2 });
    expect([pool.workersReplaced, pool.completed, pool.failed]).to.deep.equal([0, 1, 2]);
  });

  it("moves what the transfer list names to the worker", async () => {
    const pool = started();
    const bytes = new Uint8Array([1, 2, 3]);
    const { onResult, done } = outcome();
    pool.submit(work.echo, [bytes], { onResult, transfer: [bytes.buffer] });
    expect(bytes.byteLength).to.equal(0);
    const result = await within(done, HANG, "the task");
    expect(result.success && [...(result.result as Uint8Array)]).to.deep.equal([1, 2, 3]);
  });

  it("submit with its arguments as a function: called once, when a worker takes the task; never for a task cancelled in the queue; its error fails the task", async () => {
    const pool = started({ minthreads: 1, maxthreads: 1 });
    const shared = new SharedArrayBuffer(8);
    const calls: string[] = [];
    // The one worker is busy, so the tasks below wait in the queue.
    const blocker = outcome();
    pool.submit(work.waitForRelease, [shared], { onResult: blocker.onResult });
    const late = outcome();
    pool.submit(work.add, () => (calls.push("late"), [2, 3] as [number, number]), { onResult: late.onResult });
    const cancelled = pool.submit(work.add, () => (calls.push("cancelled"), [0, 0] as [number, number]));
    const failing = outcome();
    pool.submit(work.add, () => {
      throw new RangeError("no arguments today");
    }, { onResult: failing.onResult });
    expect(calls, "nothing computed while queued").to.deep.equal([]);
    expect(cancelled.cancel()).to.equal(true);
    const flags = new Int32Array(shared);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await within(blocker.done, HANG, "the blocker");
    expect(await within(late.done, HANG, "the late task")).to.deep.include({ success: true, result: 5 });
    const f = await within(failing.done, HANG, "the failing task");
    expect(failureOf(f)).to.be.an.instanceOf(RangeError);
    expect(calls).to.deep.equal(["late"]);
  });

  it("callMultipleInThread runs the calls in order in one worker and gives all their results", async () => {
    const pool = started();
    const { onResult, done } = outcome<unknown[]>();
    pool.callMultipleInThread(
      [
        [work.add, [1, 1]],
        [work.threadInfo],
        [work.threadInfo],
      ],
      onResult,
    );
    const result = await within(done, HANG, "the task");
    if (!result.success) throw result.failure.value;
    const [sum, first, second] = result.result as [number, { threadId: number }, { threadId: number }];
    expect(sum).to.equal(2);
    expect(first.threadId).to.equal(second.threadId);
  });

  it("a worker that exits mid-task fails that task with WorkerDied and is replaced; the next task runs", async () => {
    const pool = started({ maxthreads: 1 });
    const dying = outcome();
    const next = outcome<number>();
    const handle = pool.callInThreadWithCallback(dying.onResult, work.exitNow, 3);
    pool.callInThreadWithCallback(next.onResult, work.add, 2, 2);
    const err = failureOf(await within(dying.done, HANG, "the dying task"));
    expect(err).to.be.instanceOf(WorkerDied);
    expect(err.message).to.contain("exited with code 3").and.to.contain("exitNow");
    expect(await within(next.done, HANG, "the next task")).to.deep.equal({ success: true, result: 4 });
    expect(handle.worker!.id).to.equal(1);
    expect([pool.workers, pool.workersReplaced, pool.failed, pool.completed]).to.deep.equal([1, 1, 1, 1]);
  });

  it("a worker killed by an error thrown outside the task fails the task with WorkerDied, the error as its cause", async () => {
    const pool = started({ maxthreads: 1 });
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, work.crashLater, "outside the task");
    const err = failureOf(await within(done, HANG, "the task")) as WorkerDied;
    expect(err).to.be.instanceOf(WorkerDied);
    expect(err.message).to.contain("outside the task");
    expect((err.cause as Error).message).to.equal("outside the task");
    const after = outcome<number>();
    pool.callInThreadWithCallback(after.onResult, work.add, 1, 2);
    expect(await within(after.done, HANG, "a later task")).to.deep.equal({ success: true, result: 3 });
    expect(pool.workersReplaced).to.equal(1);
  });

  it("terminating a task stuck in a loop ends its worker, fails it with WorkerDied, and the pool replaces the worker", async () => {
    const pool = started({ maxthreads: 1 });
    const stuck = outcome();
    const next = outcome<number>();
    const handle = pool.callInThreadWithCallback(stuck.onResult, work.spin);
    pool.callInThreadWithCallback(next.onResult, work.add, 1, 1);
    expect([handle.state, handle.worker!.id]).to.deep.equal(["running", 1]);
    expect(handle.terminate("over its time budget")).to.equal(true);
    const err = failureOf(await within(stuck.done, HANG, "the terminated task"));
    expect(err).to.be.instanceOf(WorkerDied);
    expect(err.message).to.contain("over its time budget");
    expect(await within(next.done, HANG, "the next task")).to.deep.equal({ success: true, result: 2 });
    expect([handle.state, pool.terminated, pool.workersReplaced, pool.workers]).to.deep.equal(["done", 1, 1, 1]);
    expect(handle.terminate()).to.equal(false);
  });

  it("terminateTask finds a running task by its id", async () => {
    const pool = started({ maxthreads: 1 });
    const { onResult, done } = outcome();
    const handle = pool.callInThreadWithCallback(onResult, work.spin);
    expect(pool.terminateTask(handle.id + 100)).to.equal(false);
    expect(pool.terminateTask(handle.id)).to.equal(true);
    expect(failureOf(await within(done, HANG, "the task"))).to.be.instanceOf(WorkerDied);
  });

  it("cancelling a queued task removes it: it fails with CancelledError and never runs", async () => {
    const pool = started({ maxthreads: 1 });
    const gate = new Gate();
    const first = outcome<boolean>();
    const second = outcome();
    pool.callInThreadWithCallback(first.onResult, work.waitForRelease, gate.shared);
    const queued = pool.callInThreadWithCallback(second.onResult, work.exitNow, 9);
    expect([queued.state, queued.worker, pool.queued]).to.deep.equal(["queued", null, 1]);
    expect(queued.cancel()).to.equal(true);
    expect(failureOf(await second.done)).to.be.instanceOf(CancelledError);
    expect([pool.queued, pool.cancelled]).to.deep.equal([0, 1]);
    gate.release();
    expect(await within(first.done, HANG, "the first task")).to.deep.equal({ success: true, result: true });
    expect([pool.workersReplaced, pool.failed]).to.deep.equal([0, 0]);
  });

  it("stop() waits for running work, then every worker has exited", async () => {
    const pool = started({ minthreads: 1, maxthreads: 2 });
    const gate = new Gate();
    const running = outcome<boolean>();
    pool.callInThreadWithCallback(running.onResult, work.waitForRelease, gate.shared);
    await gate.started();
    let stopped = false;
    const stopping = pool.stop();
    stopping.addCallback(() => {
      stopped = true;
    });
    const refused = outcome();
    pool.callInThreadWithCallback(refused.onResult, work.add, 1, 1);
    expect(failureOf(await refused.done)).to.be.instanceOf(WorkerDied);
    expect([stopped, pool.busy, pool.joined]).to.deep.equal([false, 1, true]);
    gate.release();
    expect(await within(running.done, HANG, "the running task")).to.deep.equal({ success: true, result: true });
    await within(stopping, HANG, "stop()");
    expect(pool.statistics()).to.include({ workers: 0, idle: 0, busy: 0, queued: 0, completed: 1 });
  });

  it("stop() with a grace period terminates a stuck worker and fails its task, and the queued ones, with WorkerDied", async () => {
    const pool = started({ maxthreads: 1 });
    const stuck = outcome();
    const queued = outcome();
    pool.callInThreadWithCallback(stuck.onResult, work.spin);
    pool.callInThreadWithCallback(queued.onResult, work.add, 1, 1);
    await within(pool.stop({ grace: 0.05 }), HANG, "stop() with a grace period");
    const [s, q] = await Promise.all([stuck.done, queued.done]);
    expect(failureOf(s)).to.be.instanceOf(WorkerDied).and.to.match(/grace period/);
    expect(failureOf(q)).to.be.instanceOf(WorkerDied).and.to.match(/before task \d+ .* ran/);
    expect([pool.workers, pool.terminated, pool.workersReplaced]).to.deep.equal([0, 1, 0]);
  });

  it("returns to idle after bursts: busy 0, queued 0, every task counted", async () => {
    const pool = started({ maxthreads: 2 });
    for (let burst = 0; burst < 3; burst++) {
      const results = Array.from({ length: 10 }, (_, i) => {
        const { onResult, done } = outcome<number>();
        pool.callInThreadWithCallback(onResult, work.add, i, burst);
        return done;
      });
      expect(pool.queued).to.equal(8);
      const all = await within(Promise.all(results), 10, `burst ${burst}`);
      expect(all.map((r) => r.success && r.result)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + burst));
      expect(pool.statistics()).to.include({ workers: 2, idle: 2, busy: 0, queued: 0 });
    }
    expect([pool.completed, pool.failed]).to.deep.equal([30, 0]);
  });

  it("adjustPoolsize ends idle workers above the new max and refuses impossible sizes", async () => {
    const pool = started({ minthreads: 2, maxthreads: 2 });
    expect(pool.workers).to.equal(2);
    pool.adjustPoolsize(0, 1);
    expect(pool.workers).to.equal(1);
    expect(() => pool.adjustPoolsize(3, 2)).to.throw(RangeError);
    expect(() => pool.adjustPoolsize(-1)).to.throw(RangeError);
    expect(() => new ThreadPool({ minthreads: 3, maxthreads: 1 })).to.throw(RangeError);
    const { onResult, done } = outcome<number>();
    pool.callInThreadWithCallback(onResult, work.add, 1, 1);
    expect(await within(done, HANG, "a task after shrinking")).to.deep.equal({ success: true, result: 2 });
  });

  it("work given to a pool stopped before it started fails with WorkerDied", async () => {
    const pool = makePool();
    const { onResult, done } = outcome();
    pool.callInThreadWithCallback(onResult, work.add, 1, 1);
    await within(pool.stop(), HANG, "stop()");
    expect(failureOf(await done)).to.be.instanceOf(WorkerDied);
  });
});
