/**
 * twisted.internet.defer: Deferred and the tools around it.
 *
 * The public module; each concept lives in a file of its own and is re-exported here, so
 * `import { Deferred, DeferredList, inlineCallbacks } from "torsion/internet/defer"` works.
 */

export { Deferred, succeed, fail, maybeDeferred, passthru } from "./deferred.js";
export type { Canceller, Chainable } from "./deferred.js";
export { AlreadyCalledError, CancelledError, FirstError, TimeoutError } from "./error.js";
export { Failure } from "./failure.js";
