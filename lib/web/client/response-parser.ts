/**
 * An incremental HTTP/1.1 response parser (RFC 9112), with no I/O: HTTP11ClientProtocol feeds
 * it the connection's bytes and it calls its handler with the head, the body and the end.
 *
 * Parsed as strictly as lib/web/http-parser.ts parses requests, so that a response cannot be
 * read two ways (response splitting and smuggling through a proxy or a pooled connection):
 *
 * - Lines of the head end in CRLF; a bare LF or a CR not followed by LF is a ParseError.
 * - The status line is `HTTP/1.x SP 3DIGIT [SP reason]`; another version is BadResponseVersion.
 * - Header names are tokens with no whitespace before the colon; obs-fold (a line starting
 *   with SP/HTAB) and control characters in values are ParseErrors.
 * - Framing (RFC 9112 6.3): a response to HEAD, and 1xx/204/304, have no body whatever their
 *   headers say. Transfer-Encoding together with Content-Length is refused. Transfer-Encoding
 *   must be exactly "chunked" (the only coding a client can undo here, as Twisted's). More than
 *   one Content-Length, a list, or anything but digits is refused. With neither, the body runs
 *   to the end of the connection (close-delimited; it ends with PotentialDataLoss).
 * - Chunk sizes are 1*HEXDIG (extensions allowed, controls not), each chunk ends in exactly
 *   CRLF; trailers are parsed with the head's rules and dropped.
 * - Limits: the head (status line and headers) at most maxHeadSize bytes and maxHeaders lines;
 *   chunk-size lines at most 4096 bytes.
 * - 1xx responses other than 101 are informational: skipped, the final response follows.
 */

import { Headers } from "../http-headers.js";
import { BadResponseVersion, ParseError } from "./errors.js";

/** What the parser calls; HTTP11ClientProtocol is one (methods, so nothing is allocated per response). */
export interface ResponseParserHandler {
  /**
   * The head of the final response is complete. `bodyLength` is the Content-Length (0 for no
   * body), CHUNKED, or CLOSE_DELIMITED. `bodyInHand` is true when the whole body (of a known
   * length) came in the same input as the head, so no more reading is needed for it.
   */
  headReceived(major: number, minor: number, code: number, phrase: string, headers: Headers, bodyLength: number, bodyInHand: boolean): void;
  /** Body bytes (a view into the input). */
  bodyReceived(data: Buffer): void;
  /** The response is complete; `rest` is what followed it in the input (nothing, from an honest server). */
  messageComplete(rest: Buffer): void;
}

export const CHUNKED = -1;
export const CLOSE_DELIMITED = -2;

export interface ResponseParserLimits {
  /** Most bytes in the status line and headers, CRLFs included (default 64 KiB). */
  maxHeadSize: number;
  /** Most header lines (default 500). */
  maxHeaders: number;
}

export const DEFAULT_RESPONSE_LIMITS: Readonly<ResponseParserLimits> = Object.freeze({ maxHeadSize: 65536, maxHeaders: 500 });

const MAX_CHUNK_SIZE_LINE = 4096;

const enum State {
  HEAD,
  BODY,
  CHUNK_SIZE,
  CHUNK_DATA,
  CHUNK_CRLF,
  TRAILERS,
  CLOSE_DELIMITED,
  DONE,
  ERROR,
}

/** How the parse ended when the connection did (see noMoreData). */
export type EndOfInput = "complete" | "no-response" | "partial-head" | "potential-data-loss" | "data-loss";

const EMPTY = Buffer.alloc(0);
const CRLFCRLF = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
// eslint-disable-next-line no-control-regex
const BAD_LINE_ENDING = /\r(?!\n)|(?<!\r)\n/;
const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/s;
// eslint-disable-next-line no-control-regex
const BAD_PHRASE = /[\x00-\x08\x0a-\x1f\x7f]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^\d+$/;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/s;

export class HTTPResponseParser {
  private state = State.HEAD;
  /** Head (or chunk-size line, or trailer) bytes held until their end arrives. */
  private pending: Buffer = EMPTY;
  private remaining = 0;
  private trailerBytes = 0;
  private trailerLines = 0;
  /** True once any byte of a response has arrived. */
  everReceivedData = false;
  /** The method of the request this response answers: a HEAD response has no body. */
  private method = "GET";
  private readonly limits: ResponseParserLimits;

  constructor(
    private readonly handler: ResponseParserHandler,
    limits: Partial<ResponseParserLimits> = {},
  ) {
    this.limits = { ...DEFAULT_RESPONSE_LIMITS, ...limits };
  }

  /** Expect the response to a request made with `method`. */
  reset(method: string): void {
    this.state = State.HEAD;
    this.pending = EMPTY;
    this.remaining = 0;
    this.everReceivedData = false;
    this.headDone = false;
    this.method = method;
  }

  get done(): boolean {
    return this.state === State.DONE;
  }

  get headComplete(): boolean {
    return this.state !== State.HEAD && this.state !== State.ERROR;
  }

