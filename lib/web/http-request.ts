/**
 * An HTTP request and the response to it, as twisted.web.http.Request.
 *
 * HTTPChannel builds one per request (with its `requestFactory`), fills in the head and body,
 * and calls process(), which subclasses override (Site's Request finds a Resource). The
 * response is written with setResponseCode/setHeader, write(bytes) and finish().
 *
 * Strings: method, uri, path, clientproto, header names and values are latin1 strings (one
 * char per byte, as they were on the wire). `args` holds the query string and an
 * application/x-www-form-urlencoded POST body, percent-decoded and then UTF-8 decoded, as
 * `Map<string, string[]>` (invalid UTF-8 becomes U+FFFD: read `content` for raw bytes).
 *
 * When the connection is lost before finish() (see docs/design.md, the disconnect chain):
 * connectionLost(reason) marks the request disconnected, closes its body, and errbacks every
 * notifyFinish() Deferred with the reason (ConnectionDone or ConnectionLost). A producer
 * registered on the request is not its business: the channel stops it (as in Twisted, one
 * route for the producer and one for notifications). From then on write() is silently ignored and finish() raises an error
 * that says to use notifyFinish.
 */

import { Deferred, fail, succeed } from "../internet/defer.js";
import { Failure } from "../internet/failure.js";
import type { Bytes, IAddress, IProtocol, IPullProducer, IPushProducer, ITransport } from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import { RequestContent } from "./http-content.js";
import { checkETag, checkLastModified, type CACHED } from "./http-conditional.js";
import { datetimeToString } from "./http-dates.js";
import { Headers, headerString, type HeaderInput } from "./http-headers.js";
import { parseQs } from "./http-query.js";
import { FOUND, NOT_FOUND, NO_BODY_CODES, OK, responsePhrase } from "./http-status.js";
import type { HTTPChannel } from "./http-channel.js";

export { CACHED } from "./http-conditional.js";

/** What a requestFactory is: a Request class (or subclass) taking the channel. */
export type RequestFactory = new (channel: HTTPChannel) => Request;

/** Request.write's TypeError for anything but bytes: what it got, and what to write instead. */
function notBytes(data: unknown): TypeError {
  const got = data === null ? "null" : typeof data;
  const fix = typeof data === "string" ? `: write Buffer.from(${JSON.stringify(data.length > 40 ? data.slice(0, 37) + "..." : data)}) (UTF-8), or return the string from render()` : "";
  return new TypeError(`Request.write takes bytes (a Uint8Array), not ${got}${fix}`);
}

/** The body of a request that has none yet, or none any more: empty, closed, shared. */
const NO_CONTENT = new RequestContent();
NO_CONTENT.close();

/** addCookie's optional attributes (RFC 6265 section 4.1). */
export interface CookieOptions {
  expires?: HeaderInput;
  domain?: HeaderInput;
  path?: HeaderInput;
  maxAge?: HeaderInput | number;
  comment?: HeaderInput;
  secure?: boolean;
  httpOnly?: boolean;
  /** "lax", "strict" or "none" (any case). */
  sameSite?: string;
}

const EMPTY = Buffer.alloc(0);
const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");
const HOST_HEADER = /^\[?(.*?)\]?(:\d+)?$/;
/** Above this many bytes a chunk is written as three buffers rather than copied into one. */
const COPY_LIMIT = 16384;

const log = new Logger("torsion.web.http");

export class Request {
  // --- the request ---------------------------------------------------------------------
  method = "(no method yet)";
  uri = "(no uri yet)";
  /** The URI without its query string, still percent-encoded. */
  path = "";
  clientproto = "(no clientproto yet)";
  requestHeaders = new Headers();
  /** The body; null until the head is parsed and after the request ends. */
  /**
   * The request body, as Twisted's Request.content: never null. Empty and closed until the
   * channel knows the body's length (before process() runs), and again once the request is done.
   */
  content: RequestContent = NO_CONTENT;
  /** Cookies the client sent: name -> value. */
  receivedCookies = new Map<string, string>();
  /** The peer and local addresses, as when the request arrived. */
  client: IAddress | null;
  host: IAddress | null;
  transport: ITransport | null;
  /** The channel the request came on; null once the response is done or the connection lost. */
  channel: HTTPChannel | null;
  /** Always false: torsion requests are never queued (Twisted 16.3 and later). */
  readonly queued = false;

