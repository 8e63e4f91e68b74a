import { expect } from "chai";
import { Failure } from "../../../lib/internet/failure.js";
import { LogLevel, eventAsText, formatEvent, formatEventAsText, formatTime, type LogEvent } from "../../../lib/internet/log.js";

function event(format: string, fields: Record<string, unknown> = {}): LogEvent {
  return { log_namespace: "t", log_level: LogLevel.info, log_format: format, log_time: 0, ...fields };
}

describe("logger/format", () => {
  describe("formatEvent", () => {
    it("test_formatEvent: substitutes {fields} from the event", () => {
      expect(formatEvent(event("listening on {host}:{port}", { host: "127.0.0.1", port: 80 }))).to.equal("listening on 127.0.0.1:80");
    });

    it("test_formatEventNoFormat: an event without a format formats as the empty string", () => {
      expect(formatEvent({ log_time: 0 } as unknown as LogEvent)).to.equal("");
    });

    it("test_formatEmptyFormat: an empty format formats as the empty string", () => {
      expect(formatEvent(event(""))).to.equal("");
    });

    it("keeps doubled braces as literal braces", () => {
      expect(formatEvent(event("{{not a field}} {x}", { x: 1 }))).to.equal("{not a field} 1");
    });

    it("test_formatUnformattableEvent: a missing field is marked instead of throwing", () => {
      expect(formatEvent(event("value={missing}"))).to.equal("value={missing}?");
    });

    it("test_formatUnformattableEventWithUnformattableValue: a field whose toString throws is shown by its type, never thrown", () => {
      const hostile = { toString: () => { throw new Error("no"); } };
      expect(formatEvent(event("{h}", { h: hostile }))).to.equal("[object Object]");
    });

    it("shows errors by name and message and plain objects as JSON", () => {
      expect(formatEvent(event("{e} {o}", { e: new TypeError("bad"), o: { a: 1 } }))).to.equal('TypeError: bad {"a":1}');
    });

    it("prefers the text kept in log_flattened (an event read back from JSON)", () => {
      expect(formatEvent(event("{p}", { p: { unpersistable: true }, log_flattened: { p: "<Echo #3>" } }))).to.equal("<Echo #3>");
      // Twisted's key for the same text: "name!conversion:spec".
      expect(formatEvent(event("{p}", { p: { unpersistable: true }, log_flattened: { "p!s:": "<Echo #4>" } }))).to.equal("<Echo #4>");
    });
  });

  describe("formatTime", () => {
    it("test_formatTimeWithNoTime: no time (or not a number) is -", () => {
      expect(formatTime(undefined)).to.equal("-");
      expect(formatTime(NaN)).to.equal("-");
    });

    it("test_formatTimeDefault: ISO 8601 in UTC, to the millisecond", () => {
      expect(formatTime(1e9 + 0.25)).to.equal("2001-09-09T01:46:40.250Z");
    });
  });

  describe("eventAsText", () => {
    it("formatEventAsText names the time, namespace and level", () => {
      expect(formatEventAsText(event("hi"))).to.equal("1970-01-01T00:00:00.000Z [t#info] hi");
    });

    it("test_eventAsTextSystemOnly, test_eventAsTextTimestampOnly: the time and the system can be left out", () => {
      expect(eventAsText(event("hi"), { includeTimestamp: false })).to.equal("[t#info] hi");
      expect(eventAsText(event("hi"), { includeSystem: false })).to.equal("1970-01-01T00:00:00.000Z hi");
      expect(eventAsText(event("hi", { log_system: "web,3,127.0.0.1" }), { includeTimestamp: false })).to.equal("[web,3,127.0.0.1] hi");
    });

    it("test_eventAsTextSystemMissingNamespaceAndLevel: an event without namespace or level shows -#-", () => {
      expect(eventAsText({ log_format: "XYZZY", log_time: 1 } as unknown as LogEvent, { includeTimestamp: false })).to.equal("[-#-] XYZZY");
    });

    it("test_formatTracebackMultibyte: a failure's traceback follows the message", () => {
      const text = eventAsText(event("broke", { log_failure: new Failure(new RangeError("ünïcode")) }), { includeTimestamp: false });
      expect(text.split("\n").slice(0, 2)).to.deep.equal(["[t#info] broke", "RangeError: ünïcode"]);
    });

    it("test_formatEventUnformattableTraceback: a failure whose traceback throws is noted, not thrown", () => {
      const broken = { getTraceback: () => { throw new Error("no"); } };
      expect(eventAsText(event("m", { log_failure: broken }), { includeTimestamp: false })).to.equal("[t#info] m\n(UNABLE TO OBTAIN TRACEBACK FROM EVENT)");
    });
  });
});
