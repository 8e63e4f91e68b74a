/**
 * Path segments of a request URI and their percent-encoding: the codecs a Site uses to split a
 * request path for traversal (twisted.web.server's unquote of each segment) and that resources
 * use to build URLs from prepath. A module of its own so that a resource can use them without
 * importing the Site (docs/design.md, "Which way imports go").
 */

/** An absolute-form request target's scheme and authority (RFC 9112 section 3.2.2). */
const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The path of a request target without an absolute form's scheme and authority
 * ("http://h/a" -> "/a", "http://h" -> "/"); an origin-form path as it is.
 */
export function originPath(path: string): string {
  const m = ABSOLUTE_FORM.exec(path);
  return m === null ? path : path.slice(m[0].length) || "/";
}

/** The still-encoded segments of a request path ("/a/b%20c" -> ["a", "b%20c"]). */
export function rawSegments(path: string): string[] {
  return originPath(path).slice(1).split("/");
}

/** The decoded segments of a request path ("/a/b%20c" -> ["a", "b c"]). */
export function splitPath(path: string): string[] {
  return rawSegments(path).map(unquoteSegment);
}

/** Percent-decode a path segment and decode its bytes as UTF-8 (invalid sequences become U+FFFD). */
export function unquoteSegment(segment: string): string {
  if (segment.indexOf("%") === -1 && !/[\u0080-\u00ff]/.test(segment)) return segment;
  const bytes = Buffer.allocUnsafe(segment.length);
  let n = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 37 && i + 2 < segment.length && isHex(segment.charCodeAt(i + 1)) && isHex(segment.charCodeAt(i + 2))) {
      bytes[n++] = parseInt(segment.substr(i + 1, 2), 16);
      i += 2;
    } else {
      bytes[n++] = c & 0xff;
    }
  }
  return bytes.toString("utf8", 0, n);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Percent-encode a segment for a URL: everything but letters, digits and -._~ (Python's quote(s, safe="")). */
export function quoteSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
