/**
 * Twisted's SynchronousTestCase assertions on Deferreds (successResultOf, failureResultOf,
 * assertNoResult) and test_defer.py's assertImmediateFailure, for the specs that port
 * test_defer.py, test_task.py and their kin: what a Deferred holds right now, without waiting.
 */

import { expect } from "chai";
import type { Deferred } from "../../lib/internet/deferred.js";
import { Failure } from "../../lib/internet/failure.js";

type ErrorClass = abstract new (...args: never[]) => unknown;

/** The result `d` has now (it must have one, and not a failure). */
export function successResultOf<T>(d: Deferred<T>): T {
  const results: unknown[] = [];
  d.addBoth((r) => {
    results.push(r);
    return r;
  });
  if (results.length === 0) throw new Error(`Deferred has no result: ${d}`);
  if (results[0] instanceof Failure) throw new Error(`Deferred failed: ${results[0]}`);
  return results[0] as T;
}

/** The Failure `d` has now (consumed), which must be one of `types` when given. */
export function failureResultOf(d: Deferred<unknown>, ...types: ErrorClass[]): Failure {
  const results: unknown[] = [];
  d.addBoth((r) => {
    results.push(r);
    return undefined;
  });
  if (results.length === 0) throw new Error(`Deferred has no result: ${d}`);
  const f = results[0];
  if (!(f instanceof Failure)) throw new Error(`Deferred succeeded with ${String(f)}`);
  if (types.length && !f.check(...types)) throw new Error(`Failure of the wrong type: ${f}`);
  return f;
}

/** `d` has no result yet. */
export function assertNoResult(d: Deferred<unknown>): void {
  const results: unknown[] = [];
  d.addBoth((r) => {
    results.push(r);
    return r;
  });
  expect(results, "the Deferred should have no result").to.deep.equal([]);
}

/** test_defer.py's assertImmediateFailure: the current result is a Failure of `type` (consumed); its error. */
export function assertImmediateFailure(d: Deferred<unknown>, type: ErrorClass): Error {
  const failures: Failure[] = [];
  d.addErrback((f) => {
    failures.push(f);
  });
  expect(failures).to.have.length(1);
  expect(failures[0]!.check(type)).to.equal(type);
  return failures[0]!.value;
}

/** A canceller that fires the Deferred instead of letting it fail (test_defer.py's fakeCallbackCanceller). */
export function fakeCallbackCanceller(d: Deferred<string>): void {
  d.callback("Callback Result");
}
