/**
 * Fakes for unit tests, as twisted.internet.testing (formerly twisted.test.proto_helpers).
 *
 * - StringTransport records what a protocol writes and asks of its transport, so a protocol
 *   is tested with no socket: feed it bytes with dataReceived, read the answer with value().
 * - MemoryReactor records listenTCP/connectTCP/... calls instead of making them;
 *   MemoryReactorClock adds a Clock, so timeouts are driven with advance().
 * - AccumulatingProtocol and NonStreamingProducer are small parts for tests to build on.
 *
 * For two protocols talking to each other in memory, see iosim.ts.
 */

import { Deferred } from "./deferred.js";
import type { Bytes, IConsumer, IPullProducer } from "./interfaces.js";
import { Protocol } from "./protocol.js";
import type { Failure } from "./failure.js";

export { ipAddress, unixAddress } from "./address.js";
export {
  BytesIO,
  StringTransport,
  StringTransportWithDisconnection,
} from "./string-transport.js";
export type { ProducerState, StringTransportOptions } from "./string-transport.js";
export {
  FakeConnector,
  FakePort,
  MemoryReactor,
  MemoryReactorClock,
  RaisingMemoryReactor,
} from "./memory-reactor.js";
export type { TCPClientRecord, TCPServerRecord, UNIXClientRecord, UNIXServerRecord } from "./memory-reactor.js";

/** What AccumulatingProtocol's factory may carry: a Deferred fired with the first protocol made. */
interface AccumulatingFactory {
  protocolConnectionMade?: Deferred<AccumulatingProtocol> | null;
}

/**
 * A protocol that collects what it receives, as Twisted's AccumulatingProtocol: `made` and
 * `closed` flags, all `data` received, the `closedReason`, and an optional `closedDeferred`
 * fired when the connection is lost.
 */
export class AccumulatingProtocol extends Protocol {
  made = false;
  closed = false;
  closedReason: Failure | null = null;
  closedDeferred: Deferred<void> | null = null;
  private chunks: Buffer[] = [];

  /** Everything received so far. */
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  override connectionMade(): void {
    this.made = true;
    const factory = this.factory as AccumulatingFactory | null;
    const d = factory?.protocolConnectionMade;
    if (d) {
      factory.protocolConnectionMade = null;
      d.callback(this);
    }
  }

  override dataReceived(data: Bytes): void {
    this.chunks.push(Buffer.from(data));
  }

  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.closed = true;
    this.closedReason = reason;
    const d = this.closedDeferred;
    if (d) {
      this.closedDeferred = null;
      d.callback(undefined);
    }
  }
}

/**
 * A pull producer that writes the numbers 0 to 9, one per resumeProducing(), then unregisters
 * and fires `result`, as Twisted's NonStreamingProducer. It raises if used wrongly (resumed
 * after it is done, or paused), so a consumer's misuse shows up in a test.
 */
export class NonStreamingProducer implements IPullProducer {
  counter = 0;
  stopped = false;
  consumer: IConsumer | null;
  readonly result = new Deferred<void>();

  constructor(consumer: IConsumer) {
    this.consumer = consumer;
  }

  resumeProducing(): void {
    if (this.consumer === null || this.counter >= 10) throw new Error("BUG: resume after unregister/stop.");
    this.consumer.write(Buffer.from(String(this.counter)));
    this.counter++;
    if (this.counter === 10) {
      this.consumer.unregisterProducer();
      this.done();
    }
  }

  /** A pull producer is never paused: calling this is a bug in the consumer. */
  pauseProducing(): void {
    throw new Error("BUG: pause should never be called.");
  }

  stopProducing(): void {
    this.stopped = true;
    this.done();
  }

  private done(): void {
    this.consumer = null;
    if (!this.result.called) this.result.callback(undefined);
  }
}
