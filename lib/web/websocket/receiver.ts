/**
 * The frame parser of a WebSocket connection (RFC 6455 §5), fed bytes in any split.
 *
 * It checks every rule a receiver must (§5.1-§5.6, §7.4) and fails at the first frame that
 * breaks one, with the close code the RFC names: a reserved bit or opcode, a continuation
 * with nothing to continue, a control frame fragmented or over 125 bytes, a mask where none
 * belongs or none where one must be (1002); text that is not UTF-8, checked as each fragment
 * arrives so a bad message fails before it is whole (1007); a message over `maxMessageSize`
 * or in more than `maxFragments` pieces (1009), refused from the frame head, before its
 * payload is buffered. Control frames may come between the fragments of a message.
 *
 * Compressed messages (permessage-deflate, RSV1) are inflated by the MessageInflater given,
 * asynchronously; parsing waits for each inflation, so events keep their order.
 */

import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, applyMask, isValidCloseCode } from "./frames.js";

/** What a receiver tells its owner (the WebSocket transport, or a spec). */
export interface ReceiverHandler {
  /** A whole text message, decoded. */
  textReceived(text: string): void;
  /** A whole binary message. */
  bytesReceived(data: Buffer): void;
  pingReceived(payload: Buffer): void;
  pongReceived(payload: Buffer): void;
  /** The peer's close frame: 1005 when it carried no code. Nothing is parsed after it. */
  closeReceived(code: number, reason: string): void;
  /** The peer broke a rule: close with `code`. Nothing is parsed after it. */
  receiveFailed(code: number, message: string): void;
}

/** Inflates the payload of compressed messages (permessage-deflate.ts). */
export interface MessageInflater {
  /**
   * Inflate one frame's payload; `fin` ends the message. Calls back with the bytes, or with
   * a RangeError once the message's inflated size would pass `limit`, or another error.
   */
  inflate(payload: Buffer, fin: boolean, limit: number, callback: (error: Error | null, data: Buffer | null) => void): void;
}

/** Limits and mode of a receiver. */
export interface ReceiverOptions {
  /** The server side: every frame must be masked. The client side: none may be. */
  isServer: boolean;
  /** Largest message, in bytes (after inflation). Default 16 MiB. */
  maxMessageSize?: number;
  /** Most fragments one message may come in. Default 1024. */
  maxFragments?: number;
  /** The inflater, when permessage-deflate was negotiated. */
  inflater?: MessageInflater | null;
}

const enum State {
  head,
  length16,
  length64,
  mask,
  payload,
  inflating,
  done,
}

const EMPTY = Buffer.alloc(0);

export class FrameReceiver {
  readonly isServer: boolean;
  readonly maxMessageSize: number;
  readonly maxFragments: number;
  private readonly inflater: MessageInflater | null;

  // Unparsed input: a queue of chunks, so a large payload arriving in many reads is copied once.
  private chunks: Buffer[] = [];
  private first = 0;
  private buffered = 0;
  private state = State.head;
  private paused = false;

  // The frame being parsed.
  private fin = false;
  private rsv1 = false;
  private opcode = 0;
  private masked = false;
  private payloadLength = 0;
  private readonly maskKey = Buffer.alloc(4);

  // The message being assembled (its first frame's opcode, fragments, size so far).
  private messageOpcode = 0;
  private compressed = false;
  private fragments: Buffer[] = [];
  private fragmentCount = 0;
  private messageSize = 0;
  private decoder: TextDecoder | null = null;
  private textParts: string[] = [];

  constructor(
    private readonly handler: ReceiverHandler,
    options: ReceiverOptions,
  ) {
    this.isServer = options.isServer;
    this.maxMessageSize = options.maxMessageSize ?? 16 * 1024 * 1024;
    this.maxFragments = options.maxFragments ?? 1024;
    this.inflater = options.inflater ?? null;
  }

  /** True once a close frame was received or a rule broken: nothing more will be parsed. */
  get finished(): boolean {
    return this.state === State.done;
  }

  /** Feed bytes as they arrive. */
  feed(data: Uint8Array): void {
    if (this.state === State.done || data.length === 0) return;
    this.chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.buffered += data.length;
    this.run();
  }

