/**
 * Filtering events (twisted.logger._filter): a FilteringLogObserver asks its predicates, in
 * order, about each event; the first `yes` or `no` decides, `maybe` asks the next, and an event
 * every predicate is unsure of is logged.
 */

import type { LogEvent, LogObserver } from "./event.js";
import { InvalidLogLevelError, LogLevel, isLogLevel } from "./levels.js";
import { bitbucketLogObserver } from "./observer.js";
import { callableInstance } from "./callable.js";

export enum PredicateResult {
  yes = "yes",
  no = "no",
  maybe = "maybe",
}

export type LogFilterPredicate = (event: LogEvent) => PredicateResult;

/** Whether `predicates` let `event` through (true when none objects). TypeError for a result that is none of PredicateResult's. */
export function shouldLogEvent(predicates: Iterable<LogFilterPredicate>, event: LogEvent): boolean {
  for (const predicate of predicates) {
    const result = predicate(event);
    if (result === PredicateResult.yes) return true;
    if (result === PredicateResult.no) return false;
    if (result !== PredicateResult.maybe) throw new TypeError(`Invalid predicate result: ${String(result)}`);
  }
  return true;
}

/**
 * Passes on to `observer` the events its predicates let through, and the others to
 * `negativeObserver` (dropped by default).
 */
export interface FilteringLogObserver {
  (event: LogEvent): void;
}
export class FilteringLogObserver {
  private predicates!: LogFilterPredicate[];

  constructor(
    wrapped: LogObserver,
    predicates: Iterable<LogFilterPredicate>,
    negativeObserver: LogObserver = bitbucketLogObserver,
  ) {
    const self = callableInstance<FilteringLogObserver>(new.target.prototype, (event: LogEvent): void => {
      if (shouldLogEvent(self.predicates, event)) {
        if (Array.isArray(event.log_trace)) event.log_trace.push([self, wrapped]);
        wrapped(event);
      } else {
        negativeObserver(event);
      }
    });
    self.predicates = [...predicates];
    return self;
  }
}

/**
 * Says `no` to an event below the level of its namespace and `maybe` to the others. A
 * namespace's level is the one set for it or for the nearest dotted parent ("torsion.web" for
 * "torsion.web.http"), else `defaultLogLevel`. An event with no level or no namespace is
 * dropped, as Twisted's is.
 */
export interface LogLevelFilterPredicate {
  (event: LogEvent): PredicateResult;
}
export class LogLevelFilterPredicate {
  private levels!: Map<string, LogLevel>;
  defaultLogLevel!: LogLevel;

  constructor(defaultLogLevel: LogLevel = LogLevel.info) {
    if (!isLogLevel(defaultLogLevel)) throw new InvalidLogLevelError(defaultLogLevel);
    const self = callableInstance<LogLevelFilterPredicate>(new.target.prototype, (event: LogEvent) => self.decide(event));
    self.levels = new Map();
    self.defaultLogLevel = defaultLogLevel;
    self.clearLogLevels();
    return self;
  }

  logLevelForNamespace(namespace: string): LogLevel {
    if (!namespace) return this.levels.get("")!;
    const exact = this.levels.get(namespace);
    if (exact !== undefined) return exact;
    const segments = namespace.split(".");
    for (let n = segments.length - 1; n > 0; n--) {
      const level = this.levels.get(segments.slice(0, n).join("."));
      if (level !== undefined) return level;
    }
    return this.levels.get("")!;
  }

  /** Set the least level logged for `namespace` and the namespaces under it ("" is the default). */
  setLogLevelForNamespace(namespace: string, level: LogLevel): void {
    if (!isLogLevel(level)) throw new InvalidLogLevelError(level);
    this.levels.set(namespace || "", level);
  }

  /** Forget every level set: all namespaces back to defaultLogLevel. */
  clearLogLevels(): void {
    this.levels.clear();
    this.levels.set("", this.defaultLogLevel);
  }

  private decide(event: LogEvent): PredicateResult {
    const level = event.log_level;
    if (level === undefined || level === null) return PredicateResult.no;
    const namespace = event.log_namespace;
    if (!namespace) return PredicateResult.no;
    return level < this.logLevelForNamespace(namespace) ? PredicateResult.no : PredicateResult.maybe;
  }
}
