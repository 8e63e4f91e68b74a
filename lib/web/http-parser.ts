/**
 * An incremental HTTP/1.1 request parser (RFC 9112), with no I/O.
 *
 * Feed it bytes in any split with execute(); it calls its handler's methods as the request
 * line and header block, the body, and the end of the message arrive. It stops after each
 * complete message (execute returns how many bytes it consumed), so the caller decides when
 * the next pipelined request may start (reset()).
 *
 * Strictness, chosen so that request smuggling is impossible (every rejection is an
 * HTTPParseError carrying the status code to answer; after one the parser refuses all input):
 *
 * - Lines end in CRLF. A bare LF anywhere in the head, a chunk-size line, a chunk end or a
 *   trailer is 400. A CR not followed by LF is 400.
 * - Header lines: the name is a token with no whitespace before the colon (400); a line
 *   starting with SP/HTAB (obs-fold) is 400; values may hold HTAB, SP, VCHAR and obs-text
 *   only, so NUL, CR, LF and other controls are 400. Values are trimmed of SP/HTAB.
 * - Content-Length must be digits only. More than one Content-Length (separate lines or a
 *   comma list), even with identical values, is 400: RFC 9110 8.6 allows accepting identical
 *   duplicates, but no honest client sends them and refusing is the safer reading.
 * - Transfer-Encoding together with Content-Length is 400 (RFC 9112 6.1 allows the server to
 *   reject, which closes the smuggling door). Transfer-Encoding whose final coding is not
 *   chunked is 400 (RFC 9112 6.3), chunked applied twice is 400, any other coding before
 *   chunked is 501. Transfer-Encoding in an HTTP/1.0 request is 400 (RFC 9112 6.1).
 * - Chunk sizes are 1*HEXDIG only (no sign, no 0x, no whitespace before an extension's ';'
 *   other than BWS) and above 2^53-1 are 400; extensions may not hold controls; the chunk
 *   data must be followed by exactly CRLF.
 * - Limits: request line (414), header block bytes and header count (431), body bytes (413),
 *   unknown method (501), HTTP version other than 1.0/1.1 (505; HTTP/0.9 requests, which have
 *   no version, are 400).
 */

import { TorsionError } from "../internet/error.js";
import { registerErrorClasses } from "../internet/thread-error.js";
import { Headers } from "./http-headers.js";

/** A request the server refuses; `status` is the HTTP status to answer with before closing. */
export class HTTPParseError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_HTTP_PARSE";

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

registerErrorClasses(HTTPParseError);

/** The methods of RFC 9110 section 9 plus PATCH (RFC 5789) and WebDAV's (RFC 4918, 3253, 5323, 3648, 3744, 5842). */
export const DEFAULT_METHODS: ReadonlySet<string> = new Set([
  "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
  "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
  "REPORT", "CHECKOUT", "CHECKIN", "UNCHECKOUT", "MKWORKSPACE", "UPDATE", "LABEL", "MERGE",
  "BASELINE-CONTROL", "MKACTIVITY", "VERSION-CONTROL", "SEARCH", "ORDERPATCH", "ACL", "BIND",
  "UNBIND", "REBIND", "MKCALENDAR", "MKREDIRECTREF", "UPDATEREDIRECTREF",
]);

/** The limits a parser enforces; every field is optional in HTTPParserOptions. */
export interface HTTPLimits {
  /** Longest request line, without its CRLF (414 beyond). */
  maxRequestLineLength: number;
  /** Most bytes in the request line plus header block, CRLFs included (431 beyond). Also bounds trailers. */
  maxHeaderSize: number;
  /** Most header lines in one request (431 beyond). Also bounds trailer lines. */
  maxHeaders: number;
  /** Most body bytes (413 beyond); Infinity for no limit. */
  maxBodySize: number;
  /** Longest chunk-size line, extensions included (400 beyond). */
  maxChunkSizeLineLength: number;
  /** The methods accepted (501 for any other token). */
  methods: ReadonlySet<string>;
}

export type HTTPParserOptions = Partial<HTTPLimits>;

export const DEFAULT_LIMITS: Readonly<HTTPLimits> = Object.freeze({
  maxRequestLineLength: 8190,
  maxHeaderSize: 16384,
  maxHeaders: 500,
  maxBodySize: Infinity,
  maxChunkSizeLineLength: 4096,
  methods: DEFAULT_METHODS,
});