  /** Feed bytes. Throws ParseError (and refuses all later input) on a malformed response. */
  dataReceived(data: Buffer): void {
    if (data.length === 0) return;
    if (this.state === State.DONE) throw new ParseError("data received after the response was complete");
    if (this.state === State.ERROR) throw new ParseError("data received after a parse error");
    this.everReceivedData = true;
    if (this.pending.length > 0) {
      // a line or head split across inputs: parse it joined (rare; heads usually come whole)
      data = Buffer.concat([this.pending, data]);
      this.pending = EMPTY;
    }
    try {
      this.execute(data);
    } catch (err) {
      this.state = State.ERROR;
      throw err;
    }
  }

  private execute(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      switch (this.state) {
        case State.HEAD: {
          const consumed = this.parseHead(data, offset);
          if (consumed < 0) return; // waiting for more of the head
          offset = consumed;
          break;
        }
        case State.BODY: {
          const n = Math.min(this.remaining, data.length - offset);
          this.remaining -= n;
          const chunk = n === data.length ? data : data.subarray(offset, offset + n);
          offset += n;
          this.handler.bodyReceived(chunk);
          if (this.remaining === 0) {
            this.finish(data, offset);
            return;
          }
          break;
        }
        case State.CLOSE_DELIMITED:
          this.handler.bodyReceived(offset === 0 ? data : data.subarray(offset));
          return;
        case State.CHUNK_SIZE: {
          const end = this.lineEnd(data, offset, MAX_CHUNK_SIZE_LINE, "chunk-size line");
          if (end < 0) return;
          const line = this.takeLine(data, offset, end);
          offset = end + 2;
          const m = CHUNK_SIZE_LINE.exec(line);
          if (m === null || BAD_VALUE.test(line)) throw new ParseError("malformed chunk-size line", line);
          const size = parseInt(m[1], 16);
          if (!Number.isSafeInteger(size)) throw new ParseError("chunk size too large", m[1]);
          if (size === 0) {
            this.state = State.TRAILERS;
            this.trailerBytes = 0;
            this.trailerLines = 0;
          } else {
            this.remaining = size;
            this.state = State.CHUNK_DATA;
          }
          break;
        }
        case State.CHUNK_DATA: {
          const n = Math.min(this.remaining, data.length - offset);
          this.remaining -= n;
          const chunk = data.subarray(offset, offset + n);
          offset += n;
          this.handler.bodyReceived(chunk);
          if (this.remaining === 0) {
            this.state = State.CHUNK_CRLF;
            this.remaining = 2;
          }
          break;
        }
        case State.CHUNK_CRLF: {
          while (this.remaining > 0 && offset < data.length) {
            const expected = this.remaining === 2 ? 13 : 10;
            if (data[offset] !== expected) throw new ParseError("chunk data not followed by CRLF");
            this.remaining--;
            offset++;
          }
          if (this.remaining === 0) this.state = State.CHUNK_SIZE;
          break;
        }
        case State.TRAILERS: {
          const end = this.lineEnd(data, offset, this.limits.maxHeadSize, "trailer section");
          if (end < 0) return;
          const line = this.takeLine(data, offset, end);
          offset = end + 2;
          if (line === "") {
            this.finish(data, offset);
            return;
          }
          this.trailerBytes += line.length + 2;
          if (++this.trailerLines > this.limits.maxHeaders || this.trailerBytes > this.limits.maxHeadSize) {
            throw new ParseError("trailer section too large");
          }
          this.parseHeaderLine(line, null);
          break;
        }
        default:
          throw new ParseError("unexpected data");
      }
    }
  }

  private finish(data: Buffer, offset: number): void {
    this.state = State.DONE;
    this.handler.messageComplete(offset >= data.length ? EMPTY : data.subarray(offset));
  }

  /**
   * The index of the CRLF ending the line that starts at `offset`, or -1 (the rest kept
   * pending for the next input) when it has not arrived; a line longer than `limit` throws.
   */
  private lineEnd(data: Buffer, offset: number, limit: number, what: string): number {
    const i = data.indexOf(CRLF, offset);
    if (i < 0 || i - offset > limit) {
      if (data.length - offset > limit) throw new ParseError(`${what} too long`);
      this.pending = Buffer.from(data.subarray(offset));
      return -1;
    }
    return i;
  }

  private takeLine(data: Buffer, offset: number, end: number): string {
    const line = data.toString("latin1", offset, end);
    if (BAD_LINE_ENDING.test(line)) throw new ParseError("bare CR or LF in a line", line);
    return line;
  }

  /**
   * Parse a head if it is complete in pending + data[offset..]: returns the offset after it,
   * or -1 having kept the bytes pending.
   */
  private parseHead(data: Buffer, offset: number): number {
    const end = data.indexOf(CRLFCRLF, offset);
    if (end < 0) {
      if (data.length - offset > this.limits.maxHeadSize) throw new ParseError(`response head larger than ${this.limits.maxHeadSize} bytes`);
      this.pending = Buffer.from(data.subarray(offset));
      return -1;
    }
    if (end + 4 - offset > this.limits.maxHeadSize) throw new ParseError(`response head larger than ${this.limits.maxHeadSize} bytes`);
    const head = data.toString("latin1", offset, end);
    const after = end + 4;
    if (BAD_LINE_ENDING.test(head)) throw new ParseError("bare CR or LF in the response head");
    const lines = head.split("\r\n");
    if (lines.length - 1 > this.limits.maxHeaders) throw new ParseError(`more than ${this.limits.maxHeaders} header lines`);
    const status = STATUS_LINE.exec(lines[0]);
    if (status === null) {
      if (lines[0].startsWith("HTTP/")) {
        const version = lines[0].split(" ", 1)[0];
        if (!/^HTTP\/\d\.\d$/.test(version)) throw new BadResponseVersion("bad HTTP version in the status line", lines[0]);
      }
      throw new ParseError("malformed status line", lines[0]);
    }
    const major = status[1].charCodeAt(0) - 48;
    const minor = status[2].charCodeAt(0) - 48;
    if (major !== 1 || minor > 1) throw new BadResponseVersion("unsupported HTTP version", lines[0]);
    const code = +status[3];
    const phrase = status[4] ?? "";
    if (BAD_PHRASE.test(phrase)) throw new ParseError("control character in the reason phrase", lines[0]);
    const headers = new Headers();
    for (let i = 1; i < lines.length; i++) this.parseHeaderLine(lines[i], headers);
    if (code >= 100 && code < 200 && code !== 101) {
      // informational (100 Continue, 103 Early Hints): the final response follows
      this.state = State.HEAD;
      return after;
    }
    const bodyLength = this.framing(code, headers);
    this.headDone = true;
    if (bodyLength === 0) {
      this.state = State.DONE;
      this.handler.headReceived(major, minor, code, phrase, headers, 0, true);
      if (this.state === State.DONE) this.handler.messageComplete(after >= data.length ? EMPTY : data.subarray(after));
      return -1; // the response is complete: stop
    }
    if (bodyLength === CHUNKED) this.state = State.CHUNK_SIZE;
    else if (bodyLength === CLOSE_DELIMITED) this.state = State.CLOSE_DELIMITED;
    else {
      this.state = State.BODY;
      this.remaining = bodyLength;
    }
    this.handler.headReceived(major, minor, code, phrase, headers, bodyLength, bodyLength >= 0 && data.length - after >= bodyLength);
    return after;
  }

  private parseHeaderLine(line: string, headers: Headers | null): void {
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) throw new ParseError("obsolete line folding in a header", line);
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ParseError("header line without a name and colon", line);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new ParseError("invalid header name", name);
    let start = colon + 1;
    let end = line.length;
    while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++;
    while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
    const value = line.slice(start, end);
    if (BAD_VALUE.test(value)) throw new ParseError("control character in a header value", line);
    if (headers !== null) headers._addParsed(name.toLowerCase(), value);
  }

  /** The body length from the headers (RFC 9112 6.3), refusing every ambiguous framing. */
  private framing(code: number, headers: Headers): number {
    if (this.method === "HEAD" || code === 204 || code === 304 || code < 200) return 0;
    const te = headers.getRawHeaders("transfer-encoding");
    const cl = headers.getRawHeaders("content-length");
    if (te !== undefined) {
      if (cl !== undefined) throw new ParseError("both Transfer-Encoding and Content-Length in a response (refused: it could be read two ways)");
      const codings = te.join(",").split(",").map((c) => c.trim().toLowerCase());
      if (codings.length !== 1 || codings[0] !== "chunked") throw new ParseError("unsupported Transfer-Encoding", te.join(", "));
      return CHUNKED;
    }
    if (cl !== undefined) {
      if (cl.length !== 1) throw new ParseError("Too many Content-Length headers; response is invalid", cl.join(", "));
      if (!DIGITS.test(cl[0])) throw new ParseError("invalid Content-Length", cl[0]);
      const length = +cl[0];
      if (!Number.isSafeInteger(length)) throw new ParseError("Content-Length too large", cl[0]);
      return length;
    }
    return CLOSE_DELIMITED;
  }

  /** The connection ended: how the response stands (the caller reports it). */
  noMoreData(): EndOfInput {
    const state = this.state;
    this.state = State.DONE;
    switch (state) {
      case State.DONE:
        return "complete";
      case State.HEAD:
        return this.everReceivedData ? "partial-head" : "no-response";
      case State.CLOSE_DELIMITED:
        return "potential-data-loss";
      case State.ERROR:
        return this.headDone ? "data-loss" : "partial-head";
      default:
        return "data-loss";
    }
  }

  /** True once the final head was parsed (so a later error is data loss, not a bad head). */
  private headDone = false;

  /** Bytes of the current Content-Length body still expected (for error messages). */
  get bytesRemaining(): number {
    return this.remaining;
  }
}
