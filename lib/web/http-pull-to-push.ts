/**
 * Drive a pull producer as a push producer, as twisted.internet._producer_helpers._PullToPush.
 *
 * HTTPChannel proxies pause/resume from the transport to the producer registered on the
 * request currently answering; a pull producer has no pause, so this wrapper runs a
 * cooperative task (task.ts's Cooperator, `cooperate`, the one way torsion drives a pull
 * producer that is not written straight to a transport) whose every step is one
 * resumeProducing() call, as Twisted's does. Pausing pauses the task, resuming resumes it.
 *
 * Timing. Twisted's Cooperator runs a tick until 10 ms of wall-clock time have passed (its
 * _Timer termination predicate) and schedules the next tick almost at once, with
 * callLater(_EPSILON), 1e-8 s: it does not wait 10 ms between ticks. The Cooperator here is
 * scheduled the same way, on the channel's own reactor (a Clock in specs runs one tick per
 * advance, since the next is due 1e-8 s later), and a tick also ends after SLICE steps, so
 * what one tick makes a producer write is bounded even when the transport never pauses it (a
 * StringTransport, a socket that takes everything). The transport pauses the wrapper
 * synchronously from write() as soon as its buffer is full, which ends its part of a tick early.
 */

import { Cooperator, type CooperativeTask } from "../internet/task.js";
import type { IPullProducer, IPushProducer, IReactorTime } from "../internet/interfaces.js";

/** Twisted's Cooperator: the next tick is scheduled this many seconds later (_EPSILON). */
const EPSILON = 0.00000001;
/** Twisted's _Timer: a tick lasts at most this many milliseconds of wall-clock time. */
const TICK_MS = 10;
/** At most this many resumeProducing() calls a tick. */
const SLICE = 64;

function terminationPredicate(): () => boolean {
  const end = performance.now() + TICK_MS;
  let steps = 0;
  return () => ++steps >= SLICE || performance.now() >= end;
}

/**
 * One Cooperator for each reactor that channels run on, scheduled by that reactor (so a
 * channel on a Clock is driven by advancing the Clock, and one on the real reactor by its loop).
 */
const cooperators = new WeakMap<IReactorTime, Cooperator>();

function cooperatorFor(reactor: IReactorTime): Cooperator {
  let cooperator = cooperators.get(reactor);
  if (cooperator === undefined) {
    cooperator = new Cooperator({
      scheduler: (tick) => reactor.callLater(EPSILON, tick),
      terminationPredicateFactory: terminationPredicate,
    });
    cooperators.set(reactor, cooperator);
  }
  return cooperator;
}

export class PullToPush implements IPushProducer {
  private paused = false;
  private finished = false;
  private task: CooperativeTask | null = null;

  /**
   * `onError` is told when the pull producer's resumeProducing throws (HTTPChannel drops the
   * connection, as a transport does when its own producer throws). Without it the error would
   * escape into the reactor's timer and the response would hang, unfinished, forever.
   */
  constructor(
    readonly pullProducer: IPullProducer,
    private readonly reactor: IReactorTime,
    private readonly onError: (err: unknown) => void = (err) => {
      throw err;
    },
  ) {}

  /** Start calling the pull producer. */
  startStreaming(): void {
    if (this.task !== null || this.finished) return;
    this.task = cooperatorFor(this.reactor).cooperate(this.pull());
    if (this.paused) this.task.pause();
  }

  /** True while the producer is being called. */
  get running(): boolean {
    return !this.finished && !this.paused;
  }

  /** Stop calling the pull producer without stopping it (the producer was unregistered). */
  stopStreaming(): void {
    if (this.finished) return;
    this.finished = true;
    this.task?.stop();
  }

  pauseProducing(): void {
    if (this.paused) return;
    this.paused = true;
    if (!this.finished) this.task?.pause();
  }

  resumeProducing(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.finished) this.task?.resume();
  }

  stopProducing(): void {
    if (this.finished) return;
    this.stopStreaming();
    this.pullProducer.stopProducing();
  }

  /** The task's steps: one resumeProducing() each; a throw ends the task (Twisted's _pull). */
  private *pull(): Generator<undefined, void, unknown> {
    for (;;) {
      try {
        this.pullProducer.resumeProducing();
      } catch (err) {
        // The task ends with this step: nothing left to pause, resume or stop; stopProducing()
        // still reaches the producer.
        this.task = null;
        this.onError(err);
        return;
      }
      yield undefined;
    }
  }
}
