/**
 * The WebSocket wire format (RFC 6455 §5): opcodes, close codes, and the encoding of one frame.
 * The parser of frames is receiver.ts; what a message becomes on the way out is sender.ts.
 */

import { randomFillSync } from "node:crypto";

/** The opcodes of RFC 6455 §5.2 (11.8). */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** The close codes of RFC 6455 §7.4.1 that torsion sends or names. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  /** Reserved: never on the wire; "closed with no status code". */
  noStatus: 1005,
  /** Reserved: never on the wire; "closed without a close frame". */
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  mandatoryExtension: 1010,
  internalError: 1011,
} as const;

/**
 * Whether `code` may appear in a close frame (RFC 6455 §7.4: 1000-1003, 1007-1011 defined,
 * 1012-1014 registered since with IANA, 3000-4999 for libraries and applications; 1004-1006
 * and 1015 are reserved and never sent).
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
  );
}

/** The GUID of RFC 6455 §1.3 that turns a Sec-WebSocket-Key into its Accept. */
export const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Control frames carry at most 125 bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Flip `data` in place with the 4-byte `mask` (RFC 6455 §5.3), starting at mask offset `offset`. */
export function applyMask(data: Uint8Array, mask: Uint8Array, offset = 0): void {
  const n = data.length;
  let i = 0;
  // Word at a time where alignment allows: masking a megabyte byte by byte is measurable.
  if (offset === 0 && n >= 8 && data.byteOffset % 4 === 0) {
    const words = new Uint32Array(data.buffer, data.byteOffset, n >>> 2);
    const m = new Uint32Array(new Uint8Array(mask).buffer)[0]!;
    for (let w = 0; w < words.length; w++) words[w]! ^= m;
    i = words.length << 2;
  }
  for (; i < n; i++) data[i]! ^= mask[(i + offset) & 3]!;
}

/** What encodeFrame needs besides the opcode and payload. */
export interface FrameOptions {
  /** The last frame of its message (default true). */
  fin?: boolean;
  /** RSV1: the message is compressed (permessage-deflate, first frame only). */
  rsv1?: boolean;
  /** Mask the payload: every frame a client sends is masked, no frame a server sends is (§5.1). */
  mask?: boolean;
}

/**
 * The bytes of one frame: its head, and the payload (masked in a copy when `mask`, so the
 * caller's bytes are never changed). Returned as two buffers so a large payload is not copied
 * when unmasked: write them with writeSequence.
 */
export function encodeFrame(opcode: Opcode, payload: Uint8Array, options: FrameOptions = {}): [Buffer, Buffer] {
  const length = payload.length;
  const mask = options.mask === true;
  const extra = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const head = Buffer.allocUnsafe(2 + extra + (mask ? 4 : 0));
  head[0] = (options.fin === false ? 0 : 0x80) | (options.rsv1 ? 0x40 : 0) | opcode;
  if (extra === 0) head[1] = length;
  else if (extra === 2) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    head.writeUInt32BE(length >>> 0, 6);
  }
  let body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (mask) {
    head[1]! |= 0x80;
    const key = head.subarray(2 + extra);
    randomFillSync(key);
    body = Buffer.from(body);
    applyMask(body, key);
  }
  return [head, body];
}

/**
 * A whole unmasked text frame in one buffer, for the hot case of a server's short message
 * (one allocation, one write), or null when `text` needs the general path (126 bytes or more
 * of UTF-8: a longer length field).
 */
export function shortTextFrame(text: string): Buffer | null {
  if (text.length >= 126) return null;
  const n = Buffer.byteLength(text, "utf8");
  if (n >= 126) return null;
  const out = Buffer.allocUnsafe(2 + n);
  out[0] = 0x80 | Opcode.text;
  out[1] = n;
  out.write(text, 2, "utf8");
  return out;
}

/** The payload of a close frame: the code and a UTF-8 reason of at most 123 bytes. */
export function closePayload(code: number | null, reason = ""): Buffer {
  if (code === null) return Buffer.alloc(0);
  const text = Buffer.from(reason, "utf8");
  if (text.length > MAX_CONTROL_PAYLOAD - 2) {
    throw new RangeError(`a close reason must be at most 123 bytes of UTF-8, not ${text.length}`);
  }
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}