  // --- the response --------------------------------------------------------------------
  code = OK;
  codeMessage = responsePhrase(OK);
  responseHeaders = new Headers();
  /** Set-Cookie values to send. */
  cookies: string[] = [];
  startedWriting = false;
  finished = false;
  chunked = false;
  /** Body bytes written (the Content-Length sent, or the sum of chunks). */
  sentLength = 0;
  etag: string | null = null;
  /** Last-Modified, in seconds since the epoch. */
  lastModified: number | null = null;
  producer: IPushProducer | IPullProducer | null = null;
  streamingProducer = false;
  notifications: Deferred<void>[] = [];

  private _args: Map<string, string[]> | null = null;
  private _noBody = false;
  private _forceSSL = false;
  private _disconnected = false;
  private _lostReason: Failure | null = null;
  private _user: string | null = null;
  private _password = "";

  constructor(channel: HTTPChannel) {
    this.channel = channel;
    this.transport = channel.transport;
    this.client = channel.getPeer();
    this.host = channel.getHost();
  }

  /** True once the connection was lost before the response finished (docs/design.md, chain step 4). */
  get disconnected(): boolean {
    return this._disconnected;
  }

  // --- for the channel ---------------------------------------------------------------

  /** The body's length is known (null when chunked): get somewhere to put it. */
  gotLength(_length: number | null): void {
    this.content = new RequestContent(this.channel?.contentSpillThreshold);
  }

  /** Read the Cookie headers into receivedCookies. */
  parseCookies(): void {
    const headers = this.requestHeaders.getRawHeaders("cookie");
    if (headers === undefined) return;
    for (const text of headers) {
      for (let cookie of text.split(";")) {
        cookie = cookie.replace(/^[ \t]+/, "");
        const eq = cookie.indexOf("=");
        if (eq > 0 || (eq === 0 && cookie.length > 1)) this.receivedCookies.set(cookie.slice(0, eq), cookie.slice(eq + 1));
      }
    }
  }

  /** Some body bytes arrived. */
  handleContentChunk(data: Bytes): void {
    this.content.write(data);
  }

  /** The whole request has arrived: set the request fields and process() it. */
  requestReceived(command: string, uri: string, version: string): void {
    if (this.content !== NO_CONTENT) this.content.seek(0);
    this.method = command;
    this.uri = uri;
    this.clientproto = version;
    const q = uri.indexOf("?");
    this.path = q === -1 ? uri : uri.slice(0, q);
    if (this.path.charCodeAt(0) !== 47 /* / */) this.path = absoluteFormPath(this.path);
    this._args = null;
    this.process();
  }

  /**
   * Answer the request. Override in subclasses (Site's Request looks up a Resource); this
   * base class answers 404, so a request nobody handles is never left hanging.
   */
  process(): void {
    this.setResponseCode(NOT_FOUND);
    const body = Buffer.from("Not Found\n", "latin1");
    this.setHeader("content-type", "text/plain");
    this.setHeader("content-length", String(body.length));
    this.write(body);
    this.finish();
  }

  // --- reading the request -------------------------------------------------------------

  /**
   * Query arguments (and form fields of an application/x-www-form-urlencoded POST body),
   * name -> values in order, computed on first use.
   */
  get args(): Map<string, string[]> {
    if (this._args === null) this._args = this.parseArgs();
    return this._args;
  }

  set args(value: Map<string, string[]>) {
    this._args = value;
  }

  private parseArgs(): Map<string, string[]> {
    const args = new Map<string, string[]>();
    const q = this.uri.indexOf("?");
    if (q !== -1) parseQs(this.uri.slice(q + 1), args);
    const content = this.content;
    if (this.method === "POST" && !content.closed && content.length > 0) {
      const ctype = this.requestHeaders.getRawHeaders("content-type")?.[0];
      if (ctype !== undefined && ctype.split(";", 1)[0].trim().toLowerCase() === "application/x-www-form-urlencoded") {
        parseQs(content.getvalue().toString("latin1"), args);
      }
    }
    return args;
  }

  /** The last value of a request header, or undefined. */
  getHeader(name: HeaderInput): string | undefined {
    return this.requestHeaders.getLast(name);
  }

  /** Every request header: lower-case name -> last value. */
  getAllHeaders(): Record<string, string> {
    return this.requestHeaders.getAllLast();
  }

  /** A cookie the client sent, or undefined. */
  getCookie(name: string): string | undefined {
    return this.receivedCookies.get(name);
  }

  /** The host the client asked for (Host header without port), else the local address. */
  getRequestHostname(): string {
    const host = this.getHeader("host");
    if (host !== undefined) {
      const m = HOST_HEADER.exec(host);
      if (m !== null) return m[1];
    }
    const local = this.getHost();
    return local !== null && local.type === "TCP" ? local.host : "";
  }

