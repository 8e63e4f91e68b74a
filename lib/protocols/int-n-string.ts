/**
 * Length-prefixed strings, as twisted.protocols.basic.IntNStringReceiver and its Int32, Int16
 * and Int8 forms: each string is sent as its length, an unsigned big-endian (network order)
 * integer of `prefixLength` bytes, followed by the string itself.
 */

import { TorsionError } from "../internet/error.js";
import { registerErrorClasses } from "../internet/thread-error.js";
import type { Bytes } from "../internet/interfaces.js";
import { asBuffer, EMPTY, mustBeBytes, PauseableProtocol, retain } from "./pauseable.js";

/** sendString() was given a string too long for the length prefix (Twisted's StringTooLongError). */
export class StringTooLongError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_STRING_TOO_LONG";
}

registerErrorClasses(StringTooLongError);

/**
 * The base of the length-prefixed receivers. Subclasses set `prefixLength` (1 to 6 bytes);
 * override readPrefix/writePrefix for another encoding of the length.
 *
 * `recvd` holds, during stringReceived and lengthLimitExceeded, the data received and not yet
 * parsed; stringReceived may assign it to change what is parsed next (Twisted's recvd).
 */
export abstract class IntNStringReceiver extends PauseableProtocol {
  abstract readonly prefixLength: number;
  /** The longest string accepted; a longer length prefix calls lengthLimitExceeded. */
  MAX_LENGTH = 99999;
  private unprocessed: Buffer = EMPTY;
  private compatibilityOffset = 0;
  private recvdOverride: Buffer | null = null;

  get recvd(): Buffer {
    return this.unprocessed.subarray(this.compatibilityOffset);
  }

  set recvd(data: Bytes) {
    this.recvdOverride = asBuffer(data);
  }

  /** The length encoded at `offset` of `data`. */
  protected readPrefix(data: Buffer, offset: number): number {
    return data.readUIntBE(offset, this.prefixLength);
  }

  /** The encoded length prefix of a string of `length` bytes. */
  protected writePrefix(length: number): Buffer {
    const prefix = Buffer.allocUnsafe(this.prefixLength);
    prefix.writeUIntBE(length, 0, this.prefixLength);
    return prefix;
  }

  /** Called with each complete string. Override it. */
  stringReceived(_string: Buffer): void {
    throw new Error(`${this.constructor.name}.stringReceived is not implemented`);
  }

  /** Called with a length prefix larger than MAX_LENGTH. Drops the connection by default. */
  lengthLimitExceeded(_length: number): void {
    this.transport?.loseConnection();
  }

  override dataReceived(data: Bytes): void {
    let alldata = this.unprocessed.length ? Buffer.concat([this.unprocessed, data]) : asBuffer(data);
    let currentOffset = 0;
    const prefixLength = this.prefixLength;
    this.unprocessed = alldata;
    while (alldata.length >= currentOffset + prefixLength && !this.paused) {
      const messageStart = currentOffset + prefixLength;
      const length = this.readPrefix(alldata, currentOffset);
      if (length > this.MAX_LENGTH) {
        // Keep only what was not delivered: Twisted keeps all of alldata here, so a
        // lengthLimitExceeded that does not close the connection got the strings before
        // the long prefix delivered again by the next dataReceived.
        this.unprocessed = alldata.subarray(currentOffset);
        this.compatibilityOffset = 0;
        this.lengthLimitExceeded(length);
        this.unprocessed = retain(this.unprocessed, data);
        return;
      }
      const messageEnd = messageStart + length;
      if (alldata.length < messageEnd) break;
      const packet = alldata.subarray(messageStart, messageEnd);
      currentOffset = messageEnd;
      this.compatibilityOffset = currentOffset;
      this.recvdOverride = null;
      this.stringReceived(packet);
      if (this.recvdOverride !== null) {
        // stringReceived assigned recvd: parse that instead of what was left.
        alldata = this.recvdOverride;
        this.recvdOverride = null;
        this.unprocessed = alldata;
        this.compatibilityOffset = currentOffset = 0;
        if (alldata.length) continue;
        return;
      }
    }
    this.unprocessed = retain(alldata.subarray(currentOffset), data);
    this.compatibilityOffset = 0;
  }

  /** Send `string` with its length prefix, in one write. */
  sendString(string: Bytes): void {
    mustBeBytes(string, "a string");
    if (string.length >= 2 ** (8 * this.prefixLength)) {
      throw new StringTooLongError(
        `Try to send ${string.length} bytes whereas maximum is ${2 ** (8 * this.prefixLength)}`,
      );
    }
    this.transport!.write(Buffer.concat([this.writePrefix(string.length), string]));
  }
}

/** Strings prefixed by a 32-bit length. */
export class Int32StringReceiver extends IntNStringReceiver {
  readonly prefixLength = 4;
}

/** Strings prefixed by a 16-bit length. */
export class Int16StringReceiver extends IntNStringReceiver {
  readonly prefixLength = 2;
}

/** Strings prefixed by an 8-bit length. */
export class Int8StringReceiver extends IntNStringReceiver {
  readonly prefixLength = 1;
}