/** What the parser calls; HTTPChannel is one. Methods, not closures, so nothing is allocated per request. */
export interface HTTPParserHandler {
  /**
   * The request line and header block are complete. `bodyLength` is the Content-Length, 0 for
   * no body, or -1 for a chunked body.
   */
  headReceived(method: string, uri: string, version: string, headers: Headers, bodyLength: number): void;
  /** Some body bytes (a view into the input: copy it to keep it past this call). */
  bodyReceived(data: Buffer): void;
  /** The message is complete; the parser consumes nothing more until reset(). */
  messageComplete(): void;
}

const enum State {
  REQUEST_LINE,
  HEADERS,
  BODY,
  CHUNK_SIZE,
  CHUNK_DATA,
  CHUNK_CRLF,
  TRAILERS,
  DONE,
  ERROR,
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** tchar (RFC 9110 5.6.2). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/** Bytes allowed inside a field value: HTAB, SP, VCHAR, obs-text. */
const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[HTAB] = 1;
for (let i = 0x20; i < 0x100; i++) if (i !== 0x7f) FIELD_VALUE[i] = 1;

/** Bytes allowed in a request-target: visible, non-space (obs-text tolerated as Twisted does). */
const TARGET = new Uint8Array(256);
for (let i = 0x21; i < 0x100; i++) if (i !== 0x7f) TARGET[i] = 1;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** Largest chunk size accepted before one more hex digit would pass 2^53-1. */
const MAX_BEFORE_DIGIT = Math.floor((Number.MAX_SAFE_INTEGER - 15) / 16);

export class HTTPRequestParser {
  readonly limits: HTTPLimits;

  private state = State.REQUEST_LINE;
  /** Bytes of an incomplete line kept from earlier input. */
  private pending: Buffer | null = null;
  private headBytes = 0;
  private headerCount = 0;

  method = "";
  uri = "";
  version = "";
  headers: Headers = new Headers();
  /** Content-Length, -1 when chunked, 0 when there is no body. */
  private bodyLength = 0;
  private contentLengthSeen = false;
  /** Any Transfer-Encoding line was seen. */
  private transferEncodingSeen = false;
  /** A coding other than chunked was listed (501 if chunked ends the list, 400 otherwise). */
  private otherCodingSeen = false;
  private remaining = 0;
  private bodyReceivedBytes = 0;
  /** The error that stopped the parser, if any. */
  error: HTTPParseError | null = null;

  constructor(
    private readonly handler: HTTPParserHandler,
    options: HTTPParserOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options };
  }

  /** True between the first byte of a request and the end of its header block. */
  get inHead(): boolean {
    return (this.state === State.REQUEST_LINE && (this.pending !== null || this.headBytes > 0)) || this.state === State.HEADERS;
  }

  /** True when a message has completed and the parser waits for reset(). */
  get messageDone(): boolean {
    return this.state === State.DONE;
  }

  /** True between requests: nothing of a next request received yet. */
  get idle(): boolean {
    return this.state === State.REQUEST_LINE && this.pending === null && this.headBytes === 0;
  }

  /** Get ready for the next request on the connection (after messageComplete). */
  reset(): void {
    if (this.state === State.ERROR) return;
    this.state = State.REQUEST_LINE;
    this.pending = null;
    this.headBytes = 0;
    this.headerCount = 0;
    this.method = "";
    this.uri = "";
    this.version = "";
    this.headers = new Headers();
    this.bodyLength = 0;
    this.contentLengthSeen = false;
    this.transferEncodingSeen = false;
    this.otherCodingSeen = false;
    this.remaining = 0;
    this.bodyReceivedBytes = 0;
  }

  /**
   * Parse as much of `data` as belongs to the current message. Returns the number of bytes
   * consumed: all of them, or fewer when the message completed (the rest belongs to the next
   * request). Throws HTTPParseError on a bad request, and again on any later call.
   */
  execute(data: Buffer): number {
    if (this.state === State.ERROR) throw this.error!;
    try {
      return this.run(data);
    } catch (err) {
      if (err instanceof HTTPParseError) {
        this.state = State.ERROR;
        this.error = err;
        this.pending = null;
      }
      throw err;
    }
  }

  private run(data: Buffer): number {
    let pos = 0;
    const len = data.length;
    while (pos < len) {
      switch (this.state) {
        case State.REQUEST_LINE:
        case State.HEADERS:
        case State.CHUNK_SIZE:
        case State.CHUNK_CRLF:
        case State.TRAILERS: {
          const lf = data.indexOf(LF, pos);
          if (lf === -1) {
            this.keepPartialLine(data, pos);
            return len;
          }
          if (this.pending !== null) {
            const line = Buffer.concat([this.pending, data.subarray(pos, lf + 1)]);
            this.pending = null;
            this.lineReceived(line, 0, line.length - 1);
          } else {
            this.lineReceived(data, pos, lf);
          }
          pos = lf + 1;
          if ((this.state as State) === State.DONE) return pos;
          break;
        }
        case State.BODY:
        case State.CHUNK_DATA: {
          const n = Math.min(this.remaining, len - pos);
          const end = pos + n;
          this.remaining -= n;
          this.handler.bodyReceived(pos === 0 && end === len ? data : data.subarray(pos, end));
          pos = end;
          if (this.remaining === 0) {
            if (this.state === State.BODY) {
              this.finishMessage();
              return pos;
            }
            this.state = State.CHUNK_CRLF;
          }
          break;
        }
        case State.DONE:
          return pos;
        default:
          throw this.error!;
      }
    }
    return pos;
  }

  /** Keep an incomplete line, enforcing the limit of the section it belongs to. */
  private keepPartialLine(data: Buffer, pos: number): void {
    const rest = pos === 0 ? data : data.subarray(pos);
    const pending = this.pending === null ? Buffer.from(rest) : Buffer.concat([this.pending, rest]);
    this.pending = pending;
    const n = pending.length;
    switch (this.state) {
      case State.REQUEST_LINE:
        if (n > this.limits.maxRequestLineLength + 1) throw new HTTPParseError(414, "request line too long");
        if (this.headBytes + n > this.limits.maxHeaderSize) throw new HTTPParseError(431, "header block too large");
        break;
      case State.HEADERS:
      case State.TRAILERS:
        if (this.headBytes + n > this.limits.maxHeaderSize) throw new HTTPParseError(431, "header block too large");
        break;
      case State.CHUNK_SIZE:
        if (n > this.limits.maxChunkSizeLineLength) throw new HTTPParseError(400, "chunk-size line too long");
        break;
      case State.CHUNK_CRLF:
        if (n > 1) throw new HTTPParseError(400, "chunk data not followed by CRLF");
        break;
    }
  }

  /** One line, `data[start..lf)`, where data[lf] is its LF. */
  private lineReceived(data: Buffer, start: number, lf: number): void {
    if (lf === start || data[lf - 1] !== CR) throw new HTTPParseError(400, "bare LF where CRLF is required");
    const end = lf - 1; // exclusive, before the CR
    switch (this.state) {
      case State.REQUEST_LINE:
        this.headBytes += lf + 1 - start;
        if (end === start) {
          // RFC 9112 2.2: a server SHOULD ignore empty lines received before the request-line.
          if (this.headBytes > this.limits.maxHeaderSize) throw new HTTPParseError(431, "header block too large");
          return;
        }
        if (end - start > this.limits.maxRequestLineLength) throw new HTTPParseError(414, "request line too long");
        if (this.headBytes > this.limits.maxHeaderSize) throw new HTTPParseError(431, "header block too large");
        this.requestLine(data, start, end);
        this.state = State.HEADERS;
        return;
      case State.HEADERS:
        this.headBytes += lf + 1 - start;
        if (this.headBytes > this.limits.maxHeaderSize) throw new HTTPParseError(431, "header block too large");
        if (end === start) {
          this.headersDone();
          return;
        }
        this.headerLine(data, start, end, false);
        return;
      case State.CHUNK_SIZE:
        if (lf + 1 - start > this.limits.maxChunkSizeLineLength) throw new HTTPParseError(400, "chunk-size line too long");
        this.chunkSizeLine(data, start, end);
        return;
      case State.CHUNK_CRLF:
        if (end !== start) throw new HTTPParseError(400, "chunk data not followed by CRLF");
        this.state = State.CHUNK_SIZE;
        return;
      case State.TRAILERS:
        this.headBytes += lf + 1 - start;
        if (this.headBytes > this.limits.maxHeaderSize) throw new HTTPParseError(431, "trailer section too large");
        if (end === start) {
          this.finishMessage();
          return;
        }
        this.headerLine(data, start, end, true);
        return;
    }
  }

  private requestLine(data: Buffer, start: number, end: number): void {
    const sp1 = data.indexOf(SP, start);
    if (sp1 === -1 || sp1 >= end || sp1 === start) throw new HTTPParseError(400, "malformed request line");
    for (let i = start; i < sp1; i++) {
      if (TOKEN[data[i]] === 0) throw new HTTPParseError(400, "malformed method");
    }
    const sp2 = data.indexOf(SP, sp1 + 1);
    if (sp2 === -1 || sp2 >= end) {
      // "GET /" is HTTP/0.9, which torsion does not speak; anything else is simply malformed.
      throw new HTTPParseError(400, "malformed request line (HTTP/0.9 is not supported)");
    }
    if (sp2 === sp1 + 1) throw new HTTPParseError(400, "malformed request line");
    for (let i = sp1 + 1; i < sp2; i++) {
      if (TARGET[data[i]] === 0) throw new HTTPParseError(400, "malformed request-target");
    }
    // HTTP-version = "HTTP/" DIGIT "." DIGIT, exactly.
    const v = sp2 + 1;
    if (
      end - v !== 8 ||
      data[v] !== 72 || data[v + 1] !== 84 || data[v + 2] !== 84 || data[v + 3] !== 80 || data[v + 4] !== 47 ||
      HEX[data[v + 5]] < 0 || data[v + 5] > 57 || data[v + 6] !== 46 || HEX[data[v + 7]] < 0 || data[v + 7] > 57
    ) {
      throw new HTTPParseError(400, "malformed HTTP version");
    }
    if (data[v + 5] !== 49 || (data[v + 7] !== 48 && data[v + 7] !== 49)) {
      throw new HTTPParseError(505, "HTTP version not supported");
    }
    const method = latin1(data, start, sp1);
    if (!this.limits.methods.has(method)) throw new HTTPParseError(501, "method not implemented");
    this.method = method;
    this.uri = latin1(data, sp1 + 1, sp2);
    this.version = data[v + 7] === 49 ? "HTTP/1.1" : "HTTP/1.0";
  }

  private headerLine(data: Buffer, start: number, end: number, trailer: boolean): void {
    if (data[start] === SP || data[start] === HTAB) throw new HTTPParseError(400, "obsolete line folding is not accepted");
    let colon = -1;
    for (let i = start; i < end; i++) {
      const c = data[i];
      if (c === COLON) {
        colon = i;
        break;
      }
      if (TOKEN[c] === 0) throw new HTTPParseError(400, "malformed header name");
    }
    if (colon <= start) throw new HTTPParseError(400, colon === start ? "empty header name" : "header line without a colon");
    if (++this.headerCount > this.limits.maxHeaders) throw new HTTPParseError(431, "too many headers");
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && (data[vs] === SP || data[vs] === HTAB)) vs++;
    while (ve > vs && (data[ve - 1] === SP || data[ve - 1] === HTAB)) ve--;
    for (let i = vs; i < ve; i++) {
      if (FIELD_VALUE[data[i]] === 0) throw new HTTPParseError(400, "invalid character in header value");
    }
    if (trailer) return; // validated, then discarded, as Twisted does
    const name = lowerToken(data, start, colon);
    const value = latin1(data, vs, ve);
    if (name === "content-length") this.contentLength(value);
    else if (name === "transfer-encoding") this.transferEncoding(value);
    this.headers._addParsed(name, value);
  }

  private contentLength(value: string): void {
    if (this.contentLengthSeen) throw new HTTPParseError(400, "more than one Content-Length");
    this.contentLengthSeen = true;
    if (this.transferEncodingSeen) throw new HTTPParseError(400, "both Content-Length and Transfer-Encoding");
    const n = value.length;
    if (n === 0 || n > 15) throw new HTTPParseError(400, "invalid Content-Length");
    let length = 0;
    for (let i = 0; i < n; i++) {
      const d = value.charCodeAt(i) - 48;
      if (d < 0 || d > 9) throw new HTTPParseError(400, "invalid Content-Length");
      length = length * 10 + d;
    }
    if (length > this.limits.maxBodySize) throw new HTTPParseError(413, "request body too large");
    this.bodyLength = length;
  }

  private transferEncoding(value: string): void {
    if (this.contentLengthSeen) throw new HTTPParseError(400, "both Content-Length and Transfer-Encoding");
    if (this.version === "HTTP/1.0") throw new HTTPParseError(400, "Transfer-Encoding in an HTTP/1.0 request");
    this.transferEncodingSeen = true;
    // Each line adds codings to the list; chunked must come last and once (RFC 9112 6.1).
    const codings = value.split(",");
    for (let i = 0; i < codings.length; i++) {
      const coding = codings[i].trim().toLowerCase();
      if (coding === "") continue;
      if (this.bodyLength === -1) throw new HTTPParseError(400, "a coding applied after chunked");
      if (coding === "chunked") this.bodyLength = -1;
      else this.otherCodingSeen = true;
    }
  }

  private headersDone(): void {
    if (this.transferEncodingSeen) {
      if (this.bodyLength !== -1) throw new HTTPParseError(400, "Transfer-Encoding does not end in chunked");
      if (this.otherCodingSeen) throw new HTTPParseError(501, "transfer coding not implemented");
    }
    const bodyLength = this.bodyLength;
    this.handler.headReceived(this.method, this.uri, this.version, this.headers, bodyLength);
    if (bodyLength === 0) {
      this.finishMessage();
    } else if (bodyLength > 0) {
      this.state = State.BODY;
      this.remaining = bodyLength;
    } else {
      this.state = State.CHUNK_SIZE;
      this.headBytes = 0;
      this.headerCount = 0;
    }
  }

  private chunkSizeLine(data: Buffer, start: number, end: number): void {
    let size = 0;
    let i = start;
    for (; i < end; i++) {
      const d = HEX[data[i]];
      if (d < 0) break;
      if (size > MAX_BEFORE_DIGIT) throw new HTTPParseError(400, "chunk size too large");
      size = size * 16 + d;
    }
    if (i === start) throw new HTTPParseError(400, "malformed chunk size");
    if (i < end) this.chunkExtension(data, i, end);
    this.bodyReceivedBytes += size;
    if (this.bodyReceivedBytes > this.limits.maxBodySize) throw new HTTPParseError(413, "request body too large");
    if (size === 0) {
      this.state = State.TRAILERS;
    } else {
      this.state = State.CHUNK_DATA;
      this.remaining = size;
    }
  }

  /** chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): ignored, but no controls allowed. */
  private chunkExtension(data: Buffer, i: number, end: number): void {
    while (i < end && (data[i] === SP || data[i] === HTAB)) i++;
    if (i === end || data[i] !== 59 /* ; */) throw new HTTPParseError(400, "malformed chunk size");
    let quoted = false;
    for (; i < end; i++) {
      const c = data[i];
      if (FIELD_VALUE[c] === 0) throw new HTTPParseError(400, "invalid character in chunk extension");
      if (c === 34 /* " */) quoted = !quoted;
      else if (c === 92 /* \ */) {
        if (!quoted) throw new HTTPParseError(400, "invalid character in chunk extension");
        i++; // quoted-pair: the next byte is literal, but still may not be a control
        if (i < end && FIELD_VALUE[data[i]] === 0) throw new HTTPParseError(400, "invalid character in chunk extension");
      }
    }
    if (quoted) throw new HTTPParseError(400, "unterminated quoted string in chunk extension");
  }

  private finishMessage(): void {
    this.state = State.DONE;
    this.handler.messageComplete();
  }
}

/** The lower-case latin1 string of a token (tokens are ASCII, so a byte-wise fold is exact). */
function lowerToken(data: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    const c = data[i];
    if (c >= 65 && c <= 90) return latin1(data, start, end).toLowerCase();
  }
  return latin1(data, start, end);
}

/** Buffer's latin1Slice: a latin1 string without the argument checks of toString(). */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice;
function latin1(data: Buffer, start: number, end: number): string {
  return latin1Slice.call(data, start, end);
}