  /** The local address the request arrived on (or what setHost set). */
  getHost(): IAddress | null {
    return this.host;
  }

  /**
   * Pretend the request arrived on `host:port` (behind a reverse proxy); `ssl` makes
   * isSecure() true. Sets the Host header accordingly.
   */
  setHost(host: string, port: number, ssl = false): void {
    this._forceSSL = ssl;
    const defaultPort = this.isSecure() ? 443 : 80;
    this.requestHeaders.setRawHeaders("host", [port === defaultPort ? host : `${host}:${port}`]);
    this.host = { type: "TCP", family: host.includes(":") ? "IPv6" : "IPv4", host, port };
  }

  /** The client's address (a UNIX address for a UNIX socket: check `type`). */
  getClientAddress(): IAddress | null {
    return this.client;
  }

  /** The client's IP, or null if it is not on TCP. Deprecated in Twisted: use getClientAddress. */
  getClientIP(): string | null {
    return this.client !== null && this.client.type === "TCP" ? this.client.host : null;
  }

  /** True on a secure transport (one whose `isSecure()` says so, e.g. TLS) or after setHost(..., true). */
  isSecure(): boolean {
    // As Twisted (test_notSecureAfterFinish): false once the channel has let go of the request.
    if (this._forceSSL) return true;
    return this.channel !== null ? this.channel.isSecure() : false;
  }

  /** The user of HTTP Basic authentication, or "". */
  getUser(): string {
    if (this._user === null) this.authorize();
    return this._user!;
  }

  /** The password of HTTP Basic authentication, or "". */
  getPassword(): string {
    if (this._user === null) this.authorize();
    return this._password;
  }

  private authorize(): void {
    this._user = "";
    this._password = "";
    const auth = this.getHeader("authorization");
    if (!auth) return;
    const parts = auth.trim().split(/[ \t]+/);
    if (parts.length !== 2 || parts[0].toLowerCase() !== "basic" || !/^[A-Za-z0-9+/]*={0,2}$/.test(parts[1])) return;
    const decoded = Buffer.from(parts[1], "base64").toString("latin1");
    const colon = decoded.indexOf(":");
    if (colon === -1) return;
    this._user = decoded.slice(0, colon);
    this._password = decoded.slice(colon + 1);
  }

  // --- shaping the response ---------------------------------------------------------

  /** Set the status code, and the reason phrase (Twisted's for the code unless given). */
  setResponseCode(code: number, message?: HeaderInput): void {
    if (typeof code !== "number" || !Number.isInteger(code)) throw new TypeError("HTTP response code must be an integer");
    this.code = code;
    this.codeMessage = message ? headerString(message) : responsePhrase(code);
  }

  /** Set a response header, replacing any value it had. */
  setHeader(name: HeaderInput, value: HeaderInput): void {
    this.responseHeaders.setRawHeaders(name, [value]);
  }

  /** Answer 302 Found with this Location; call finish() after. */
  redirect(url: HeaderInput): void {
    this.setResponseCode(FOUND);
    this.setHeader("location", url);
  }

  /**
   * Set Last-Modified (only ever moving it later). If the request has If-Modified-Since at or
   * after it, the code becomes 304 and CACHED is returned: write no body.
   */
  setLastModified(when: number): CACHED | null {
    when = Math.ceil(when);
    if (this.lastModified === null || this.lastModified < when) this.lastModified = when;
    return checkLastModified(this, this.lastModified);
  }

  /**
   * Set the ETag. If the request has If-None-Match listing it (or *), the code becomes 304
   * for GET/HEAD or 412 otherwise, and CACHED is returned: write no body.
   */
  setETag(etag: string): CACHED | null {
    if (etag) this.etag = headerString(etag);
    return checkETag(this, etag);
  }

  /** Add a Set-Cookie to the response. CR, LF and ';' in any part become spaces. */
  addCookie(name: HeaderInput, value: HeaderInput, options: CookieOptions = {}): void {
    let cookie = cookiePart(name) + "=" + cookiePart(value);
    if (options.expires != null) cookie += "; Expires=" + cookiePart(options.expires);
    if (options.domain != null) cookie += "; Domain=" + cookiePart(options.domain);
    if (options.path != null) cookie += "; Path=" + cookiePart(options.path);
    if (options.maxAge != null) cookie += "; Max-Age=" + cookiePart(String(options.maxAge));
    if (options.comment != null) cookie += "; Comment=" + cookiePart(options.comment);
    if (options.secure) cookie += "; Secure";
    if (options.httpOnly) cookie += "; HttpOnly";
    if (options.sameSite) {
      const sameSite = options.sameSite.toLowerCase();
      if (sameSite !== "lax" && sameSite !== "strict" && sameSite !== "none") {
        throw new RangeError(`Invalid value for sameSite: ${JSON.stringify(options.sameSite)}`);
      }
      cookie += "; SameSite=" + sameSite;
    }
    this.cookies.push(cookie);
  }

