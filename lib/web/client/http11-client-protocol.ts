/**
 * HTTP11ClientProtocol, as twisted.web._newclient's: one request at a time over one connection
 * (torsion's own TCP or TLS transport), its response parsed by HTTPResponseParser.
 *
 * States (Twisted's): QUIESCENT (idle: a request may be made), TRANSMITTING (the request is
 * being written), TRANSMITTING_AFTER_RECEIVING_RESPONSE (the server answered before the body
 * was all sent: the connection is closed once it is), WAITING (sent; the response is coming),
 * GENERATION_FAILED, ABORTING, CONNECTION_LOST.
 *
 * When a response is complete and the connection can carry another request (HTTP/1.1 without
 * "Connection: close", our request persistent, nothing beyond the response), the protocol is
 * QUIESCENT again and `quiescentCallback` (the pool's) runs, before the body protocol hears
 * ResponseDone, so a request made from there can reuse the connection. Anything else closes it.
 *
 * Cancelling request()'s Deferred aborts the connection at any stage; so does a malformed
 * response. Either way the connection never becomes QUIESCENT again, so no pool reuses it.
 */

import { Deferred, fail, maybeDeferred } from "../../internet/deferred.js";
import { CancelledError, ConnectionDone } from "../../internet/error.js";
import { Failure } from "../../internet/failure.js";
import type { Bytes, IConsumer, ITCPTransport } from "../../internet/interfaces.js";
import { Logger } from "../../internet/log.js";
import { Protocol } from "../../internet/protocol.js";
import type { Headers } from "../http-headers.js";
import type { Request } from "./client-request.js";
import {
  ConnectionAborted,
  DataLoss,
  ExcessResponseData,
  PotentialDataLoss,
  RequestGenerationFailed,
  RequestNotSent,
  RequestTransmissionFailed,
  ResponseFailed,
  ResponseNeverReceived,
} from "./errors.js";
import { UNKNOWN_LENGTH } from "./iclient.js";
import { CLOSE_DELIMITED, HTTPResponseParser, type ResponseParserHandler, type ResponseParserLimits } from "./response-parser.js";
import { Response, TransportProxyProducer } from "./response.js";

export type ClientProtocolState =
  | "QUIESCENT"
  | "TRANSMITTING"
  | "TRANSMITTING_AFTER_RECEIVING_RESPONSE"
  | "GENERATION_FAILED"
  | "WAITING"
  | "ABORTING"
  | "CONNECTION_LOST";

type ClientTransport = ITCPTransport & IConsumer & { pauseProducing(): void; resumeProducing(): void; stopProducing(): void };

const log = new Logger("torsion.web.client");

const HTTP_1_0 = Object.freeze(["HTTP", 1, 0] as const);
const HTTP_1_1 = Object.freeze(["HTTP", 1, 1] as const);

export class HTTP11ClientProtocol extends Protocol implements ResponseParserHandler {
  declare transport: ClientTransport | null;
  private _state: ClientProtocolState = "QUIESCENT";
  private readonly parser: HTTPResponseParser;
  private currentRequest: Request | null = null;
  /** request()'s Deferred, until it has fired with the response or failed. */
  private finishedRequest: Deferred<Response> | null = null;
  /** The response whose head arrived while the request was still being written. */
  private earlyResponse: Response | null = null;
  private response: Response | null = null;
  private transportProxy: TransportProxyProducer | null = null;
  /** Whether the connection may carry another request after this response. */
  private reusable = false;
  private readonly abortDeferreds: Deferred<void>[] = [];

  constructor(
    private readonly quiescentCallback: (protocol: HTTP11ClientProtocol) => void = () => {},
    limits: Partial<ResponseParserLimits> = {},
  ) {
    super();
    this.parser = new HTTPResponseParser(this, limits);
  }

  get state(): ClientProtocolState {
    return this._state;
  }

