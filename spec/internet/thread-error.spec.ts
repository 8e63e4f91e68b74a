import { expect } from "chai";
import { ConnectionLost, FirstError, TimeoutError } from "../../lib/internet/error.js";
import { Failure, NonErrorThrown } from "../../lib/internet/failure.js";
import { deserializeError, serializeError } from "../../lib/internet/thread-error.js";

/** Across a thread boundary and back: serialized, structured-cloned, rebuilt. */
function roundTrip(err: unknown): Error {
  return deserializeError(structuredClone(serializeError(err)));
}

describe("errors across threads", () => {
  it("rebuild an unknown class as an Error subclass with its class name, name, message, stack and cloneable properties", () => {
    class QuotaError extends Error {
      code = "E_QUOTA";
      limit = 3;
      callback = () => 1;
    }
    const original = new QuotaError("over quota");
    const copy = roundTrip(original) as Error & Record<string, unknown>;
    expect(copy).to.be.instanceOf(Error).and.not.instanceOf(QuotaError);
    expect(copy.constructor.name).to.equal("QuotaError");
    expect([copy.name, copy.message, copy.stack]).to.deep.equal(["Error", "over quota", original.stack]);
    expect([copy.code, copy.limit, "callback" in copy]).to.deep.equal(["E_QUOTA", 3, false]);
    expect(roundTrip(new QuotaError("again")).constructor).to.equal(copy.constructor);
  });

  it("rebuild torsion's errors and the built-in ones as their own classes, even those whose constructor needs arguments", () => {
    expect(roundTrip(new TimeoutError("slow"))).to.be.instanceOf(TimeoutError).and.have.property("message", "slow");
    expect(roundTrip(new ConnectionLost())).to.be.instanceOf(ConnectionLost).and.have.property("name", "ConnectionLost");
    expect(roundTrip(new FirstError(new Failure(new Error("inner")), 2))).to.be.instanceOf(FirstError);
    expect(roundTrip(new TypeError("t"))).to.be.instanceOf(TypeError);
  });

  it("keep a chain of causes", () => {
    const copy = roundTrip(new Error("outer", { cause: new TimeoutError("inner") }));
    expect(copy.cause).to.be.instanceOf(TimeoutError).and.have.property("message", "inner");
  });

  it("carry a thrown non-Error as NonErrorThrown with the value, or its description if it cannot be cloned", () => {
    const copy = roundTrip({ status: 418 });
    expect(copy).to.be.instanceOf(NonErrorThrown);
    expect((copy as NonErrorThrown).thrown).to.deep.equal({ status: 418 });
    expect((roundTrip(Symbol("s")) as NonErrorThrown).thrown).to.equal("Symbol(s)");
    expect((roundTrip(new NonErrorThrown(7)) as NonErrorThrown).thrown).to.equal(7);
  });
});
