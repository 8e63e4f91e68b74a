import { expect } from "chai";
import { Failure } from "../../lib/internet/failure.js";
import {
  LogLevel,
  LogPublisher,
  Logger,
  captureLogEvents,
  formatEvent,
  formatEventAsText,
  textFileLogObserver,
  type LogEvent,
} from "../../lib/internet/log.js";

function event(format: string, fields: Record<string, unknown> = {}): LogEvent {
  return { log_namespace: "t", log_level: LogLevel.info, log_format: format, log_time: 0, ...fields };
}

describe("log", () => {
  describe("formatEvent", () => {
    it("substitutes {fields} from the event", () => {
      expect(formatEvent(event("listening on {host}:{port}", { host: "127.0.0.1", port: 80 }))).to.equal(
        "listening on 127.0.0.1:80",
      );
    });

    it("keeps doubled braces as literal braces", () => {
      expect(formatEvent(event("{{not a field}} {x}", { x: 1 }))).to.equal("{not a field} 1");
    });

    it("marks a missing field instead of throwing", () => {
      expect(formatEvent(event("value={missing}"))).to.equal("value={missing}?");
    });

    it("shows errors by name and message and plain objects as JSON", () => {
      expect(formatEvent(event("{e} {o}", { e: new TypeError("bad"), o: { a: 1 } }))).to.equal('TypeError: bad {"a":1}');
    });
  });

  describe("Logger", () => {
    it("publishes events with namespace, level and fields", () => {
      const publisher = new LogPublisher();
      const seen: LogEvent[] = [];
      publisher.addObserver((e) => seen.push(e));
      new Logger("torsion.test", publisher).warn("disk {pct}% full", { pct: 91 });
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ log_namespace: "torsion.test", log_level: LogLevel.warn, pct: 91 });
      expect(formatEvent(seen[0]!)).to.equal("disk 91% full");
    });

    it("failure() attaches a Failure at critical level by default", () => {
      const publisher = new LogPublisher();
      const seen: LogEvent[] = [];
      publisher.addObserver((e) => seen.push(e));
      new Logger("t", publisher).failure("it broke", new RangeError("out"));
      expect(seen[0]!.log_level).to.equal(LogLevel.critical);
      expect(seen[0]!.log_failure).to.be.instanceOf(Failure);
      expect(seen[0]!.log_failure!.check(RangeError)).to.equal(RangeError);
    });
  });

  describe("LogPublisher", () => {
    it("keeps delivering to other observers when one throws, and reports it to them", () => {
      const publisher = new LogPublisher();
      const seen: string[] = [];
      publisher.addObserver(function broken() {
        throw new Error("observer bug");
      });
      publisher.addObserver((e) => seen.push(formatEvent(e)));
      new Logger("t", publisher).info("hello");
      expect(seen).to.deep.equal(["Temporarily disabling observer broken due to exception", "hello"]);
    });

    it("removeObserver stops delivery", () => {
      const publisher = new LogPublisher();
      const seen: LogEvent[] = [];
      const observer = (e: LogEvent) => seen.push(e);
      publisher.addObserver(observer);
      publisher.removeObserver(observer);
      new Logger("t", publisher).info("x");
      expect(seen).to.have.length(0);
    });
  });

  describe("textFileLogObserver", () => {
    it("writes one line per event at or above its level, with the traceback of a failure", () => {
      const lines: string[] = [];
      const observer = textFileLogObserver({ write: (t: string) => lines.push(t) }, LogLevel.warn);
      observer(event("quiet"));
      observer(event("loud {n}", { log_level: LogLevel.error, n: 2, log_failure: new Failure(new Error("why")) }));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^1970-01-01T00:00:00.000Z \[t#error\] loud 2\nError: why\n/);
    });

    it("formatEventAsText names namespace and level", () => {
      expect(formatEventAsText(event("hi"))).to.equal("1970-01-01T00:00:00.000Z [t#info] hi");
    });
  });

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
  });
});
