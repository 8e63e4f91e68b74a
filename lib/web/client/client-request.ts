/**
 * The request HTTP11ClientProtocol writes, as twisted.web._newclient.Request: the request line
 * and headers, then the body from an IBodyProducer: with Content-Length when the producer
 * knows its length (and no more or fewer bytes than that: WrongBodyLength / ExcessWrite), or
 * chunked when it does not. The producer is registered with the connection as a streaming
 * producer, so a server that reads slowly pauses it.
 */

import { Deferred, fail, succeed } from "../../internet/deferred.js";
import { CancelledError } from "../../internet/error.js";
import { Failure } from "../../internet/failure.js";
import type { Bytes, IConsumer, IPullProducer, IPushProducer, ITransport } from "../../internet/interfaces.js";
import type { Headers } from "../http-headers.js";
import { ExcessWrite, WrongBodyLength } from "./errors.js";
import { type IBodyProducer, type IClientRequest, UNKNOWN_LENGTH } from "./iclient.js";

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// a request-target has no whitespace or controls (RFC 9112 3.2); anything else could split the request
// eslint-disable-next-line no-control-regex
const BAD_TARGET = /[\x00-\x20\x7f]/;
const CRLF = "\r\n";

/** Raise at once for a method or request-target that could not be sent as one request line. */
export function checkRequestLine(method: string, target: string): void {
  if (typeof method !== "string" || !METHOD.test(method)) throw new TypeError(`Invalid method ${JSON.stringify(method)}: it must be an HTTP token`);
  if (typeof target !== "string" || target === "" || BAD_TARGET.test(target)) {
    throw new TypeError(`Invalid request target ${JSON.stringify(target)}: it must be non-empty, without spaces or control characters`);
  }
}

type Transport = ITransport & IConsumer;

/** Counts what the body producer writes, framing it (chunked) or bounding it (Content-Length). */
class BodyConsumer implements IConsumer {
  written = 0;
  finished = false;
  failedWith: Error | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly length: number | null,
    private readonly onExcess: (err: Error) => void,
  ) {}

  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    this.transport.registerProducer(producer as IPushProducer, streaming as true);
  }

  unregisterProducer(): void {
    this.transport.unregisterProducer();
  }

  write(data: Bytes): void {
    if (!(data instanceof Uint8Array)) throw new TypeError(`A body producer must write bytes, not ${typeof data}`);
    if (this.finished || this.failedWith !== null) {
      if (this.failedWith === null) this.fail(new ExcessWrite());
      return;
    }
    if (data.length === 0) return;
    if (this.length === null) {
      this.transport.writeSequence([Buffer.from(data.length.toString(16) + CRLF, "latin1"), data, CRLF_BYTES]);
      this.written += data.length;
      return;
    }
    if (this.written + data.length > this.length) {
      this.fail(new WrongBodyLength(`the body producer wrote more than its length of ${this.length} bytes`));
      return;
    }
    this.written += data.length;
    this.transport.write(data);
  }

  private fail(err: Error): void {
    this.failedWith = err;
    this.onExcess(err);
  }
}

const CRLF_BYTES = Buffer.from(CRLF);
const LAST_CHUNK = Buffer.from("0\r\n\r\n");

/** A request to write on a connection (twisted.web._newclient.Request). */
export class Request implements IClientRequest {
  private producing = false;
  /** Ends the write (unregisters the producer, fails writeTo's Deferred) when abandoned. */
  private abandon: ((err: unknown) => void) | null = null;

  constructor(
    readonly method: string,
    /** The request-target: "/path?query" (origin form), or an absolute URI for a proxy. */
    readonly uri: string,
    readonly headers: Headers,
    readonly bodyProducer: IBodyProducer | null = null,
    /** False adds "Connection: close": the server is asked to close after the response. */
    readonly persistent = false,
    /** The absolute URI, for IClientRequest (redirects, cookies). */
    readonly absoluteURI: string | null = null,
  ) {
    checkRequestLine(method, uri);
  }

  /** The head: request line, headers, framing, blank line. */
  private head(framing: string): string {
    let head = `${this.method} ${this.uri} HTTP/1.1\r\n`;
    head = this.headers._serialize(head);
    if (!this.persistent) head += "Connection: close\r\n";
    return head + framing + CRLF;
  }

  /**
   * Write the request; the Deferred fires once all of it has been given to the transport
   * (the body producer finished), or fails with the producer's error, WrongBodyLength or
   * ExcessWrite. Cancelling it stops the producer.
   */
  writeTo(transport: Transport): Deferred<void> {
    const producer = this.bodyProducer;
    if (producer === null) {
      // RFC 9110 8.6: a POST or PUT without a body says Content-Length: 0 (as Twisted)
      const framing = this.method === "POST" || this.method === "PUT" ? "Content-Length: 0\r\n" : "";
      transport.write(Buffer.from(this.head(framing), "latin1"));
      return succeed<void>(undefined);
    }
    const length = producer.length;
    const known = length !== UNKNOWN_LENGTH;
    if (known && (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0)) {
      return fail(new TypeError(`bodyProducer.length must be a non-negative integer or UNKNOWN_LENGTH, not ${String(length)}`));
    }
    transport.write(Buffer.from(this.head(known ? `Content-Length: ${length}\r\n` : "Transfer-Encoding: chunked\r\n"), "latin1"));
    const result = new Deferred<void>(() => {
      this.stopWriting();
      if (!result.called) result.errback(new Failure(new CancelledError()));
    });
    let settled = false;
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      this.producing = false;
      this.abandon = null;
      try {
        transport.unregisterProducer();
      } catch {
        // already unregistered (the connection went away)
      }
      if (result.called) return;
      if (err !== null) result.errback(err);
      else result.callback(undefined);
    };
    const consumer = new BodyConsumer(transport, known ? (length as number) : null, (err) => {
      this.abandon = null;
      this.stopWriting();
      finish(err);
    });
    transport.registerProducer(producer, true);
    this.producing = true;
    this.abandon = finish;
    let d: Deferred<unknown>;
    try {
      d = producer.startProducing(consumer);
    } catch (err) {
      finish(err);
      return result;
    }
    d.addCallbacks(
      () => {
        consumer.finished = true;
        if (known && consumer.written !== length) {
          finish(new WrongBodyLength(`the body producer wrote ${consumer.written} bytes, not its length of ${length}`));
        } else if (consumer.failedWith === null) {
          if (!known) transport.write(LAST_CHUNK);
          finish(null);
        }
        return null;
      },
      (failure) => {
        consumer.finished = true;
        finish(failure);
        return null;
      },
    );
    return result;
  }

  /** Stop the body producer (the request is abandoned: connection lost, cancelled, answered early). */
  stopWriting(): void {
    if (!this.producing) return;
    this.producing = false;
    const producer = this.bodyProducer;
    try {
      producer?.stopProducing();
    } catch {
      // a producer that raises on stop has nothing more to write anyway
    }
    const abandon = this.abandon;
    this.abandon = null;
    abandon?.(new Failure(new CancelledError("the request body was abandoned")));
  }
}
