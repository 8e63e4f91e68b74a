// lib/internet/error.ts: twisted.internet.error's classes and defer's, each with a stable code.
import { expect } from "chai";
import * as error from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";

const classes = Object.values(error).filter(
  (v): v is typeof error.TorsionError => typeof v === "function" && (v === error.TorsionError || v.prototype instanceof error.TorsionError),
);

describe("internet/error", () => {
  it("the hierarchy is Twisted's: trap(ConnectionClosed) catches a clean and an unclean close; TLSError is a ConnectionLost", () => {
    expect(new Failure(new error.ConnectionDone()).trap(error.ConnectionClosed)).to.equal(error.ConnectionClosed);
    expect(new Failure(new error.ConnectionAborted()).check(error.ConnectionLost)).to.equal(error.ConnectionLost);
    expect(new error.TLSError()).to.be.instanceOf(error.ConnectionLost);
    expect(new error.ConnectionRefusedError()).to.be.instanceOf(error.ConnectError);
    expect(new error.TaskStopped()).to.be.instanceOf(error.TaskDone);
  });

  it("name is the class's, so a log line says what failed", () => {
    for (const cls of classes) {
      if (cls.length > 0 && cls !== error.TorsionError) continue; // constructors that need arguments
      expect(new cls().name).to.equal(cls.name);
    }
    expect(new error.CannotListenError("127.0.0.1", 80, new Error("EADDRINUSE")).name).to.equal("CannotListenError");
  });

  it("every class has its own stable code, and each instance carries it", () => {
    const codes = classes.filter((c) => c !== error.TorsionError).map((c) => c.code);
    expect(new Set(codes).size).to.equal(codes.length);
    for (const code of codes) expect(code).to.match(/^TORSION_ERR_[A-Z0-9_]+$/);
    expect(new error.TimeoutError().code).to.equal(error.TimeoutError.code);
    expect(new error.ConnectionRefusedError().code).to.equal("TORSION_ERR_CONNECTION_REFUSED");
  });

  it("SystemExit keeps the exit status as status (its code is the error code, as on every other error)", () => {
    const exit = new error.SystemExit(3);
    expect([exit.status, exit.code, exit.message]).to.deep.equal([3, "TORSION_ERR_SYSTEM_EXIT", "exit status 3"]);
  });
});
