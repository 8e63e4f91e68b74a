/**
 * Drive a pull producer as a push producer, as twisted.internet._producer_helpers._PullToPush.
 *
 * HTTPChannel proxies pause/resume from the transport to the producer registered on the
 * request currently answering; a pull producer has no pause, so this wrapper calls its
 * resumeProducing() once per reactor turn while the channel is not paused.
 */

import type { IDelayedCall, IPullProducer, IPushProducer, IReactorTime } from "../internet/interfaces.js";

export class PullToPush implements IPushProducer {
  private paused = false;
  private finished = false;
  private call: IDelayedCall | null = null;

  constructor(
    readonly pullProducer: IPullProducer,
    private readonly reactor: IReactorTime,
  ) {}

  /** Start calling the pull producer. */
  startStreaming(): void {
    this.schedule();
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
    if (this.finished || this.paused || this.call !== null) return;
    this.call = this.reactor.callLater(0, this.tick);
  }

  private cancel(): void {
    const call = this.call;
    this.call = null;
    if (call !== null && call.active()) call.cancel();
  }

  private readonly tick = (): void => {
    this.call = null;
    if (this.finished || this.paused) return;
    this.pullProducer.resumeProducing();
    this.schedule();
  };
}
