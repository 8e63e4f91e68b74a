import { expect } from "chai";
import { ConnectionLost, FirstError, TimeoutError } from "../../lib/internet/error.js";
import { Failure, NonErrorThrown } from "../../lib/internet/failure.js";
import * as errors from "../../lib/internet/error.js";
import { deserializeError, registerErrorClasses, serializeError } from "../../lib/internet/thread-error.js";
import { deferToThread, stopThreadPool } from "../../lib/internet/threads.js";
import { reactor } from "../../lib/internet/reactor.js";
import { UsageError } from "../../lib/cli/options.js";
import { LoadError } from "../../lib/cli/load.js";
import { FileTransferStopped } from "../../lib/protocols/file-sender.js";
import { StringTooLongError } from "../../lib/protocols/int-n-string.js";
import { NetstringParseError } from "../../lib/protocols/netstring.js";
import { HTTPParseError } from "../../lib/web/http-parser.js";
import { UnsupportedMethod } from "../../lib/web/resource.js";
import { raiseOutsideError } from "../fixtures/thread-work.js";
import { within } from "../support/wait.js";

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

  describe("every error class, with a stable code", () => {
    const outside = [HTTPParseError, StringTooLongError, NetstringParseError, FileTransferStopped, UnsupportedMethod, UsageError, LoadError];
    const all = [
      ...Object.values(errors).filter((v): v is typeof errors.TorsionError => typeof v === "function" && v.prototype instanceof errors.TorsionError),
      ...outside,
    ];
    const samples: Record<string, () => Error> = {
      HTTPParseError: () => new HTTPParseError(431, "header too long"),
      UnsupportedMethod: () => new UnsupportedMethod(["GET"]),
    };

    it("each class has its own TORSION_ERR_ code, and its instances carry it", () => {
      const codes = all.map((cls) => cls.code);
      for (const code of codes) expect(code).to.match(/^TORSION_ERR_[A-Z0-9_]+$/);
      expect(new Set(codes).size, "no two classes share a code").to.equal(codes.length);
      expect(new errors.ConnectionDone().code).to.equal("TORSION_ERR_CONNECTION_DONE");
      expect(new HTTPParseError(400, "bad").code).to.equal("TORSION_ERR_HTTP_PARSE");
      expect(new HTTPParseError(400, "bad").status).to.equal(400);
      expect(new errors.SystemExit(3).status).to.equal(3);
      expect(new errors.TLSError("x").code).to.equal("TORSION_ERR_TLS");
      expect(new errors.TLSError("x", { code: "ERR_TLS_CERT_ALTNAME_INVALID" }).code).to.equal("ERR_TLS_CERT_ALTNAME_INVALID");
    });

    for (const cls of outside) {
      it(`${cls.name} crosses as itself, with its code, so trap() works`, () => {
        const original = samples[cls.name]?.() ?? new (cls as new (m: string) => Error)("why");
        const copy = roundTrip(original);
        expect(copy).to.be.instanceOf(cls);
        expect((copy as errors.TorsionError).code).to.equal(cls.code);
        expect(new Failure(copy).trap(cls)).to.equal(cls);
      });
    }

    it("registering a second, different class under a taken name is refused", () => {
      const Impostor = class extends Error {};
      Object.defineProperty(Impostor, "name", { value: "HTTPParseError" });
      expect(() => registerErrorClasses(Impostor)).to.throw(/two error classes named HTTPParseError/);
      registerErrorClasses(HTTPParseError); // the same class again is fine
    });

    it("an HTTPParseError thrown in a real worker is trapped as HTTPParseError on the main thread, its status kept", async () => {
      try {
        const failure = await within(
          deferToThread(raiseOutsideError, "HTTPParseError").then(
            () => null,
            (err: unknown) => new Failure(err),
          ),
          10,
          "the worker's failure",
        );
        expect(failure).to.not.equal(null);
        expect(failure!.trap(HTTPParseError)).to.equal(HTTPParseError);
        expect((failure!.value as HTTPParseError).status).to.equal(431);
        expect((failure!.value as HTTPParseError).code).to.equal("TORSION_ERR_HTTP_PARSE");
      } finally {
        await within(stopThreadPool(reactor, { grace: 1 }), 10, "the pool to stop");
      }
    });
  });
});
