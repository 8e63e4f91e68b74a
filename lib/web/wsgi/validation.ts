/**
 * The checks the worker side makes on what an application gives it (Twisted's
 * _WSGIResponse.startResponse and write, PEP 3333), with messages that name the value and say
 * what to do instead.
 */

import type { WSGIHeader } from "./application.js";

/** A short description of a value for an error message. */
export function repr(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "..." : value);
  if (value instanceof Uint8Array) return `<${value.constructor.name} of ${value.length} bytes>`;
  if (Array.isArray(value)) return `[${value.map(repr).join(", ")}]`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") {
    const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
    return `<${typeof tag === "string" ? tag : (value.constructor?.name ?? "Object")}>`;
  }
  return String(value);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return value.constructor.name;
  if (Array.isArray(value)) return "Array";
  if (typeof value === "object") return value.constructor?.name ?? "Object";
  return typeof value;
}

/** The TypeError for something that should have been bytes. */
export function notBytes(value: unknown, what: string): TypeError {
  if (typeof value === "string") {
    return new TypeError(
      `${what} must be bytes (a Uint8Array or Buffer), not a string: encode it, e.g. with new TextEncoder().encode(text) or Buffer.from(text)`,
    );
  }
  return new TypeError(`${what} must be bytes (a Uint8Array or Buffer), not ${repr(value)} (${typeName(value)})`);
}

const STATUS = /^[1-9][0-9]{2} [^\r\n\0]*$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\r\n\0]|[^\u0000-\u00ff]/;

/** start_response's status: three digits, a space, a reason. */
export function checkStatus(status: unknown): string {
  if (typeof status !== "string") throw new TypeError(`status must be a string like "200 OK", not ${repr(status)} (${typeName(status)})`);
  if (!STATUS.test(status)) throw new TypeError(`status must be a string like "200 OK" (three digits, a space, a reason), not ${repr(status)}`);
  return status;
}

/** start_response's headers: [name, value] pairs of strings, tokens for names, latin1 values without CR, LF or NUL. */
export function checkHeaders(headers: unknown): WSGIHeader[] {
  if (!Array.isArray(headers)) {
    throw new TypeError(`headers must be an array of [name, value] pairs, not ${repr(headers)} (${typeName(headers)})`);
  }
  const out: WSGIHeader[] = new Array(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const header: unknown = headers[i];
    if (!Array.isArray(header) || header.length !== 2) {
      throw new TypeError(`header must be a [name, value] pair of strings, not ${repr(header)}`);
    }
    const [name, value] = header as unknown[];
    if (typeof name !== "string" || typeof value !== "string") {
      throw new TypeError(`header must be a [name, value] pair of strings, not ${repr(header)}`);
    }
    if (!TOKEN.test(name)) throw new TypeError(`header name ${repr(name)} is not a valid HTTP token`);
    if (BAD_VALUE.test(value)) {
      throw new TypeError(`header value ${repr(value)} of ${name} holds CR, LF, NUL or characters above U+00FF (PEP 3333: latin1 only)`);
    }
    out[i] = [name, value];
  }
  return out;
}

/** What the application returned must be an iterable (or async iterable) of chunks. */
export function checkBody(body: unknown): void {
  if (typeof body === "string") {
    throw new TypeError("the application returned a string: return an iterable of byte chunks instead, e.g. [new TextEncoder().encode(text)]");
  }
  if (body === null || typeof body !== "object" || (!(Symbol.iterator in body) && !(Symbol.asyncIterator in body))) {
    throw new TypeError(`the application must return an iterable of byte chunks (Uint8Array), not ${repr(body)} (${typeName(body)})`);
  }
}