  /** Deliver nothing until resumed (what arrives is kept; the transport stops reading too). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.run();
  }

  /** Take `n` buffered bytes (n <= buffered), copying only when they span chunks. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.buffered -= n;
    const chunks = this.chunks;
    const first = chunks[this.first]!;
    if (first.length >= n) {
      if (first.length === n) this.shift();
      else chunks[this.first] = first.subarray(n);
      return first.length === n ? first : first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = chunks[this.first]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.shift();
      else chunks[this.first] = c.subarray(k);
    }
    return out;
  }

  // Drop the first chunk. An index, not Array.shift: a payload arriving in thousands of small
  // reads must not cost a quadratic number of moves.
  private shift(): void {
    this.chunks[this.first++] = EMPTY;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 1024 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  private run(): void {
    while (!this.paused && this.state !== State.done && this.state !== State.inflating) {
      switch (this.state) {
        case State.head:
          if (this.buffered < 2) return;
          if (!this.readHead(this.take(2))) return;
          break;
        case State.length16:
          if (this.buffered < 2) return;
          this.payloadLength = this.take(2).readUInt16BE(0);
          if (!this.checkLength()) return;
          break;
        case State.length64: {
          if (this.buffered < 8) return;
          const b = this.take(8);
          const high = b.readUInt32BE(0);
          // §5.2: the most significant bit must be 0; beyond 2^53 - 1 no size can be honoured.
          if (high > 0x1fffff) {
            this.fail(CloseCode.messageTooBig, "frame length over 2^53 - 1");
            return;
          }
          this.payloadLength = high * 0x100000000 + b.readUInt32BE(4);
          if (!this.checkLength()) return;
          break;
        }
        case State.mask:
          if (this.buffered < 4) return;
          this.take(4).copy(this.maskKey);
          this.state = State.payload;
          break;
        case State.payload: {
          if (this.buffered < this.payloadLength) return;
          const payload = this.take(this.payloadLength);
          if (this.masked) applyMask(payload, this.maskKey);
          this.state = State.head;
          this.frameComplete(payload);
          break;
        }
      }
    }
  }

  /** The first two bytes of a frame; false when the frame is refused. */
  private readHead(b: Buffer): boolean {
    const b0 = b[0]!;
    const b1 = b[1]!;
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    const len = b1 & 0x7f;
    if ((b0 & 0x30) !== 0) return this.fail(CloseCode.protocolError, "RSV2 and RSV3 must be clear");
    const control = this.opcode >= 0x8;
    if (control) {
      if (this.opcode > Opcode.pong) return this.fail(CloseCode.protocolError, `invalid opcode ${this.opcode}`);
      if (!this.fin) return this.fail(CloseCode.protocolError, "a control frame must not be fragmented");
      if (this.rsv1) return this.fail(CloseCode.protocolError, "RSV1 must be clear on a control frame");
      if (len > MAX_CONTROL_PAYLOAD) return this.fail(CloseCode.protocolError, "a control frame's payload must be at most 125 bytes");
    } else if (this.opcode === Opcode.continuation) {
      if (this.messageOpcode === 0) return this.fail(CloseCode.protocolError, "a continuation frame with no message to continue");
      if (this.rsv1) return this.fail(CloseCode.protocolError, "RSV1 must be clear on a continuation frame");
    } else if (this.opcode === Opcode.text || this.opcode === Opcode.binary) {
      if (this.messageOpcode !== 0) return this.fail(CloseCode.protocolError, "a new message before the last one's final fragment");
      if (this.rsv1 && this.inflater === null) return this.fail(CloseCode.protocolError, "RSV1 set but no extension negotiated");
    } else {
      return this.fail(CloseCode.protocolError, `invalid opcode ${this.opcode}`);
    }
    if (this.masked !== this.isServer) {
      return this.fail(CloseCode.protocolError, this.isServer ? "a client's frame must be masked" : "a server's frame must not be masked");
    }
    this.payloadLength = len;
    if (len === 126) this.state = State.length16;
    else if (len === 127) this.state = State.length64;
    else return this.checkLength();
    return true;
  }

