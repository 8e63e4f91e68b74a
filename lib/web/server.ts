/**
 * The web server, as twisted.web.server: Site (an HTTPFactory with a resource tree) and
 * server.Request (an http.Request that finds its resource and renders it).
 *
 * How a request is answered:
 * 1. process() splits the path into decoded segments (postpath) and walks the tree from the
 *    site's root with getChildForRequest, moving each segment consumed to prepath.
 * 2. render(resource) calls resource.render(request), which returns
 *    - bytes: written as the whole body with a Content-Length, and the request is finished;
 *    - a string: the same, encoded as UTF-8 (and "; charset=utf-8" is added to the default
 *      content type). Twisted answers 500 to a str; in JavaScript a string is the natural
 *      thing to return, and UTF-8 is what a browser expects;
 *    - NOT_DONE_YET: the resource will write() and finish() itself later;
 *    - a Promise or Deferred of bytes or a string: written when it resolves (torsion's
 *      extension for async functions); a rejection is a processing failure.
 *    Anything else is answered with a 500 page saying the resource did not return bytes.
 * 3. A render that throws (or whose promise rejects) is logged with log.failure and answered
 *    with 500: a generic page, or the traceback when site.displayTracebacks is true (never by
 *    default: a traceback tells an attacker too much). If the headers were already sent, no
 *    error page can be, so the connection is closed instead: the client sees a truncated
 *    response rather than a complete-looking wrong one.
 * 4. HEAD: resources answer it as GET (Resource.render_HEAD), the Content-Length of the body is
 *    sent, the body is not.
 *
 * A method the resource has no render_ method for gets 405 with an Allow header listing those
 * it has (for GET, HEAD and POST, which every server knows) or 501 (for any other method).
 */

import { Failure } from "../internet/failure.js";
import type { Bytes, IAddress } from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import { SERVER_VERSION, type HTTPChannel } from "./http-channel.js";
import { HTTPFactory, type HTTPFactoryOptions } from "./http-factory.js";
import { Request as HTTPRequest, type RequestFactory } from "./http-request.js";
import { INTERNAL_SERVER_ERROR, NOT_ALLOWED, NOT_IMPLEMENTED, NOT_MODIFIED, NO_CONTENT, OK } from "./http-status.js";
import { NOT_DONE_YET, type IRequest, type IResource, type RenderResult } from "./iweb.js";
import { quoteSegment, splitPath } from "./path-segments.js";
import { ErrorPage, UnsupportedMethod, getChildForRequest } from "./resource.js";
import { formatFailure } from "./util.js";
import { isThenable } from "../internet/thenable.js";

// twisted.web.server.NOT_DONE_YET and the path codecs, where Twisted's users look for them;
// they live beside IRequest and in path-segments.ts, so resources need not import the Site.
export { NOT_DONE_YET } from "./iweb.js";
export { quoteSegment, splitPath, unquoteSegment } from "./path-segments.js";

/** The Server header value sent with every response (twisted.web.server.version). */
export const version = SERVER_VERSION;

/** Methods every resource is assumed to know: for others, 501 rather than 405. */
export const supportedMethods: readonly string[] = ["GET", "HEAD", "POST"];

const EMPTY = Buffer.alloc(0);

const log = new Logger("torsion.web.server");

/** What the log and the 500 page say when a render method returns anything else. */
const RENDER_MAY_RETURN =
  "a render method must return a string (sent as UTF-8), bytes (a Uint8Array), NOT_DONE_YET " +
  "(it then writes and finishes the request itself), or a Promise of a string or bytes";

