import { expect } from "chai";
import { LogPublisher, Logger, captureLogEvents, globalLogPublisher, type LogEvent } from "../../lib/internet/log.js";

describe("log", () => {
  describe("captureLogEvents", () => {
    it("captures global events and silences stderr until stopped", () => {
      const capture = captureLogEvents();
      try {
        new Logger("torsion.test").error("captured {what}", { what: "this" });
        new Logger("torsion.test").failure("with failure", new Error("f"));
        expect(capture.messages()).to.deep.equal(["captured this", "with failure"]);
        expect(capture.failures().map((f) => f.getErrorMessage())).to.deep.equal(["f"]);
      } finally {
        capture.stop();
      }
      const after = capture.events.length;
      const again = captureLogEvents();
      new Logger("torsion.test").info("later");
      again.stop();
      expect(capture.events.length).to.equal(after);
    });

    it("takes every observer off the publisher while capturing and puts them back in order", () => {
      const seen: string[] = [];
      const publisher = new LogPublisher((e: LogEvent) => seen.push(`a:${e.log_format}`), (e: LogEvent) => seen.push(`b:${e.log_format}`));
      const before = publisher.observers;
      const capture = captureLogEvents(publisher);
      new Logger("t", publisher).info("hidden");
      capture.stop();
      new Logger("t", publisher).info("shown");
      expect(capture.messages()).to.deep.equal(["hidden"]);
      expect(seen).to.deep.equal(["a:shown", "b:shown"]);
      expect(publisher.observers).to.deep.equal(before);
    });

    it("nests: an inner capture takes the events, the outer gets them again after it stops", () => {
      const outer = captureLogEvents();
      const inner = captureLogEvents();
      new Logger("t").info("one");
      inner.stop();
      new Logger("t").info("two");
      outer.stop();
      expect(inner.messages()).to.deep.equal(["one"]);
      expect(outer.messages()).to.deep.equal(["two"]);
      expect(globalLogPublisher.observers).to.not.include(undefined);
    });
  });
});