  /**
   * Send `request`; fires with the Response once its head has arrived (and the request is all
   * written). Fails with RequestNotSent (busy or closed), RequestGenerationFailed (the body
   * producer failed, or cancelled while sending), RequestTransmissionFailed (the connection
   * was lost while sending), ResponseNeverReceived or ResponseFailed.
   */
  request(request: Request): Deferred<Response> {
    if (this._state !== "QUIESCENT" || this.transport === null) return fail(new RequestNotSent());
    this._state = "TRANSMITTING";
    this.currentRequest = request;
    this.response = null;
    this.earlyResponse = null;
    this.reusable = false;
    this.parser.reset(request.method);
    const finished = new Deferred<Response>(() => this.cancelRequest());
    this.finishedRequest = finished;
    const transport = this.transport;
    const writing = maybeDeferred(() => request.writeTo(transport));
    writing.addCallbacks(
      () => {
        this.requestWritten();
        return null;
      },
      (failure) => {
        if (this._state === "TRANSMITTING") {
          this._state = "GENERATION_FAILED";
          this.transport?.abortConnection();
          this.failRequest(new RequestGenerationFailed([failure]));
        } else if (!failure.check(CancelledError)) {
          log.failure("Error writing the request after the response or connection was over (state {state})", failure, { state: this._state });
        }
        return null;
      },
    );
    return finished;
  }

  private requestWritten(): void {
    if (this._state === "TRANSMITTING") {
      this._state = "WAITING";
      const early = this.earlyResponse;
      this.earlyResponse = null;
      if (early !== null) this.fireResponse(early);
    } else if (this._state === "TRANSMITTING_AFTER_RECEIVING_RESPONSE") {
      // the response was complete before the request: Twisted closes such a connection
      this.giveUp(new Failure(new ConnectionDone("the response ended before the request was sent")));
    }
  }

  private cancelRequest(): void {
    const cancelled = new Failure(new CancelledError());
    if (this._state === "TRANSMITTING" || this._state === "TRANSMITTING_AFTER_RECEIVING_RESPONSE") {
      this._state = "GENERATION_FAILED";
      this.currentRequest?.stopWriting();
      this.transport?.abortConnection();
      this.failRequest(new RequestGenerationFailed([cancelled]));
    } else {
      this._state = "ABORTING";
      this.transport?.abortConnection();
      this.failRequest(this.parser.everReceivedData ? new ResponseFailed([cancelled]) : new ResponseNeverReceived([cancelled]));
    }
  }

  private fireResponse(response: Response): void {
    const d = this.finishedRequest;
    this.finishedRequest = null;
    d?.callback(response);
  }

  private failRequest(err: Error): void {
    const d = this.finishedRequest;
    this.finishedRequest = null;
    if (d !== null && !d.called) d.errback(new Failure(err));
  }

  // --- the parser's handler ------------------------------------------------------------

  headReceived(major: number, minor: number, code: number, phrase: string, headers: Headers, bodyLength: number, bodyInHand: boolean): void {
    const proxy = new TransportProxyProducer(this.transport);
    this.transportProxy = proxy;
    const response = new Response(minor === 0 ? HTTP_1_0 : HTTP_1_1, code, phrase, headers, proxy, this.currentRequest!);
    response.length = bodyLength >= 0 ? bodyLength : UNKNOWN_LENGTH;
    this.response = response;
    this.reusable = bodyLength !== CLOSE_DELIMITED && this.currentRequest!.persistent && isPersistent(major, minor, headers);
    // Hold the body back until someone wants it (deliverBody resumes), as Twisted; a body that
    // came whole with the head needs no more reading, so the socket is left alone.
    if (!bodyInHand) this.transport!.pauseProducing();
    if (this._state === "TRANSMITTING") this.earlyResponse = response;
    else this.fireResponse(response);
  }

  bodyReceived(data: Buffer): void {
    this.response!._bodyDataReceived(data);
  }

  messageComplete(rest: Buffer): void {
    const response = this.response!;
    this.transportProxy?._stopProxying();
    this.transportProxy = null;
    this.response = null;
    if (rest.length > 0) {
      // more than the response's length: the connection can no longer be trusted
      this.giveUp(new Failure(new ConnectionDone("excess data")), true);
      response._bodyDataFinished(
        new Failure(new ResponseFailed([new Failure(new ExcessResponseData(`the server sent ${rest.length} bytes beyond the end of the response`))], response)),
      );
      return;
    }
    if (this._state === "TRANSMITTING") {
      this._state = "TRANSMITTING_AFTER_RECEIVING_RESPONSE";
      const early = this.earlyResponse;
      this.earlyResponse = null;
      if (early !== null) this.fireResponse(early);
    } else if (this._state === "WAITING" && this.reusable) {
      this._state = "QUIESCENT";
      this.currentRequest = null;
      this.transport!.resumeProducing();
      try {
        this.quiescentCallback(this);
      } catch {
        this.giveUp(new Failure(new ConnectionDone("the quiescent callback raised")));
      }
    } else if (this._state === "WAITING") {
      this.giveUp(new Failure(new ConnectionDone("the response was not persistent")));
    }
    response._bodyDataFinished(null);
  }