function safeRepr(value: unknown): string {
  try {
    if (typeof value === "string") return JSON.stringify(value);
    if (value === undefined) return "undefined";
    if (typeof value === "object" && value !== null && value.toString === Object.prototype.toString) {
      return `<${value.constructor?.name ?? "Object"} ${JSON.stringify(value)}>`;
    }
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A channel built by a Site knows it. */
type SiteChannel = HTTPChannel & { site?: Site };

/** A request as Site.getResourceFor uses it: an IRequest that may remember its site. */
type SiteRequest = IRequest & { site?: Site | null; sitepath?: string[] };

/**
 * A request answered by a resource tree, as twisted.web.server.Request. Built by the channel of
 * a Site (the site's requestFactory).
 */
export class Request extends HTTPRequest implements IRequest {
  /** The Content-Type sent when a response sets none; null sends none. */
  defaultContentType: string | null = "text/html";
  /** The site the request arrived on (set by process()). */
  site: Site | null = null;
  /** Segments consumed by the traversal so far. */
  prepath: string[] = [];
  /** Segments not yet consumed. */
  postpath: string[] = [];
  /** prepath as it was when the site started traversing (a Site below another resource). */
  sitepath: string[] = [];
  /** What rememberRootURL() stored. */
  appRootURL: string | null = null;

  private _inFakeHead = false;

  /** Find the resource for the request in the site's tree and render it. */
  override process(): void {
    this.site = siteOf(this.channel);
    this.prepath = [];
    this.postpath = splitPath(this.path);
    if (this.path === "*") {
      this._handleStar();
      return;
    }
    try {
      if (this.site === null) throw new Error("server.Request needs a Site: its channel was not built by one");
      this.render(this.site.getResourceFor(this));
    } catch (err) {
      this.processingFailed(Failure.from(err));
    }
  }

  override write(data: Bytes): void {
    if (!this.startedWriting) this.applyDefaultContentType();
    // A HEAD faked as GET (see render) must not send the GET's body.
    if (this._inFakeHead) return;
    super.write(data);
  }

  override finish(): void {
    if (!this.startedWriting) this.applyDefaultContentType();
    super.finish();
  }

  /**
   * Twisted's rule: a response gets defaultContentType unless it set a type, is 304 or 204,
   * or has "Content-Length: 0" (an empty body needs no type).
   */
  private applyDefaultContentType(): void {
    if (this.defaultContentType === null || this.code === NOT_MODIFIED || this.code === NO_CONTENT) return;
    const headers = this.responseHeaders;
    if (headers.hasHeader("content-type")) return;
    const length = headers.getRawHeaders("content-length");
    if (length !== undefined && length[0] === "0") return;
    headers.setRawHeaders("content-type", [this.defaultContentType]);
  }

  /** Ask `resrc` to render this request, and write what it returns (see the module comment). */
  render(resrc: IResource): void {
    let body: RenderResult;
    try {
      body = resrc.render(this);
    } catch (err) {
      if (!(err instanceof UnsupportedMethod)) throw err;
      const allowed = err.allowedMethods;
      if (this.method === "HEAD" && allowed.includes("GET")) {
        // HEAD must be supported (RFC 9110 9.1): render GET and send only the headers.
        log.info("Using GET to fake a HEAD request for {resrc}", { resrc: String(resrc) });
        this.method = "GET";
        this._inFakeHead = true;
        let fake: RenderResult;
        try {
          fake = resrc.render(this);
        } finally {
          this._inFakeHead = false;
          this.method = "HEAD";
        }
        if (fake === NOT_DONE_YET || isThenable(fake)) {
          log.info("Tried to fake a HEAD request for {resrc}, but it got away from me.", { resrc: String(resrc) });
        } else if (fake instanceof Uint8Array || typeof fake === "string") {
          this.setHeader("content-length", String(typeof fake === "string" ? Buffer.byteLength(fake) : fake.length));
        }
        this.write(EMPTY);
        this.finish();
        return;
      }
      if (supportedMethods.includes(this.method)) {
        // 405 MUST carry Allow (RFC 9110 15.5.6).
        this.setHeader("allow", allowed.join(", "));
        const detail =
          `Your browser approached me (at ${this.uri}) with the method "${this.method}".  ` +
          `I only allow the method${allowed.length > 1 ? "s" : ""} ${allowed.join(", ")} here.`;
        body = new ErrorPage(NOT_ALLOWED, "Method Not Allowed", detail).render(this);
      } else {
        body = new ErrorPage(NOT_IMPLEMENTED, "Huh?", `I don't know how to treat a ${this.method} request.`).render(this);
      }
    }
    if (isThenable(body)) {
      body.then(
        (value) => {
          if (this.disconnected) return;
          try {
            this.writeRendered(value, resrc);
          } catch (err) {
            this.processingFailed(Failure.from(err));
          }
        },
        (err: unknown) => {
          this.processingFailed(Failure.from(err));
        },
      );
      return;
    }
    this.writeRendered(body, resrc);
  }

  private writeRendered(body: unknown, resrc: IResource): void {
    if (body === NOT_DONE_YET) return;
    let bytes: Uint8Array;
    if (body instanceof Uint8Array) {
      bytes = body;
    } else if (typeof body === "string") {
      if (this.defaultContentType !== null && !this.responseHeaders.hasHeader("content-type") && body.length > 0) {
        this.setHeader("content-type", this.defaultContentType + "; charset=utf-8");
      }
      bytes = Buffer.from(body, "utf8");
    } else {
      // Twisted answers 500 and logs nothing; the developer needs to hear why, on the server.
      const hint = body === undefined ? " (did the render method forget to return?)" : "";
      log.error("{resource} rendered {value} for {method} {uri}{hint}: " + RENDER_MAY_RETURN, {
        resource: safeRepr(resrc),
        value: safeRepr(body),
        method: this.method,
        uri: this.uri,
        hint,
      });
      const detail = `Request: ${safeRepr(this)}\nResource: ${safeRepr(resrc)}\nValue: ${safeRepr(body)}\n\n${RENDER_MAY_RETURN}`;
      bytes = new ErrorPage(INTERNAL_SERVER_ERROR, "Request did not return bytes", detail).render(this) as Buffer;
    }
    if (this.method === "HEAD") {
      if (bytes.length > 0) {
        // The usual path (Resource.render_HEAD renders GET), so only a debug message, not Twisted's info.
        log.debug("HEAD request {request} for resource {resrc} returned a body; not sending it.", {
          request: String(this),
          resrc: String(resrc),
        });
        this.setHeader("content-length", String(bytes.length));
      }
      this.write(EMPTY);
    } else {
      this.setHeader("content-length", String(bytes.length));
      this.write(bytes);
    }
    this.finish();
  }

  /**
   * Rendering failed: log `reason` and answer 500 (with the traceback only if the site's
   * displayTracebacks is set). If the headers already went out, close the connection instead;
   * if the connection is gone or the response finished, only log. Returns `reason`.
   */
  processingFailed(reason: Failure): Failure {
    log.failure("Error processing {request}", reason, { request: String(this) });
    if (this.finished || this.disconnected) return reason;
    const producer = this.producer;
    if (producer !== null) {
      this.unregisterProducer();
      try {
        producer.stopProducing();
      } catch (err) {
        log.failure("Error stopping the producer of {request}", err, { request: String(this) });
      }
    }
    if (this.startedWriting) {
      this.loseConnection();
      return reason;
    }
    const body = this.site?.displayTracebacks
      ? "<html><head><title>web.Server Traceback (most recent call last)</title></head>" +
        "<body><b>web.Server Traceback (most recent call last):</b>\n\n" +
        formatFailure(reason) +
        "\n\n</body></html>\n"
      : "<html><head><title>Processing Failed</title></head><body><b>Processing Failed</b></body></html>";
    const bytes = Buffer.from(body, "utf8");
    this.setResponseCode(INTERNAL_SERVER_ERROR);
    this.responseHeaders.removeHeader("content-encoding");
    this.setHeader("content-type", "text/html");
    this.setHeader("content-length", String(bytes.length));
    this.write(bytes);
    this.finish();
    return reason;
  }

  /** "OPTIONS *" gets an empty 200; any other method on "*" gets 405 (RFC 9110 9.3.7). */
  private _handleStar(): void {
    if (this.method === "OPTIONS") {
      this.setResponseCode(OK);
    } else {
      this.setResponseCode(NOT_ALLOWED);
      this.setHeader("allow", "OPTIONS");
    }
    this.setHeader("content-length", "0");
    this.finish();
  }

  // --- URLs ------------------------------------------------------------------------------

  /** The absolute URL of `prepath` on this request's host. */
  _prePathURL(prepath: readonly string[]): string {
    const host: IAddress | null = this.getHost();
    const secure = this.isSecure();
    const port = host !== null && host.type === "TCP" ? host.port : secure ? 443 : 80;
    const hostport = port === (secure ? 443 : 80) ? "" : `:${port}`;
    let hostname = this.getRequestHostname();
    if (hostname.includes(":") && !hostname.startsWith("[")) hostname = `[${hostname}]`;
    return `http${secure ? "s" : ""}://${hostname}${hostport}/` + prepath.map(quoteSegment).join("/");
  }

  /** The absolute URL of the resource being rendered: scheme, host, port and prepath. */
  prePathURL(): string {
    return this._prePathURL(this.prepath);
  }

  URLPath(): URL {
    return new URL(this.prePathURL());
  }

  /** Remember the URL of the resource whose child is being looked up, for getRootURL(). */
  rememberRootURL(): void {
    this.appRootURL = this._prePathURL(this.prepath.slice(0, -1));
  }

  getRootURL(): string | null {
    return this.appRootURL;
  }

  /** A relative URL to a sibling of the requested resource. */
  sibLink(name: string): string {
    return this.postpath.length > 0 ? "../".repeat(this.postpath.length) + name : name;
  }

  /** A relative URL to a child of the requested resource. */
  childLink(name: string): string {
    const lpp = this.postpath.length;
    if (lpp > 1) return "../".repeat(lpp - 1) + name;
    if (lpp === 1) return name;
    const last = this.prepath[this.prepath.length - 1];
    return this.prepath.length > 0 && last ? `${last}/${name}` : name;
  }
}

function siteOf(channel: HTTPChannel | null): Site | null {
  if (channel === null) return null;
  const site = (channel as SiteChannel).site;
  if (site instanceof Site) return site;
  return channel.factory instanceof Site ? channel.factory : null;
}

export interface SiteOptions extends HTTPFactoryOptions {
  /** Show tracebacks of rendering errors to clients. Default false. */
  displayTracebacks?: boolean;
}

/**
 * A web site: an HTTPFactory whose requests are answered by a resource tree.
 *
 *     const site = new Site(root);
 *     reactor.listenTCP(8080, site, { interface: "127.0.0.1" });
 *
 * Options are HTTPFactory's (timeouts, limits, access log) plus displayTracebacks;
 * requestFactory defaults to server.Request. Sessions are not implemented.
 */
export class Site extends HTTPFactory {
  /** The root of the tree. */
  resource: IResource;
  /** Show tracebacks of rendering errors to clients (false: a generic 500 page). */
  displayTracebacks: boolean;
  /** A Site may itself sit in a tree: it is never a leaf. */
  isLeaf = false;

  constructor(resource: IResource, options: SiteOptions = {}) {
    const { displayTracebacks, ...rest } = options;
    super({ ...rest, requestFactory: rest.requestFactory ?? (Request as RequestFactory) });
    this.resource = resource;
    this.displayTracebacks = displayTracebacks ?? false;
  }

  override buildProtocol(addr: IAddress | null): HTTPChannel {
    const channel = super.buildProtocol(addr) as SiteChannel;
    channel.site = this;
    return channel;
  }

  /** As a resource (a Site put in another tree): redirect to "/", since a site is a directory. */
  render(request: IRequest): RenderResult {
    request.redirect(request.prePathURL() + "/");
    request.finish();
    return NOT_DONE_YET;
  }

  getChildWithDefault(pathEl: string, request: SiteRequest): IResource {
    request.site = this;
    return this.resource.getChildWithDefault(pathEl, request);
  }

  putChild(path: string | Uint8Array, child: IResource): void {
    this.resource.putChild(path, child);
  }

  /** Walk the tree from the root for `request` (moving postpath segments to prepath). */
  getResourceFor(request: SiteRequest): IResource {
    request.site = this;
    request.sitepath = request.prepath.slice();
    return getChildForRequest(this.resource, request);
  }
}
