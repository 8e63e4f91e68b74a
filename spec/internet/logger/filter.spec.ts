import { expect } from "chai";
import {
  FilteringLogObserver,
  InvalidLogLevelError,
  LogLevel,
  LogLevelFilterPredicate,
  LogPublisher,
  PredicateResult,
  shouldLogEvent,
  type LogEvent,
  type LogFilterPredicate,
  type LogObserver,
} from "../../../lib/internet/log.js";

function event(fields: Record<string, unknown> = {}): LogEvent {
  return { log_namespace: "t", log_level: LogLevel.info, log_format: "", log_time: 0, ...fields };
}

const always = (result: PredicateResult): LogFilterPredicate => () => result;

describe("logger/filter", () => {
  describe("shouldLogEvent and FilteringLogObserver", () => {
    it("test_shouldLogEventNoFilters: with no predicates everything is logged", () => {
      expect(shouldLogEvent([], event())).to.equal(true);
    });

    it("test_shouldLogEventNoFilter: a no drops the event", () => {
      expect(shouldLogEvent([always(PredicateResult.no)], event())).to.equal(false);
    });

    it("test_shouldLogEventYesFilter: a yes logs the event", () => {
      expect(shouldLogEvent([always(PredicateResult.yes)], event())).to.equal(true);
    });

    it("test_shouldLogEventYesNoFilter: the first yes or no decides; the predicates after it are not asked", () => {
      expect(shouldLogEvent([always(PredicateResult.yes), always(PredicateResult.no)], event())).to.equal(true);
      expect(shouldLogEvent([always(PredicateResult.no), () => { throw new Error("asked"); }], event())).to.equal(false);
    });

    it("test_shouldLogEventYesYesNoFilter: maybes pass the question on; all maybes log", () => {
      expect(shouldLogEvent([always(PredicateResult.maybe), always(PredicateResult.no)], event())).to.equal(false);
      expect(shouldLogEvent([always(PredicateResult.maybe), always(PredicateResult.maybe)], event())).to.equal(true);
    });

    it("test_shouldLogEventBadPredicateResult: a predicate returning anything else throws TypeError", () => {
      expect(() => shouldLogEvent([() => "bogus" as PredicateResult], event())).to.throw(TypeError, /bogus/);
    });

    it("test_shouldLogEventOtherObserver: events filtered out go to the negative observer", () => {
      const yes: LogEvent[] = [];
      const no: LogEvent[] = [];
      const observer = new FilteringLogObserver((e) => yes.push(e), [(e) => (e.n === 1 ? PredicateResult.no : PredicateResult.maybe)], (e) => no.push(e));
      observer(event({ n: 1 }));
      observer(event({ n: 2 }));
      expect(yes.map((e) => e.n)).to.deep.equal([2]);
      expect(no.map((e) => e.n)).to.deep.equal([1]);
    });

    it("test_call: yes and maybe forward the event, no does not", () => {
      const forwarded = (result: PredicateResult): boolean => {
        const seen: LogEvent[] = [];
        new FilteringLogObserver((e) => seen.push(e), [always(result)])(event());
        return seen.length === 1;
      };
      expect([PredicateResult.yes, PredicateResult.maybe, PredicateResult.no].map(forwarded)).to.deep.equal([true, true, false]);
    });

    it("test_trace: the trace shows the filter forwarding to its observer, and not the one it filtered out", () => {
      const oYes: LogObserver = () => {};
      const oNo: LogObserver = () => {};
      const yesFilter = new FilteringLogObserver(oYes, [always(PredicateResult.yes)]);
      const noFilter = new FilteringLogObserver(oNo, [always(PredicateResult.no)]);
      let traced: unknown;
      const oTest: LogObserver = (e) => {
        traced = e.log_trace!.slice();
      };
      const publisher = new LogPublisher(yesFilter, noFilter, oTest);
      publisher(event({ log_trace: [] }));
      expect(traced).to.deep.equal([[publisher, yesFilter], [yesFilter, oYes], [publisher, noFilter], [publisher, oTest]]);
    });
  });

  describe("LogLevelFilterPredicate", () => {
    it("test_defaultLogLevel: every namespace has the default level until one is set", () => {
      const predicate = new LogLevelFilterPredicate();
      expect(predicate.logLevelForNamespace("")).to.equal(LogLevel.info);
      expect(predicate.logLevelForNamespace("rocker.cool.namespace")).to.equal(predicate.defaultLogLevel);
    });

    it("test_setLogLevel: a namespace's level applies to the namespaces under it", () => {
      const predicate = new LogLevelFilterPredicate();
      predicate.setLogLevelForNamespace("", LogLevel.error);
      predicate.setLogLevelForNamespace("twext.web2", LogLevel.debug);
      predicate.setLogLevelForNamespace("twext.web2.dav", LogLevel.warn);
      expect(predicate.logLevelForNamespace("")).to.equal(LogLevel.error);
      expect(predicate.logLevelForNamespace("twisted")).to.equal(LogLevel.error);
      expect(predicate.logLevelForNamespace("twext.web2")).to.equal(LogLevel.debug);
      expect(predicate.logLevelForNamespace("twext.web2.dav")).to.equal(LogLevel.warn);
      expect(predicate.logLevelForNamespace("twext.web2.dav.test")).to.equal(LogLevel.warn);
      expect(predicate.logLevelForNamespace("twext.web2.dav.test1.test2")).to.equal(LogLevel.warn);
      expect(predicate.logLevelForNamespace("twext.web2dav")).to.equal(LogLevel.error);
    });

    it("test_setInvalidLogLevel: a level that is not a LogLevel (or is a level's name) throws InvalidLogLevelError", () => {
      const predicate = new LogLevelFilterPredicate();
      expect(() => predicate.setLogLevelForNamespace("twext.web2", {} as LogLevel)).to.throw(InvalidLogLevelError);
      expect(() => predicate.setLogLevelForNamespace("twext.web2", "debug" as unknown as LogLevel)).to.throw(InvalidLogLevelError, /"debug"/);
    });

    it("test_clearLogLevels: clearing puts every namespace back to the default", () => {
      const predicate = new LogLevelFilterPredicate();
      predicate.setLogLevelForNamespace("twext.web2", LogLevel.debug);
      predicate.setLogLevelForNamespace("twext.web2.dav", LogLevel.error);
      predicate.clearLogLevels();
      for (const ns of ["twisted", "twext.web2", "twext.web2.dav", "twext.web2.dav.test"]) {
        expect(predicate.logLevelForNamespace(ns)).to.equal(predicate.defaultLogLevel);
      }
    });

    it("test_filtering: events below their namespace's level are dropped, the rest are maybe", () => {
      const predicate = new LogLevelFilterPredicate();
      predicate.setLogLevelForNamespace("", LogLevel.error);
      predicate.setLogLevelForNamespace("twext.web2", LogLevel.debug);
      predicate.setLogLevelForNamespace("twext.web2.dav", LogLevel.warn);
      const check = (ns: string, level: LogLevel): PredicateResult => predicate(event({ log_namespace: ns, log_level: level }));
      expect(check("", LogLevel.critical)).to.equal(PredicateResult.no); // no namespace: dropped
      expect(check("twisted", LogLevel.debug)).to.equal(PredicateResult.no);
      expect(check("twisted", LogLevel.error)).to.equal(PredicateResult.maybe);
      expect(check("twext.web2", LogLevel.debug)).to.equal(PredicateResult.maybe);
      expect(check("twext.web2.dav", LogLevel.info)).to.equal(PredicateResult.no);
      expect(check("twext.web2.dav", LogLevel.warn)).to.equal(PredicateResult.maybe);
      expect(predicate(event({ log_level: undefined }))).to.equal(PredicateResult.no);
    });
  });
});
