import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Failure } from "../../../lib/internet/failure.js";
import {
  LogLevel,
  LogPublisher,
  eventAsJSON,
  eventFromJSON,
  eventsFromJSONLogFile,
  eventsFromJSONLogStream,
  formatEvent,
  jsonFileLogObserver,
  type LogEvent,
} from "../../../lib/internet/log.js";
import { captureLogsOfEachTest } from "../../support/logs.js";

const bare = (fields: Record<string, unknown>): LogEvent => fields as unknown as LogEvent;
const roundTrip = (fields: Record<string, unknown>): LogEvent => eventFromJSON(eventAsJSON(bare(fields)));
const read = (input: Parameters<typeof eventsFromJSONLogFile>[0], separator?: string): unknown[] =>
  [...eventsFromJSONLogFile(input, separator === undefined ? {} : { recordSeparator: separator })];

describe("logger/json", () => {
  describe("eventAsJSON and eventFromJSON", () => {
    it("test_simpleSaveLoad: an empty event round-trips; the JSON has no newline", () => {
      expect(eventAsJSON(bare({}))).to.equal("{}");
      expect(roundTrip({})).to.deep.equal({});
      expect(eventAsJSON(bare({ text: "a\nb" }))).to.not.include("\n");
    });

    it("test_saveLoad: plain values round-trip", () => {
      const fields = { "1": 2, "3": "4", list: [1, "x", null], nested: { a: true } };
      expect(roundTrip(fields)).to.deep.equal(fields);
    });

    it("test_saveUnPersistable: a value JSON cannot hold becomes {unpersistable: true}", () => {
      class Protocol {}
      expect(roundTrip({ "1": 2, "3": new Protocol(), f: () => 1 })).to.deep.equal({ "1": 2, "3": { unpersistable: true }, f: { unpersistable: true } });
    });

    it("a cycle is cut at the repeat, not thrown", () => {
      const loop: Record<string, unknown> = { a: 1 };
      loop.self = loop;
      expect(roundTrip({ loop })).to.deep.equal({ loop: { a: 1, self: { unpersistable: true } } });
    });

    it("test_saveNonASCII: non-ASCII keys and values round-trip", () => {
      expect(roundTrip({ "\u1234": "\u4321" })).to.deep.equal({ "\u1234": "\u4321" });
    });

    it("test_saveBytes: bytes are saved as Latin-1 text", () => {
      const bytes = Uint8Array.from({ length: 255 }, (_, i) => i);
      expect(roundTrip({ hello: bytes })).to.deep.equal({ hello: Buffer.from(bytes).toString("latin1") });
    });

    it("test_saveUnPersistableThenFormat: a field that cannot be saved still formats as it did", () => {
      class Reprable {
        toString(): string {
          return "reprable";
        }
      }
      const loaded = roundTrip({ log_format: "{object} {n}", object: new Reprable(), n: 7 });
      expect(loaded.object).to.deep.equal({ unpersistable: true });
      expect(formatEvent(loaded)).to.equal("reprable 7");
    });

    it("test_failureStructurePreserved: a failure reads back with its type, message and traceback", () => {
      const failure = new Failure(new RangeError("out of range"));
      const loaded = roundTrip({ log_failure: failure }).log_failure!;
      expect(loaded).to.be.instanceOf(Failure);
      expect(loaded.value.name).to.equal("RangeError");
      expect(loaded.getErrorMessage()).to.equal("out of range");
      expect(loaded.getTraceback()).to.equal(failure.getTraceback());
    });

    it("test_saveLoadLevel: log_level reads back as the LogLevel, in Twisted's shape", () => {
      expect(roundTrip({ log_level: LogLevel.warn }).log_level).to.equal(LogLevel.warn);
      expect(JSON.parse(eventAsJSON(bare({ log_level: LogLevel.warn })))).to.deep.equal({
        log_level: { name: "warn", __class_uuid__: "02E59486-F24D-46AD-8224-3ACDF2A5732A" },
      });
    });

    it("test_saveLoadUnknownLevel: a level name torsion does not know reads back as null", () => {
      expect(eventFromJSON('{"log_level": {"name": "other", "__class_uuid__": "02E59486-F24D-46AD-8224-3ACDF2A5732A"}}')).to.deep.equal({ log_level: null });
    });
  });

  describe("jsonFileLogObserver", () => {
    it("test_observeWritesDefaultRecordSeparator: writes RS + JSON + LF", () => {
      let text = "";
      jsonFileLogObserver({ write: (t: string) => (text += t) })(bare({ x: 1 }));
      expect(text).to.equal('\x1e{"x":1}\n');
    });

    it("test_observeWritesEmptyRecordSeparator: an empty separator writes JSON lines", () => {
      let text = "";
      jsonFileLogObserver({ write: (t: string) => (text += t) }, "")(bare({ x: 1 }));
      expect(text).to.equal('{"x":1}\n');
    });

    it("test_failureFormatting: a logged failure reads back with its traceback", () => {
      let text = "";
      const publisher = new LogPublisher(jsonFileLogObserver({ write: (t: string) => (text += t) }));
      publisher(bare({ log_format: "oops", log_failure: new Failure(new TypeError("kaboom")) }));
      const [event] = read(text) as LogEvent[];
      expect(event!.log_failure!.getTraceback()).to.match(/^TypeError: kaboom\n/);
    });
  });

  describe("eventsFromJSONLogFile", () => {
    const logs = captureLogsOfEachTest();
    const errors = (): LogEvent[] => logs.events.filter((e) => e.log_level === LogLevel.error);

    it("test_readEventsAutoWithRecordSeparator: detects RS as the separator", () => {
      expect(read('\x1e{"x": 1}\n\x1e{"y": 2}\n')).to.deep.equal([{ x: 1 }, { y: 2 }]);
      expect(errors()).to.have.length(0);
    });

    it("test_readEventsAutoEmptyRecordSeparator: reads JSON lines when the file does not start with RS", () => {
      expect(read('{"x": 1}\n{"y": 2}\n')).to.deep.equal([{ x: 1 }, { y: 2 }]);
      expect(errors()).to.have.length(0);
    });

    it("test_readEventsExplicitRecordSeparator: uses the separator it is given", () => {
      expect(read('\x08{"x": 1}\n\x08{"y": 2}\n', "\x08")).to.deep.equal([{ x: 1 }, { y: 2 }]);
    });

    it("test_readEventsPartialBuffer: records split across chunks are joined", () => {
      const text = '\x1e{"x": 1}\n\x1e{"y": 2}\n';
      expect(read([...text])).to.deep.equal([{ x: 1 }, { y: 2 }]);
    });

    it("test_readTruncated: a truncated record is skipped and logged", () => {
      expect(read('\x1e{"x": 1\x1e{"y": 2}\n')).to.deep.equal([{ y: 2 }]);
      expect(errors().map((e) => e.log_format)).to.deep.equal(["Unable to read truncated JSON record: {record}"]);
      expect(String(errors()[0]!.record)).to.equal('{"x": 1');
    });

    it("test_readUnicode, test_readUTF8Bytes: text and UTF-8 bytes both read", () => {
      expect(read('\x1e{"currency": "\u20ac"}\n')).to.deep.equal([{ currency: "\u20ac" }]);
      expect(read(Buffer.from('\x1e{"currency": "\u20ac"}\n'))).to.deep.equal([{ currency: "\u20ac" }]);
    });

    it("test_readTruncatedUTF8Bytes: a character split across chunks is read whole", () => {
      const bytes = Buffer.from('\x1e{"x": "\u20ac"}\n');
      const chunks = [bytes.subarray(0, 8), bytes.subarray(8)];
      expect(read(chunks)).to.deep.equal([{ x: "\u20ac" }]);
      expect(errors()).to.have.length(0);
    });

    it("test_readInvalidUTF8Bytes: a record that is not UTF-8 is skipped and logged", () => {
      const bytes = Buffer.concat([Buffer.from('\x1e{"x": "'), Buffer.from([0xe2, 0xac]), Buffer.from('"}\n\x1e{"y": 2}\n')]);
      expect(read(bytes)).to.deep.equal([{ y: 2 }]);
      expect(errors().map((e) => e.log_format)).to.deep.equal(["Unable to decode UTF-8 for JSON record: {record}"]);
    });

    it("test_readInvalidJSON: a record that is not JSON is skipped and logged", () => {
      expect(read('\x1e{"x": }\n\x1e{"y": 2}\n')).to.deep.equal([{ y: 2 }]);
      expect(errors().map((e) => e.log_format)).to.deep.equal(["Unable to read JSON record: {record}"]);
      expect(String(errors()[0]!.record)).to.equal('{"x": }\n');
    });

    it("test_readUnseparated: lines without separators inside one RS record are one bad record", () => {
      expect(read('\x1e{"x": 1}\n{"y": 2}\n')).to.deep.equal([]);
      expect(errors()).to.have.length(1);
    });

    it("test_roundTrip: events written by jsonFileLogObserver read back", () => {
      let text = "";
      const observer = jsonFileLogObserver({ write: (t: string) => (text += t) });
      const events = [bare({ x: 1 }), bare({ y: "\u20ac", log_level: LogLevel.critical })];
      for (const e of events) observer(e);
      expect(read(text)).to.deep.equal(events);
    });

    it("eventsFromJSONLogStream reads a stream chunk by chunk", async () => {
      async function* chunks(): AsyncGenerator<Uint8Array> {
        const bytes = Buffer.from('\x1e{"x": 1}\n\x1e{"y": "\u20ac"}\n');
        for (let i = 0; i < bytes.length; i += 3) yield bytes.subarray(i, i + 3);
      }
      const seen: unknown[] = [];
      for await (const e of eventsFromJSONLogStream(chunks())) seen.push(e);
      expect(seen).to.deep.equal([{ x: 1 }, { y: "\u20ac" }]);
    });
  });

  describe("with Twisted (python3-twisted): the same files", function () {
    const PYTHON = "/usr/bin/python3";
    const SCRIPT = fileURLToPath(new URL("../../../../spec/fixtures/twisted-json-log.py", import.meta.url));
    const twisted = (...args: string[]) => spawnSync(PYTHON, [SCRIPT, ...args], { encoding: "utf8", timeout: 20000 });
    before(function () {
      if (!existsSync(PYTHON) || spawnSync(PYTHON, ["-c", "import twisted.logger"]).status !== 0) {
        console.log("      (skipped: needs /usr/bin/python3 with Twisted: apt-get install python3-twisted)");
        this.skip();
      }
    });
    const logs = captureLogsOfEachTest();

    it("a log Twisted wrote reads here: levels, fields, and the failure's traceback from its frames", () => {
      const run = twisted("write");
      expect(run.status, run.stderr).to.equal(0);
      const events = read(run.stdout) as LogEvent[];
      expect(events.map((e) => [e.log_namespace, e.log_level, formatEvent(e)])).to.deep.equal([
        ["twisted.side", LogLevel.info, "hello torsion"],
        ["twisted.side", LogLevel.critical, "it broke 3"],
      ]);
      const failure = events[1]!.log_failure!;
      expect(failure.value.name).to.equal("ZeroDivisionError");
      expect(failure.getTraceback()).to.match(/^Traceback \(most recent call last\):\n  File ".*twisted-json-log.py", line \d+, in <module>\nZeroDivisionError: $/);
      expect(logs.events).to.have.length(0);
    });

    it("a log torsion wrote reads in Twisted: levels, formatted messages, and a traceback it can print", () => {
      const dir = mkdtempSync(join(tmpdir(), "torsion-json-"));
      try {
        let text = "";
        const publisher = new LogPublisher(jsonFileLogObserver({ write: (t: string) => (text += t) }));
        class Echo {
          toString(): string {
            return "<Echo #1>";
          }
        }
        publisher(bare({ log_namespace: "torsion.side", log_level: LogLevel.warn, log_format: "lost {protocol}", log_time: 1, protocol: new Echo() }));
        publisher(bare({ log_namespace: "torsion.side", log_level: LogLevel.error, log_format: "failed", log_time: 2, log_failure: new Failure(new RangeError("out of range")) }));
        const file = join(dir, "torsion.json");
        writeFileSync(file, text);
        const run = twisted("read", file);
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stdout.trimEnd().split("\n")).to.deep.equal([
          "torsion.side#warn: lost <Echo #1>",
          "torsion.side#error: failed",
          "traceback ends: javascript.RangeError: out of range",
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
