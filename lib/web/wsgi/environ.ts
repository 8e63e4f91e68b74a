/**
 * The WSGI environ of a request, as twisted.web.wsgi._WSGIResponse builds it (PEP 3333 and the
 * CGI variables of RFC 3875), in the form that crosses to the worker: its strings, joined
 * (wire.ts). The worker adds wsgi.version, the other wsgi.* constants, wsgi.input, wsgi.errors
 * and torsion.disconnected (run.ts).
 *
 * Strings are PEP 3333's "native strings": one char per byte (latin1), as bytes on the wire.
 * SCRIPT_NAME and PATH_INFO are the resource's position in the tree (request.prepath) and what
 * is below it (request.postpath), not URL-encoded (RFC 3875 4.1.13 says so, ambiguous as that
 * is). Their bytes are the request path's own, percent-decoded: an application gets UTF-8 text
 * back with Buffer.from(environ.PATH_INFO, "latin1").toString("utf8").
 */

import type { IRequest } from "../iweb.js";
import { EnvironEncoder, type WireEnviron } from "./wire.js";

const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;
const PERCENT = /%([0-9A-Fa-f]{2})/g;

/** "HTTP_" names by canonical header name: a handful of names cover nearly every request. */
const httpKeys = new Map<string, string>();

function httpKey(name: string): string {
  let key = httpKeys.get(name);
  if (key === undefined) {
    key = "HTTP_" + name.toUpperCase().replace(/-/g, "_");
    if (httpKeys.size < 512) httpKeys.set(name, key);
  }
  return key;
}

function percentDecode(segment: string): string {
  return segment.indexOf("%") === -1 ? segment : segment.replace(PERCENT, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A decoded segment (UTF-8 text) back to its bytes as a latin1 string. */
function nativeSegment(segment: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(segment) ? segment : Buffer.from(segment, "utf8").toString("latin1");
}

/**
 * The request path's segments, percent-decoded to bytes (latin1), when they still line up
 * with prepath + postpath; else those, re-encoded (something rewrote them during traversal).
 */
function segments(request: IRequest): string[] {
  const count = request.prepath.length + request.postpath.length;
  let path = request.path;
  const m = ABSOLUTE_FORM.exec(path);
  if (m !== null) path = path.slice(m[0].length) || "/";
  if (path.startsWith("/")) {
    const raw = path.slice(1).split("/");
    if (raw.length === count) {
      for (let i = 0; i < raw.length; i++) raw[i] = percentDecode(raw[i]);
      return raw;
    }
  }
  const out: string[] = [];
  for (const s of request.prepath) out.push(nativeSegment(s));
  for (const s of request.postpath) out.push(nativeSegment(s));
  return out;
}

/** The environ's strings for `request`; wsgi.url_scheme travels with the task's head. */
export function buildEnviron(request: IRequest): WireEnviron {
  const all = segments(request);
  const pre = request.prepath.length;
  const scriptName = pre === 0 ? "" : "/" + (pre === all.length ? all.join("/") : all.slice(0, pre).join("/"));
  const pathInfo = pre === all.length ? "" : "/" + (pre === 0 ? all.join("/") : all.slice(pre).join("/"));
  const uri = request.uri;
  const q = uri.indexOf("?");
  const host = request.getHost();
  const client = request.getClientAddress();
  const environ = new EnvironEncoder();
  environ.add("REQUEST_METHOD", request.method);
  environ.add("REMOTE_ADDR", client !== null && client.type === "TCP" ? client.host : "");
  environ.add("SCRIPT_NAME", scriptName);
  environ.add("PATH_INFO", pathInfo);
  environ.add("QUERY_STRING", q === -1 ? "" : uri.slice(q + 1));
  environ.add("CONTENT_TYPE", request.getHeader("content-type") ?? "");
  environ.add("CONTENT_LENGTH", request.getHeader("content-length") ?? "");
  environ.add("SERVER_NAME", request.getRequestHostname());
  environ.add("SERVER_PORT", host !== null && host.type === "TCP" ? String(host.port) : "");
  environ.add("SERVER_PROTOCOL", request.clientproto);
  for (const [name, values] of request.requestHeaders.getAllRawHeaders()) {
    const value = values.length === 1 ? values[0] : values.join(",");
    // As Twisted: a header value never carries a newline into the environ.
    environ.add(httpKey(name), value.indexOf("\n") === -1 ? value : value.replace(/\n/g, " "));
  }
  return environ.done();
}
