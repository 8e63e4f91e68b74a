/**
 * HTTP header collections, as twisted.web.http_headers.Headers.
 *
 * Names are case-insensitive; each name maps to a list of raw values in the order they were
 * received or added. Names and values are JavaScript strings holding bytes one char per byte
 * (latin1), which is what HTTP/1.1 puts on the wire: a header read from the network round-trips
 * byte for byte, and comparing or slicing strings is much cheaper than doing it on Buffers.
 *
 * Buffers are accepted wherever a name or value is, and decoded as latin1. A string holding a
 * character above U+00FF is UTF-8 encoded first (as Twisted encodes `str` values), so
 * `setRawHeaders("x-name", ["café"])` sends the UTF-8 bytes of "café".
 *
 * Any CR or LF in a name or value set through this API is replaced by a space, so response
 * splitting through a header is impossible (Twisted's _sanitizeLinearWhitespace).
 */

/** Twisted's _canonicalHeaderName exceptions: names whose usual spelling is not Title-Case. */
const CANONICAL_EXCEPTIONS: Record<string, string> = {
  "content-md5": "Content-MD5",
  dnt: "DNT",
  etag: "ETag",
  p3p: "P3P",
  te: "TE",
  "www-authenticate": "WWW-Authenticate",
  "x-xss-protection": "X-XSS-Protection",
};

/** Canonical spellings already computed; bounded so hostile names cannot grow it forever. */
const canonicalCache = new Map<string, string>();
const CANONICAL_CACHE_LIMIT = 2048;

/** The usual spelling of a lower-case header name: "content-type" -> "Content-Type". */
export function canonicalHeaderName(lowerName: string): string {
  let name = canonicalCache.get(lowerName);
  if (name !== undefined) return name;
  // Own properties only: a header may be named "__proto__" or "constructor".
  name = Object.hasOwn(CANONICAL_EXCEPTIONS, lowerName) ? CANONICAL_EXCEPTIONS[lowerName] : undefined;
  if (name === undefined) {
    let out = "";
    let upper = true;
    for (let i = 0; i < lowerName.length; i++) {
      const c = lowerName[i];
      out += upper ? c.toUpperCase() : c;
      upper = c === "-";
    }
    name = out;
  }
  if (canonicalCache.size < CANONICAL_CACHE_LIMIT) canonicalCache.set(lowerName, name);
  return name;
}

const NEEDS_WORK = /[\r\n\u0100-\uffff]/;

/** A header name or value as torsion stores it: a latin1 string without CR or LF. */
export function headerString(value: string | Uint8Array): string {
  if (typeof value !== "string") {
    if (!(value instanceof Uint8Array)) throw new TypeError(`header names and values must be strings or bytes, not ${typeof value}`);
    value = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
  }
  if (!NEEDS_WORK.test(value)) return value;
  // Characters above U+00FF: send their UTF-8 bytes. Then no CR/LF may survive.
  // eslint-disable-next-line no-control-regex
  if (/[\u0100-\uffff]/.test(value)) value = Buffer.from(value, "utf8").toString("latin1");
  return value.replace(/\r\n|\r|\n/g, " ");
}

export type HeaderInput = string | Uint8Array;

/**
 * A collection of HTTP headers. Iterating it (or getAllRawHeaders()) yields
 * `[canonicalName, values]` pairs in insertion order.
 */
export class Headers implements Iterable<[string, string[]]> {
  /** Lower-case name -> values. */
  private readonly raw = new Map<string, string[]>();

  constructor(rawHeaders?: Record<string, HeaderInput[]> | Iterable<[HeaderInput, HeaderInput[]]>) {
    if (rawHeaders) {
      const entries = Symbol.iterator in rawHeaders ? rawHeaders : Object.entries(rawHeaders);
      for (const [name, values] of entries as Iterable<[HeaderInput, HeaderInput[]]>) this.setRawHeaders(name, values);
    }
  }

  /** True if a header with this name is present. */
  hasHeader(name: HeaderInput): boolean {
    return this.raw.has(lowerName(name));
  }

  /** Remove every value of this header; no error if it is absent. */
  removeHeader(name: HeaderInput): void {
    this.raw.delete(lowerName(name));
  }

  /** Replace every value of this header with `values` (a copy is kept). */
  setRawHeaders(name: HeaderInput, values: readonly HeaderInput[]): void {
    if (!Array.isArray(values)) throw new TypeError("setRawHeaders expects an array of values");
    const key = lowerName(name);
    const copy = new Array<string>(values.length);
    for (let i = 0; i < values.length; i++) copy[i] = headerString(values[i]);
    this.raw.set(key, copy);
  }

  /** Add one value to this header, after those already present. */
  addRawHeader(name: HeaderInput, value: HeaderInput): void {
    const key = lowerName(name);
    const v = headerString(value);
    const values = this.raw.get(key);
    if (values === undefined) this.raw.set(key, [v]);
    else values.push(v);
  }

  /**
   * Every value of this header, in order, or `defaultValue` (undefined unless given) if it is
   * absent. The array returned is the stored one: mutate it only if you mean to.
   */
  getRawHeaders(name: HeaderInput): string[] | undefined;
  getRawHeaders<D>(name: HeaderInput, defaultValue: D): string[] | D;
  getRawHeaders<D>(name: HeaderInput, defaultValue?: D): string[] | D | undefined {
    const values = this.raw.get(lowerName(name));
    return values === undefined ? defaultValue : values;
  }

  /** The last value of this header, or undefined (what Request.getHeader returns). */
  getLast(name: HeaderInput): string | undefined {
    const values = this.raw.get(lowerName(name));
    return values === undefined ? undefined : values[values.length - 1];
  }

  /** Lower-case name -> last value, for every header (what Request.getAllHeaders returns). */
  getAllLast(): Record<string, string> {
    const all: Record<string, string> = Object.create(null);
    for (const [key, values] of this.raw) all[key] = values[values.length - 1];
    return all;
  }

  /** `[canonicalName, values]` for every header, in insertion order. */
  *getAllRawHeaders(): IterableIterator<[string, string[]]> {
    for (const [key, values] of this.raw) yield [canonicalHeaderName(key), values];
  }

  [Symbol.iterator](): IterableIterator<[string, string[]]> {
    return this.getAllRawHeaders();
  }

  /** How many distinct header names are present. */
  get size(): number {
    return this.raw.size;
  }

  /** A deep copy. */
  copy(): Headers {
    const h = new Headers();
    for (const [key, values] of this.raw) h.raw.set(key, values.slice());
    return h;
  }

  /**
   * For the parser: add a value already validated (no CR/LF/NUL) under a lower-case name.
   * Skips the sanitising the public methods do.
   */
  _addParsed(lowerCaseName: string, value: string): void {
    const values = this.raw.get(lowerCaseName);
    if (values === undefined) this.raw.set(lowerCaseName, [value]);
    else values.push(value);
  }

  /**
   * For the response writer: append `Name: value\r\n` for every value to `head`, with the
   * canonical spelling of each name, and return the result.
   */
  _serialize(head: string): string {
    for (const [key, values] of this.raw) {
      const name = canonicalHeaderName(key);
      for (let i = 0; i < values.length; i++) head += name + ": " + values[i] + "\r\n";
    }
    return head;
  }

  toString(): string {
    const parts: string[] = [];
    for (const [name, values] of this.getAllRawHeaders()) parts.push(`${name}: ${JSON.stringify(values)}`);
    return `Headers({${parts.join(", ")}})`;
  }
}

function lowerName(name: HeaderInput): string {
  return headerString(name).toLowerCase();
}
