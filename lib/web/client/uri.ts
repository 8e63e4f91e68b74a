/**
 * URI, as twisted.web.client.URI: the parts of an absolute http(s) URI the agent needs, split
 * without normalising (the request-target goes out as written).
 */

import { SchemeNotSupported } from "./errors.js";

const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/s;
const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

export class URI {
  constructor(
    readonly scheme: string,
    /** host[:port] as written (without any userinfo). */
    readonly netloc: string,
    /** The host: a name, an IPv4 address, or an IPv6 address without brackets. */
    readonly host: string,
    readonly port: number,
    readonly path: string,
    /** The query, without its "?" ("" for none). */
    readonly query: string,
    readonly fragment: string,
  ) {}

  /**
   * Split an absolute URI. Throws SchemeNotSupported for a URI that is not absolute or names
   * no host, and RangeError for a port that is not 0-65535.
   */
  static fromString(uri: string, defaultPort?: number): URI {
    if (typeof uri !== "string") throw new TypeError(`A URI must be a string, not ${typeof uri}`);
    const m = ABSOLUTE.exec(uri.trim());
    if (m === null) throw new SchemeNotSupported(`Unsupported URI (not absolute: scheme://host/path): ${JSON.stringify(uri)}`);
    const scheme = m[1].toLowerCase();
    let netloc = m[2];
    const at = netloc.lastIndexOf("@");
    if (at >= 0) netloc = netloc.slice(at + 1);
    let host = netloc;
    let port = defaultPort ?? DEFAULT_PORTS[scheme] ?? 80;
    const portMatch = /^(.*):(\d*)$/s.exec(netloc);
    if (portMatch !== null && (!netloc.startsWith("[") || portMatch[1].endsWith("]"))) {
      host = portMatch[1];
      if (portMatch[2] !== "") {
        port = Number(portMatch[2]);
        if (!(port >= 0 && port <= 65535)) throw new RangeError(`Invalid port ${portMatch[2]} in ${JSON.stringify(uri)}`);
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    if (host === "") throw new SchemeNotSupported(`The URI ${JSON.stringify(uri)} names no host`);
    return new URI(scheme, netloc, host, port, m[3] || "/", m[4] ? m[4].slice(1) : "", m[5] ? m[5].slice(1) : "");
  }

  /** The request-target in origin form: path and query ("/" at least), as Twisted's originForm. */
  get originForm(): string {
    return this.query !== "" ? `${this.path}?${this.query}` : this.path;
  }

  /** The URI again (without userinfo or fragment). */
  toString(): string {
    return `${this.scheme}://${this.netloc}${this.originForm}`;
  }

  /** The Host header value: the host, and the port unless it is the scheme's default (Twisted's _computeHostValue). */
  get hostValue(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return this.port === DEFAULT_PORTS[this.scheme] ? host : `${host}:${this.port}`;
  }
}
