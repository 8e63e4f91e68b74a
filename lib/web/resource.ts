/**
 * The resource tree, as twisted.web.resource: Resource, getChildForRequest, the error pages
 * (ErrorPage, NoResource, ForbiddenResource), and UnsupportedMethod (twisted.web.error).
 *
 * A Site finds the resource for a request by walking the tree from its root, one path segment
 * at a time (getChildForRequest), then asks that resource to render().
 *
 * Path segments are strings: each segment of the request path is percent-decoded and then
 * UTF-8 decoded, so `root.putChild("café", child)` answers `/caf%C3%A9`. putChild also takes
 * bytes (Twisted's type), which are UTF-8 decoded to the same key. The empty segment "" is the
 * child for a trailing slash: `putChild("", index)` answers `/dir/`.
 *
 * The error pages escape their text (as twisted.web.pages does, not as Twisted's deprecated
 * ErrorPage, which allowed HTML injection: GHSA-vg46-2rrj-3647).
 */

import { TorsionError } from "../internet/error.js";
import { registerErrorClasses } from "../internet/thread-error.js";
import type { IRequest, IResource, RenderResult } from "./iweb.js";
import { FORBIDDEN, NOT_FOUND } from "./http-status.js";

/**
 * Raised by render() when the request's method is not one the resource supports. The server
 * answers 405 with an Allow header (for a method it knows) or 501 (for one it does not).
 */
export class UnsupportedMethod extends TorsionError {
  static override readonly code: string = "TORSION_ERR_UNSUPPORTED_METHOD";
  readonly allowedMethods: string[];

  constructor(allowedMethods: readonly string[]) {
    if (!Array.isArray(allowedMethods)) {
      throw new TypeError("First argument must be a sequence of supported methods, but my first argument is not a sequence.");
    }
    super(`Expected one of ${JSON.stringify(allowedMethods)}`);
    this.allowedMethods = allowedMethods.slice();
  }
}

registerErrorClasses(UnsupportedMethod);

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };

/** Escape text for HTML content and attribute values (& < > " '), as Python's html.escape. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** A path segment given as bytes becomes the string key the tree uses (UTF-8). */
export function segmentKey(path: string | Uint8Array): string {
  if (typeof path === "string") return path;
  if (path instanceof Uint8Array) return Buffer.from(path.buffer, path.byteOffset, path.byteLength).toString("utf8");
  throw new TypeError(`Path segment must be a string or bytes, not ${path === null ? "null" : typeof path}`);
}

/**
 * Walk the tree from `resource`: while postpath has segments and the resource is not a leaf,
 * move the next segment to prepath and descend into that child. Returns the resource reached.
 */
export function getChildForRequest(resource: IResource, request: IRequest): IResource {
  while (request.postpath.length > 0 && !resource.isLeaf) {
    const segment = request.postpath.shift()!;
    request.prepath.push(segment);
    resource = resource.getChildWithDefault(segment, request);
  }
  return resource;
}

type RenderMethod = (request: IRequest) => RenderResult;

/**
 * A web resource: a node of the tree, with static children (putChild), dynamic ones
 * (override getChild), and render_METHOD methods that answer requests for it.
 *
 *     class Hello extends Resource {
 *       override isLeaf = true;
 *       render_GET(request: IRequest) { return "<h1>Hello</h1>"; }
 *     }
 *
 * render() calls `render_<METHOD>` (render_GET, render_POST, ...). HEAD is answered by
 * render_GET unless render_HEAD is defined (the server sends the headers and no body). A
 * method without a render_ method raises UnsupportedMethod listing the methods that have one
 * (or `allowedMethods` if set), which the server turns into 405 with an Allow header.
 */
export class Resource implements IResource {
  /** A leaf is never asked for children; what is left of the path stays in request.postpath. */
  isLeaf = false;
  /** Static children, by segment. */
  readonly children = new Map<string, IResource>();
  /** When set, the methods UnsupportedMethod lists (else computed from the render_ methods). */
  allowedMethods?: string[];

  /**
   * A dynamic child for `path` (called when no static child has that name). The default is a
   * 404 page. Override to generate children on the fly.
   */
  getChild(_path: string, _request: IRequest): IResource {
    return new NoResource();
  }

  /** The static child put at `path`, else getChild(path, request). */
  getChildWithDefault(path: string, request: IRequest): IResource {
    const child = this.children.get(path);
    if (child !== undefined) return child;
    return this.getChild(path, request);
  }

