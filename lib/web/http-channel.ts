/**
 * HTTPChannel: the HTTP/1.1 server protocol, as twisted.web.http.HTTPChannel.
 *
 * One per connection. It parses requests (http-parser.ts), builds a Request for each with its
 * `requestFactory`, and hands it over with requestReceived(), which calls process().
 *
 * - Head-of-line order: the next pipelined request is not parsed until the current one has
 *   finished, so responses go out in order. Bytes that arrive meanwhile are kept; once more
 *   than `eagerReadSize` (16 KiB, Twisted's _optimisticEagerReadSize) are kept, the channel
 *   pauses its transport (stops reading) until the request is answered. It keeps reading up
 *   to that point, rather than pausing at once, so that a client closing its connection is
 *   seen while the request is still being processed: a paused socket would hide the FIN, and
 *   notifyFinish() could not tell the application (docs/design.md, the disconnect chain). Set
 *   eagerReadSize to 0 to pause as soon as a request is being answered.
 * - Keep-alive: HTTP/1.1 unless either side says "Connection: close"; HTTP/1.0 only when the
 *   request says "Connection: keep-alive" and the response has a length (it then says
 *   "Connection: keep-alive" back). Otherwise the connection closes after the response.
 * - Flow control: the channel is the transport's push producer. A producer registered on the
 *   request is registered here; pause/resume from the transport reach it, and a stop from the
 *   transport (the peer went away) stops it.
 * - Timeouts, on `reactor`: the idle timeout `timeOut` (60 s) closes a connection that sends
 *   nothing while no request is being answered, or that reads nothing of a response for that
 *   long (its transport's buffer full all along); `headersTimeout` (30 s) answers 408 to a
 *   request whose header block is not complete in time however slowly it trickles in
 *   (slowloris); `bodyTimeout` (30 s from the end of the head) answers 408 to a body that is
 *   not complete in time (a body trickled at a byte a second), except while reading is paused
 *   (back-pressure is not slowness); after a timeout closes the connection, `abortTimeout`
 *   (15 s) later it is aborted if still open. All of them are decided in one place
 *   (nextDeadline and onTimer), on one timer.
 * - A bad request gets its 4xx (or 5xx for an unsupported method/version) with a short body,
 *   and the connection closes: nothing after it is parsed.
 * - Half-close (IHalfCloseableProtocol, by duck typing): a client may send its requests and then shut down its
 *   write side (a FIN, `shutdown(SHUT_WR)`), as some clients and proxies do. The channel then
 *   parses nothing new, answers every request it has already received (in order, producers
 *   and all; their notifyFinish() succeeds), and closes. A request whose body the FIN cut is
 *   answered 400; a head cut short is dropped. Twisted's HTTPChannel treats the FIN as the
 *   connection lost, and so does this channel when the FIN comes while a response is already
 *   being written (a client, or a proxy such as nginx, leaving mid-response). A client that
 *   closed entirely before its response began is seen when the response is written (the peer
 *   resets the connection); `halfClose: false` restores Twisted's reading in every case, for
 *   applications that must learn at once that a client left.
 */

import { Failure } from "../internet/failure.js";
import type {
  Bytes,
  IAddress,
  IDelayedCall,
  IPullProducer,
  IPushProducer,
  IProtocol,
  IReactorTime,
  ITransport,
} from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import { Protocol, connectionDone } from "../internet/protocol.js";
import { getReactor } from "../internet/reactor.js";
import { DEFAULT_SPILL_THRESHOLD } from "./http-content.js";
import { datetimeToString } from "./http-dates.js";
import type { Headers } from "./http-headers.js";
import { HTTPParseError, HTTPRequestParser, type HTTPParserHandler, type HTTPParserOptions } from "./http-parser.js";
import { PullToPush } from "./http-pull-to-push.js";
import { Request, type RequestFactory } from "./http-request.js";
import { responsePhrase } from "./http-status.js";

/** The Server header sent unless the response sets one (null in options sends none). */
export const SERVER_VERSION = "TorsionWeb/0.1.0";

