import { expect } from "chai";
import { Failure } from "../../../lib/internet/failure.js";
import { LogLevel, fileLogObserver, textFileLogObserver, type LogEvent } from "../../../lib/internet/log.js";

class DummyFile {
  text = "";
  writes = 0;
  flushes = 0;
  write(t: string): void {
    this.text += t;
    this.writes++;
  }
  flush(): void {
    this.flushes++;
  }
}

const bare = (fields: Record<string, unknown>): LogEvent => fields as unknown as LogEvent;

describe("logger/file", () => {
  describe("fileLogObserver", () => {
    it("test_observeWrites: writes what the formatter returns", () => {
      const out = new DummyFile();
      fileLogObserver(out, (e) => `x=${e.x}`)(bare({ x: 1 }));
      expect(out.text).to.equal("x=1");
    });

    it("test_observeWritesNone, test_observeWritesEmpty: writes nothing when the formatter returns null or ''", () => {
      for (const what of [null, ""]) {
        const out = new DummyFile();
        fileLogObserver(out, () => what)(bare({ x: 1 }));
        expect(out.writes).to.equal(0);
      }
    });

    it("test_observeFlushes: flushes the output after each write", () => {
      const out = new DummyFile();
      fileLogObserver(out, () => "x")(bare({}));
      expect(out.flushes).to.equal(1);
    });
  });

  describe("textFileLogObserver", () => {
    it("test_timeFormat: writes the time as timeFormat says, then [namespace#level] and the message", () => {
      const out = new DummyFile();
      textFileLogObserver(out, { timeFormat: (t) => String(Math.round((t % 1) * 1e6)) })(bare({ log_format: "XYZZY", log_time: 112345.6 }));
      expect(out.text).to.equal("600000 [-#-] XYZZY\n");
    });

    it("writes the default time as ISO 8601 UTC and filters nothing itself", () => {
      const out = new DummyFile();
      textFileLogObserver(out)(bare({ log_format: "quiet", log_namespace: "t", log_level: LogLevel.debug, log_time: 0 }));
      expect(out.text).to.equal("1970-01-01T00:00:00.000Z [t#debug] quiet\n");
    });

    it("test_observeFailure: a failure's traceback follows the message", () => {
      const out = new DummyFile();
      textFileLogObserver(out, { timeFormat: null })(bare({ log_format: "loud", log_namespace: "t", log_level: LogLevel.error, log_failure: new Failure(new Error("why")) }));
      expect(out.text).to.match(/^\[t#error\] loud\nError: why\n\s+at /);
    });

    it("test_observeFailureThatRaisesInGetTraceback: a failure without a traceback is noted instead of throwing", () => {
      const out = new DummyFile();
      textFileLogObserver(out, { timeFormat: null })(bare({ log_failure: {} }));
      expect(out.text).to.include("(UNABLE TO OBTAIN TRACEBACK FROM EVENT)");
    });
  });
});
