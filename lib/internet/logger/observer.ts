/**
 * Dispatching and keeping events (twisted.logger._observer and _buffer).
 */

import { Failure } from "../failure.js";
import type { LogEvent, LogObserver } from "./event.js";
import { callableInstance } from "./callable.js";
import { LogLevel } from "./levels.js";

/**
 * Hands each event to its observers, in the order they were added, as
 * twisted.logger.LogPublisher. A publisher is itself an observer (call it with an event), so
 * publishers nest. An observer that throws is skipped for that event only and reported to the
 * others, so one bad observer cannot silence the log.
 */
export interface LogPublisher {
  (event: LogEvent): void;
}
export class LogPublisher {
  private _observers!: LogObserver[];

  constructor(...observers: LogObserver[]) {
    const self = callableInstance<LogPublisher>(new.target.prototype, (event: LogEvent) => self.publish(event));
    self._observers = [];
    for (const o of observers) self.addObserver(o);
    return self;
  }

  /** The observers, in delivery order (a copy). */
  get observers(): LogObserver[] {
    return this._observers.slice();
  }

  get observerCount(): number {
    return this._observers.length;
  }

  /** Add an observer (once: adding it again does nothing). TypeError for a non-function. */
  addObserver(observer: LogObserver): void {
    if (typeof observer !== "function") throw new TypeError(`Observer is not callable: ${String(observer)}`);
    if (!this._observers.includes(observer)) this._observers.push(observer);
  }

  /** Remove an observer; removing one that was never added does nothing. */
  removeObserver(observer: LogObserver): void {
    const i = this._observers.indexOf(observer);
    if (i >= 0) this._observers.splice(i, 1);
  }

  publish(event: LogEvent): void {
    const trace = event.log_trace;
    for (const observer of this._observers.slice()) {
      if (Array.isArray(trace)) trace.push([this, observer]);
      try {
        observer(event);
      } catch (err) {
        this.reportBrokenObserver(observer, err);
      }
    }
  }

  private reportBrokenObserver(failing: LogObserver, err: unknown): void {
    const report: LogEvent = {
      log_namespace: "torsion.logger",
      log_level: LogLevel.critical,
      log_format: "Temporarily disabling observer {observer} due to exception",
      log_time: Date.now() / 1000,
      log_failure: new Failure(err),
      observer: failing.name || "observer",
    };
    for (const other of this._observers.slice()) {
      if (other === failing) continue;
      try {
        other(report);
      } catch {
        // an observer failing on the failure report too: nothing left to tell it
      }
    }
  }
}

/**
 * Keeps the last `size` events it observes, to replay them later (Twisted's
 * LimitedHistoryLogObserver): the log that was written before logging began.
 */
export interface LimitedHistoryLogObserver {
  (event: LogEvent): void;
}
export class LimitedHistoryLogObserver {
  // A ring of `size` slots (Twisted's deque(maxlen=size)): keeping an event costs the same
  // however full it is.
  private ring!: Array<LogEvent | undefined>;
  private first!: number;
  private count!: number;
  size!: number;

  constructor(size = 2 ** 16) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be an integer >= 0, got ${size}`);
    const self = callableInstance<LimitedHistoryLogObserver>(new.target.prototype, (event: LogEvent) => self.keep(event));
    self.ring = [];
    self.first = 0;
    self.count = 0;
    self.size = size;
    return self;
  }

  private keep(event: LogEvent): void {
    if (this.size === 0) return;
    if (this.count < this.size) {
      this.ring[(this.first + this.count) % this.size] = event;
      this.count++;
    } else {
      this.ring[this.first] = event;
      this.first = (this.first + 1) % this.size;
    }
  }

  /** Hand every kept event, oldest first, to `observer`. */
  replayTo(observer: LogObserver): void {
    const events: LogEvent[] = [];
    for (let i = 0; i < this.count; i++) events.push(this.ring[(this.first + i) % this.size]!);
    for (const event of events) observer(event);
  }

  get length(): number {
    return this.count;
  }
}

/** An observer that drops everything (Twisted's bitbucketLogObserver). */
export const bitbucketLogObserver: LogObserver = function bitbucketLogObserver(): void {};