/** Settings of an HTTPChannel; HTTPFactory passes its own. */
export interface HTTPChannelOptions extends HTTPParserOptions {
  /** Where timeouts are scheduled and Date comes from. Default: the global reactor. */
  reactor?: IReactorTime;
  /** The idle timeout in seconds (Twisted's timeOut); null disables it. Default 60. */
  timeOut?: number | null;
  /** Seconds allowed to receive a whole request line and header block; null disables. Default 30. */
  headersTimeout?: number | null;
  /**
   * Seconds allowed to receive a request's body, from the end of its head; 408 and a close
   * beyond. Time while reading is paused (back-pressure) does not count. null disables. Default 30.
   */
  bodyTimeout?: number | null;
  /** Seconds after a timeout's close before the connection is aborted; null never aborts. Default 15. */
  abortTimeout?: number | null;
  /** The class (or subclass) of Request to build. Default Request. */
  requestFactory?: RequestFactory;
  /** Bytes of pipelined input kept while a request is answered before pausing the transport. Default 16384. */
  eagerReadSize?: number;
  /** The Server header; null sends none. Default SERVER_VERSION. */
  serverVersion?: string | null;
  /** Send a Date header (unless the response sets one). Default true. */
  sendDate?: boolean;
  /** Request bodies above this many bytes go to a temporary file. Default 100000. */
  contentSpillThreshold?: number;
  /**
   * Answer the requests received before a client's FIN, then close (true, the default); false
   * takes the FIN as the client gone (Twisted's and node:http's way), which tells a long
   * request's notifyFinish() at once, at the cost of clients that half-close.
   */
  halfClose?: boolean;
}

const log = new Logger("torsion.web.http");

/** Date header values are computed once per second, for every channel. */
let cachedDateSecond = -1;
let cachedDate = "";
function httpDate(seconds: number): string {
  const s = Math.floor(seconds);
  if (s !== cachedDateSecond) {
    cachedDateSecond = s;
    cachedDate = datetimeToString(s);
  }
  return cachedDate;
}

/** The most handed to a buffering transport in one write (see HTTPChannel.write). */
const OUT_PIECE = 256 * 1024;

const CONTINUE_100 = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

/** The comma/space separated tokens of Connection headers, lower case. */
function connectionTokens(headers: Headers): string[] {
  const values = headers.getRawHeaders("connection");
  if (values === undefined) return [];
  const tokens: string[] = [];
  for (const v of values) for (const t of v.split(/[\s,]+/)) if (t) tokens.push(t.toLowerCase());
  return tokens;
}

type PushableTransport = ITransport & Partial<IPushProducer> & {
  /** Bytes accepted by write() and not yet handed to the kernel (a FileDescriptor's). */
  readonly writableLength?: number;
  registerProducer?(producer: IPushProducer, streaming: true): void;
  unregisterProducer?(): void;
  abortConnection?(): void;
  isSecure?(): boolean;
};

export class HTTPChannel extends Protocol implements IPushProducer, HTTPParserHandler {
  /** Requests received and not yet finished: the one being answered, then one being received. */
  requests: Request[] = [];
  requestFactory: RequestFactory;
  timeOut: number | null;
  headersTimeout: number | null;
  bodyTimeout: number | null;
  abortTimeout: number | null;
  eagerReadSize: number;
  serverVersion: string | null;
  sendDate: boolean;
  contentSpillThreshold: number;
  /** Answer what was received before the client's FIN (see HTTPChannelOptions.halfClose). */
  halfClose: boolean;
  /** False once the connection must close after the current response. */
  persistent = true;
  readonly parser: HTTPRequestParser;

  private _reactor: IReactorTime | null;
  /** A request has been fully received and is being answered. */
  private _handlingRequest = false;
  /** Inside the parse loop (guards against re-entry from synchronous responses). */
  private _parsing = false;
  /** The connection is closing: no more input is parsed. */
  private _closing = false;
  /** The client half-closed (its FIN arrived): no more input will come. */
  private _inputEnded = false;
  private _dataBuffer: Buffer[] = [];
  private _dataBufferSize = 0;
  private _pausedForPipelining = false;
  private _waitingForTransport = false;
  private _registeredWithTransport = false;
  private _requestProducer: IPushProducer | null = null;
  private _requestProducerStreaming: boolean | null = null;
  private _timer: IDelayedCall | null = null;
  private _abortingCall: IDelayedCall | null = null;
  private _lastActivity = 0;
  private _headStart = 0;
  /** When the body being received began (the end of its head). */
  private _bodyStart = 0;
  /** When the transport last paused the channel, or the client last read some of what it buffers. */
  private _pausedSince = 0;
  /** The protocol a request switched to (101), from its response's end; then every byte is its. */
  private _switchingTo: IProtocol | null = null;
  private _switchedTo: IProtocol | null = null;
  /**
   * Output not yet handed to the transport, in order (see write): a large write goes out a
   * piece at a time, each once the transport has drained the one before, so that every
   * piece the client reads is progress the idle timeout can see.
   */
  private _outQueue: Bytes[] = [];
  /** Close once _outQueue is empty (loseConnection was asked for meanwhile). */
  private _closeWhenSent = false;

