// ThreadPool with `pipeline` above 1 (lib/internet/threadpool.ts): busy workers are handed
// several tasks, which they run one at a time, in order. Added for WSGIResource, whose requests
// are many short tasks whose cost is the round trip between threads (bench/wsgi.ts).

import { expect } from "chai";
import { WorkerDied } from "../../lib/internet/error.js";
import { deferToThreadPool } from "../../lib/internet/threads.js";
import { ThreadPool } from "../../lib/internet/threadpool.js";
import { block, overlap, where } from "../fixtures/pipeline-work.js";
import { makePool, outcome, stopPools } from "../fixtures/thread-helpers.js";
import { within } from "../support/wait.js";

afterEach(async () => {
  await stopPools();
});

describe("ThreadPool pipeline", () => {
  it("refuses a pipeline that is not an integer >= 1", () => {
    expect(() => new ThreadPool({ pipeline: 0 })).to.throw(RangeError, "pipeline");
    expect(() => new ThreadPool({ pipeline: 1.5 })).to.throw(RangeError, "pipeline");
  });

  it("runs every task once, in order, on one worker holding several at a time", async () => {
    const pool = makePool({ minthreads: 1, maxthreads: 1, pipeline: 4 });
    pool.start();
    // Let the worker start, so tasks are pipelined onto a ready worker.
    await within(deferToThreadPool(null, pool, where, -1), 10, "the first task");
    const results = await within(Promise.all(Array.from({ length: 20 }, (_, i) => deferToThreadPool(null, pool, where, i))), 10, "20 tasks");
    expect(results.map(([n]) => n)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(results.map(([, t]) => t)).size).to.equal(1);
    expect(pool.statistics()).to.include({ busy: 0, queued: 0, completed: 21, failed: 0 });
  });

  it("never overlaps two tasks in a worker, even when they await", async () => {
    const pool = makePool({ minthreads: 1, maxthreads: 1, pipeline: 3 });
    pool.start();
    await within(deferToThreadPool(null, pool, where, 0), 10, "the worker");
    const most = await within(Promise.all(Array.from({ length: 6 }, () => deferToThreadPool(null, pool, overlap, 5))), 10, "6 tasks");
    expect(Math.max(...most)).to.equal(1);
  });

  it("a task waiting behind another cannot be cancelled or terminated; terminating the running one requeues it", async () => {
    const pool = makePool({ minthreads: 1, maxthreads: 1, pipeline: 2 });
    pool.start();
    await within(deferToThreadPool(null, pool, where, 0), 10, "the worker");
    const first = outcome();
    const second = outcome<[number, number]>();
    const running = pool.callInThreadWithCallback(first.onResult, block);
    const waiting = pool.callInThreadWithCallback(second.onResult, where, 7);
    expect(waiting.state).to.equal("running");
    expect(waiting.cancel()).to.equal(false);
    expect(waiting.terminate()).to.equal(false);
    expect(running.terminate("the spec ends it")).to.equal(true);
    const ended = await within(first.done, 10, "the blocked task to end");
    expect(ended.success).to.equal(false);
    expect(ended.success ? null : ended.failure.value).to.be.instanceOf(WorkerDied);
    const moved = await within(second.done, 10, "the waiting task to run on the replacement");
    expect(moved.success && moved.result[0]).to.equal(7);
    expect(pool.workersReplaced).to.equal(1);
  });
});