  /**
   * Make `child` the resource at segment `path` below this one. A segment never contains "/":
   * for the resource answering "/foo/" use the segment "" on the resource at "foo".
   */
  putChild(path: string | Uint8Array, child: IResource): void {
    this.children.set(segmentKey(path), child);
  }

  /** The names of the static children. */
  listStaticNames(): string[] {
    return [...this.children.keys()];
  }

  listStaticEntities(): [string, IResource][] {
    return [...this.children.entries()];
  }

  listNames(): string[] {
    return [...this.listStaticNames(), ...this.listDynamicNames()];
  }

  listEntities(): [string, IResource][] {
    return [...this.listStaticEntities(), ...this.listDynamicEntities()];
  }

  listDynamicNames(): string[] {
    return [];
  }

  listDynamicEntities(_request?: IRequest): [string, IResource][] {
    return [];
  }

  getStaticEntity(name: string): IResource | undefined {
    return this.children.get(name);
  }

  delEntity(name: string): void {
    this.children.delete(name);
  }

  /** Call render_<METHOD>, or raise UnsupportedMethod. */
  render(request: IRequest): RenderResult {
    const m = (this as unknown as Record<string, unknown>)["render_" + request.method];
    if (typeof m !== "function") throw new UnsupportedMethod(this.allowedMethods ?? computeAllowedMethods(this));
    return (m as RenderMethod).call(this, request);
  }

  /** HEAD is GET without the body, which the server drops (RFC 9110 9.3.2). */
  render_HEAD(request: IRequest): RenderResult {
    const get = (this as unknown as Record<string, unknown>).render_GET;
    if (typeof get !== "function") throw new UnsupportedMethod(this.allowedMethods ?? computeAllowedMethods(this));
    return (get as RenderMethod).call(this, request);
  }

  toString(): string {
    return `<${this.constructor.name}>`;
  }
}

/**
 * The methods a resource answers: the names of its render_ methods (own or inherited).
 * HEAD counts only when there is a render_GET for the default render_HEAD to call, or a
 * render_HEAD of the resource's own.
 */
export function computeAllowedMethods(resource: object): string[] {
  const seen = new Set<string>();
  let hasOwnHead = false;
  for (let o: object | null = resource; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (!name.startsWith("render_") || name.length === 7) continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (desc === undefined || typeof desc.value !== "function") continue;
      const method = name.slice(7);
      if (method === "HEAD") {
        if (o !== Resource.prototype) hasOwnHead = true;
        continue;
      }
      seen.add(method);
    }
  }
  const methods = [...seen];
  if (hasOwnHead || seen.has("GET")) methods.push("HEAD");
  return methods;
}

const TEMPLATE_HEAD = "\n<html>\n  <head><title>";

/**
 * A page answering with `code` and a short HTML body titled `brief` with `detail` below it,
 * both HTML-escaped. Every child of an error page is the page itself.
 */
export class ErrorPage extends Resource {
  constructor(
    public code: number,
    public brief: string,
    public detail: string,
  ) {
    super();
  }

  override render(request: IRequest): RenderResult {
    request.setResponseCode(this.code);
    request.setHeader("content-type", "text/html; charset=utf-8");
    const brief = escapeHtml(this.brief);
    const html =
      `${TEMPLATE_HEAD}${this.code} - ${brief}</title></head>\n  <body>\n    <h1>${brief}</h1>\n` +
      `    <p>${escapeHtml(this.detail)}</p>\n  </body>\n</html>\n`;
    return Buffer.from(html, "utf8");
  }

  override getChild(_path: string, _request: IRequest): IResource {
    return this;
  }
}

/** 404 Not Found. */
export class NoResource extends ErrorPage {
  constructor(message = "Sorry. No luck finding that resource.") {
    super(NOT_FOUND, "No Such Resource", message);
  }
}

/** 403 Forbidden. */
export class ForbiddenResource extends ErrorPage {
  constructor(message = "Sorry, resource is forbidden.") {
    super(FORBIDDEN, "Forbidden Resource", message);
  }
}

/**
 * A leaf that answers GET and HEAD with a fixed body: bytes as they are, a string encoded as
 * UTF-8. The content type defaults to HTML in UTF-8.
 */
export class StringResource extends Resource {
  override isLeaf = true;
  readonly body: Buffer;

  constructor(
    body: string | Uint8Array,
    public contentType = "text/html; charset=utf-8",
    public code = 200,
  ) {
    super();
    this.body = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  }

  render_GET(request: IRequest): RenderResult {
    request.setResponseCode(this.code);
    request.setHeader("content-type", this.contentType);
    return this.body;
  }
}