  constructor(options: HTTPChannelOptions = {}) {
    super();
    this._reactor = options.reactor ?? null;
    this.timeOut = options.timeOut === undefined ? 60 : options.timeOut;
    this.headersTimeout = options.headersTimeout === undefined ? 30 : options.headersTimeout;
    this.bodyTimeout = options.bodyTimeout === undefined ? 30 : options.bodyTimeout;
    this.abortTimeout = options.abortTimeout === undefined ? 15 : options.abortTimeout;
    this.requestFactory = options.requestFactory ?? Request;
    this.eagerReadSize = options.eagerReadSize ?? 0x4000;
    this.serverVersion = options.serverVersion === undefined ? SERVER_VERSION : options.serverVersion;
    this.sendDate = options.sendDate ?? true;
    this.contentSpillThreshold = options.contentSpillThreshold ?? DEFAULT_SPILL_THRESHOLD;
    this.halfClose = options.halfClose ?? true;
    this.parser = new HTTPRequestParser(this, options);
  }

  get reactor(): IReactorTime {
    // Resolved when first needed, not when built, so a test can always hand a Clock instead.
    if (this._reactor === null) this._reactor = getReactor();
    return this._reactor;
  }

  set reactor(reactor: IReactorTime) {
    this._reactor = reactor;
  }

  private get net(): PushableTransport {
    return this.transport as PushableTransport;
  }

  // --- IProtocol -----------------------------------------------------------------------

  override connectionMade(): void {
    const transport = this.net;
    if (typeof transport.registerProducer === "function" && typeof transport.pauseProducing === "function") {
      transport.registerProducer(this, true);
      this._registeredWithTransport = true;
    }
    this._lastActivity = this.reactor.seconds();
    this.scheduleTimer();
  }