  // --- writing -------------------------------------------------------------------------

  /**
   * Write body bytes (a string is a TypeError). The first call sends the status line and
   * headers. Ignored after the connection is lost; an error after finish().
   */
  write(data: Bytes): void {
    if (!(data instanceof Uint8Array)) throw notBytes(data);
    if (this.finished) throw new Error("Request.write called on a request after Request.finish was called.");
    if (this._disconnected) return;
    if (!this.startedWriting) {
      this.writeHead(data, false);
      return;
    }
    if (this._noBody) return;
    this.writeBody(data);
  }

  /**
   * Answer 101 Switching Protocols with the headers set so far, and give the connection to
   * `protocol` (a WebSocket, h2c): from then on every byte read goes to it, and HTTP lets go
   * of the connection (no parsing, no timeouts). Bytes the client sent after this request's
   * head reach the new protocol first. Only before the response has started.
   */
  switchProtocols(protocol: IProtocol): void {
    if (this.startedWriting) throw new Error("switchProtocols after the response has started");
    if (this._disconnected || this.channel === null) return;
    this.setResponseCode(101);
    this.channel._switchProtocols(this, protocol);
    this.finish();
  }

  /** End the response. After a lost connection this raises: use notifyFinish() to learn of that. */
  finish(): void {
    if (this._disconnected) {
      throw new Error(
        "Request.finish called on a request after its connection was lost; use Request.notifyFinish to keep track of this.",
      );
    }
    if (this.finished) {
      log.warn("Warning! request.finish called twice.", { uri: this.uri });
      return;
    }
    if (!this.startedWriting) this.writeHead(EMPTY, true);
    else if (this.chunked) this.channel?.write(LAST_CHUNK);
    const factory = this.channel?.factory as { log?: (request: Request) => void } | null | undefined;
    if (factory && typeof factory.log === "function") factory.log(this);
    this.finished = true;
    this.cleanup();
  }

  /**
   * A Deferred that fires (with undefined) when the response is finished, or errbacks with
   * the reason if the connection is lost first. Called after either, it is already fired.
   */
  notifyFinish(): Deferred<void> {
    if (this._lostReason !== null) return fail(this._lostReason);
    if (this.finished) return succeed<void>(undefined);
    const d = new Deferred<void>();
    this.notifications.push(d);
    return d;
  }

