/**
 * Small helpers for resources, as twisted.web.util: redirectTo, Redirect, ParentRedirect,
 * DeferredResource, formatFailure, and escapeHtml (Python's html.escape) used by the error
 * pages and directory listings.
 */

import { Deferred } from "../internet/defer.js";
import { Failure } from "../internet/failure.js";
import type { HeaderInput } from "./http-headers.js";
import { NOT_DONE_YET, type IRequest, type IResource, type RenderResult } from "./iweb.js";
import { Resource, escapeHtml, getChildForRequest } from "./resource.js";

export { escapeHtml } from "./resource.js";

/**
 * Answer 302 Found to `url` and return a small HTML page that sends a browser there even if it
 * ignores the status. Meant to be returned from a render method:
 *
 *     render_GET(request) { return redirectTo("/elsewhere", request); }
 *
 * The URL is HTML-escaped in the page (Twisted's FIXME, ticket 9839, done).
 */
export function redirectTo(url: HeaderInput, request: IRequest): Buffer {
  const text = typeof url === "string" ? url : Buffer.from(url).toString("utf8");
  request.setHeader("content-type", "text/html; charset=utf-8");
  request.redirect(url);
  const escaped = escapeHtml(text);
  return Buffer.from(
    `\n<html>\n    <head>\n        <meta http-equiv="refresh" content="0;URL=${escaped}">\n    </head>\n` +
      `    <body bgcolor="#FFFFFF" text="#000000">\n    <a href="${escaped}">click here</a>\n    </body>\n</html>\n`,
    "utf8",
  );
}

/** A leaf that redirects every request (whatever the method or path below it) to `url`. */
export class Redirect extends Resource {
  override isLeaf = true;

  constructor(public url: string) {
    super();
  }

  override render(request: IRequest): RenderResult {
    return redirectTo(this.url, request);
  }

  override getChild(_name: string, _request: IRequest): IResource {
    return this;
  }
}

/**
 * Redirect to the nearest "directory" and drop any query string: /foo -> /, /foo/bar -> /foo/,
 * /foo/ -> /foo/. The Location is absolute.
 */
export class ParentRedirect extends Resource {
  override isLeaf = true;

  override render(request: IRequest): RenderResult {
    // The "directory" of the resource's own URL (its prepath), without the query.
    return redirectTo(new URL(".", request.prePathURL()).toString(), request);
  }
}

/**
 * A resource that is a promise of one: the request waits for `d` and is then rendered by the
 * resource it gives (the remaining path is traversed from there). A failure of `d` is a
 * processing failure (500).
 */
export class DeferredResource extends Resource {
  override isLeaf = true;

  constructor(public d: Deferred<IResource> | PromiseLike<IResource>) {
    super();
  }

  override getChild(_name: string, _request: IRequest): IResource {
    return this;
  }

  override render(request: IRequest): RenderResult {
    const onChild = (child: IResource): void => {
      try {
        const target = getChildForRequest(child, request);
        const renderable = request as IRequest & { render?(resource: IResource): void };
        if (typeof renderable.render !== "function") {
          throw new TypeError("DeferredResource needs a request with render(resource), such as server.Request");
        }
        renderable.render(target);
      } catch (err) {
        request.processingFailed(Failure.from(err));
      }
    };
    const onError = (err: unknown): void => {
      request.processingFailed(Failure.from(err));
    };
    // A Deferred is followed synchronously (as Twisted does), a promise when it settles.
    if (this.d instanceof Deferred) this.d.addCallbacks(onChild, onError);
    else this.d.then(onChild, onError);
    return NOT_DONE_YET;
  }
}

/**
 * HTML for a Failure: its traceback, escaped, with characters outside ASCII as numeric
 * character references (so the page is plain ASCII whatever its declared charset).
 */
export function formatFailure(reason: Failure): string {
  return "<pre>" + asciiEntities(escapeHtml(reason.getTraceback())) + "</pre>";
}

function asciiEntities(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[^\x00-\x7f]/gu, (c) => `&#${c.codePointAt(0)};`);
}
