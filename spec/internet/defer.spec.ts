// lib/internet/defer.ts: twisted.internet.defer as one module over the files that hold each
// concept; the names it exports are those files' own objects, not copies.
import { expect } from "chai";
import * as defer from "../../lib/internet/defer.js";
import * as deferList from "../../lib/internet/defer-list.js";
import * as deferredLock from "../../lib/internet/deferred-lock.js";
import * as deferredQueue from "../../lib/internet/deferred-queue.js";
import * as deferred from "../../lib/internet/deferred.js";
import * as error from "../../lib/internet/error.js";
import * as inlineCallbacks from "../../lib/internet/inline-callbacks.js";

describe("internet/defer", () => {
  it("re-exports Deferred, DeferredList, inlineCallbacks, DeferredLock, DeferredQueue as themselves", () => {
    expect(defer.Deferred).to.equal(deferred.Deferred);
    expect(defer.succeed).to.equal(deferred.succeed);
    expect(defer.DeferredList).to.equal(deferList.DeferredList);
    expect(defer.gatherResults).to.equal(deferList.gatherResults);
    expect(defer.inlineCallbacks).to.equal(inlineCallbacks.inlineCallbacks);
    expect(defer.ensureDeferred).to.equal(inlineCallbacks.ensureDeferred);
    expect(defer.DeferredLock).to.equal(deferredLock.DeferredLock);
    expect(defer.DeferredSemaphore).to.equal(deferredLock.DeferredSemaphore);
    expect(defer.DeferredQueue).to.equal(deferredQueue.DeferredQueue);
  });

  it("exports twisted.internet.defer's errors, the same classes as error.ts", () => {
    expect(defer.AlreadyCalledError).to.equal(error.AlreadyCalledError);
    expect(defer.CancelledError).to.equal(error.CancelledError);
  });

  it("a Deferred from the module works end to end (callback chain, await)", async () => {
    const d = defer.succeed(20).addCallback((x) => x + 1);
    expect(await d).to.equal(21);
  });
});