  /** The payload length is known: refuse a message that would be too big before buffering it. */
  private checkLength(): boolean {
    if (this.opcode < 0x8) {
      if (this.opcode !== Opcode.continuation) {
        this.messageOpcode = this.opcode;
        this.compressed = this.rsv1;
        this.messageSize = 0;
        this.fragmentCount = 0;
      }
      if (++this.fragmentCount > this.maxFragments) {
        return this.fail(CloseCode.messageTooBig, `a message in more than ${this.maxFragments} fragments`);
      }
      // A compressed payload is checked again after inflation; this bounds what is buffered.
      if (this.messageSize + this.payloadLength > this.maxMessageSize) {
        return this.fail(CloseCode.messageTooBig, `a message over ${this.maxMessageSize} bytes`);
      }
      if (!this.compressed) this.messageSize += this.payloadLength;
    }
    this.state = this.masked ? State.mask : State.payload;
    return true;
  }

  private frameComplete(payload: Buffer): void {
    switch (this.opcode) {
      case Opcode.ping:
        this.handler.pingReceived(payload);
        return;
      case Opcode.pong:
        this.handler.pongReceived(payload);
        return;
      case Opcode.close:
        this.closeFrame(payload);
        return;
    }
    if (this.compressed) {
      this.state = State.inflating;
      const fin = this.fin;
      this.inflater!.inflate(payload, fin, this.maxMessageSize - this.messageSize, (error, data) => {
        if (this.state !== State.inflating) return;
        this.state = State.head;
        if (error) {
          if (error instanceof RangeError) this.fail(CloseCode.messageTooBig, `a message over ${this.maxMessageSize} bytes`);
          else this.fail(CloseCode.invalidPayload, `could not inflate the message: ${error.message}`);
          return;
        }
        this.messageSize += data!.length;
        this.dataFragment(data!, fin);
        this.run();
      });
      return;
    }
    this.dataFragment(payload, this.fin);
  }

  private dataFragment(data: Buffer, fin: boolean): void {
    if (this.messageOpcode === Opcode.text) {
      if (fin && this.decoder === null) {
        // A text message in one piece (the usual case): checked and decoded by node's C++.
        if (!isUtf8(data)) {
          this.fail(CloseCode.invalidPayload, "a text message that is not UTF-8");
          return;
        }
        this.endMessage();
        this.handler.textReceived(data.toString("utf8"));
        return;
      }
      // In pieces: a streaming decoder checks each as it arrives, so bad text fails fast.
      this.decoder ??= new TextDecoder("utf-8", { fatal: true });
      let text: string;
      try {
        text = this.decoder.decode(data, { stream: !fin });
      } catch {
        this.fail(CloseCode.invalidPayload, "a text message that is not UTF-8");
        return;
      }
      if (!fin) {
        if (text.length > 0) this.textParts.push(text);
        return;
      }
      const parts = this.textParts;
      const whole = parts.length === 0 ? text : parts.join("") + text;
      this.endMessage();
      this.handler.textReceived(whole);
      return;
    }
    if (data.length > 0) this.fragments.push(data);
    if (!fin) return;
    const frags = this.fragments;
    const whole = frags.length === 1 ? frags[0]! : frags.length === 0 ? EMPTY : Buffer.concat(frags);
    this.endMessage();
    this.handler.bytesReceived(whole);
  }

  private endMessage(): void {
    this.messageOpcode = 0;
    this.compressed = false;
    this.fragments = [];
    this.textParts = [];
    this.decoder = null;
    this.fragmentCount = 0;
    this.messageSize = 0;
  }

  private closeFrame(payload: Buffer): void {
    if (payload.length === 1) {
      this.fail(CloseCode.protocolError, "a close frame with a 1-byte payload");
      return;
    }
    let code: number = CloseCode.noStatus;
    let reason = "";
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) {
        this.fail(CloseCode.protocolError, `invalid close code ${code}`);
        return;
      }
      try {
        reason = new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2));
      } catch {
        this.fail(CloseCode.invalidPayload, "a close reason that is not UTF-8");
        return;
      }
    }
    this.stop();
    this.handler.closeReceived(code, reason);
  }

  /** Stop parsing and drop what is buffered. */
  private stop(): void {
    this.state = State.done;
    this.chunks = [];
    this.first = 0;
    this.buffered = 0;
    this.fragments = [];
    this.textParts = [];
  }

  private fail(code: number, message: string): false {
    this.stop();
    this.handler.receiveFailed(code, message);
    return false;
  }
}
