// lib/internet/thenable.ts: the one test of "is this a thenable" (Promise/A+ 1.2).
import { expect } from "chai";
import { Deferred } from "../../lib/internet/deferred.js";
import { isThenable } from "../../lib/internet/thenable.js";

describe("internet/thenable", () => {
  it("a Promise, a Deferred and a plain object with a then method are thenables", () => {
    expect(isThenable(Promise.resolve(1))).to.equal(true);
    expect(isThenable(new Deferred())).to.equal(true);
    expect(isThenable({ then() {} })).to.equal(true);
  });

  it("a function with a then method is one too (Promise/A+: 'an object or function')", () => {
    const callable = Object.assign(() => 1, { then() {} });
    expect(isThenable(callable)).to.equal(true);
  });

  it("primitives, null, and objects whose then is not callable are not", () => {
    for (const value of [null, undefined, 0, "then", true, {}, { then: 1 }, [], () => 1]) expect(isThenable(value)).to.equal(false);
  });

  it("an object whose then getter throws is not a thenable, and the throw does not escape", () => {
    const hostile = Object.defineProperty({}, "then", {
      get() {
        throw new Error("no then for you");
      },
    });
    expect(isThenable(hostile)).to.equal(false);
  });
});