  /** Register a producer of the response body; it is driven by the transport's flow control. */
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.producer !== null) {
      throw new Error(`registering producer ${producer} before previous one (${this.producer}) was unregistered`);
    }
    if (this._disconnected || this.channel === null) {
      // Nobody will ever consume what it makes: stop it now rather than leave it running.
      producer.stopProducing();
      return;
    }
    this.streamingProducer = streaming;
    this.producer = producer;
    this.channel.registerProducer(producer, streaming);
  }

  unregisterProducer(): void {
    this.channel?.unregisterProducer();
    this.producer = null;
  }

  /** Close the connection (after what was written is sent). */
  loseConnection(): void {
    this.channel?.loseConnection();
  }

  /**
   * The connection is gone: mark the request disconnected, release its body, errback every
   * notifyFinish() Deferred with `reason`. Called once, by the channel, after the channel has
   * stopped the request's producer (HTTPChannel.stopProducing).
   */
  connectionLost(reason: Failure): void {
    if (this._disconnected) return;
    this._disconnected = true;
    this._lostReason = reason;
    this.channel = null;
    this.content?.close();
    const notifications = this.notifications;
    this.notifications = [];
    for (const d of notifications) d.errback(reason);
  }

  toString(): string {
    return `<${this.constructor.name} method=${this.method} uri=${this.uri} clientproto=${this.clientproto}>`;
  }

  // --- internals -------------------------------------------------------------------------

  /** Send the status line and headers, with `data` (and the last chunk when finishing) in one write. */
  private writeHead(data: Buffer | Uint8Array, finishing: boolean): void {
    this.startedWriting = true;
    const channel = this.channel;
    const version = this.clientproto;
    const headers = this.responseHeaders;
    const noBody = this.method === "HEAD" || NO_BODY_CODES.has(this.code) || (this.code >= 100 && this.code < 200);
    this._noBody = noBody;
    let head = version + " " + this.code + " " + this.codeMessage + "\r\n";
    if (version === "HTTP/1.1" && !noBody && !headers.hasHeader("content-length")) {
      // Length unknown on HTTP/1.1: chunked, so the connection can stay open (RFC 9112 7.1).
      head += "Transfer-Encoding: chunked\r\n";
      this.chunked = true;
    }
    if (this.lastModified !== null) {
      if (headers.hasHeader("last-modified")) log.info("Warning: last-modified specified both in header list and lastModified attribute.");
      else headers.setRawHeaders("last-modified", [datetimeToString(this.lastModified)]);
    }
    if (this.etag !== null) headers.setRawHeaders("etag", [this.etag]);
    if (channel !== null) head = channel._responseHeadStarting(this, head, noBody);
    head = headers._serialize(head);
    for (let i = 0; i < this.cookies.length; i++) head += "Set-Cookie: " + this.cookies[i] + "\r\n";
    head += "\r\n";

    const headLen = head.length;
    const bodyLen = noBody ? 0 : data.length;
    this.sentLength += bodyLen;
    const last = finishing && this.chunked;
    if (channel === null) return;
    if (bodyLen === 0) {
      const out = Buffer.allocUnsafe(headLen + (last ? 5 : 0));
      latin1Write(out, head, 0);
      if (last) LAST_CHUNK.copy(out, headLen);
      channel.write(out);
      return;
    }
    if (bodyLen > COPY_LIMIT) {
      channel.write(Buffer.from(head, "latin1"));
      this.writeBody(data, true);
      return;
    }
    if (this.chunked) {
      const size = bodyLen.toString(16) + "\r\n";
      const out = Buffer.allocUnsafe(headLen + size.length + bodyLen + 2);
      latin1Write(out, head, 0);
      latin1Write(out, size, headLen);
      out.set(data, headLen + size.length);
      out[out.length - 2] = 13;
      out[out.length - 1] = 10;
      channel.write(out);
    } else {
      const out = Buffer.allocUnsafe(headLen + bodyLen);
      latin1Write(out, head, 0);
      out.set(data, headLen);
      channel.write(out);
    }
  }

  private writeBody(data: Uint8Array, counted = false): void {
    const n = data.length;
    if (!counted) this.sentLength += n;
    if (n === 0) return;
    const channel = this.channel!;
    if (!this.chunked) {
      channel.write(data);
      return;
    }
    const size = n.toString(16) + "\r\n";
    if (n > COPY_LIMIT) {
      channel.writeSequence([Buffer.from(size, "latin1"), data, CRLF]);
      return;
    }
    const out = Buffer.allocUnsafe(size.length + n + 2);
    latin1Write(out, size, 0);
    out.set(data, size.length);
    out[out.length - 2] = 13;
    out[out.length - 1] = 10;
    channel.write(out);
  }

  /** The response is done and the request leaves its channel. */
  private cleanup(): void {
    if (this.producer !== null) {
      log.failure("", new Failure(new Error(`Producer was not unregistered for ${this.uri}`)));
      this.unregisterProducer();
    }
    const channel = this.channel;
    this.channel = null;
    channel?.requestDone(this);
    if (this.content !== NO_CONTENT) {
      this.content.close();
      this.content = NO_CONTENT;
    }
    const notifications = this.notifications;
    this.notifications = [];
    for (const d of notifications) d.callback(undefined);
  }
}

const CRLF = Buffer.from("\r\n", "latin1");

/**
 * The path of an absolute-form target ("http://host/a/b" -> "/a/b", "http://host" -> "/"), as
 * RFC 9112 3.2.2 has a server read it (its authority is the Host, see the parser). Any other
 * target (asterisk-form "*", authority-form of CONNECT) is returned as it is.
 */
function absoluteFormPath(path: string): string {
  const m = /^https?:\/\/[^/]*/i.exec(path);
  if (m === null) return path;
  return m[0].length === path.length ? "/" : path.slice(m[0].length);
}

function cookiePart(value: HeaderInput): string {
  return headerString(value).replace(/;/g, " ");
}

/** Buffer's latin1Write: copy a latin1 string in without the argument checks of write(). */
const latin1WriteImpl = (Buffer.prototype as unknown as { latin1Write(s: string, offset: number): number }).latin1Write;
function latin1Write(buf: Buffer, s: string, offset: number): number {
  return latin1WriteImpl.call(buf, s, offset);
}
