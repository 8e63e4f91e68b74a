import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LogBeginner, LogLevel, LogPublisher, Logger, MORE_THAN_ONCE_WARNING, textFileLogObserver, type LogEvent } from "../../../lib/internet/log.js";

class Text {
  text = "";
  write(t: string): void {
    this.text += t;
  }
}

describe("logger/global: LogBeginner", () => {
  let publisher: LogPublisher;
  let errorStream: Text;
  let beginner: LogBeginner;

  beforeEach(() => {
    publisher = new LogPublisher();
    errorStream = new Text();
    beginner = new LogBeginner(publisher, errorStream);
  });

  const event = (fields: Record<string, unknown>): LogEvent => fields as unknown as LogEvent;

  it("test_beginLoggingToAddObservers: beginLoggingTo adds the observers", () => {
    const events1: LogEvent[] = [];
    const events2: LogEvent[] = [];
    beginner.beginLoggingTo([(e) => events1.push(e), (e) => events2.push(e)]);
    const e = event({ foo: 1, bar: 2 });
    publisher(e);
    expect(events1).to.deep.equal([e]);
    expect(events2).to.deep.equal([e]);
  });

  it("test_beginLoggingToBufferedEvents: events before beginLoggingTo are replayed to the observers", () => {
    const e = event({ foo: 1, bar: 2 });
    publisher(e);
    const events1: LogEvent[] = [];
    beginner.beginLoggingTo([(x) => events1.push(x)]);
    expect(events1).to.deep.equal([e]);
  });

  function bufferLimitTest(limit: number, b: LogBeginner): void {
    for (let count = 0; count <= limit; count++) publisher(event({ count }));
    const seen: unknown[] = [];
    b.beginLoggingTo([(e) => seen.push(e.count)]);
    expect(seen).to.deep.equal(Array.from({ length: limit }, (_, i) => i + 1));
  }

  it("test_defaultBufferLimit: the last 200 events are kept for replay", () => {
    expect(LogBeginner.DEFAULT_BUFFER_SIZE).to.equal(200);
    bufferLimitTest(200, beginner);
  });

  it("test_overrideBufferLimit: initialBufferSize sets how many are kept", () => {
    publisher = new LogPublisher();
    bufferLimitTest(3, new LogBeginner(publisher, errorStream, { initialBufferSize: 3 }));
  });

  it("discardBuffer: the kept events are not replayed", () => {
    publisher(event({ early: true }));
    const seen: LogEvent[] = [];
    beginner.beginLoggingTo([(e) => seen.push(e)], { discardBuffer: true });
    expect(seen).to.deep.equal([]);
  });

  it("test_beginLoggingToTwice: a second call adds its observers and warns, naming both call sites", () => {
    const events1: LogEvent[] = [];
    const events2: LogEvent[] = [];
    const text = new Text();
    const textObserver = textFileLogObserver(text);
    publisher(event({ event: "prebuffer" }));
    beginner.beginLoggingTo([(e) => events1.push(e), textObserver]);
    publisher(event({ event: "postbuffer" }));
    beginner.beginLoggingTo([(e) => events2.push(e), textObserver]);
    publisher(event({ event: "postwarn" }));
    expect(events1.map((e) => e.event ?? e.log_format)).to.deep.equal(["prebuffer", "postbuffer", MORE_THAN_ONCE_WARNING, "postwarn"]);
    expect(events2.map((e) => e.event ?? e.log_format)).to.deep.equal([MORE_THAN_ONCE_WARNING, "postwarn"]);
    const warning = events2[0]!;
    expect(warning.log_level).to.equal(LogLevel.warn);
    const here = fileURLToPath(import.meta.url);
    expect(String(warning.fileNow)).to.include(here.split("/").pop()!);
    expect(warning.lineThen).to.be.a("number").and.not.equal(warning.lineNow);
    expect(text.text).to.include(`<${warning.fileThen}:${warning.lineThen}>`);
    expect(text.text).to.include(`<${warning.fileNow}:${warning.lineNow}>`);
  });

  it("test_criticalLogging: before logging begins, warnings and worse are written to the error stream; info is not", () => {
    const log = new Logger("torsion.spec", publisher);
    log.info("ignore this");
    log.debug("and this");
    log.warn("a warning {what}", { what: "message" });
    log.critical("a critical {message}", { message: "message" });
    expect(errorStream.text).to.equal("[torsion.spec#warn] a warning message\n[torsion.spec#critical] a critical message\n");
  });

  it("test_criticalLoggingStops: once logging has begun, nothing more is written to the error stream", () => {
    const log = new Logger("torsion.spec", publisher);
    beginner.beginLoggingTo([]);
    log.critical("another critical message");
    expect(errorStream.text).to.equal("");
  });

  it("test_failuresAppendTracebacks: a failure logged before logging begins shows its traceback", () => {
    new Logger("torsion.spec", publisher).failure("it broke", new RangeError("out"));
    expect(errorStream.text).to.match(/^\[torsion.spec#critical\] it broke\nRangeError: out\n\s+at /);
  });

  it("a library imported into a program is quiet: the global beginner writes factories' info lines nowhere until logging begins", () => {
    // A fresh process, as a user's program: a factory starts and stops, then one warning.
    const program = `
      import { Factory } from ${JSON.stringify(new URL("../../../lib/internet/protocol.js", import.meta.url).href)};
      import { Logger, globalLogBeginner, textFileLogObserver } from ${JSON.stringify(new URL("../../../lib/internet/log.js", import.meta.url).href)};
      const f = new Factory();
      f.doStart(); f.doStop();
      new Logger("user.program").warn("disk {pct}% full", { pct: 91 });
      if (process.argv[1] === "begin") globalLogBeginner.beginLoggingTo([textFileLogObserver(process.stdout, { timeFormat: null })]);
    `;
    const run = (begin: boolean) =>
      spawnSync(process.execPath, ["--input-type=module", "-e", program, begin ? "begin" : "quiet"], { encoding: "utf8", timeout: 15000 });
    const quiet = run(false);
    expect(quiet.stderr).to.equal("[user.program#warn] disk 91% full\n");
    expect(quiet.stdout).to.equal("");
    const begun = run(true);
    // Beginning replays what was kept, the factory's lines included.
    expect(begun.stdout.split("\n").filter(Boolean)).to.deep.equal([
      "[torsion.internet.protocol.Factory#info] Starting factory <Factory>",
      "[torsion.internet.protocol.Factory#info] Stopping factory <Factory>",
      "[user.program#warn] disk 91% full",
    ]);
  });
});
