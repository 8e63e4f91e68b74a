/**
 * Conditional requests (RFC 9110 section 13): If-None-Match against an entity-tag and
 * If-Modified-Since against a modification time. Written once, for Request.setETag and
 * setLastModified (twisted.web.http.Request's) and for DummyRequest's, so a resource spec run
 * on DummyRequest sees what production sees; static.File reads the same entity-tag lists.
 */
import { stringToDatetime } from "./http-dates.js";
import { NOT_MODIFIED, PRECONDITION_FAILED } from "./http-status.js";

/** Returned by setLastModified/setETag when the request is conditional and the condition holds: write no body. */
export const CACHED: unique symbol = Symbol("CACHED");
export type CACHED = typeof CACHED;

/** What the conditional checks need of a request (Request and DummyRequest both are one). */
export interface ConditionalRequest {
  readonly method: string;
  getHeader(name: string): string | undefined;
  setResponseCode(code: number): void;
}

/**
 * The entity-tags of an If-None-Match / If-Match style list (RFC 9110 section 8.8.3: `*`, or
 * a comma-separated list of `"opaque"` and `W/"opaque"`). A quoted tag may hold commas, so
 * tags are matched, not split. A bare, unquoted tag (a client echoing what an older server
 * sent: Twisted's setETag sends the tag as given) is taken up to whitespace or a comma.
 */
export function parseEntityTags(value: string): string[] {
  return value.match(/(?:W\/)?"[^"]*"|[^\s,]+/g) ?? [];
}

/** A tag without its weakness indicator: weak comparison compares these (RFC 9110 8.8.3.2). */
export function opaqueTag(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** Whether an If-None-Match value lists `etag` under weak comparison, or is `*` (RFC 9110 13.1.2). */
export function noneMatchListsTag(ifNoneMatch: string, etag: string): boolean {
  const wanted = opaqueTag(etag);
  for (const tag of parseEntityTags(ifNoneMatch)) if (tag === "*" || opaqueTag(tag) === wanted) return true;
  return false;
}

/**
 * Whether an If-Modified-Since value says the client's copy is current for `lastModified`
 * (seconds since the epoch). An unparseable date is ignored (RFC 9110 13.1.3); a legacy
 * ";length=..." suffix is dropped.
 */
export function notModifiedSince(ifModifiedSince: string, lastModified: number): boolean {
  let since: number;
  try {
    since = stringToDatetime(ifModifiedSince.split(";", 1)[0]);
  } catch {
    return false;
  }
  return since >= lastModified;
}

/**
 * setETag's check: when If-None-Match lists `etag` (or is `*`) the response code becomes 304
 * for GET and HEAD, 412 for any other method (RFC 9110 13.1.2), and CACHED is returned.
 */
export function checkETag(request: ConditionalRequest, etag: string): CACHED | null {
  const header = request.getHeader("if-none-match");
  if (!header || !noneMatchListsTag(header, etag)) return null;
  request.setResponseCode(request.method === "HEAD" || request.method === "GET" ? NOT_MODIFIED : PRECONDITION_FAILED);
  return CACHED;
}

/** setLastModified's check: when If-Modified-Since is at or after `lastModified`, 304 and CACHED. */
export function checkLastModified(request: ConditionalRequest, lastModified: number): CACHED | null {
  const header = request.getHeader("if-modified-since");
  if (!header || !notModifiedSince(header, lastModified)) return null;
  request.setResponseCode(NOT_MODIFIED);
  return CACHED;
}