  override dataReceived(data: Bytes): void {
    if (this._switchedTo !== null) {
      this._switchedTo.dataReceived(data);
      return;
    }
    if (this._closing || !this.connected) return;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length === 0) return;
    if (this._handlingRequest || this._parsing) {
      this.bufferInput(buf);
      return;
    }
    this._lastActivity = this.reactor.seconds();
    this.parseLoop(buf);
  }

  override connectionLost(reason: Failure = connectionDone): void {
    if (!this.connected) return;
    if (this._switchedTo !== null) {
      super.connectionLost(reason);
      this._switchedTo.connectionLost(reason);
      return;
    }
    super.connectionLost(reason);
    this._closing = true;
    this.cancelTimer();
    if (this._abortingCall !== null) {
      const call = this._abortingCall;
      this._abortingCall = null;
      if (call.active()) call.cancel();
    }
    // The producer route first, as the transport takes it when this channel is registered with
    // it (a channel that called loseConnection no longer is): then the requests hear of the loss.
    this.stopProducing();
    const requests = this.requests;
    this.requests = [];
    for (const request of requests) {
      try {
        request.connectionLost(reason);
      } catch (err) {
        log.failure("Error in connectionLost of {request}", err, { request: String(request) });
      }
    }
    this._dataBuffer = [];
    this._dataBufferSize = 0;
    this._outQueue = [];
    this._closeWhenSent = false;
  }

  /**
   * IHalfCloseableProtocol's readConnectionLost, offered only while a FIN would be a
   * half-close: the transport looks for it by duck typing when the FIN arrives (abstract.ts, as
   * Twisted adapts), and without it takes the FIN as the connection lost, exactly as before
   * (the disconnect chain, its counters included). A FIN while a response is already under way
   * is a client leaving (a proxy such as nginx closes its upstream connection so when its own
   * client goes); one before the response has begun is a half-close: the client has said all
   * it will and waits for the answers. `halfClose: false` never offers it.
   */
  get readConnectionLost(): (() => void) | undefined {
    if (!this.halfClose) return undefined;
    const answering = this._handlingRequest && this.requests.length > 0 && this.requests[0].startedWriting;
    return answering ? undefined : this.onHalfClose;
  }

  /** The client sent its FIN: answer what was received, then close (see the file comment). */
  private readonly onHalfClose = (): void => {
    if (this._closing || !this.connected) return;
    this._inputEnded = true;
    this.closeIfInputEnded();
  };

  /** IHalfCloseableProtocol: the channel never half-closes its own side, so this is not called. */
  // (HTTPChannel is an IHalfCloseableProtocol by duck typing: see readConnectionLost.)
  writeConnectionLost(): void {}

  /**
   * After the client's FIN, once nothing received is left to answer: close. A request whose
   * body was cut short is answered 400 (its Content-Length or chunks promised more).
   */
  private closeIfInputEnded(): void {
    if (!this._inputEnded || this._closing || this._handlingRequest || this._parsing || this._dataBufferSize > 0) return;
    if (this.parser.inBody) {
      log.info("Client {peer} closed its side in the middle of a request body", { peer: describePeer(this.transport) });
      this.respondToBadRequestAndDisconnect(400);
      return;
    }
    this.loseConnection();
  }

  // --- parsing -------------------------------------------------------------------------

  private bufferInput(data: Buffer): void {
    this._dataBuffer.push(data);
    this._dataBufferSize += data.length;
    if (
      this._handlingRequest &&
      this._dataBufferSize > this.eagerReadSize &&
      !this._pausedForPipelining &&
      !this._waitingForTransport
    ) {
      this.pauseTransport();
    }
  }

  private takeBuffered(): Buffer | null {
    const chunks = this._dataBuffer;
    if (chunks.length === 0) return null;
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this._dataBufferSize);
    this._dataBuffer = [];
    this._dataBufferSize = 0;
    return data;
  }

  private parseLoop(first: Buffer): void {
    const parser = this.parser;
    this._parsing = true;
    try {
      let data: Buffer | null = first;
      while (data !== null) {
        if (parser.idle) this._headStart = this.reactor.seconds();
        let consumed: number;
        try {
          consumed = parser.execute(data);
        } catch (err) {
          if (!(err instanceof HTTPParseError)) throw err;
          this.respondToBadRequestAndDisconnect(err.status);
          return;
        }
        if (this._closing) return;
        if (!parser.messageDone) {
          data = this.takeBuffered();
          continue;
        }
        // One request is complete. What follows belongs to the next one: keep it, in order.
        if (consumed < data.length) {
          this._dataBuffer.unshift(data.subarray(consumed));
          this._dataBufferSize += data.length - consumed;
        }
        this._handlingRequest = true;
        this.allContentReceived();
        if (this._handlingRequest || this._closing || this._switchedTo !== null) break;
        data = this.takeBuffered();
      }
    } finally {
      this._parsing = false;
    }
    if (this._closing || this._switchedTo !== null) return;
    if (this._inputEnded) {
      this.closeIfInputEnded();
      return;
    }
    if (this._handlingRequest) {
      if (this.eagerReadSize === 0 || this._dataBufferSize > this.eagerReadSize) {
        if (!this._pausedForPipelining && !this._waitingForTransport) this.pauseTransport();
      }
    } else if (parser.inHead && this.headersTimeout !== null && this.headersTimeout > 0) {
      // A head split across reads (rare, and what slowloris does): make sure the timer
      // fires by its deadline. Heads that arrive whole never get here, so cost nothing.
      this.ensureTimerBy(this._headStart + this.headersTimeout);
    } else if (parser.inBody && this.bodyTimeout !== null && this.bodyTimeout > 0) {
      // Likewise a body still to come: it must be complete by its deadline.
      this.ensureTimerBy(this._bodyStart + this.bodyTimeout);
    }
  }

  /** HTTPParserHandler: the head is complete; build the Request. */
  headReceived(method: string, uri: string, version: string, headers: Headers, bodyLength: number): void {
    const request = new this.requestFactory(this);
    this.requests.push(request);
    request.requestHeaders = headers;
    request.parseCookies();
    const tokens = headers.hasHeader("connection") ? connectionTokens(headers) : null;
    if (version === "HTTP/1.1") {
      if (tokens !== null && tokens.includes("close")) {
        request.responseHeaders.setRawHeaders("connection", ["close"]);
        this.persistent = false;
      } else {
        this.persistent = true;
      }
    } else {
      // HTTP/1.0: persistent only if asked for, and only if the response turns out to have a length.
      this.persistent = tokens !== null && tokens.includes("keep-alive");
    }
    request.gotLength(bodyLength >= 0 ? bodyLength : null);
    if (bodyLength !== 0) this._bodyStart = this.reactor.seconds();
    if (version === "HTTP/1.1") {
      const expect = headers.getRawHeaders("expect");
      if (expect !== undefined && expect[0].toLowerCase() === "100-continue") this.write(CONTINUE_100);
    }
  }

  /** HTTPParserHandler: body bytes for the request being received. */
  bodyReceived(data: Buffer): void {
    this.requests[this.requests.length - 1].handleContentChunk(data);
  }

  /** HTTPParserHandler: the message is complete; the parse loop dispatches it. */
  messageComplete(): void {}

  private allContentReceived(): void {
    const parser = this.parser;
    const request = this.requests[this.requests.length - 1];
    try {
      request.requestReceived(parser.method, parser.uri, parser.version);
    } catch (err) {
      this.processingFailed(request, err);
    }
  }

  /**
   * process() threw: log it, answer 500 if nothing was sent yet, and close the connection
   * (the response, if started, can no longer be trusted to be complete).
   */
  private processingFailed(request: Request, err: unknown): void {
    log.failure("Unhandled error processing {request}", err, { request: String(request) });
    if (this._closing || !this.connected) return;
    if (!request.startedWriting && !request.finished) {
      const body = "500 Internal Server Error\n";
      this.write(
        Buffer.from(
          `${request.clientproto === "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1"} 500 Internal Server Error\r\n` +
            `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          "latin1",
        ),
      );
    }
    this.loseConnection();
  }

  /** Called by the first request when its response is done. */
  requestDone(request: Request): void {
    if (request !== this.requests[0]) throw new TypeError("requestDone called for a request that is not the first");
    this.requests.shift();
    this._handlingRequest = false;
    if (this._closing) return;
    if (this._switchingTo !== null) {
      this.completeSwitch(this._switchingTo);
      return;
    }
    this._lastActivity = this.reactor.seconds();
    if (!this.persistent) {
      this.loseConnection();
      return;
    }
    this.parser.reset();
    this.scheduleTimer();
    if (this._pausedForPipelining) {
      this._pausedForPipelining = false;
      if (!this._waitingForTransport) this.net.resumeProducing?.();
    }
    if (!this._parsing) {
      const data = this.takeBuffered();
      if (data !== null) this.parseLoop(data);
      else this.closeIfInputEnded();
    }
  }

  /**
   * Called by Request.switchProtocols before it writes its 101 head: once that response is
   * done, the connection belongs to `protocol` (RFC 9110 §15.2.2, §7.8).
   */
  _switchProtocols(request: Request, protocol: IProtocol): void {
    if (request !== this.requests[0]) throw new TypeError("only the request being answered can switch protocols");
    this._switchingTo = protocol;
  }

  /**
   * Hand the connection over: no more parsing, no HTTP timeouts, the channel no longer the
   * transport's producer; bytes already read past the head go to the new protocol first.
   */
  private completeSwitch(protocol: IProtocol): void {
    this._switchingTo = null;
    this.cancelTimer();
    const rest = this.takeBuffered();
    // Output still queued piecewise (the 101 behind a large response) goes to the transport
    // now, in order, before the new protocol writes anything of its own.
    if (this._outQueue.length > 0) {
      const queued = this._outQueue;
      this._outQueue = [];
      this.transport!.writeSequence(queued);
    }
    if (this._registeredWithTransport) {
      this._registeredWithTransport = false;
      this.net.unregisterProducer?.();
    }
    if (this._pausedForPipelining) {
      this._pausedForPipelining = false;
      this.net.resumeProducing?.();
    }
    this._switchedTo = protocol;
    protocol.makeConnection(this.transport!);
    if (rest !== null && this.connected) protocol.dataReceived(rest);
  }

  /**
   * Called by a Request as it writes its head: add Date and Server, settle persistence, and
   * return the head so far.
   */
  _responseHeadStarting(request: Request, head: string, noBody: boolean): string {
    const headers = request.responseHeaders;
    if (this.sendDate && !headers.hasHeader("date")) head += "Date: " + httpDate(this.reactor.seconds()) + "\r\n";
    if (this.serverVersion !== null && !headers.hasHeader("server")) head += "Server: " + this.serverVersion + "\r\n";
    const tokens = headers.hasHeader("connection") ? connectionTokens(headers) : null;
    if (tokens !== null && tokens.includes("close")) this.persistent = false;
    if (request.clientproto !== "HTTP/1.1" && this.persistent) {
      if (noBody || headers.hasHeader("content-length")) {
        if (tokens === null) head += "Connection: keep-alive\r\n";
      } else {
        this.persistent = false; // close-delimited body
      }
    }
    return head;
  }

  // --- what a Request uses --------------------------------------------------------------

  /**
   * Send bytes. Beyond Twisted: on a transport that buffers (a socket), a write larger than
   * OUT_PIECE is handed over a piece at a time, the next when the transport has drained the
   * last (its resumeProducing), and anything written meanwhile queues behind it. Node counts
   * a write as buffered until all of it has reached the kernel, so without pieces a client
   * reading a 12 MB response slowly but steadily would look, for minutes, as if it read nothing.
   */
  write(data: Bytes): void {
    const transport = this.transport;
    if (transport === null) return;
    if (this._outQueue.length === 0 && (data.length <= OUT_PIECE * 2 || !this.buffersOutput())) {
      transport.write(data);
      return;
    }
    this.queueOutput(data);
  }

  writeSequence(data: Iterable<Bytes>): void {
    const transport = this.transport;
    if (transport === null) return;
    const chunks = Array.isArray(data) ? (data as Bytes[]) : [...data];
    if (this._outQueue.length === 0) {
      let total = 0;
      for (let i = 0; i < chunks.length; i++) total += chunks[i].length;
      if (total <= OUT_PIECE * 2 || !this.buffersOutput()) {
        transport.writeSequence(chunks);
        return;
      }
    }
    for (const chunk of chunks) this.queueOutput(chunk);
  }

  /** The transport reports its buffer's level (a FileDescriptor): it will pause and resume the channel. */
  private buffersOutput(): boolean {
    return this._registeredWithTransport && typeof this.net.writableLength === "number";
  }

  private queueOutput(data: Bytes): void {
    for (let at = 0; at < data.length; at += OUT_PIECE) {
      this._outQueue.push(at === 0 && data.length <= OUT_PIECE ? data : data.subarray(at, Math.min(data.length, at + OUT_PIECE)));
    }
    if (!this._waitingForTransport) this.sendQueued();
  }

  /** Hand queued pieces to the transport until it pauses the channel or the queue is empty. */
  private sendQueued(): void {
    const queue = this._outQueue;
    const transport = this.transport;
    while (queue.length > 0 && !this._waitingForTransport && transport !== null) {
      transport.write(queue.shift()!);
    }
    if (queue.length === 0 && this._closeWhenSent) {
      this._closeWhenSent = false;
      this.loseConnection();
    }
  }

  getPeer(): IAddress | null {
    return this.transport ? this.transport.getPeer() : null;
  }

  getHost(): IAddress | null {
    return this.transport ? this.transport.getHost() : null;
  }

  /** True if the transport says it is secure (a TLS transport's isSecure()). */
  isSecure(): boolean {
    const transport = this.net;
    return transport !== null && typeof transport.isSecure === "function" ? transport.isSecure() : false;
  }

  /** Close the connection once what was written is sent. */
  loseConnection(): void {
    this._closing = true;
    if (this._outQueue.length > 0) {
      // What was written goes out first: close once the queue is sent (abortTimeout still bounds it).
      this._closeWhenSent = true;
      return;
    }
    if (this._registeredWithTransport) {
      this._registeredWithTransport = false;
      this.net.unregisterProducer?.();
    }
    this.transport?.loseConnection();
  }

  /** For a Request: register the producer of its response. */
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this._requestProducer !== null) {
      throw new Error(`Cannot register producer ${producer}, because producer ${this._requestProducer} was never unregistered.`);
    }
    let push: IPushProducer;
    if (streaming) {
      push = producer as IPushProducer;
    } else {
      push = new PullToPush(producer as IPullProducer, this.reactor, this.onPullProducerError);
    }
    this._requestProducer = push;
    this._requestProducerStreaming = streaming;
    if (!streaming) {
      if (this._waitingForTransport) push.pauseProducing();
      (push as PullToPush).startStreaming();
    } else if (this._waitingForTransport) {
      push.pauseProducing();
    }
  }

  /** A pull producer threw in resumeProducing: log it and drop the connection (as abstract.ts does for a push producer). */
  private readonly onPullProducerError = (err: unknown): void => {
    log.failure("Unhandled error in the producer of {request}; dropping the connection", err, {
      request: String(this.requests[0]),
    });
    if (typeof this.net.abortConnection === "function") this.net.abortConnection();
    else this.transport?.loseConnection();
  };

  unregisterProducer(): void {
    const producer = this._requestProducer;
    if (producer === null) return;
    if (!this._requestProducerStreaming) (producer as PullToPush).stopStreaming();
    this._requestProducer = null;
    this._requestProducerStreaming = null;
  }

  // --- IPushProducer: driven by the transport ------------------------------------------

  /** The transport's buffer is full: pause the request's producer, and reading if idle. */
  pauseProducing(): void {
    if (!this._waitingForTransport) this._pausedSince = this.reactor.seconds();
    this._waitingForTransport = true;
    this._requestProducer?.pauseProducing();
    if (!this._handlingRequest && !this._pausedForPipelining) this.net.pauseProducing?.();
  }

  /** The transport's buffer drained: resume the request's producer, and reading if idle. */
  resumeProducing(): void {
    this._waitingForTransport = false;
    // The client read what the transport held: progress, so the idle timeout starts again.
    if (!this._handlingRequest) this._lastActivity = this.reactor.seconds();
    if (this._outQueue.length > 0) {
      this.sendQueued();
      if (this._waitingForTransport || this._outQueue.length > 0) return;
    }
    this._requestProducer?.resumeProducing();
    if (!this._handlingRequest && !this._pausedForPipelining) this.net.resumeProducing?.();
  }

  /**
   * The transport will take no more data (the peer is gone): stop the request's producer, once.
   * The one route by which a response's producer learns of a disconnect (Twisted's
   * HTTPChannel.stopProducing); the request learns of it in connectionLost.
   */
  stopProducing(): void {
    const producer = this._requestProducer;
    if (producer === null) return;
    // Forgotten first, so a re-entrant call stops it only once; a PullToPush ends its own streaming.
    this._requestProducer = null;
    this._requestProducerStreaming = null;
    try {
      producer.stopProducing();
    } catch (err) {
      log.failure("Error stopping the producer of {request}", err, { request: String(this.requests[0]) });
    }
  }

  // --- errors and timeouts ---------------------------------------------------------------

  /** Answer a bad request with `code` and a short body, then close. */
  respondToBadRequestAndDisconnect(code = 400): void {
    if (this._closing) return;
    const phrase = responsePhrase(code);
    const body = `${code} ${phrase}\n`;
    const response =
      `HTTP/1.1 ${code} ${phrase}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\n\r\n${body}`;
    this.write(Buffer.from(response, "latin1"));
    this.loseConnection();
    this.scheduleAbort();
  }

  /** The idle timeout passed: close, and abort abortTimeout seconds later if still open. */
  timeoutConnection(): void {
    log.info("Timing out client: {peer}", { peer: describePeer(this.transport) });
    this.scheduleAbort();
    this.loseConnection();
  }

  /** The connection did not close after a timeout: abort it. */
  forceAbortClient(): void {
    log.info("Forcibly timing out client: {peer}", { peer: describePeer(this.transport) });
    this._abortingCall = null;
    this.net.abortConnection?.();
  }

  private scheduleAbort(): void {
    if (this.abortTimeout === null || this._abortingCall !== null || !this.connected) return;
    this._abortingCall = this.reactor.callLater(this.abortTimeout, this.onAbortTimer);
  }

  private readonly onAbortTimer = (): void => {
    this._abortingCall = null;
    if (this.connected) this.forceAbortClient();
  };

  private pauseTransport(): void {
    this._pausedForPipelining = true;
    this.net.pauseProducing?.();
  }

  /** The next moment a timeout could fire, or null. */
  private nextDeadline(): number | null {
    let next: number | null = null;
    if (this.timeOut !== null && this.timeOut > 0) {
      // While a request is answered the idle timeout is suspended (Twisted sets it to None),
      // unless the client has read nothing for a whole period (see onTimer); check again then.
      if (!this._handlingRequest) next = this._lastActivity + this.timeOut;
      else if (this._waitingForTransport) next = this._pausedSince + this.timeOut;
      else next = this.reactor.seconds() + this.timeOut;
    }
    if (this.headersTimeout !== null && this.headersTimeout > 0 && this.parser.inHead && !this._handlingRequest) {
      const h = this._headStart + this.headersTimeout;
      if (next === null || h < next) next = h;
    }
    if (this.bodyTimeout !== null && this.bodyTimeout > 0 && this.parser.inBody && !this._handlingRequest) {
      const b = this._bodyStart + this.bodyTimeout;
      if (next === null || b < next) next = b;
    }
    return next;
  }

  private scheduleTimer(): void {
    if (this._timer !== null || this._closing) return;
    const next = this.nextDeadline();
    if (next === null) return;
    this._timer = this.reactor.callLater(Math.max(0, next - this.reactor.seconds()), this.onTimer);
  }

  private ensureTimerBy(deadline: number): void {
    const timer = this._timer;
    if (timer !== null && timer.getTime() <= deadline) return;
    this.cancelTimer();
    this._timer = this.reactor.callLater(Math.max(0, deadline - this.reactor.seconds()), this.onTimer);
  }

  private readonly onTimer = (): void => {
    this._timer = null;
    if (this._closing || !this.connected) return;
    const now = this.reactor.seconds();
    if (
      this.headersTimeout !== null && this.headersTimeout > 0 && this.parser.inHead && !this._handlingRequest &&
      now - this._headStart >= this.headersTimeout
    ) {
      log.info("Timing out client {peer}: header block not received in time", { peer: describePeer(this.transport) });
      this.respondToBadRequestAndDisconnect(408);
      return;
    }
    if (
      this.bodyTimeout !== null && this.bodyTimeout > 0 && this.parser.inBody && !this._handlingRequest &&
      now - this._bodyStart >= this.bodyTimeout
    ) {
      if (readingPaused(this.transport)) {
        // The application (or a proxy in front) paused reading: back-pressure is not a slow
        // client. The deadline starts again from now.
        this._bodyStart = now;
      } else {
        log.info("Timing out client {peer}: request body not received in {bodyTimeout} s", {
          peer: describePeer(this.transport),
          bodyTimeout: this.bodyTimeout,
        });
        this.respondToBadRequestAndDisconnect(408);
        return;
      }
    }
    if (this.timeOut !== null && this.timeOut > 0 && !this._handlingRequest && now - this._lastActivity >= this.timeOut) {
      this.timeoutConnection();
      return;
    }
    // Beyond Twisted: a response whose client has read nothing for timeOut seconds (the
    // transport's buffer full all along) is idle too. Otherwise a client that never reads
    // would hold its connection, and a paused producer, forever.
    if (
      this.timeOut !== null && this.timeOut > 0 && this._handlingRequest && this._waitingForTransport &&
      now - this._pausedSince >= this.timeOut
    ) {
      log.info("Timing out client {peer}: it read nothing of the response for {timeOut} s", {
        peer: describePeer(this.transport),
        timeOut: this.timeOut,
      });
      this.timeoutConnection();
      return;
    }
    this.scheduleTimer();
  };

  private cancelTimer(): void {
    const timer = this._timer;
    this._timer = null;
    if (timer !== null && timer.active()) timer.cancel();
  }

  /** Change the idle timeout (as TimeoutMixin.setTimeout); returns the previous one. */
  setTimeout(period: number | null): number | null {
    const previous = this.timeOut;
    this.timeOut = period;
    this._lastActivity = this.reactor.seconds();
    this.cancelTimer();
    if (this.connected) this.scheduleTimer();
    return previous;
  }
}

/**
 * Whether reading from `transport` is paused (pauseProducing() in force): a TCP/TLS
 * transport's socket is paused, or a StringTransport's producerState says so.
 */
function readingPaused(transport: ITransport | null): boolean {
  const t = transport as { socket?: { isPaused?(): boolean }; producerState?: string } | null;
  if (t === null) return false;
  if (t.producerState !== undefined) return t.producerState === "paused";
  return typeof t.socket?.isPaused === "function" ? t.socket.isPaused() : false;
}

function describePeer(transport: ITransport | null): string {
  if (transport === null) return "(no transport)";
  const peer = transport.getPeer();
  return peer.type === "TCP" ? `${peer.host}:${peer.port}` : String(peer.name);
}
