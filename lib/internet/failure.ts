/**
 * Failure: an error as it travels down a Deferred's errback chain (twisted.python.failure).
 *
 * JavaScript can throw anything, so a Failure wraps any value; `value` is always an Error
 * (a thrown non-Error is wrapped in one) so stacks and messages are always available.
 */

type ErrorClass = abstract new (...args: never[]) => unknown;

/** A thrown value that is not an Error, kept so nothing about it is lost. */
export class NonErrorThrown extends Error {
  constructor(readonly thrown: unknown) {
    super(`non-Error value thrown: ${describe(thrown)}`);
    this.name = "NonErrorThrown";
  }
}

function describe(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export class Failure {
  /** The error. A non-Error thrown value is wrapped in NonErrorThrown. */
  readonly value: Error;

  /**
   * Wrap `value`. A Failure given a Failure is a copy-free pass-through in spirit: use
   * Failure.from() to avoid double wrapping.
   */
  constructor(value: unknown) {
    if (value instanceof Failure) {
      this.value = value.value;
    } else {
      this.value = value instanceof Error ? value : new NonErrorThrown(value);
    }
  }

  /** `value` itself when it is a Failure, else a new Failure wrapping it. */
  static from(value: unknown): Failure {
    return value instanceof Failure ? value : new Failure(value);
  }

  /** The error's class, as Failure.type in Twisted. */
  get type(): Function {
    return this.value.constructor;
  }

  /** The first of `errorTypes` the error is an instance of, or null. */
  check<T extends ErrorClass>(...errorTypes: T[]): T | null {
    for (const t of errorTypes) {
      if (this.value instanceof (t as unknown as Function)) return t;
    }
    return null;
  }

  /**
   * Return the first of `errorTypes` the error is an instance of; otherwise rethrow this
   * Failure, so an errback can `failure.trap(ConnectionDone)` to pass every other error on.
   */
  trap<T extends ErrorClass>(...errorTypes: T[]): T {
    const matched = this.check(...errorTypes);
    if (matched === null) throw this;
    return matched;
  }

  /** The error's message, as Failure.getErrorMessage(). */
  getErrorMessage(): string {
    return this.value.message;
  }

  /** The stack as a string, with the error's name and message first. */
  getTraceback(): string {
    return this.value.stack ?? `${this.value.name}: ${this.value.message}`;
  }

  /** Throw the wrapped error, as Failure.raiseException(). */
  raiseException(): never {
    throw this.value;
  }

  toString(): string {
    return `[Failure instance: ${this.value.name}: ${this.value.message}]`;
  }
}
