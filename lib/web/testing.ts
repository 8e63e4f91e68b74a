/**
 * Testing resources with no channel, as twisted.web.test.requesthelper: DummyRequest, and
 * render()/renderBody() to render a resource against one.
 *
 *     const request = new DummyRequest(["foo.txt"]);
 *     const body = await renderBody(getChildForRequest(root, request), request);
 *     expect(request.responseCode).to.equal(200);
 *
 * DummyRequest records what a resource does: the chunks written, the response code and
 * headers, how many times finish() was called, the producer registered. connectionLost()
 * plays a client that goes away: notifyFinish() Deferreds errback, the producer is stopped,
 * writes are ignored from then on.
 */

import { Deferred, fail, succeed } from "../internet/defer.js";
import { ConnectionDone } from "../internet/error.js";
import { Failure } from "../internet/failure.js";
import type { Bytes, IAddress, IPullProducer, IPushProducer } from "../internet/interfaces.js";
import { cooperate } from "../internet/task.js";
import { RequestContent } from "./http-content.js";
import { Headers, type HeaderInput } from "./http-headers.js";
import { checkETag, checkLastModified, type CACHED } from "./http-conditional.js";
import type { CookieOptions } from "./http-request.js";
import { FOUND, OK } from "./http-status.js";
import { NOT_DONE_YET, type IRequest, type IRequestContent, type IResource, type RenderResult } from "./iweb.js";
import { quoteSegment } from "./path-segments.js";
import { isThenable } from "../internet/thenable.js";

/** A fake request, as twisted.web.test.requesthelper.DummyRequest. */
export class DummyRequest implements IRequest {
  method = "GET";
  uri = "http://dummy/";
  path = "/";
  clientproto = "HTTP/1.0";
  args = new Map<string, string[]>();
  prepath: string[] = [];
  postpath: string[];
  sitepath: string[] = [];
  requestHeaders = new Headers();
  responseHeaders = new Headers();
  /** The request body: empty unless a test sets one (any IRequestContent). */
  content: IRequestContent = new RequestContent();
  /** The code given to setResponseCode, or null if it was never called. */
  responseCode: number | null = null;
  responseMessage: string | null = null;
  /** The chunks written, in order. */
  written: Buffer[] = [];
  /** How many times finish() was called. */
  finished = 0;
  startedWriting = false;
  client: IAddress | null;
  producer: IPushProducer | IPullProducer | null = null;
  streaming: boolean | null = null;
  /** Failures given to processingFailed. */
  failures: Failure[] = [];
  lastModified: number | null = null;
  etag: string | null = null;
  /** The reason given to connectionLost, or null. */
  lostReason: Failure | null = null;

  private _finishedDeferreds: Deferred<void>[] | null = [];
  private _serverName = "dummy";
  private _forceSSL = false;
  private _host: IAddress = { type: "TCP", family: "IPv4", host: "127.0.0.1", port: 80 };

  constructor(postpath: string[], client: IAddress | null = null) {
    this.postpath = postpath;
    this.client = client;
  }

  /** setResponseCode's code, 200 if it was never called (what a real request would send). */
  get code(): number {
    return this.responseCode ?? OK;
  }

  /** Everything written, joined. */
  get body(): Buffer {
    return Buffer.concat(this.written);
  }

  getHeader(name: HeaderInput): string | undefined {
    return this.requestHeaders.getLast(name);
  }

  getAllHeaders(): Record<string, string> {
    return this.requestHeaders.getAllLast();
  }

  /** The cookies the request carries (set them before rendering): name -> value. */
  receivedCookies = new Map<string, string>();
  /** What addCookie was given, in order. */
  cookies: Array<{ name: string; value: string; options: CookieOptions }> = [];
  /** What getUser() and getPassword() answer (HTTP Basic authentication). */
  user = "";
  password = "";

  getCookie(name: string): string | undefined {
    return this.receivedCookies.get(name);
  }

  addCookie(name: HeaderInput, value: HeaderInput, options: CookieOptions = {}): void {
    const text = (v: HeaderInput) => (typeof v === "string" ? v : Buffer.from(v).toString("latin1"));
    this.cookies.push({ name: text(name), value: text(value), options });
  }

  getUser(): string {
    return this.user;
  }

  getPassword(): string {
    return this.password;
  }

  setHeader(name: HeaderInput, value: HeaderInput): void {
    this.responseHeaders.setRawHeaders(name, [value]);
  }

  setResponseCode(code: number, message?: HeaderInput): void {
    if (this.written.length > 0) throw new Error("Response code cannot be set after data has been written");
    this.responseCode = code;
    this.responseMessage = message === undefined ? null : String(message);
  }

  setLastModified(when: number): CACHED | null {
    if (this.written.length > 0) throw new Error("Last-Modified cannot be set after data has been written");
    when = Math.ceil(when);
    if (this.lastModified === null || this.lastModified < when) this.lastModified = when;
    return checkLastModified(this, this.lastModified);
  }

  setETag(etag: string): CACHED | null {
    if (this.written.length > 0) throw new Error("ETag cannot be set after data has been written");
    this.etag = etag;
    return checkETag(this, etag);
  }

  redirect(url: HeaderInput): void {
    this.setResponseCode(FOUND);
    this.setHeader("location", url);
  }

  write(data: Bytes): void {
    if (!(data instanceof Uint8Array)) throw new TypeError("write() only accepts bytes");
    if (this.lostReason !== null) return;
    this.startedWriting = true;
    this.written.push(Buffer.from(data));
  }

