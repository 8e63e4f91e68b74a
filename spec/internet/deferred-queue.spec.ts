/**
 * Tests for lib/internet/deferred-queue.ts: ports of OtherPrimitivesTests (queue) from
 * twisted/test/test_defer.py.
 */

import { expect } from "chai";

import { DeferredQueue } from "../../lib/internet/deferred-queue.js";
import { CancelledError, QueueOverflow, QueueUnderflow } from "../../lib/internet/error.js";
import { assertImmediateFailure } from "../support/deferred-helpers.js";

const range = (a: number, b?: number): number[] =>
  b === undefined ? Array.from({ length: a }, (_, i) => i) : Array.from({ length: b - a }, (_, i) => a + i);

describe("OtherPrimitivesTests (DeferredQueue)", () => {
  it("testQueue: size and backlog bound puts and gets; waiters are served in order", () => {
    const N = 2;
    const M = 2;
    let queue = new DeferredQueue<number | null>(N, M);
    let gotten: (number | null)[] = [];
    const push = (x: number | null): void => {
      gotten.push(x);
    };

    for (let i = 0; i < M; i++) queue.get().addCallback(push);
    expect(() => queue.get()).to.throw(QueueUnderflow);

    for (let i = 0; i < M; i++) {
      queue.put(i);
      expect(gotten).to.deep.equal(range(i + 1));
    }
    for (let i = 0; i < N; i++) {
      queue.put(N + i);
      expect(gotten).to.deep.equal(range(M));
    }
    expect(() => queue.put(null)).to.throw(QueueOverflow);

    gotten = [];
    for (let i = 0; i < N; i++) {
      queue.get().addCallback(push);
      expect(gotten).to.deep.equal(range(N, N + i + 1));
    }

    queue = new DeferredQueue();
    gotten = [];
    for (let i = 0; i < N; i++) queue.get().addCallback(push);
    for (let i = 0; i < N; i++) queue.put(i);
    expect(gotten).to.deep.equal(range(N));

    queue = new DeferredQueue(0);
    expect(() => queue.put(null)).to.throw(QueueOverflow);

    queue = new DeferredQueue(null, 0);
    expect(() => queue.get()).to.throw(QueueUnderflow);
  });

  it("test_cancelQueueAfterSynchronousGet: cancelling a get that has its object does nothing", () => {
    const queue = new DeferredQueue<null>();
    const d = queue.get();
    d.addErrback(() => {
      throw new Error("Unexpected errback call!");
    });
    queue.put(null);
    d.cancel();
  });

  it("test_cancelQueueAfterGet: a cancelled get errbacks and the queue forgets it", () => {
    const queue = new DeferredQueue<null>();
    const d = queue.get();
    d.cancel();
    assertImmediateFailure(d, CancelledError);
    const done: unknown[] = [];
    d.addCallback(() => {
      // Still linked to the queue, this put would fire `d` again: AlreadyCalledError.
      queue.put(null);
      return queue.get().addCallback((r) => expect(r).to.equal(null));
    });
    d.addCallback((r) => {
      done.push(r);
    });
    expect(done).to.have.length(1);
  });

  it("await queue.get() gives the next object put", async () => {
    const queue = new DeferredQueue<string>();
    setImmediate(() => queue.put("x"));
    expect(await queue.get()).to.equal("x");
  });
});
