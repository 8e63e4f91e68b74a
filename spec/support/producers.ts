/**
 * Producer doubles for the consumer specs (transports, HTTP channels and requests): producers
 * that record the calls they get, as test_http.py's DummyProducer; one that keeps a peer's
 * buffers full; and one with a bug, for the fault specs that show a consumer drops only the
 * connection whose producer raised.
 */

import type { IConsumer, IPullProducer, IPushProducer } from "../../lib/internet/interfaces.js";
import { later } from "./wait.js";

/** A pull producer recording the calls it gets: "resume", "stop". */
export class DummyPullProducer implements IPullProducer {
  events: string[] = [];
  resumeProducing(): void {
    this.events.push("resume");
  }
  stopProducing(): void {
    this.events.push("stop");
  }
}

/** A push producer recording the calls it gets: "pause", "resume", "stop" (test_http.py's DummyProducer). */
export class DummyProducer extends DummyPullProducer implements IPushProducer {
  pauseProducing(): void {
    this.events.push("pause");
  }
}

/**
 * Register on `consumer` a producer that writes `chunk`s (a streaming one until paused, at most
 * 64 MiB at a time; a pull one a chunk a call) and throws `message` from its second
 * resumeProducing. Its calls go to `events` ("pause", "resume", "stop").
 */
export function registerFaultyProducer(consumer: IConsumer, streaming: boolean, chunk: Buffer, message: string, events: string[]): void {
  let calls = 0;
  let paused = false;
  // A push producer writes until paused (the kernel takes megabytes on loopback first), and is
  // resumed when the buffer drains; the bound keeps a consumer that never pauses from spinning.
  const fill = (): void => {
    let written = 0;
    do {
      consumer.write(chunk);
      written += chunk.length;
    } while (streaming && !paused && written < 64 * 1024 * 1024);
  };
  const producer: IPushProducer = {
    pauseProducing: () => {
      paused = true;
      events.push("pause");
    },
    resumeProducing: () => {
      paused = false;
      events.push("resume");
      if (++calls >= 2) throw new Error(message);
      fill();
    },
    stopProducing: () => {
      events.push("stop");
    },
  };
  consumer.registerProducer(producer, streaming);
  if (streaming) fill();
}

/**
 * A push producer registered on `transport` that writes 256 KiB blocks every millisecond while
 * not paused: a transfer that fills a peer that does not read, for the specs that then kill the
 * peer mid-transfer. Its stopProducing calls are counted and noted in `order`.
 */
export class PumpingProducer implements IPushProducer {
  stops = 0;
  /** Resolves at the first pauseProducing. */
  readonly pausedOnce = later();
  private paused = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    transport: IConsumer,
    private readonly order: string[],
  ) {
    transport.registerProducer(this, true);
    this.timer = setInterval(() => {
      for (let i = 0; i < 8 && !this.paused; i++) transport.write(Buffer.alloc(256 << 10));
    }, 1);
  }
  pauseProducing(): void {
    this.paused = true;
    this.pausedOnce.resolve();
  }
  resumeProducing(): void {
    this.paused = false;
  }
  stopProducing(): void {
    this.stops++;
    this.order.push("stopProducing");
  }
  /** Stop writing (the interval), whatever happened. */
  end(): void {
    clearInterval(this.timer);
  }
}
