import { expect } from "chai";
import { InvalidLogLevelError, LogLevel, LogPublisher, Logger, type LogEvent, type LogObserver } from "../../../lib/internet/log.js";

describe("logger/logger: Logger", () => {
  it("test_namespaceAttribute: publishes events with namespace, level, time and fields", () => {
    const seen: LogEvent[] = [];
    new Logger("torsion.test", (e) => seen.push(e)).warn("disk {pct}% full", { pct: 91 });
    expect(seen).to.have.length(1);
    expect(seen[0]).to.include({ log_namespace: "torsion.test", log_level: LogLevel.warn, log_format: "disk {pct}% full", pct: 91 });
    expect(seen[0]!.log_time).to.be.closeTo(Date.now() / 1000, 60);
  });

  it("test_basicLogger: each method logs at its level", () => {
    const seen: LogEvent[] = [];
    const observer: LogObserver = (e) => seen.push(e);
    const log = new Logger("t", observer);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    log.critical("c");
    expect(seen.map((e) => e.log_level)).to.deep.equal([LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical]);
  });

  it("test_defaultFailure: failure() attaches a Failure at critical level by default", () => {
    const seen: LogEvent[] = [];
    new Logger("t", new LogPublisher((e) => seen.push(e))).failure("it broke", new RangeError("out"));
    expect(seen[0]!.log_level).to.equal(LogLevel.critical);
    expect(seen[0]!.log_failure!.check(RangeError)).to.equal(RangeError);
  });

  it("test_conflictingKwargs: fields named like the event's own keys do not replace them", () => {
    const seen: LogEvent[] = [];
    new Logger("t", (e) => seen.push(e)).warn("*", { log_format: "#", log_level: LogLevel.error, log_namespace: "*namespace*" });
    expect(seen[0]).to.include({ log_format: "*", log_level: LogLevel.warn, log_namespace: "t" });
  });

  it("test_logInvalidLogLevel: emit() with a level that is not a LogLevel logs an InvalidLogLevelError instead", () => {
    const seen: LogEvent[] = [];
    new Logger("t", (e) => seen.push(e)).emit(42 as LogLevel, "*bogus*");
    expect(seen).to.have.length(1);
    expect(seen[0]!.log_level).to.equal(LogLevel.critical);
    expect(seen[0]!.log_failure!.check(InvalidLogLevelError)).to.equal(InvalidLogLevelError);
  });
});
