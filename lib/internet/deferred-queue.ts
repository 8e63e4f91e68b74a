/**
 * DeferredQueue (twisted.internet.defer): put() objects in, get() a Deferred of the next one.
 * `size` bounds the objects held (put() beyond it raises QueueOverflow) and `backlog` the
 * get()s waiting (a get() beyond it raises QueueUnderflow); null means no bound. Cancelling a
 * waiting get() removes it, so the next put() goes to the next waiter.
 */

import { Deferred, succeed } from "./deferred.js";
import { QueueOverflow, QueueUnderflow } from "./error.js";

export class DeferredQueue<T> {
  /** get() Deferreds waiting for an object, in order. */
  readonly waiting: Deferred<T>[] = [];
  /** Objects put and not yet taken, in order. */
  readonly pending: T[] = [];

  constructor(
    readonly size: number | null = null,
    readonly backlog: number | null = null,
  ) {}

  private cancelGet = (d: Deferred<T>): void => {
    this.waiting.splice(this.waiting.indexOf(d), 1);
  };

  /** Add an object: to the first waiting get() if there is one, else to the queue. */
  put(obj: T): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) {
      waiter.callback(obj);
    } else if (this.size === null || this.pending.length < this.size) {
      this.pending.push(obj);
    } else {
      throw new QueueOverflow();
    }
  }

  /** A Deferred of the next object: fired now if one is queued. */
  get(): Deferred<T> {
    if (this.pending.length) return succeed(this.pending.shift() as T);
    if (this.backlog === null || this.waiting.length < this.backlog) {
      const d = new Deferred<T>(this.cancelGet);
      this.waiting.push(d);
      return d;
    }
    throw new QueueUnderflow();
  }
}