  // --- the connection ------------------------------------------------------------------

  override dataReceived(data: Bytes): void {
    const buffer = data as Buffer;
    if (this._state === "QUIESCENT" || this.parser.done) {
      // nothing asked for this: a server talking out of turn cannot be trusted with the next request
      if (this._state !== "CONNECTION_LOST") this.giveUp(new Failure(new ExcessResponseData("the server sent data while no request was waiting")), true);
      return;
    }
    try {
      this.parser.dataReceived(buffer);
    } catch (err) {
      this.giveUp(new Failure(err), true);
    }
  }

  /**
   * Stop using the connection: stop writing the request, close (abort on bad input), and
   * report `reason` to whoever waits for the response or its body.
   */
  private giveUp(reason: Failure, abort = false): void {
    if (this._state === "CONNECTION_LOST") return;
    // GENERATION_FAILED keeps its name (the request already failed); anything else is closing now
    if (this._state !== "GENERATION_FAILED") this._state = "ABORTING";
    this.currentRequest?.stopWriting();
    if (abort) this.transport?.abortConnection();
    else this.transport?.loseConnection();
    this.endResponse(reason);
  }

  /** Tell the response (or the request's Deferred) that no more of it will come, because of `reason`. */
  private endResponse(reason: Failure): void {
    const response = this.response;
    const outcome = this.parser.done && response === null ? "complete" : this.parser.noMoreData();
    if (response !== null) {
      this.response = null;
      this.transportProxy?._stopProxying();
      this.transportProxy = null;
      if (outcome === "potential-data-loss" && reason.check(ConnectionDone)) {
        response._bodyDataFinished(new Failure(new PotentialDataLoss()));
      } else {
        const lost = reason.check(ConnectionDone) ? [reason, new Failure(new DataLoss("the connection closed before the end of the body"))] : [reason];
        response._bodyDataFinished(new Failure(new ResponseFailed(lost, response)));
      }
      if (this.earlyResponse === response) {
        this.earlyResponse = null;
        this.fireResponse(response);
      }
      return;
    }
    if (this.finishedRequest !== null && outcome !== "complete") {
      this.failRequest(this.parser.everReceivedData ? new ResponseFailed([reason]) : new ResponseNeverReceived([reason]));
    }
  }

  override connectionLost(reason: Failure): void {
    this.connected = false;
    const state = this._state;
    this._state = "CONNECTION_LOST";
    if (state === "TRANSMITTING") {
      this.currentRequest?.stopWriting();
      this.failRequest(new RequestTransmissionFailed([reason]));
      this.endResponse(reason);
    } else if (state === "ABORTING" && this.finishedRequest !== null) {
      this.failRequest(new ResponseFailed([new Failure(new ConnectionAborted()), reason]));
    } else if (state !== "QUIESCENT") {
      this.currentRequest?.stopWriting();
      this.endResponse(reason);
    }
    this.currentRequest = null;
    for (const d of this.abortDeferreds.splice(0)) d.callback(undefined);
  }

  /**
   * Close the connection at once; whoever waits for a response gets ResponseFailed with
   * ConnectionAborted. The Deferred fires once the connection is lost.
   */
  abort(): Deferred<void> {
    const d = new Deferred<void>();
    if (this._state === "CONNECTION_LOST" || this.transport === null) {
      d.callback(undefined);
      return d;
    }
    this.abortDeferreds.push(d);
    this._state = "ABORTING";
    this.currentRequest?.stopWriting();
    this.transport.abortConnection();
    // a body being read ends now; a request waiting for its head fails in connectionLost
    if (this.response !== null) this.endResponse(new Failure(new ConnectionAborted()));
    return d;
  }
}

/** RFC 9112 9.3: 1.1 persists unless "Connection: close"; 1.0 only with "Connection: keep-alive". */
function isPersistent(major: number, minor: number, headers: Headers): boolean {
  const connection = headers.getRawHeaders("connection");
  let close = false;
  let keepAlive = false;
  if (connection !== undefined) {
    for (const value of connection) {
      for (const token of value.split(",")) {
        const t = token.trim().toLowerCase();
        if (t === "close") close = true;
        else if (t === "keep-alive") keepAlive = true;
      }
    }
  }
  if (close) return false;
  return major === 1 && minor >= 1 ? true : keepAlive;
}
