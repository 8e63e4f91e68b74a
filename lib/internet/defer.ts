/**
 * twisted.internet.defer: Deferred and the tools around it.
 *
 * The public module; each concept lives in a file of its own and is re-exported here, so
 * `import { Deferred, DeferredList, inlineCallbacks } from "torsion/internet/defer"` works.
 */

export { Deferred, succeed, fail, maybeDeferred, passthru, logError, setDebugging, getDebugging } from "./deferred.js";
export type { Canceller, Chainable } from "./deferred.js";
export { DeferredList, gatherResults, SUCCESS, FAILURE } from "./defer-list.js";
export type { DeferredListOptions, DeferredListResult } from "./defer-list.js";
export { inlineCallbacks, ensureDeferred, fromCoroutine } from "./inline-callbacks.js";
export { DeferredLock, DeferredSemaphore } from "./deferred-lock.js";
export { DeferredQueue } from "./deferred-queue.js";
export {
  AlreadyCalledError,
  CancelledError,
  FirstError,
  NotACoroutineError,
  QueueOverflow,
  QueueUnderflow,
  TimeoutError,
} from "./error.js";
export { Failure } from "./failure.js";
