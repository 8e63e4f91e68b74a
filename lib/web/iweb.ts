/**
 * The contracts of the resource side of twisted.web, as twisted.web.iweb and
 * twisted.web.resource.IResource.
 *
 * IRequest is the request as a Resource sees it. server.Request (lib/web/server.ts) satisfies
 * it on a real connection; DummyRequest (lib/web/testing.ts) satisfies it with no channel, so a
 * resource can be rendered in a unit test.
 *
 * Strings: method, uri, path and header names and values are latin1 strings (one char per byte,
 * as on the wire; see http-request.ts). prepath and postpath hold path segments percent-decoded
 * and then UTF-8 decoded (invalid UTF-8 becomes U+FFFD), which is also how Resource.putChild
 * keys its children: a child put at "café" answers /caf%C3%A9.
 *
 * Types only: this module has no runtime code.
 */

import type { Deferred } from "../internet/defer.js";
import type { Failure } from "../internet/failure.js";
import type { Bytes, IAddress, IPullProducer, IPushProducer } from "../internet/interfaces.js";
import type { HeaderInput, Headers } from "./http-headers.js";
import type { CACHED } from "./http-conditional.js";
import type { CookieOptions } from "./http-request.js";

/**
 * What render() may return: bytes (written as the whole body), a string (encoded as UTF-8),
 * NOT_DONE_YET (the resource finishes the request itself later), or a Promise/Deferred of bytes
 * or a string (a torsion extension: the body is written when it resolves; a rejection is a
 * processing failure).
 */
export type RenderResult = Uint8Array | string | NotDoneYet | PromiseLike<Uint8Array | string>;

/**
 * Returned by render() to say the resource will write() and finish() the response itself
 * later (after a Deferred fires, a producer ends...); the connection stays open meanwhile
 * (twisted.web.server.NOT_DONE_YET; server.ts re-exports it). It sits beside IRequest because
 * every resource speaks it and none should need the Site for it.
 */
export const NOT_DONE_YET: unique symbol = Symbol("NOT_DONE_YET");

/** The type of NOT_DONE_YET. */
export type NotDoneYet = typeof NOT_DONE_YET;

/** The body of a request, as much of Twisted's file-like Request.content as resources use. */
export interface IRequestContent {
  read(size?: number): Buffer;
  seek(offset: number, whence?: number): number;
  getvalue(): Buffer;
  readonly length: number;
}

/**
 * An HTTP request as a resource sees it (twisted.web.iweb.IRequest plus the attributes
 * server.Request adds: prepath, postpath, prePathURL, processingFailed).
 */
export interface IRequest {
  /** The method, e.g. "GET". */
  method: string;
  /** The request-target as sent, query string included. */
  uri: string;
  /** The request-target without its query string, still percent-encoded. */
  path: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  clientproto: string;
  /** Query arguments and urlencoded form fields: name -> values in order. */
  args: Map<string, string[]>;
  /** Segments already consumed by the traversal (decoded). */
  prepath: string[];
  /** Segments not yet consumed (decoded). A leaf resource sees what is left here. */
  postpath: string[];
  requestHeaders: Headers;
  responseHeaders: Headers;
  /**
   * The request body, as Twisted's file-like Request.content: never null (empty when the request
   * had none). Closed once the request is done.
   */
  content: IRequestContent;
  /** The response code so far. */
  code: number;
  /** True once the status line and headers have been written. */
  startedWriting: boolean;

  getHeader(name: HeaderInput): string | undefined;
  getAllHeaders(): Record<string, string>;
  /** The value of the request's cookie `name`, or undefined. */
  getCookie(name: string): string | undefined;
  /**
   * Add a Set-Cookie header to the response (RFC 6265 section 4.1). As Twisted, CR, LF and ";"
   * in any part become spaces; a sameSite other than lax, strict or none is a RangeError.
   */
  addCookie(name: HeaderInput, value: HeaderInput, options?: CookieOptions): void;
  /** The user name of HTTP Basic authentication (RFC 7617), or "" when there is none. */
  getUser(): string;
  /** The password of HTTP Basic authentication (RFC 7617), or "" when there is none. */
  getPassword(): string;
  setHeader(name: HeaderInput, value: HeaderInput): void;
  setResponseCode(code: number, message?: HeaderInput): void;
  /**
   * Set Last-Modified; returns CACHED (and sets 304) when If-Modified-Since says the client's
   * copy is current: write no body then.
   */
  setLastModified(when: number): CACHED | null;
  /** Set the ETag; returns CACHED (304 or 412) when If-None-Match matches it. */
  setETag(etag: string): CACHED | null;
  /** 302 Found with this Location; finish() after. */
  redirect(url: HeaderInput): void;

  /** Write body bytes (a string is a TypeError). Ignored after the connection is lost. */
  write(data: Bytes): void;
  /** End the response. */
  finish(): void;
  /**
   * A Deferred that fires when the response is finished, or errbacks with the reason
   * (ConnectionDone / ConnectionLost) if the connection is lost first.
   */
  notifyFinish(): Deferred<void>;
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void;
  unregisterProducer(): void;
  /** Answer 500 (with the traceback only if the site displays tracebacks) and log `reason`. */
  processingFailed(reason: Failure): unknown;
  /** True once the connection was lost before the response finished: writes are dropped from then on. */
  readonly disconnected: boolean;
  /** Truthy once finish() was called (DummyRequest counts the calls, as Twisted's does). */
  readonly finished: boolean | number;
  /** Close the connection once what was written is sent: for a response that cannot be completed. */
  loseConnection(): void;

  getClientAddress(): IAddress | null;
  getHost(): IAddress | null;
  isSecure(): boolean;
  /** The Host header's host (no port), else the local address. */
  getRequestHostname(): string;
  /** The absolute URL of the resource being rendered (scheme, host, port, prepath). */
  prePathURL(): string;
  /** prePathURL() as a WHATWG URL (Twisted returns a twisted.python.urlpath.URLPath). */
  URLPath(): URL;
}

/**
 * A web resource, as twisted.web.resource.IResource.
 *
 * getChildWithDefault(name, request) is how the traversal asks for a child; it is never called
 * on a leaf (isLeaf true), whose remaining segments stay in request.postpath. render(request)
 * answers a request for the resource itself.
 */
export interface IResource {
  isLeaf: boolean;
  getChildWithDefault(name: string, request: IRequest): IResource;
  putChild(path: string | Uint8Array, child: IResource): void;
  render(request: IRequest): RenderResult;
}
