/**
 * A body of `total` bytes sent as one chunk over and over, at the pace the receiver reads: the
 * bulk transfers of bench/tcp and bench/wsgi, written the idiomatic way on each side. torsion:
 * a streaming (push) producer registered with its consumer, writing while it is not paused, as
 * Twisted's producers do. Node: write() until it returns false, then wait for 'drain'.
 */

import type { IConsumer, IPushProducer } from "../../lib/internet/interfaces.js";

/**
 * Writes `chunk` to `consumer` until `total` bytes are out, pausing when the consumer says so;
 * then unregisters and calls `done` (loseConnection, Request.finish). stopProducing (the
 * connection is gone) ends it without `done`.
 */
export class BulkProducer implements IPushProducer {
  private sent = 0;
  private paused = false;
  private stopped = false;

  constructor(
    private readonly consumer: IConsumer,
    private readonly chunk: Uint8Array,
    private readonly total: number,
    private readonly done: () => void,
  ) {}

  /** Register with the consumer and write until paused. */
  start(): void {
    this.consumer.registerProducer(this, true);
    this.resumeProducing();
  }

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    this.paused = false;
    while (!this.paused && !this.stopped && this.sent < this.total) {
      this.sent += this.chunk.length;
      this.consumer.write(this.chunk);
    }
    if (this.sent >= this.total && !this.stopped) {
      this.stopped = true;
      this.consumer.unregisterProducer();
      this.done();
    }
  }

  stopProducing(): void {
    this.stopped = true;
  }
}

/** What writeBulk needs of a node:net socket or a node:http response. */
export interface NodeWritable {
  write(chunk: Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
  end(): unknown;
}

/** Writes `chunk` to `out` until `total` bytes are out, waiting for 'drain' whenever write() says so; then end(). */
export function writeBulk(out: NodeWritable, chunk: Uint8Array, total: number): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      sent += chunk.length;
      if (!out.write(chunk)) {
        out.once("drain", pump);
        return;
      }
    }
    out.end();
  };
  pump();
}
