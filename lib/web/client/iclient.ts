/**
 * The client's contracts, as twisted.web.iweb's IAgent, IResponse, IBodyProducer and
 * IClientRequest. Types only (and the UNKNOWN_LENGTH marker).
 */

import type { Deferred } from "../../internet/deferred.js";
import type { Failure } from "../../internet/failure.js";
import type { Bytes, IConsumer, IProtocol, IPushProducer } from "../../internet/interfaces.js";
import type { Headers } from "../http-headers.js";

/** The length of a body that is not known in advance, as twisted.web.iweb.UNKNOWN_LENGTH. */
export const UNKNOWN_LENGTH: unique symbol = Symbol.for("torsion.web.iweb.UNKNOWN_LENGTH");
export type UnknownLength = typeof UNKNOWN_LENGTH;

/**
 * A request body, as IBodyProducer: a push producer that writes to the consumer it is given.
 * `length` is its size in bytes (sent as Content-Length), or UNKNOWN_LENGTH (sent chunked).
 * startProducing's Deferred fires when everything is written; the client pauses it while the
 * server reads slowly, and stops it when the request is abandoned.
 */
export interface IBodyProducer extends IPushProducer {
  readonly length: number | UnknownLength;
  startProducing(consumer: IConsumer): Deferred<unknown>;
}

/** The request a response answers, as IClientRequest. */
export interface IClientRequest {
  readonly method: string;
  readonly absoluteURI: string | null;
  readonly headers: Headers;
}

/**
 * A response, as IResponse. The body is not read until deliverBody(protocol): the protocol's
 * transport is then a push producer over the connection (pausing it stops reading the socket),
 * it gets dataReceived with the body, and connectionLost with ResponseDone, PotentialDataLoss
 * or ResponseFailed.
 */
export interface IResponse {
  /** ["HTTP", major, minor]. */
  readonly version: readonly [string, number, number];
  readonly code: number;
  readonly phrase: string;
  readonly headers: Headers;
  /** Content-Length, or UNKNOWN_LENGTH (chunked, close-delimited). 0 for a body that cannot exist (HEAD, 204, 304). */
  readonly length: number | UnknownLength;
  readonly request: IClientRequest;
  /** The response this one follows (a redirect's), or null. */
  previousResponse: IResponse | null;
  deliverBody(protocol: IProtocol): void;
  setPreviousResponse(response: IResponse): void;
}

/** A client, as IAgent. */
export interface IAgent {
  request(method: string, uri: string, headers?: Headers | null, bodyProducer?: IBodyProducer | null): Deferred<IResponse>;
}

/** What a body protocol is told; for readers of deliverBody. */
export interface IBodyProtocol extends IProtocol {
  dataReceived(data: Bytes): void;
  connectionLost(reason: Failure): void;
}
