/**
 * Drive a pull producer as a push producer, as twisted.internet._producer_helpers._PullToPush.
 *
 * HTTPChannel proxies pause/resume from the transport to the producer registered on the
 * request currently answering; a pull producer has no pause, so this wrapper calls its
 * resumeProducing() repeatedly while the channel is not paused, as Twisted does with a
 * cooperative task: up to SLICE calls per turn, a turn every TICK seconds (Twisted's
 * Cooperator uses 0.01 s too). The transport pauses the wrapper, synchronously from
 * write(), as soon as its buffer is full, which ends the slice early.
 */

const SLICE = 64;
const TICK = 0.01;

import type { IDelayedCall, IPullProducer, IPushProducer, IReactorTime } from "../internet/interfaces.js";

export class PullToPush implements IPushProducer {
  private paused = false;
  private finished = false;
  private call: IDelayedCall | null = null;

  /** The producer threw: no more calls until stopProducing (which still reaches it). */
  private failed = false;

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
    this.schedule();
  }

  /** True while the producer is being called. */
  get running(): boolean {
    return !this.finished && !this.paused;
  }

  /** Stop calling the pull producer without stopping it (the producer was unregistered). */
  stopStreaming(): void {
    this.finished = true;
    this.cancel();
  }

  pauseProducing(): void {
    this.paused = true;
    this.cancel();
  }

  resumeProducing(): void {
    this.paused = false;
    this.schedule();
  }

  stopProducing(): void {
    if (this.finished) return;
    this.stopStreaming();
    this.pullProducer.stopProducing();
  }

  private schedule(): void {
    if (this.finished || this.paused || this.failed || this.call !== null) return;
    this.call = this.reactor.callLater(TICK, this.tick);
  }

  private cancel(): void {
    const call = this.call;
    this.call = null;
    if (call !== null && call.active()) call.cancel();
  }

  private readonly tick = (): void => {
    this.call = null;
    try {
      for (let i = 0; i < SLICE && !this.finished && !this.paused; i++) this.pullProducer.resumeProducing();
    } catch (err) {
      this.failed = true;
      this.onError(err);
      return;
    }
    this.schedule();
  };
}