  /** Count the call and fire notifyFinish() Deferreds. */
  finish(): void {
    if (this.lostReason !== null) {
      throw new Error("Request.finish called on a request after its connection was lost; use Request.notifyFinish to keep track of this.");
    }
    this.finished++;
    const observers = this._finishedDeferreds;
    this._finishedDeferreds = null;
    if (observers !== null) for (const d of observers) d.callback(undefined);
  }

  notifyFinish(): Deferred<void> {
    if (this.lostReason !== null) return fail(this.lostReason);
    if (this._finishedDeferreds === null) return succeed<void>(undefined);
    const d = new Deferred<void>();
    this._finishedDeferreds.push(d);
    return d;
  }

  /** Record the failure and errback notifyFinish() Deferreds with it. */
  processingFailed(reason: Failure): Failure {
    this.failures.push(reason);
    const observers = this._finishedDeferreds;
    this._finishedDeferreds = null;
    if (observers !== null) for (const d of observers) d.errback(reason);
    return reason;
  }

  /**
   * Register a producer. A push producer runs on its own; a pull producer is driven by the
   * global Cooperator (`cooperate`, as HTTPChannel drives one), a resumeProducing() a step
   * until it unregisters (Twisted's DummyRequest loops synchronously, which an asynchronous
   * producer could never leave). One that throws fails the request (processingFailed).
   */
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    if (this.producer !== null) throw new Error("a producer is already registered");
    if (this.lostReason !== null) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streaming = streaming;
    if (!streaming) cooperate(this.pull(producer));
  }

  private *pull(producer: IPullProducer): Generator<undefined, void, unknown> {
    while (this.producer === producer) {
      try {
        producer.resumeProducing();
      } catch (err) {
        this.producer = null;
        this.processingFailed(Failure.from(err));
        return;
      }
      yield undefined;
    }
  }

  unregisterProducer(): void {
    this.producer = null;
    this.streaming = null;
  }

  /** True once connectionLost() was played. */
  get disconnected(): boolean {
    return this.lostReason !== null;
  }

  /** As a real request's (the connection closes once written data is sent): plays connectionLost. */
  loseConnection(): void {
    this.connectionLost(new Failure(new ConnectionDone()));
  }

  /**
   * Play the client going away: stop the producer, errback notifyFinish() Deferreds with
   * `reason` (ConnectionDone by default); writes are ignored from now on.
   */
  connectionLost(reason: Failure = new Failure(new ConnectionDone())): void {
    if (this.lostReason !== null) return;
    this.lostReason = reason;
    const producer = this.producer;
    this.producer = null;
    producer?.stopProducing();
    const observers = this._finishedDeferreds;
    this._finishedDeferreds = null;
    if (observers !== null) for (const d of observers) d.errback(reason);
  }

  getClientAddress(): IAddress | null {
    return this.client;
  }

  getHost(): IAddress {
    return this._host;
  }

  isSecure(): boolean {
    return this._forceSSL;
  }

  setHost(host: string, port: number, ssl = false): void {
    this._forceSSL = ssl;
    this._serverName = host;
    this._host = { type: "TCP", family: "IPv4", host, port };
    const defaultPort = ssl ? 443 : 80;
    this.requestHeaders.addRawHeader("host", port === defaultPort ? host : `${host}:${port}`);
  }

  getRequestHostname(): string {
    return this._serverName;
  }

  prePathURL(): string {
    const secure = this.isSecure();
    const port = this._host.type === "TCP" ? this._host.port : 80;
    const hostport = port === (secure ? 443 : 80) ? "" : `:${port}`;
    return `http${secure ? "s" : ""}://${this._serverName}${hostport}/` + this.prepath.map(quoteSegment).join("/");
  }

  URLPath(): URL {
    return new URL(this.prePathURL());
  }

  /** Render `resource` as server.Request does, simply: bytes or a string are written and finished. */
  render(resource: IResource): void {
    const result = resource.render(this);
    if (result === NOT_DONE_YET) return;
    if (isThenable(result)) {
      result.then(
        (body) => this.writeAndFinish(body),
        (err: unknown) => this.processingFailed(Failure.from(err)),
      );
      return;
    }
    this.writeAndFinish(result);
  }

  private writeAndFinish(body: unknown): void {
    if (typeof body === "string") body = Buffer.from(body, "utf8");
    this.write(body as Uint8Array);
    this.finish();
  }

  toString(): string {
    return `<DummyRequest ${this.method} ${this.uri}>`;
  }
}

/**
 * Render `resource` for `request` (Twisted's _render helper of test_static.py): a Deferred that
 * fires when the request is finished (at once for bytes or a string, which are written and
 * finished), or errbacks as notifyFinish() does.
 */
export function render(resource: IResource, request: DummyRequest): Deferred<void> {
  const result: RenderResult = resource.render(request);
  if (typeof result === "string" || result instanceof Uint8Array) {
    request.write(typeof result === "string" ? Buffer.from(result, "utf8") : result);
    request.finish();
    return succeed<void>(undefined);
  }
  if (result === NOT_DONE_YET) {
    return request.finished > 0 ? succeed<void>(undefined) : request.notifyFinish();
  }
  if (isThenable(result)) {
    return Deferred.fromPromise(
      Promise.resolve(result).then((body) => {
        request.write(typeof body === "string" ? Buffer.from(body, "utf8") : body);
        request.finish();
      }),
    );
  }
  throw new TypeError(`Unexpected return value: ${String(result)}`);
}

/** Render `resource` for `request` and resolve with the body written once it is finished. */
export async function renderBody(resource: IResource, request: DummyRequest): Promise<Buffer> {
  await render(resource, request);
  return request.body;
}
