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
 * - Errors are found at the first byte that cannot start or continue a valid request, however
 *   the input is split: a line that is still incomplete is checked as far as it goes (see
 *   scanPartial), so `GET / HTTP/5.6` is 505 before its CRLF, and a CR followed by anything
 *   but LF is 400 at once. A verdict never depends on how the bytes were split.
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
 *   other than BWS) and above 2^53-1 are 400; extensions follow RFC 9112 7.1.1 exactly
 *   (`*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`: a name is required,
 *   so `2;`, `2;=v` and `2;a;` are 400); the chunk data must be followed by exactly CRLF.
 * - The request-target is visible ASCII only (RFC 9112 3.2, RFC 3986): bytes 0x80-0xFF are
 *   400 (UTF-8 must be percent-encoded).
 * - Host (RFC 9112 3.2): an HTTP/1.1 request without one (unless allowMissingHost), any
 *   request with more than one, or with a value that is not `host [":" port]` (RFC 3986), is
 *   400. An absolute-form target's authority wins (RFC 9112 3.2.2): Host is replaced by it.
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
  /**
   * Accept an HTTP/1.1 request with no Host (RFC 9112 3.2 says 400, the default). For the
   * rare deployment whose clients omit it; more than one Host, or an invalid one, is 400 still.
   */
  allowMissingHost: boolean;
}

export type HTTPParserOptions = Partial<HTTPLimits>;

