/**
 * ContentDecoderAgent and GzipDecoder, as twisted.web.client's: ask for compressed bodies
 * (Accept-Encoding) and undo the Content-Encoding the server applied, streaming through
 * node:zlib: gzip, deflate, and br (beyond Twisted). Back-pressure holds across the decoder:
 * the body protocol's transport is the connection's, and while zlib cannot take more input
 * the connection is paused. A body that does not decode ends with ResponseFailed.
 */

import * as zlib from "node:zlib";
import type { Transform } from "node:stream";
import type { Deferred } from "../../internet/deferred.js";
import { Failure } from "../../internet/failure.js";
import type { Bytes, IProtocol, IPushProducer, ITransport } from "../../internet/interfaces.js";
import { Headers } from "../http-headers.js";
import { ResponseDone, ResponseFailed } from "./errors.js";
import { type IAgent, type IBodyProducer, type IResponse, UNKNOWN_LENGTH, type UnknownLength } from "./iclient.js";
import { responseDone } from "./response.js";

/** Makes the decompressing Transform for one body. */
export type DecoderFactory = () => Transform;

/** Feeds a body through zlib to the application's protocol (Twisted's _GzipProtocol). */
class DecodingProtocol implements IProtocol {
  private transport: (ITransport & IPushProducer) | null = null;
  private ended = false;
  private readonly stream: Transform;

  constructor(
    private readonly protocol: IProtocol,
    private readonly response: IResponse,
    factory: DecoderFactory,
  ) {
    this.stream = factory();
    this.stream.on("data", (chunk: Buffer) => this.protocol.dataReceived(chunk));
    this.stream.on("drain", () => this.transport?.resumeProducing());
    this.stream.on("end", () => this.finish(responseDone));
    this.stream.on("error", (err) => {
      (this.transport as { abortConnection?: () => void } | null)?.abortConnection?.();
      this.finish(new Failure(new ResponseFailed([new Failure(err)], this.response)));
    });
  }

  makeConnection(transport: ITransport): void {
    this.transport = transport as ITransport & IPushProducer;
    this.protocol.makeConnection(transport);
  }

  connectionMade(): void {}

  dataReceived(data: Bytes): void {
    if (this.ended) return;
    // zlib's buffer is full: stop reading the connection until it drains
    if (!this.stream.write(data)) this.transport?.pauseProducing();
  }

  connectionLost(reason: Failure): void {
    if (this.ended) return;
    if (reason.check(ResponseDone)) {
      this.stream.end();
    } else {
      this.stream.destroy();
      this.finish(reason);
    }
  }

  private finish(reason: Failure): void {
    if (this.ended) return;
    this.ended = true;
    this.protocol.connectionLost(reason);
  }
}

/** A response whose body is decoded on the way to deliverBody's protocol (Twisted's GzipDecoder). */
export class DecodedResponse implements IResponse {
  readonly length: number | UnknownLength = UNKNOWN_LENGTH;

  constructor(
    readonly original: IResponse,
    private readonly factory: DecoderFactory,
  ) {}

  get version(): IResponse["version"] {
    return this.original.version;
  }
  get code(): number {
    return this.original.code;
  }
  get phrase(): string {
    return this.original.phrase;
  }
  get headers(): Headers {
    return this.original.headers;
  }
  get request(): IResponse["request"] {
    return this.original.request;
  }
  get previousResponse(): IResponse | null {
    return this.original.previousResponse;
  }
  set previousResponse(r: IResponse | null) {
    this.original.previousResponse = r;
  }
  setPreviousResponse(response: IResponse): void {
    this.original.setPreviousResponse(response);
  }

  deliverBody(protocol: IProtocol): void {
    this.original.deliverBody(new DecodingProtocol(protocol, this.original, this.factory));
  }
}

/** gzip (Twisted's GzipDecoder): also what "deflate" and "br" decoders are, with their own zlib stream. */
export function GzipDecoder(response: IResponse): IResponse {
  return new DecodedResponse(response, () => zlib.createGunzip());
}

export function DeflateDecoder(response: IResponse): IResponse {
  // RFC 9110 8.4.1.2: "deflate" is the zlib format; createUnzip also accepts gzip framing
  return new DecodedResponse(response, () => zlib.createUnzip());
}

export function BrotliDecoder(response: IResponse): IResponse {
  return new DecodedResponse(response, () => zlib.createBrotliDecompress());
}

/** The decoders ContentDecoderAgent uses when given none: gzip, deflate, br. */
export const DEFAULT_DECODERS: ReadonlyArray<[string, (r: IResponse) => IResponse]> = [
  ["gzip", GzipDecoder],
  ["deflate", DeflateDecoder],
  ["br", BrotliDecoder],
];

export class ContentDecoderAgent implements IAgent {
  private readonly decoders: Map<string, (r: IResponse) => IResponse>;
  private readonly supported: string;

  constructor(
    private readonly agent: IAgent,
    decoders: ReadonlyArray<[string, (r: IResponse) => IResponse]> = DEFAULT_DECODERS,
  ) {
    this.decoders = new Map(decoders.map(([name, d]) => [name.toLowerCase(), d]));
    this.supported = decoders.map(([name]) => name).join(",");
  }

  request(method: string, uri: string, headers: Headers | null = null, bodyProducer: IBodyProducer | null = null): Deferred<IResponse> {
    const h = headers === null ? new Headers() : headers.copy();
    h.addRawHeader("accept-encoding", this.supported);
    return this.agent.request(method, uri, h, bodyProducer).addCallback((response) => this.handleResponse(response));
  }

  /** Undo the encodings from the last applied, as far as there is a decoder for each (Twisted's). */
  private handleResponse(response: IResponse): IResponse {
    const header = response.headers.getRawHeaders("content-encoding");
    if (header === undefined) return response;
    const encodings = header.join(",").split(",").map((e) => e.trim().toLowerCase()).filter((e) => e !== "");
    let decoded = response;
    while (encodings.length > 0) {
      const decoder = this.decoders.get(encodings[encodings.length - 1]);
      if (decoder === undefined) break;
      encodings.pop();
      decoded = decoder(decoded);
    }
    if (encodings.length > 0) response.headers.setRawHeaders("content-encoding", [encodings.join(",")]);
    else response.headers.removeHeader("content-encoding");
    return decoded;
  }
}
