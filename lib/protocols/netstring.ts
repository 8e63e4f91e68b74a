/**
 * Netstrings (http://cr.yp.to/proto/netstrings.txt), as
 * twisted.protocols.basic.NetstringReceiver: `12:hello world!,` is the string "hello world!".
 */

import { TorsionError } from "../internet/error.js";
import { registerErrorClasses } from "../internet/thread-error.js";
import type { Bytes } from "../internet/interfaces.js";
import { Protocol } from "../internet/protocol.js";
import { asBuffer, EMPTY, mustBeBytes, retain } from "./pauseable.js";

/** The peer sent something that is not a netstring (Twisted's NetstringParseError). */
export class NetstringParseError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_NETSTRING_PARSE";
}

registerErrorClasses(NetstringParseError);

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

const MISSING_LENGTH = "The received netstring does not start with a length specification.";
const MISSING_COMMA = "The received netstring is not terminated by a comma.";
const tooLong = (max: number) =>
  `The received netstring is longer than the maximum ${max} specified by self.MAX_LENGTH`;

/**
 * Receives netstrings and calls stringReceived with each; sendString writes one.
 *
 * Anything that is not a netstring (no length, a leading zero, a length over MAX_LENGTH, a
 * missing comma) is a parse error: the connection is dropped and `brokenPeer` set, as in Twisted.
 */
export class NetstringReceiver extends Protocol {
  /** The longest string accepted. */
  MAX_LENGTH = 99999;
  /** True once the peer sent something that is not a netstring. */
  brokenPeer = false;

  private remaining: Buffer = EMPTY;
  private parsingPayload = false;
  /** Payload bytes still expected, counting the trailing comma. */
  private expected = 0;
  /** Payload chunks received in earlier calls (copies), when the payload spans calls. */
  private payloadChunks: Buffer[] = [];
  private payloadSize = 0;

  /** Send `string` as a netstring. */
  sendString(string: Bytes): void {
    mustBeBytes(string, "a string");
    this.transport!.write(Buffer.concat([Buffer.from(`${string.length}:`), string, Buffer.from(",")]));
  }

  /** Called with each complete string. Override it. */
  stringReceived(_string: Buffer): void {
    throw new Error(`${this.constructor.name}.stringReceived is not implemented`);
  }

  override dataReceived(data: Bytes): void {
    this.remaining = this.remaining.length ? Buffer.concat([this.remaining, data]) : asBuffer(data);
    try {
      while (this.remaining.length) {
        if (!this.parsingPayload && !this.consumeLength()) break;
        if (this.parsingPayload && !this.consumePayload()) break;
      }
    } catch (err) {
      if (!(err instanceof NetstringParseError)) throw err;
      this.handleParseError();
    }
    this.remaining = retain(this.remaining, data);
  }

  /** The most digits a length of at most MAX_LENGTH can need, as Twisted's _maxLengthSize. */
  private maxLengthSize(): number {
    return Math.ceil(Math.log10(this.MAX_LENGTH)) + 1;
  }

  /** Parse `<digits>:`; false when more data is needed. Throws NetstringParseError. */
  private consumeLength(): boolean {
    const data = this.remaining;
    let i = 0;
    while (i < data.length && data[i]! >= ZERO && data[i]! <= NINE) i++;
    // A length is "0" or digits not starting with 0.
    if (i === 0 || (data[0] === ZERO && i > 1)) throw new NetstringParseError(MISSING_LENGTH);
    if (i < data.length && data[i] !== COLON) throw new NetstringParseError(MISSING_LENGTH);
    if (i > this.maxLengthSize()) throw new NetstringParseError(tooLong(this.MAX_LENGTH));
    const length = Number(data.toString("latin1", 0, i));
    if (length > this.MAX_LENGTH) throw new NetstringParseError(tooLong(this.MAX_LENGTH));
    if (i === data.length) return false; // the colon has not arrived yet
    this.remaining = data.subarray(i + 1);
    this.expected = length + 1;
    this.parsingPayload = true;
    this.payloadChunks = [];
    this.payloadSize = 0;
    return true;
  }

  /** Take payload bytes; false when more data is needed. Throws NetstringParseError. */
  private consumePayload(): boolean {
    const data = this.remaining;
    const wanted = this.expected - this.payloadSize;
    if (data.length < wanted) {
      // The payload spans calls: keep a copy, the caller may reuse `data`.
      this.payloadChunks.push(Buffer.from(data));
      this.payloadSize += data.length;
      this.remaining = EMPTY;
      return false;
    }
    const tail = data.subarray(0, wanted);
    this.remaining = data.subarray(wanted);
    const payload = this.payloadChunks.length ? Buffer.concat([...this.payloadChunks, tail]) : tail;
    this.payloadChunks = [];
    this.payloadSize = 0;
    if (payload[payload.length - 1] !== COMMA) throw new NetstringParseError(MISSING_COMMA);
    this.parsingPayload = false;
    this.stringReceived(payload.subarray(0, payload.length - 1));
    return true;
  }

  private handleParseError(): void {
    this.transport?.loseConnection();
    this.brokenPeer = true;
  }
}
