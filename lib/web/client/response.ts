/**
 * Response and TransportProxyProducer, as twisted.web._newclient's: what Agent.request fires
 * with, and the push producer a body protocol is given as its transport.
 *
 * The body is held back until deliverBody: the connection is paused when the head arrives (so
 * at most what came with the head is buffered) and resumed when a protocol is connected. What
 * the protocol does to its transport (pauseProducing) stops reading the socket; once the body
 * is finished the proxy lets go of the connection, which the pool may then give to another
 * request, so a late pause from an old body protocol cannot stall it.
 */

import { Failure } from "../../internet/failure.js";
import type { IProtocol, IPushProducer, ITCPTransport } from "../../internet/interfaces.js";
import type { Headers } from "../http-headers.js";
import { ResponseDone } from "./errors.js";
import { type IClientRequest, type IResponse, UNKNOWN_LENGTH, type UnknownLength } from "./iclient.js";

/**
 * The body protocol's transport: pauseProducing/resumeProducing/stopProducing reach the
 * connection until the response is done (Twisted's TransportProxyProducer). abortConnection
 * drops the connection (readBody's cancel, the reverse proxy when its client goes away).
 */
export class TransportProxyProducer implements IPushProducer {
  constructor(private producer: (IPushProducer & Partial<ITCPTransport>) | null) {}

  /** @internal The response is done: stop passing calls to the connection. */
  _stopProxying(): void {
    this.producer = null;
  }

  pauseProducing(): void {
    this.producer?.pauseProducing();
  }

  resumeProducing(): void {
    this.producer?.resumeProducing();
  }

  /**
   * Stop the body: the connection is dropped at once (a half-read response cannot be reused,
   * and its server should stop sending now, not when it next writes).
   */
  stopProducing(): void {
    this.abortConnection();
  }

  loseConnection(): void {
    this.producer?.loseConnection?.();
  }

  abortConnection(): void {
    const p = this.producer;
    if (p === null) return;
    if (typeof p.abortConnection === "function") p.abortConnection();
    else p.loseConnection?.();
  }

  /** The peer's and the local address, for a body protocol that asks its transport. */
  getPeer(): unknown {
    return this.producer?.getPeer?.();
  }

  getHost(): unknown {
    return this.producer?.getHost?.();
  }
}

/**
 * The reason of every complete body: one Failure, made once, as protocol.ts's connectionDone
 * (an Error's stack trace costs more than the rest of a small response's handling).
 */
export const responseDone = new Failure(new ResponseDone());

const INITIAL = 0;
const CONNECTED = 1;
const DEFERRED_CLOSE = 2;
const FINISHED = 3;

/** A response, as twisted.web._newclient.Response (see IResponse). */
export class Response implements IResponse {
  readonly version: readonly [string, number, number];
  length: number | UnknownLength = UNKNOWN_LENGTH;
  previousResponse: IResponse | null = null;
  private state = INITIAL;
  private bodyBuffer: Buffer[] | null = [];
  private bodyProtocol: IProtocol | null = null;
  private reason: Failure | null = null;

  constructor(
    version: readonly [string, number, number],
    readonly code: number,
    readonly phrase: string,
    readonly headers: Headers,
    /** @internal */
    readonly _transport: TransportProxyProducer,
    readonly request: IClientRequest,
  ) {
    this.version = version;
  }

  setPreviousResponse(response: IResponse): void {
    this.previousResponse = response;
  }

  toString(): string {
    return `<Response ${this.code} ${this.phrase}>`;
  }

  /**
   * Deliver the body to `protocol`: makeConnection with the transport proxy, the body buffered
   * so far, then the rest as it arrives, then connectionLost(ResponseDone | PotentialDataLoss |
   * ResponseFailed). A second call raises.
   */
  deliverBody(protocol: IProtocol): void {
    switch (this.state) {
      case INITIAL: {
        protocol.makeConnection(this._transport as never);
        this.bodyProtocol = protocol;
        const buffered = this.bodyBuffer!;
        this.bodyBuffer = null;
        this.state = CONNECTED;
        for (const data of buffered) protocol.dataReceived(data);
        // resume only now: it may deliver more data, or the end, at once
        if (this.state === CONNECTED) this._transport.resumeProducing();
        return;
      }
      case DEFERRED_CLOSE: {
        protocol.makeConnection(this._transport as never);
        const buffered = this.bodyBuffer!;
        this.bodyBuffer = null;
        this.state = FINISHED;
        for (const data of buffered) protocol.dataReceived(data);
        protocol.connectionLost(this.reason!);
        this.reason = null;
        return;
      }
      case CONNECTED:
        throw new Error(`Response already has protocol ${String(this.bodyProtocol)}, cannot deliverBody again`);
      default:
        throw new Error("Response already finished, cannot deliverBody now.");
    }
  }

  /** @internal Body bytes from the connection. */
  _bodyDataReceived(data: Buffer): void {
    if (this.state === CONNECTED) this.bodyProtocol!.dataReceived(data);
    else if (this.state === INITIAL) this.bodyBuffer!.push(data);
    else throw new Error("Cannot receive body data after _bodyDataFinished");
  }

  /** @internal The body is over; `reason` is null for a complete body (ResponseDone). */
  _bodyDataFinished(reason: Failure | null = null): void {
    const why = reason ?? responseDone;
    if (this.state === CONNECTED) {
      const protocol = this.bodyProtocol!;
      this.bodyProtocol = null;
      this.state = FINISHED;
      protocol.connectionLost(why);
    } else if (this.state === INITIAL) {
      this.state = DEFERRED_CLOSE;
      this.reason = why;
    } else {
      throw new Error("Cannot finish body data more than once");
    }
  }
}
