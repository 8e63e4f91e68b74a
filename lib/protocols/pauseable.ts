/**
 * The producer side of the receivers in basic.ts, as Twisted's basic._PauseableMixin.
 *
 * A receiver that is paused keeps what arrives in its buffer and delivers nothing until
 * resumed; pausing it also pauses its transport, so the peer is throttled by TCP instead of
 * the receiver buffering without bound.
 */

import type { IPushProducer } from "../internet/interfaces.js";
import { Protocol } from "../internet/protocol.js";

const EMPTY = Buffer.alloc(0);

/** What the receivers need of a transport that can be paused; every torsion transport has it. */
type PausableTransport = Partial<IPushProducer>;

export abstract class PauseableProtocol extends Protocol implements IPushProducer {
  /** True while paused or stopped: no line or string is delivered. */
  paused = false;

  pauseProducing(): void {
    this.paused = true;
    (this.transport as PausableTransport | null)?.pauseProducing?.();
  }

  /** Resume the transport, then deliver what was buffered while paused. */
  resumeProducing(): void {
    this.paused = false;
    (this.transport as PausableTransport | null)?.resumeProducing?.();
    this.dataReceived(EMPTY);
  }

  stopProducing(): void {
    this.paused = true;
    (this.transport as PausableTransport | null)?.stopProducing?.();
  }
}

/** A Buffer view of `data`, without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * `rest` itself, or a copy of it when it may share memory with `data`: a receiver keeps its
 * unparsed tail across calls, and the caller owns `data` and may reuse it once
 * dataReceived returns.
 */
export function retain(rest: Buffer, data: Uint8Array): Buffer {
  if (rest.length === 0) return EMPTY;
  return rest.buffer === data.buffer ? Buffer.from(rest) : rest;
}

/** Throw a clear TypeError when something other than bytes is sent. */
export function mustBeBytes(data: unknown, what: string): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what} must be bytes (a Buffer or Uint8Array), not ${typeof data === "string" ? "a string" : typeof data}`);
  }
}

export { EMPTY };