export const DEFAULT_LIMITS: Readonly<HTTPLimits> = Object.freeze({
  maxRequestLineLength: 8190,
  maxHeaderSize: 16384,
  maxHeaders: 500,
  maxBodySize: Infinity,
  maxChunkSizeLineLength: 4096,
  methods: DEFAULT_METHODS,
  allowMissingHost: false,
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

/** Bytes allowed in a request-target: VCHAR (RFC 9112 3.2 with RFC 3986: the target is ASCII). */
const TARGET = new Uint8Array(256);
for (let i = 0x21; i < 0x7f; i++) TARGET[i] = 1;

/** qdtext of a quoted-string (RFC 9110 5.6.4): HTAB, SP, VCHAR but '"' and '\\', obs-text. */
const QDTEXT = new Uint8Array(256);
for (let i = 0; i < 256; i++) QDTEXT[i] = FIELD_VALUE[i];
QDTEXT[34] = 0;
QDTEXT[92] = 0;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** Largest chunk size accepted before one more hex digit would pass 2^53-1. */
const MAX_BEFORE_DIGIT = Math.floor((Number.MAX_SAFE_INTEGER - 15) / 16);

/** Where the byte-wise line scanner (scan) is inside a line; see scan() for each. */
const enum Scan {
  START,
  /** A CR was seen: only the LF that ends the line may follow. */
  CR,
  METHOD,
  TARGET,
  VERSION,
  NAME,
  VALUE,
  SIZE,
  SIZE_BWS,
  EXT_NAME_START,
  EXT_NAME,
  EXT_AFTER_NAME,
  EXT_VALUE_START,
  EXT_TOKEN,
  EXT_QUOTED,
  EXT_QUOTED_PAIR,
  /** Just after a quoted-string's closing quote: the line may end here. */
  EXT_QUOTED_END,
  /** BWS after a name or value: only ";" or "=" may follow (not the line's end). */
  EXT_AFTER_VALUE,
}

/** "HTTP/1." as bytes, for the version prefix check. */
const HTTP_VERSION = [72, 84, 84, 80, 47, 49, 46];
/** "content-length", for the Content-Length digit check while a line is incomplete. */
const CONTENT_LENGTH = "content-length";

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
  private hostSeen = false;
  /** Any Transfer-Encoding line was seen. */
  private transferEncodingSeen = false;
  /** A coding other than chunked was listed (501 if chunked ends the list, 400 otherwise). */
  private otherCodingSeen = false;
  private remaining = 0;
  private bodyReceivedBytes = 0;
  /** The error that stopped the parser, if any. */
  error: HTTPParseError | null = null;

  // The byte-wise scanner of the current line (scan()), resumed as an incomplete line grows.
  private scanPhase = Scan.START;
  /** Bytes of `pending` already scanned. */
  private scanned = 0;
  /** Where the current part (target, version, value) began, relative to the line. */
  private scanMark = 0;
  /** The header being scanned is Content-Length: its value must be digits. */
  private scanDigitsOnly = false;
  /** 0 before the Content-Length digits, 1 in them, 2 after (only OWS may follow). */
  private scanDigitPart = 0;
  private scanSize = 0;

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

  /** True between the end of a head and the end of its message: the body is being received. */
  get inBody(): boolean {
    const state = this.state;
    return state === State.BODY || state === State.CHUNK_SIZE || state === State.CHUNK_DATA || state === State.CHUNK_CRLF || state === State.TRAILERS;
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
    this.hostSeen = false;
    this.transferEncodingSeen = false;
    this.otherCodingSeen = false;
    this.remaining = 0;
    this.bodyReceivedBytes = 0;
    this.scanned = 0;
    this.scanPhase = Scan.START;
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
            this.scanned = 0;
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

  /**
   * Keep an incomplete line, and scan what it has so far: a byte that no valid line could
   * continue with is an error now, not when (or if) the line's LF arrives.
   */
  private keepPartialLine(data: Buffer, pos: number): void {
    const rest = pos === 0 ? data : data.subarray(pos);
    const pending = this.pending === null ? Buffer.from(rest) : Buffer.concat([this.pending, rest]);
    this.pending = pending;
    if (this.scanned === 0) this.startScan();
    this.scan(pending, 0, this.scanned, pending.length);
    this.scanned = pending.length;
  }

  private startScan(): void {
    this.scanPhase = this.state === State.CHUNK_SIZE ? Scan.SIZE : Scan.START;
    this.scanMark = 0;
    this.scanDigitsOnly = false;
    this.scanDigitPart = 0;
    this.scanSize = 0;
  }

  /**
   * Scan bytes `line[from..to)` of the line starting at `line[start]` (without its LF), from
   * where the previous call stopped, and throw at the first byte that no valid line of the
   * current section could hold there. This is the grammar of RFC 9112 byte by byte; the
   * line-at-a-time code (requestLine, headerLine) is the fast path for whole lines, and when
   * it refuses a line, this scan of the whole line names the error (the earliest byte wins),
   * so a verdict is the same however the input was split. It checks the limits too: a byte
   * past a limit is the limit's error (414, 431, or 400 for a chunk-size line).
   */
  private scan(line: Buffer, start: number, from: number, to: number): void {
    const limits = this.limits;
    const state = this.state;
    let lineLimit: number;
    let lineLimitCode: number;
    // Content bytes allowed in this line before its CRLF (headBytes counts whole lines, CRLFs included).
    const headRoom = limits.maxHeaderSize - this.headBytes - 2;
    if (state === State.REQUEST_LINE) {
      lineLimit = Math.min(limits.maxRequestLineLength, headRoom);
      lineLimitCode = limits.maxRequestLineLength <= headRoom ? 414 : 431;
    } else if (state === State.HEADERS || state === State.TRAILERS) {
      lineLimit = headRoom;
      lineLimitCode = 431;
    } else if (state === State.CHUNK_SIZE) {
      lineLimit = limits.maxChunkSizeLineLength - 2;
      lineLimitCode = 400;
    } else {
      lineLimit = 0; // CHUNK_CRLF: nothing but CR
      lineLimitCode = 400;
    }
    let phase = this.scanPhase;
    for (let i = from; i < to; i++) {
      const c = line[start + i];
      if (phase === Scan.CR) throw new HTTPParseError(400, "CR not followed by LF");
      if (c === CR) {
        this.crAt(phase, i);
        phase = Scan.CR;
        continue;
      }
      if (i >= lineLimit) {
        const what = state === State.REQUEST_LINE ? (lineLimitCode === 414 ? "request line too long" : "header block too large")
          : state === State.CHUNK_SIZE ? "chunk-size line too long"
          : state === State.CHUNK_CRLF ? "chunk data not followed by CRLF"
          : state === State.TRAILERS ? "trailer section too large" : "header block too large";
        throw new HTTPParseError(lineLimitCode, what);
      }
      switch (phase) {
        case Scan.START:
          if (state === State.REQUEST_LINE) {
            if (TOKEN[c] === 0) throw new HTTPParseError(400, "malformed method");
            phase = Scan.METHOD;
          } else {
            if (c === SP || c === HTAB) throw new HTTPParseError(400, "obsolete line folding is not accepted");
            if (c === COLON) throw new HTTPParseError(400, "empty header name");
            if (TOKEN[c] === 0) throw new HTTPParseError(400, "malformed header name");
            phase = Scan.NAME;
          }
          break;
        case Scan.METHOD:
          if (c === SP) {
            const method = latin1(line, start, start + i);
            if (!limits.methods.has(method)) throw new HTTPParseError(501, "method not implemented");
            phase = Scan.TARGET;
            this.scanMark = i + 1;
          } else if (TOKEN[c] === 0) {
            throw new HTTPParseError(400, "malformed method");
          }
          break;
        case Scan.TARGET:
          if (c === SP) {
            if (i === this.scanMark) throw new HTTPParseError(400, "malformed request line");
            phase = Scan.VERSION;
            this.scanMark = i + 1;
          } else if (TARGET[c] === 0) {
            throw new HTTPParseError(400, "malformed request-target");
          }
          break;
        case Scan.VERSION: {
          // "HTTP/1.0" or "HTTP/1.1": 505 at the first digit that names another version.
          const k = i - this.scanMark;
          if (k < 5 || k === 6) {
            if (c !== HTTP_VERSION[k]) throw new HTTPParseError(400, "malformed HTTP version");
          } else if (k === 5 || k === 7) {
            if (c < 48 || c > 57) throw new HTTPParseError(400, "malformed HTTP version");
            if (k === 5 ? c !== 49 : c !== 48 && c !== 49) throw new HTTPParseError(505, "HTTP version not supported");
          } else {
            throw new HTTPParseError(400, "malformed HTTP version");
          }
          break;
        }
        case Scan.NAME:
          if (c === COLON) {
            phase = Scan.VALUE;
            if (state === State.HEADERS && this.hostSeen && isName(line, start, start + i, "host")) {
              throw new HTTPParseError(400, "more than one Host");
            }
            this.scanDigitsOnly = state === State.HEADERS && isName(line, start, start + i, CONTENT_LENGTH);
            this.scanDigitPart = 0;
            this.scanMark = i + 1;
          } else if (TOKEN[c] === 0) {
            throw new HTTPParseError(400, "malformed header name");
          }
          break;
        case Scan.VALUE:
          if (FIELD_VALUE[c] === 0) throw new HTTPParseError(400, "invalid character in header value");
          if (this.scanDigitsOnly) this.contentLengthByte(c, i);
          break;
        case Scan.SIZE: {
          const d = HEX[c];
          if (d >= 0) {
            if (this.scanSize > MAX_BEFORE_DIGIT) throw new HTTPParseError(400, "chunk size too large");
            this.scanSize = this.scanSize * 16 + d;
            break;
          }
          if (i === 0) throw new HTTPParseError(400, "malformed chunk size");
          if (c === SP || c === HTAB) phase = Scan.SIZE_BWS;
          else if (c === 59) phase = Scan.EXT_NAME_START;
          else throw new HTTPParseError(400, "malformed chunk size");
          break;
        }
        case Scan.SIZE_BWS:
          if (c === 59) phase = Scan.EXT_NAME_START;
          else if (c !== SP && c !== HTAB) throw new HTTPParseError(400, "malformed chunk size");
          break;
        case Scan.EXT_NAME_START:
          // RFC 9112 7.1.1: every extension has a name (`2;`, `2;=v`, `2;a;` are malformed).
          if (TOKEN[c] === 1) phase = Scan.EXT_NAME;
          else if (c !== SP && c !== HTAB) throw new HTTPParseError(400, "chunk extension without a name");
          break;
        case Scan.EXT_NAME:
          if (c === 59) phase = Scan.EXT_NAME_START;
          else if (c === 61) phase = Scan.EXT_VALUE_START;
          else if (c === SP || c === HTAB) phase = Scan.EXT_AFTER_NAME;
          else if (TOKEN[c] === 0) throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
        case Scan.EXT_AFTER_NAME:
          if (c === 59) phase = Scan.EXT_NAME_START;
          else if (c === 61) phase = Scan.EXT_VALUE_START;
          else if (c !== SP && c !== HTAB) throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
        case Scan.EXT_VALUE_START:
          if (c === 34) phase = Scan.EXT_QUOTED;
          else if (TOKEN[c] === 1) phase = Scan.EXT_TOKEN;
          else if (c !== SP && c !== HTAB) throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
        case Scan.EXT_TOKEN:
          if (c === 59) phase = Scan.EXT_NAME_START;
          else if (c === SP || c === HTAB) phase = Scan.EXT_AFTER_VALUE;
          else if (TOKEN[c] === 0) throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
        case Scan.EXT_QUOTED:
          if (c === 34) phase = Scan.EXT_QUOTED_END;
          else if (c === 92) phase = Scan.EXT_QUOTED_PAIR;
          else if (QDTEXT[c] === 0) throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
        case Scan.EXT_QUOTED_PAIR:
          if (FIELD_VALUE[c] === 0) throw new HTTPParseError(400, "invalid character in chunk extension");
          phase = Scan.EXT_QUOTED;
          break;
        case Scan.EXT_QUOTED_END:
          if (c === 59) phase = Scan.EXT_NAME_START;
          else if (c === SP || c === HTAB) phase = Scan.EXT_AFTER_VALUE;
          else throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
        case Scan.EXT_AFTER_VALUE:
          if (c === 59) phase = Scan.EXT_NAME_START;
          else if (c !== SP && c !== HTAB) throw new HTTPParseError(400, "invalid character in chunk extension");
          break;
      }
    }
    this.scanPhase = phase;
  }

  /** A CR at index `i` of the line, in `phase`: only where a line may end (its LF must follow). */
  private crAt(phase: Scan, i: number): void {
    switch (this.state) {
      case State.REQUEST_LINE:
        // An empty line before the request line is ignored (RFC 9112 2.2); otherwise the
        // version must be complete ("GET /\r\n" is HTTP/0.9, which torsion does not speak).
        if (phase === Scan.START) return;
        if (phase === Scan.VERSION && i - this.scanMark === 8) return;
        throw new HTTPParseError(400, phase === Scan.VERSION ? "malformed HTTP version" : "malformed request line (HTTP/0.9 is not supported)");
      case State.HEADERS:
      case State.TRAILERS:
        if (phase === Scan.START) return; // the empty line that ends the section
        if (phase === Scan.VALUE) {
          if (this.scanDigitsOnly && this.scanDigitPart === 0) throw new HTTPParseError(400, "invalid Content-Length");
          return;
        }
        throw new HTTPParseError(400, phase === Scan.NAME ? "header line without a colon" : "invalid character in header value");
      case State.CHUNK_SIZE:
        if (phase === Scan.SIZE && i > 0) return;
        if (phase === Scan.EXT_NAME || phase === Scan.EXT_TOKEN || phase === Scan.EXT_QUOTED_END) return;
        if (phase === Scan.EXT_QUOTED || phase === Scan.EXT_QUOTED_PAIR) {
          throw new HTTPParseError(400, "invalid character in chunk extension");
        }
        throw new HTTPParseError(400, phase === Scan.EXT_NAME_START ? "chunk extension without a name" : "malformed chunk size");
      case State.CHUNK_CRLF:
        if (i === 0) return;
        throw new HTTPParseError(400, "chunk data not followed by CRLF");
    }
  }

  /** One byte of a Content-Length value: OWS, then at most 15 digits, then OWS. */
  private contentLengthByte(c: number, i: number): void {
    if (c === SP || c === HTAB) {
      if (this.scanDigitPart === 1) this.scanDigitPart = 2;
      return;
    }
    if (c < 48 || c > 57 || this.scanDigitPart === 2) throw new HTTPParseError(400, "invalid Content-Length");
    if (this.scanDigitPart === 0) {
      this.scanDigitPart = 1;
      this.scanMark = i;
    } else if (i - this.scanMark >= 15) {
      throw new HTTPParseError(400, "invalid Content-Length");
    }
  }

  /**
   * One line, `data[start..lf)`, where data[lf] is its LF. When the fast path refuses it, the
   * byte-wise scan of the line finds the earliest error, which is what a split input would
   * have been refused with; an error the scan does not see (a second Content-Length, a
   * semantic one) stands.
   */
  private lineReceived(data: Buffer, start: number, lf: number): void {
    if (this.state === State.CHUNK_SIZE || this.state === State.CHUNK_CRLF) {
      this.startScan();
      const end = lf > start && data[lf - 1] === CR ? lf - 1 : lf;
      this.scan(data, start, 0, end - start);
      if (end === lf || (end === start && this.state === State.CHUNK_SIZE)) {
        throw new HTTPParseError(400, end === lf ? "bare LF where CRLF is required" : "malformed chunk size");
      }
      this.crAt(this.scanPhase, end - start);
      if (this.state === State.CHUNK_CRLF) {
        if (end !== start) throw new HTTPParseError(400, "chunk data not followed by CRLF");
        this.state = State.CHUNK_SIZE;
      } else {
        this.chunkSizeDone(this.scanSize);
      }
      return;
    }
    const headBytes = this.headBytes;
    try {
      this.wholeLine(data, start, lf);
    } catch (err) {
      if (err instanceof HTTPParseError && this.state !== State.DONE) {
        this.headBytes = headBytes;
        this.startScan();
        const end = lf > start && data[lf - 1] === CR ? lf - 1 : lf;
        this.scan(data, start, 0, end - start);
      }
      throw err;
    }
  }

  private wholeLine(data: Buffer, start: number, lf: number): void {
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
    else if (name === "host") {
      if (this.hostSeen) throw new HTTPParseError(400, "more than one Host");
      this.hostSeen = true;
      if (!validHost(value)) throw new HTTPParseError(400, "invalid Host");
    }
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
    const authority = absoluteAuthority(this.uri);
    if (authority !== null) {
      // RFC 9112 3.2.2: the target's authority wins over Host. An http(s) URI has a host
      // (RFC 9110 4.2.1) and no userinfo (4.2.4: a recipient should treat it as an error).
      if (authority === "" || authority.charCodeAt(0) === 58 || !validHost(authority)) {
        throw new HTTPParseError(400, "invalid authority in the request-target");
      }
      if (!this.hostSeen && this.version === "HTTP/1.1" && !this.limits.allowMissingHost) {
        throw new HTTPParseError(400, "HTTP/1.1 request without Host");
      }
      this.headers.setRawHeaders("host", [authority]);
    } else if (!this.hostSeen && this.version === "HTTP/1.1" && !this.limits.allowMissingHost) {
      throw new HTTPParseError(400, "HTTP/1.1 request without Host");
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

  /** A chunk-size line, checked by scan(), gave `size`. */
  private chunkSizeDone(size: number): void {
    this.bodyReceivedBytes += size;
    if (this.bodyReceivedBytes > this.limits.maxBodySize) throw new HTTPParseError(413, "request body too large");
    if (size === 0) {
      this.state = State.TRAILERS;
    } else {
      this.state = State.CHUNK_DATA;
      this.remaining = size;
    }
  }

  private finishMessage(): void {
    this.state = State.DONE;
    this.handler.messageComplete();
  }
}

/** line[start..end) is the token `lowerName`, in any case. */
function isName(line: Buffer, start: number, end: number, lowerName: string): boolean {
  if (end - start !== lowerName.length) return false;
  for (let i = 0; i < lowerName.length; i++) if ((line[start + i] | 0x20) !== lowerName.charCodeAt(i)) return false;
  return true;
}

/**
 * uri-host [":" port] (RFC 3986 3.2.2, 3.2.3): an IP-literal in brackets, or a reg-name (which
 * covers IPv4 addresses), possibly empty, then an optional port of digits.
 */
const HOST_VALUE =
  /^(?:\[(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

/** reg-name bytes without pct-encoding (RFC 3986 3.2.2: unreserved / sub-delims). */
const REG_NAME = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=") REG_NAME[c.charCodeAt(0)] = 1;

/** A Host value: the common `name[:port]` by a table scan, the rest (IP-literals, %XX) by HOST_VALUE. */
function validHost(value: string): boolean {
  const n = value.length;
  let i = 0;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || REG_NAME[c] === 0) break;
  }
  if (i === n) return true;
  if (value.charCodeAt(i) !== 58 /* : */) return HOST_VALUE.test(value);
  for (i++; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The authority of an absolute-form http(s) target, or null if the target is not one. */
function absoluteAuthority(uri: string): string | null {
  const c = uri.charCodeAt(0);
  if (c === 47 /* / */ || c === 42 /* * */) return null; // origin-form, asterisk-form: the fast path
  const m = /^https?:\/\/([^/?#]*)/i.exec(uri);
  if (m === null) return null;
  return m[1];
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
