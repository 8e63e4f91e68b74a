/**
 * What the client specs share: a body protocol that accumulates (Twisted's AccumulatingProtocol),
 * a StringProducer body (test_newclient.py's), and a connected HTTP11ClientProtocol on a
 * StringTransport.
 */

import { Deferred } from "../../../lib/internet/deferred.js";
import type { Failure } from "../../../lib/internet/failure.js";
import type { Bytes, IConsumer, IProtocol, ITransport } from "../../../lib/internet/interfaces.js";
import { StringTransport } from "../../../lib/internet/string-transport.js";
import { Headers } from "../../../lib/web/http-headers.js";
import { Request } from "../../../lib/web/client/client-request.js";
import { HTTP11ClientProtocol } from "../../../lib/web/client/http11-client-protocol.js";
import { type IBodyProducer, UNKNOWN_LENGTH, type UnknownLength } from "../../../lib/web/client/iclient.js";

/** Collects a body and the reason it ended. */
export class AccumulatingProtocol implements IProtocol {
  transport: (ITransport & { pauseProducing(): void; resumeProducing(): void; abortConnection?(): void }) | null = null;
  readonly chunks: Buffer[] = [];
  closedReason: Failure | null = null;
  /** Fires (with null) once the body has ended; closedReason says how. */
  readonly closed = new Deferred<null>();

  makeConnection(transport: ITransport): void {
    this.transport = transport as never;
    this.connectionMade();
  }
  connectionMade(): void {}
  dataReceived(data: Bytes): void {
    this.chunks.push(Buffer.from(data));
  }
  connectionLost(reason: Failure): void {
    this.closedReason = reason;
    this.closed.callback(null);
  }
  get data(): string {
    return Buffer.concat(this.chunks).toString("latin1");
  }
}

/** A body producer the test drives by hand (test_newclient.py's StringProducer). */
export class StringProducer implements IBodyProducer {
  consumer: IConsumer | null = null;
  finished: Deferred<unknown> | null = null;
  stopped = false;
  paused = 0;
  resumed = 0;

  constructor(readonly length: number | UnknownLength = UNKNOWN_LENGTH) {}

  startProducing(consumer: IConsumer): Deferred<unknown> {
    this.consumer = consumer;
    this.finished = new Deferred();
    return this.finished;
  }
  stopProducing(): void {
    this.stopped = true;
  }
  pauseProducing(): void {
    this.paused++;
  }
  resumeProducing(): void {
    this.resumed++;
  }
}

export function hostHeaders(host = "example.com"): Headers {
  return new Headers({ host: [host] });
}

/** A GET of / with Host: example.com (test_newclient.py's SimpleRequest), persistent or not. */
export function simpleRequest(options: { method?: string; persistent?: boolean; body?: IBodyProducer | null } = {}): Request {
  return new Request(options.method ?? "GET", "/", hostHeaders(), options.body ?? null, options.persistent ?? false);
}

export interface Connected {
  transport: StringTransport;
  protocol: HTTP11ClientProtocol;
  quiescent: HTTP11ClientProtocol[];
}

/** An HTTP11ClientProtocol connected to a StringTransport, recording quiescent callbacks. */
export function connectedProtocol(): Connected {
  const transport = new StringTransport({ lenient: true });
  const quiescent: HTTP11ClientProtocol[] = [];
  const protocol = new HTTP11ClientProtocol((p) => quiescent.push(p));
  protocol.makeConnection(transport);
  return { transport, protocol, quiescent };
}
