/**
 * Basic reusable protocols, as twisted.protocols.basic: line-oriented (LineReceiver,
 * LineOnlyReceiver), length-prefixed (Int32/Int16/Int8StringReceiver), netstrings, and the
 * FileSender producer. Lines and strings are Buffers; the delimiter is not part of a line.
 */

import type { Bytes } from "../internet/interfaces.js";
import { asBuffer, EMPTY, mustBeBytes, PauseableProtocol, retain } from "./pauseable.js";
import { Protocol } from "../internet/protocol.js";

export { PauseableProtocol } from "./pauseable.js";
export {
  IntNStringReceiver,
  Int32StringReceiver,
  Int16StringReceiver,
  Int8StringReceiver,
  StringTooLongError,
} from "./int-n-string.js";
export { NetstringReceiver, NetstringParseError } from "./netstring.js";
export { FileSender, FileTransferStopped } from "./file-sender.js";
export type { FileSource } from "./file-sender.js";

type DisconnectingTransport = { disconnecting?: boolean };

/**
 * A protocol that receives lines and/or raw data, depending on its mode, as
 * twisted.protocols.basic.LineReceiver.
 *
 * In line mode, each complete line (without `delimiter`) goes to lineReceived. setRawMode()
 * switches to raw mode, where everything goes to rawDataReceived; setLineMode(extra) switches
 * back, handing `extra` (the bytes after the raw part) to the line parser. Modes may change
 * from inside lineReceived/rawDataReceived: the rest of the buffer is parsed in the new mode.
 *
 * A line longer than MAX_LENGTH goes to lineLengthExceeded, which drops the connection by
 * default. While the receiver is paused (pauseProducing, a producer on its own transport)
 * nothing is delivered; resumeProducing delivers what was buffered.
 *
 * lineReceived may return a truthy value to stop processing of the current data; dataReceived
 * returns it (Twisted's "why").
 */
export class LineReceiver extends PauseableProtocol {
  /** True in line mode, false in raw mode (Twisted's name). */
  line_mode = true;
  delimiter: Bytes = Buffer.from("\r\n");
  /** The longest line accepted, without its delimiter. */
  MAX_LENGTH = 16384;
  private _buffer: Buffer = EMPTY;
  private busyReceiving = false;

  /** Drop the buffered, unprocessed data and return it. Safe to call from lineReceived. */
  clearLineBuffer(): Buffer {
    const b = this._buffer;
    this._buffer = EMPTY;
    return b;
  }

  override dataReceived(data: Bytes): unknown {
    // Re-entered from lineReceived/rawDataReceived (setLineMode(extra), or a nested
    // dataReceived): queue the data; the outer loop parses it in order, without recursion.
    if (this.busyReceiving) {
      if (data.length) this._buffer = this._buffer.length ? Buffer.concat([this._buffer, data]) : Buffer.from(data);
      return undefined;
    }
    this.busyReceiving = true;
    try {
      if (data.length) this._buffer = this._buffer.length ? Buffer.concat([this._buffer, data]) : asBuffer(data);
      return this.parse();
    } finally {
      this.busyReceiving = false;
      this._buffer = retain(this._buffer, data);
    }
  }

  private parse(): unknown {
    while (this._buffer.length && !this.paused) {
      const buffer = this._buffer;
      if (this.line_mode) {
        const delimiter = this.delimiter;
        const end = buffer.indexOf(delimiter);
        if (end === -1) {
          if (buffer.length >= this.MAX_LENGTH + delimiter.length) {
            this._buffer = EMPTY;
            return this.lineLengthExceeded(buffer);
          }
          return undefined;
        }
        const line = buffer.subarray(0, end);
        this._buffer = buffer.subarray(end + delimiter.length);
        if (end > this.MAX_LENGTH) {
          // Twisted hands over the long line, its delimiter and everything after it.
          this._buffer = EMPTY;
          return this.lineLengthExceeded(buffer);
        }
        const why = this.lineReceived(line);
        if (why || (this.transport as DisconnectingTransport | null)?.disconnecting) return why;
      } else {
        this._buffer = EMPTY;
        const why = this.rawDataReceived(buffer);
        if (why) return why;
      }
    }
    return undefined;
  }

  /** Switch to line mode; `extra` is parsed as lines at once (or after the current call). */
  setLineMode(extra: Bytes = EMPTY): unknown {
    this.line_mode = true;
    if (extra.length) return this.dataReceived(extra);
    return undefined;
  }

  /** Switch to raw mode: data goes to rawDataReceived until setLineMode(). */
  setRawMode(): void {
    this.line_mode = false;
  }

  /** Called with data in raw mode. Override it if you use setRawMode(). */
  rawDataReceived(_data: Buffer): unknown {
    throw new Error(`${this.constructor.name}.rawDataReceived is not implemented`);
  }

  /** Called with each line, without its delimiter. Override it. */
  lineReceived(_line: Buffer): unknown {
    throw new Error(`${this.constructor.name}.lineReceived is not implemented`);
  }

  /** Write `line` and the delimiter, in one write. */
  sendLine(line: Bytes): void {
    mustBeBytes(line, "a line");
    this.transport!.write(Buffer.concat([line, this.delimiter]));
  }

  /**
   * Called with the offending data when a line is longer than MAX_LENGTH: the long line, and
   * whatever was buffered after it. Drops the connection by default.
   */
  lineLengthExceeded(_line: Buffer): unknown {
    this.transport?.loseConnection();
    return undefined;
  }
}

/**
 * A lighter line receiver with no raw mode and no pausing, as
 * twisted.protocols.basic.LineOnlyReceiver. It stops delivering lines once the transport is
 * disconnecting.
 */
export class LineOnlyReceiver extends Protocol {
  delimiter: Bytes = Buffer.from("\r\n");
  MAX_LENGTH = 16384;
  private _buffer: Buffer = EMPTY;

  override dataReceived(data: Bytes): unknown {
    let buffer = this._buffer.length ? Buffer.concat([this._buffer, data]) : asBuffer(data);
    const delimiter = this.delimiter;
    let start = 0;
    // Twisted splits all complete lines off before delivering any, so the tail kept for later
    // is known even if a line handler returns early.
    let end = buffer.indexOf(delimiter, start);
    const lines: Buffer[] = [];
    while (end !== -1) {
      lines.push(buffer.subarray(start, end));
      start = end + delimiter.length;
      end = buffer.indexOf(delimiter, start);
    }
    buffer = buffer.subarray(start);
    this._buffer = retain(buffer, data);
    for (const line of lines) {
      if ((this.transport as DisconnectingTransport | null)?.disconnecting) return undefined;
      if (line.length > this.MAX_LENGTH) return this.lineLengthExceeded(line);
      this.lineReceived(line);
    }
    if (this._buffer.length > this.MAX_LENGTH) return this.lineLengthExceeded(this._buffer);
    return undefined;
  }

  /** Called with each line, without its delimiter. Override it. */
  lineReceived(_line: Buffer): void {
    throw new Error(`${this.constructor.name}.lineReceived is not implemented`);
  }

  /** Write `line` and the delimiter, as one writeSequence. */
  sendLine(line: Bytes): void {
    mustBeBytes(line, "a line");
    this.transport!.writeSequence([line, this.delimiter]);
  }

  /** Called with a line longer than MAX_LENGTH. Drops the connection by default. */
  lineLengthExceeded(_line: Buffer): unknown {
    this.transport?.loseConnection();
    return undefined;
  }
}
