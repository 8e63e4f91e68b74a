/**
 * permessage-deflate (RFC 7692): the negotiation of its parameters in Sec-WebSocket-Extensions,
 * and the inflater and deflater of one connection on node:zlib.
 *
 * Inflation is bounded: output is counted as zlib produces it and the message fails (1009)
 * once it passes the limit, so a small frame that inflates to gigabytes (a zip bomb) costs
 * at most the limit. The inflater always uses a 15-bit window, which reads any window the
 * peer may use; the deflater uses what was agreed. A window of 8 bits is never agreed for
 * our own deflater: zlib silently raises raw deflate's 8 to 9, which a peer holding us to 8
 * could not read.
 */

import * as zlib from "node:zlib";
import type { MessageInflater } from "./receiver.js";

export const EXTENSION_NAME = "permessage-deflate";

/** RFC 7692 §7.2.1: the four bytes that end every flushed message, removed on the wire. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** One extension of a Sec-WebSocket-Extensions header: its name and parameters (value true when bare). */
export interface ExtensionOffer {
  name: string;
  params: Map<string, string | true>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parse Sec-WebSocket-Extensions (RFC 6455 §9.1): `ext; param; param=value, ext2`. Returns
 * null when the header is malformed (a peer offering that gets no extension, as RFC 6455
 * §9.1 lets a server decline).
 */
export function parseExtensions(header: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  for (const item of splitOutsideQuotes(header, ",")) {
    const parts = splitOutsideQuotes(item, ";").map((p) => p.trim());
    const name = parts[0]!;
    if (!TOKEN.test(name)) return null;
    const params = new Map<string, string | true>();
    for (const p of parts.slice(1)) {
      const eq = p.indexOf("=");
      const key = (eq < 0 ? p : p.slice(0, eq)).trim();
      if (!TOKEN.test(key)) return null;
      let value: string | true = true;
      if (eq >= 0) {
        let v = p.slice(eq + 1).trim();
        if (v.startsWith('"')) {
          if (v.length < 2 || !v.endsWith('"')) return null;
          v = v.slice(1, -1).replace(/\\(.)/g, "$1");
        }
        if (!TOKEN.test(v)) return null;
        value = v;
      }
      if (params.has(key)) return null;
      params.set(key, value);
    }
    out.push({ name, params });
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' && s[i - 1] !== "\\") quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

/** What one side is willing to agree to. */
export interface DeflateOptions {
  /** Compress messages of at least this many bytes (default 1024); smaller ones go as they are. */
  threshold?: number;
  /** zlib level for our deflater (default 1: fast; most of the win at a fraction of the cost). */
  level?: number;
  /** Ask (client) or insist (server) that the server reset its compressor after each message. */
  serverNoContextTakeover?: boolean;
  /** Ask (client) or insist (server) that the client reset its compressor after each message. */
  clientNoContextTakeover?: boolean;
  /** Largest window the server may compress with (9-15). */
  serverMaxWindowBits?: number;
  /** Largest window the client may compress with (9-15). */
  clientMaxWindowBits?: number;
}

/** The parameters agreed for one connection. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

function windowBits(value: string | true | undefined, bare: number | null): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === true) return bare;
  if (!/^\d{1,2}$/.test(value)) return null;
  const n = Number(value);
  return n >= 8 && n <= 15 ? n : null;
}

/**
 * The server's side: pick the first acceptable permessage-deflate offer and answer it. Returns
 * the agreed parameters and the response header's value, or null to decline (an offer with an
 * unknown or invalid parameter is skipped, as RFC 7692 §5 says).
 */
export function acceptOffer(offers: ExtensionOffer[], options: DeflateOptions = {}): { params: DeflateParams; response: string } | null {
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    let ok = true;
    for (const key of offer.params.keys()) {
      if (!["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"].includes(key)) ok = false;
    }
    const p = offer.params;
    if (p.get("server_no_context_takeover") !== undefined && p.get("server_no_context_takeover") !== true) ok = false;
    if (p.get("client_no_context_takeover") !== undefined && p.get("client_no_context_takeover") !== true) ok = false;
    const serverBits = windowBits(p.get("server_max_window_bits"), null);
    const clientBits = windowBits(p.get("client_max_window_bits"), 15);
    if (!ok || serverBits === null || clientBits === null) continue;
    // We never deflate with 8 bits (see the module comment): decline an offer demanding it.
    if (serverBits === 8) continue;
    let server = Math.min(serverBits ?? 15, options.serverMaxWindowBits ?? 15);
    server = Math.max(server, 9);
    const params: DeflateParams = {
      serverNoContextTakeover: p.has("server_no_context_takeover") || options.serverNoContextTakeover === true,
      clientNoContextTakeover: p.has("client_no_context_takeover") || options.clientNoContextTakeover === true,
      serverMaxWindowBits: server,
      // The client may say how far it can go only if it sent client_max_window_bits.
      clientMaxWindowBits: clientBits === undefined ? 15 : Math.min(clientBits, options.clientMaxWindowBits ?? 15),
    };
    const parts = [EXTENSION_NAME];
    if (params.serverNoContextTakeover) parts.push("server_no_context_takeover");
    if (params.clientNoContextTakeover) parts.push("client_no_context_takeover");
    if (serverBits !== undefined || server < 15) parts.push(`server_max_window_bits=${server}`);
    if (clientBits !== undefined && params.clientMaxWindowBits < 15) parts.push(`client_max_window_bits=${params.clientMaxWindowBits}`);
    return { params, response: parts.join("; ") };
  }
  return null;
}

/** The client's offer header value for `options`. */
export function clientOffer(options: DeflateOptions = {}): string {
  const parts = [EXTENSION_NAME];
  if (options.serverNoContextTakeover) parts.push("server_no_context_takeover");
  if (options.clientNoContextTakeover) parts.push("client_no_context_takeover");
  if (options.serverMaxWindowBits !== undefined) parts.push(`server_max_window_bits=${options.serverMaxWindowBits}`);
  parts.push(options.clientMaxWindowBits !== undefined ? `client_max_window_bits=${options.clientMaxWindowBits}` : "client_max_window_bits");
  return parts.join("; ");
}

/**
 * The client's side: check the server's answer against what was offered. Returns the agreed
 * parameters, or a string saying why the answer is unacceptable (the client then fails the
 * connection, RFC 7692 §5).
 */
export function acceptResponse(offers: ExtensionOffer[], options: DeflateOptions = {}): DeflateParams | string {
  if (offers.length !== 1 || offers[0]!.name !== EXTENSION_NAME) return "the server answered with an extension that was not offered";
  const p = offers[0]!.params;
  for (const key of p.keys()) {
    if (!["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"].includes(key)) {
      return `the server answered with an unknown parameter ${key}`;
    }
  }
  const serverBits = windowBits(p.get("server_max_window_bits"), null);
  const clientBits = windowBits(p.get("client_max_window_bits"), null);
  if (serverBits === null || clientBits === null) return "the server answered with an invalid window size";
  if (options.serverMaxWindowBits !== undefined && (serverBits ?? 15) > options.serverMaxWindowBits) return "the server's window is larger than offered";
  if (clientBits === 8) return "a client window of 8 bits cannot be honoured by zlib";
  return {
    serverNoContextTakeover: p.has("server_no_context_takeover"),
    clientNoContextTakeover: p.has("client_no_context_takeover"),
    serverMaxWindowBits: serverBits ?? 15,
    clientMaxWindowBits: clientBits ?? options.clientMaxWindowBits ?? 15,
  };
}

/**
 * The compressor and decompressor of one connection. `isServer` picks which of the agreed
 * parameters apply to which direction.
 */
export class PerMessageDeflate implements MessageInflater {
  readonly threshold: number;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  private readonly inflateReset: boolean;
  private readonly deflateReset: boolean;
  private readonly deflateBits: number;
  private readonly level: number;
  private closed = false;

  constructor(
    readonly params: DeflateParams,
    isServer: boolean,
    options: DeflateOptions = {},
  ) {
    this.threshold = options.threshold ?? 1024;
    this.level = options.level ?? 1;
    this.inflateReset = isServer ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.deflateReset = isServer ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.deflateBits = isServer ? params.serverMaxWindowBits : params.clientMaxWindowBits;
  }

  inflate(payload: Buffer, fin: boolean, limit: number, callback: (error: Error | null, data: Buffer | null) => void): void {
    if (this.closed) return;
    const inflater = (this.inflater ??= zlib.createInflateRaw({ windowBits: 15 }));
    const out: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | null): void => {
      if (done) return;
      done = true;
      inflater.removeListener("data", onData);
      inflater.removeListener("error", onError);
      if (this.closed) return;
      if (error !== null) {
        // A failed message ends the connection: drop the inflater (and the bomb it holds).
        inflater.close();
        this.inflater = null;
        callback(error, null);
        return;
      }
      if (fin && this.inflateReset) {
        inflater.close();
        this.inflater = null;
      }
      callback(null, out.length === 1 ? out[0]! : Buffer.concat(out, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(new RangeError("inflated message over the limit"));
      else out.push(chunk);
    };
    const onError = (err: Error): void => finish(err);
    inflater.on("data", onData);
    inflater.on("error", onError);
    inflater.write(payload);
    if (fin) inflater.write(TRAILER);
    inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => finish(null));
  }

  /** Compress one whole message; calls back with the payload to send (trailer removed). */
  deflate(data: Uint8Array, callback: (error: Error | null, data: Buffer | null) => void): void {
    if (this.closed) return;
    const deflater = (this.deflater ??= zlib.createDeflateRaw({ windowBits: this.deflateBits, level: this.level }));
    const out: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      out.push(chunk);
      size += chunk.length;
    };
    deflater.on("data", onData);
    deflater.write(data);
    deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      deflater.removeListener("data", onData);
      if (this.closed) return;
      let body = out.length === 1 ? out[0]! : Buffer.concat(out, size);
      // RFC 7692 §7.2.1: remove the 0x00 0x00 0xff 0xff that the sync flush ends with.
      if (body.length >= 4 && body.subarray(body.length - 4).equals(TRAILER)) body = body.subarray(0, body.length - 4);
      if (this.deflateReset) {
        this.deflater?.close();
        this.deflater = null;
      }
      callback(null, body);
    });
  }

  /** Free zlib's memory; nothing is called back after this. */
  close(): void {
    this.closed = true;
    this.inflater?.close();
    this.deflater?.close();
    this.inflater = this.deflater = null;
  }
}
