import { expect } from "chai";
import { LimitedHistoryLogObserver, LogLevel, LogPublisher, Logger, formatEvent, type LogEvent, type LogObserver } from "../../../lib/internet/log.js";

function event(fields: Record<string, unknown> = {}): LogEvent {
  return { log_namespace: "t", log_level: LogLevel.info, log_format: "", log_time: 0, ...fields };
}

describe("logger/observer", () => {
  describe("LogPublisher", () => {
    it("test_observers: observers are the ones given, in order", () => {
      const o1: LogObserver = () => {};
      const o2: LogObserver = () => {};
      expect(new LogPublisher(o1, o2).observers).to.deep.equal([o1, o2]);
    });

    it("test_addObserver: an added observer receives events; adding it twice delivers once", () => {
      const seen: LogEvent[] = [];
      const o: LogObserver = (e) => seen.push(e);
      const publisher = new LogPublisher();
      publisher.addObserver(o);
      publisher.addObserver(o);
      publisher(event());
      expect(seen).to.have.length(1);
    });

    it("test_addObserverNotCallable: adding something that is not a function throws TypeError", () => {
      expect(() => new LogPublisher().addObserver(42 as unknown as LogObserver)).to.throw(TypeError, /not callable: 42/);
    });

    it("test_removeObserver / test_removeObserverNotRegistered: removal stops delivery; removing a stranger does nothing", () => {
      const seen: LogEvent[] = [];
      const o: LogObserver = (e) => seen.push(e);
      const publisher = new LogPublisher(o);
      publisher.removeObserver(() => {});
      publisher.removeObserver(o);
      publisher(event());
      expect(seen).to.have.length(0);
      expect(publisher.observers).to.deep.equal([]);
    });

    it("test_fanOut: each event reaches every observer", () => {
      const seen: string[] = [];
      const publisher = new LogPublisher((e) => seen.push(`a${e.n}`), (e) => seen.push(`b${e.n}`));
      publisher(event({ n: 1 }));
      publisher.publish(event({ n: 2 }));
      expect(seen).to.deep.equal(["a1", "b1", "a2", "b2"]);
    });

    it("test_observerRaises: an observer that throws is reported to the others, which still get the event", () => {
      const seen: string[] = [];
      const publisher = new LogPublisher(
        function broken() {
          throw new Error("observer bug");
        },
        (e) => seen.push(formatEvent(e)),
      );
      new Logger("t", publisher).info("hello");
      expect(seen).to.deep.equal(["Temporarily disabling observer broken due to exception", "hello"]);
    });

    it("test_observerRaisesAndLoggerHatesMe: an observer that throws on the report too is survived", () => {
      const seen: LogEvent[] = [];
      const publisher = new LogPublisher(
        () => {
          throw new Error("always");
        },
        (e) => {
          if (e.log_failure) throw new Error("hates failures");
          seen.push(e);
        },
      );
      publisher(event());
      expect(seen).to.have.length(1);
    });

    it("test_trace: a traced event records each publisher and the observer it called", () => {
      const e = event({ log_trace: [] });
      const o1: LogObserver = () => {};
      const inner = new LogPublisher(o1);
      const o2: LogObserver = () => {};
      const outer = new LogPublisher(inner, o2);
      outer(e);
      expect(e.log_trace).to.deep.equal([[outer, inner], [inner, o1], [outer, o2]]);
    });
  });

  describe("LimitedHistoryLogObserver", () => {
    it("test_order: events are replayed in the order they were observed", () => {
      const history = new LimitedHistoryLogObserver(10);
      for (let i = 0; i < 5; i++) history(event({ n: i }));
      const seen: unknown[] = [];
      history.replayTo((e) => seen.push(e.n));
      expect(seen).to.deep.equal([0, 1, 2, 3, 4]);
    });

    it("test_limit: only the last `size` events are kept", () => {
      const history = new LimitedHistoryLogObserver(4);
      for (let i = 0; i < 10; i++) history(event({ n: i }));
      const seen: unknown[] = [];
      history.replayTo((e) => seen.push(e.n));
      expect(seen).to.deep.equal([6, 7, 8, 9]);
    });

    it("a size that is not an integer >= 0 throws RangeError naming it", () => {
      expect(() => new LimitedHistoryLogObserver(-1)).to.throw(RangeError, /-1/);
    });
  });
});
