import { expect } from "chai";
import { LOG_OPTIONS, beginLogging, parseLogOptions } from "../../lib/cli/log-options.js";
import { UsageError } from "../../lib/cli/options.js";
import { LogBeginner, LogLevel, LogPublisher, Logger, eventsFromJSONLogFile, formatEvent } from "../../lib/internet/log.js";

class Text {
  text = "";
  write(t: string): void {
    this.text += t;
  }
}

describe("the log options (lib/cli/log-options.ts)", () => {
  it("default to info, text, no namespaces", () => {
    expect(parseLogOptions([], undefined)).to.deep.equal({ level: LogLevel.info, namespaces: [], format: "text" });
    expect(LOG_OPTIONS.map((o) => [o.name, o.default])).to.deep.equal([["log-level", "info"], ["log-format", "text"]]);
  });

  it("the last bare level wins; NAMESPACE=LEVEL entries are kept in order; names are case-blind", () => {
    expect(parseLogOptions(["debug", "a.b=ERROR", "warn", "c=debug"], "json")).to.deep.equal({
      level: LogLevel.warn,
      namespaces: [["a.b", LogLevel.error], ["c", LogLevel.debug]],
      format: "json",
    });
  });

  it("a bad level, namespace or format is a UsageError naming the option and the value", () => {
    expect(() => parseLogOptions(["verbose"], undefined)).to.throw(UsageError, '--log-level expects debug, info, warn, error or critical, got "verbose"');
    expect(() => parseLogOptions(["a..b=info"], undefined)).to.throw(UsageError, '"a..b=info"');
    expect(() => parseLogOptions([], "yaml")).to.throw(UsageError, '--log-format expects text or json, got "yaml"');
  });

  describe("beginLogging", () => {
    let publisher: LogPublisher;
    let beginner: LogBeginner;
    let stderr: Text;
    beforeEach(() => {
      publisher = new LogPublisher();
      stderr = new Text();
      beginner = new LogBeginner(publisher, new Text());
    });

    it("text at the level given, a namespace's own level for it and those under it", () => {
      beginLogging(parseLogOptions(["warn", "myapp=debug"], undefined), stderr, beginner);
      new Logger("torsion.web", publisher).info("hidden");
      new Logger("torsion.web", publisher).warn("shown {n}", { n: 1 });
      new Logger("myapp.db", publisher).debug("also shown");
      expect(stderr.text.split("\n").filter(Boolean).map((l) => l.replace(/^\S+ /, ""))).to.deep.equal([
        "[torsion.web#warn] shown 1",
        "[myapp.db#debug] also shown",
      ]);
    });

    it("json: records that read back as the events, replaying what was logged before it began", () => {
      new Logger("torsion.early", publisher).info("before {x}", { x: 1 });
      beginLogging(parseLogOptions([], "json"), stderr, beginner);
      new Logger("torsion.later", publisher).error("after");
      const events = [...eventsFromJSONLogFile(stderr.text)];
      expect(events.map((e) => [e.log_namespace, e.log_level, formatEvent(e)])).to.deep.equal([
        ["torsion.early", LogLevel.info, "before 1"],
        ["torsion.later", LogLevel.error, "after"],
      ]);
    });
  });
});
