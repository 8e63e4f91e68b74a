import { expect } from "chai";
import { ConnectionDone, ConnectionLost, TimeoutError } from "../../lib/internet/error.js";
import { Failure, NonErrorThrown } from "../../lib/internet/failure.js";

describe("Failure", () => {
  it("check returns the first matching class, or null", () => {
    const f = new Failure(new ConnectionDone());
    expect(f.check(TimeoutError, ConnectionDone)).to.equal(ConnectionDone);
    expect(f.check(ConnectionLost)).to.equal(null);
  });

  it("trap rethrows the Failure itself when nothing matches", () => {
    const f = new Failure(new TimeoutError());
    expect(f.trap(TimeoutError)).to.equal(TimeoutError);
    expect(() => f.trap(ConnectionDone)).to.throw().that.equals(f);
  });

  it("wraps a thrown non-Error so that message and stack exist", () => {
    const f = new Failure("boom");
    expect(f.value).to.be.instanceOf(NonErrorThrown);
    expect(f.getErrorMessage()).to.contain('"boom"');
    expect(f.getTraceback()).to.contain("NonErrorThrown");
  });

  it("Failure.from does not wrap a Failure twice", () => {
    const f = new Failure(new Error("x"));
    expect(Failure.from(f)).to.equal(f);
    expect(new Failure(f).value).to.equal(f.value);
  });

  it("names error subclasses after their class", () => {
    expect(new ConnectionLost().name).to.equal("ConnectionLost");
    expect(String(new Failure(new ConnectionDone()))).to.equal(
      "[Failure instance: ConnectionDone: Connection was closed cleanly.]",
    );
  });
});
