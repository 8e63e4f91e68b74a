/**
 * The opening handshake of RFC 6455 §4, both sides: the key and its accept value, and the
 * header checks each side must make. resource.ts (the server) and client.ts use it.
 */

import { createHash, randomBytes } from "node:crypto";
import { HANDSHAKE_GUID } from "./frames.js";

/** The only version of the protocol (RFC 6455 §4.1); a request for another is answered 426. */
export const WEBSOCKET_VERSION = "13";

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2, step 5.4). */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + HANDSHAKE_GUID).digest("base64");
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (§4.1). */
export function newKey(): string {
  return randomBytes(16).toString("base64");
}

/** Whether `key` is a valid Sec-WebSocket-Key: base64 of exactly 16 bytes. */
export function isValidKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/** The comma-separated tokens of a header's values, lower-cased (Connection, Upgrade). */
export function headerTokens(values: readonly string[] | null | undefined): string[] {
  if (!values) return [];
  const out: string[] = [];
  for (const v of values) for (const t of v.split(",")) if (t.trim()) out.push(t.trim().toLowerCase());
  return out;
}

/** The subprotocols a Sec-WebSocket-Protocol header lists, in order, as sent (they are case-sensitive). */
export function subprotocolList(values: readonly string[] | null | undefined): string[] {
  if (!values) return [];
  const out: string[] = [];
  for (const v of values) for (const t of v.split(",")) if (t.trim()) out.push(t.trim());
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `name` may be a subprotocol (an HTTP token, RFC 6455 §4.1). */
export function isValidSubprotocol(name: string): boolean {
  return TOKEN.test(name);
}
