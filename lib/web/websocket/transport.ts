/**
 * WebSocketTransport: one open WebSocket connection, as twisted.web.websocket's transport. It
 * sits on the TCP (or TLS) transport after the opening handshake, parses frames with
 * receiver.ts, and gives the protocol messages, not bytes.
 *
 * Flow control is the TCP transport's, unchanged: a producer attached with attachProducer is
 * registered on the TCP transport, which pauses it while its buffer is full, so a message
 * stream faster than the peer reads never grows memory without bound; and the WebSocket
 * transport is itself a push producer of the messages it receives: pauseProducing stops
 * delivering and stops reading the socket, so TCP slows the peer.
 *
 * Closing (RFC 6455 §7): loseConnection(code, reason) sends a close frame and waits up to
 * `closeTimeout` seconds for the peer's; the server then closes TCP, the client waits for the
 * server to do so (§7.1.1), each bounded by the same timeout and then aborted. A peer that
 * breaks the protocol gets the close code for its fault (1002, 1007, 1009) and is closed. A peer
 * that vanishes without a FIN is found by the keep-alive: with `pingInterval`, a ping is sent
 * after that many idle seconds and the connection is aborted if nothing arrives within
 * `pingTimeout`. connectionLost is called exactly once, whatever the path.
 */

import { ConnectionDone, ConnectionLost } from "../../internet/error.js";
import { Failure } from "../../internet/failure.js";
import type {
  Bytes,
  IAddress,
  IDelayedCall,
  IPullProducer,
  IPushProducer,
  IReactorTime,
  ITransport,
} from "../../internet/interfaces.js";
import { Logger } from "../../internet/log.js";
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, closePayload, encodeFrame, isValidCloseCode, shortTextFrame } from "./frames.js";
import type { PerMessageDeflate } from "./permessage-deflate.js";
import { FrameReceiver, type ReceiverHandler } from "./receiver.js";

const log = new Logger("torsion.web.websocket");

/**
 * A WebSocket protocol, as twisted.web.websocket's IWebSocketClientProtocol/IWebSocketServerProtocol:
 * what the application writes. Every method but connectionLost is optional.
 */
export interface IWebSocketProtocol {
  /** The handshake succeeded and the transport exists; nothing may be sent until negotiationFinished. */
  negotiationStarted?(transport: WebSocketTransport): void;
  /** The connection is open: messages may be sent. */
  negotiationFinished?(): void;
  textMessageReceived?(text: string): void;
  bytesMessageReceived?(data: Buffer): void;
  /** A pong arrived (the answer to ping(), or an unsolicited one). */
  pongReceived?(payload: Buffer): void;
  /**
   * The connection is gone, once: ConnectionDone after a clean close handshake, ConnectionLost
   * otherwise. `transport.closeCode` and `closeReason` say what the peer (or torsion) said.
   */
  connectionLost(reason: Failure): void;
}

/** What the underlying byte transport must offer (every torsion TCP/TLS transport does). */
export type ByteTransport = ITransport &
  Partial<IPushProducer> & {
    abortConnection?(): void;
    registerProducer?(producer: IPushProducer | IPullProducer, streaming: boolean): void;
    unregisterProducer?(): void;
  };

/** Settings of a WebSocket connection. */
export interface WebSocketOptions {
  /** Largest message accepted, in bytes (after inflation). Default 16 MiB; beyond it, close 1009. */
  maxMessageSize?: number;
  /** Most fragments one incoming message may come in. Default 1024. */
  maxFragments?: number;
  /** Seconds to wait for the peer's part of the close handshake before aborting. Default 5. */
  closeTimeout?: number;
  /** Send a ping after this many seconds without input; null (default) sends none. */
  pingInterval?: number | null;
  /** With pingInterval: abort when nothing arrives this many seconds after the ping. Default 10. */
  pingTimeout?: number;
}

type State = "connecting" | "open" | "closing" | "closed";

export class WebSocketTransport implements IPushProducer, ReceiverHandler {
  /** The close code received from the peer (or 1006 when the connection ended without one). */
  closeCode: number | null = null;
  /** The reason received with it. */
  closeReason = "";
  /** True when both close frames were exchanged before TCP closed. */
  wasClean = false;
  /** The subprotocol agreed in the handshake, or null. */
  readonly subprotocol: string | null;
  /** Told first when the connection ends (the resource's counters). */
  onLost: ((ws: WebSocketTransport) => void) | null = null;

  private state: State = "connecting";
  private readonly receiver: FrameReceiver;
  private readonly clock: IReactorTime;
  private readonly closeTimeout: number;
  private readonly pingInterval: number | null;
  private readonly pingTimeout: number;
  private closeTimer: IDelayedCall | null = null;
  private keepAliveTimer: IDelayedCall | null = null;
  private awaitingPong = false;
  private sentClose = false;
  private receivedClose = false;
  private lost = false;
  private pausedByUser = false;
  // Messages waiting for the deflater, in order (every send goes through this queue while it
  // is non-empty, so frames leave in the order they were sent).
  private deflating = false;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly transport: ByteTransport,
    private readonly protocol: IWebSocketProtocol,
    readonly isServer: boolean,
    clock: IReactorTime,
    options: WebSocketOptions = {},
    private readonly deflate: PerMessageDeflate | null = null,
    subprotocol: string | null = null,
  ) {
    this.clock = clock;
    this.subprotocol = subprotocol;
    this.closeTimeout = options.closeTimeout ?? 5;
    this.pingInterval = options.pingInterval ?? null;
    this.pingTimeout = options.pingTimeout ?? 10;
    this.receiver = new FrameReceiver(this, {
      isServer,
      maxMessageSize: options.maxMessageSize,
      maxFragments: options.maxFragments,
      inflater: deflate,
    });
  }

  /** Called by the handshake: tell the protocol, then open. */
  start(): void {
    // Messages are small and interactive: Nagle's algorithm would hold each behind the ACK of
    // the last (40 ms with delayed ACKs). ws and browsers disable it too.
    (this.transport as { setTcpNoDelay?: (on: boolean) => void }).setTcpNoDelay?.(true);
    this.protocol.negotiationStarted?.(this);
    if (this.lost) return;
    this.state = "open";
    this.armKeepAlive();
    this.protocol.negotiationFinished?.();
  }

  /** True when permessage-deflate was agreed for this connection. */
  get compressed(): boolean {
    return this.deflate !== null;
  }

  /** True while messages may be sent. */
  get open(): boolean {
    return this.state === "open";
  }

  // -------------------------------------------------------------------------
  // Sending

  /** Send a text message (UTF-8 on the wire). */
  sendTextMessage(text: string): void {
    if (typeof text !== "string") throw new TypeError(`sendTextMessage takes a string, not ${typeof text}; use sendBytesMessage for bytes`);
    if (this.isServer && this.deflate === null && !this.deflating && this.state === "open") {
      // The hot case (a server's short text message): the frame in one buffer, one write.
      const frame = shortTextFrame(text);
      if (frame !== null) {
        if (!this.lost) this.transport.write(frame);
        return;
      }
    }
    this.sendMessage(Opcode.text, Buffer.from(text, "utf8"));
  }

  /** Send a binary message. */
  sendBytesMessage(data: Bytes): void {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`sendBytesMessage takes bytes (a Buffer or Uint8Array), not ${typeof data === "string" ? "a string: use sendTextMessage" : typeof data}`);
    }
    this.sendMessage(Opcode.binary, data);
  }

  /** Send a ping; the peer's pong reaches pongReceived. At most 125 bytes of payload. */
  ping(payload: Bytes = Buffer.alloc(0)): void {
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new RangeError(`a ping payload is at most 125 bytes, not ${payload.length}`);
    if (this.state !== "open") return;
    this.sendFrame(Opcode.ping, payload);
  }

  private sendMessage(opcode: typeof Opcode.text | typeof Opcode.binary, data: Uint8Array): void {
    // After close was sent, nothing more may be (§5.5.1): dropped, as writes after loseConnection.
    if (this.state !== "open") return;
    const deflate = this.deflate;
    if (deflate === null || data.length < deflate.threshold) {
      this.sendFrame(opcode, data);
      return;
    }
    const run = (): void => {
      this.deflating = true;
      deflate.deflate(data, (error, body) => {
        this.deflating = false;
        if (error !== null || body === null) {
          this.fail(CloseCode.internalError, `could not compress a message: ${error?.message}`);
          return;
        }
        this.writeFrame(opcode, body, true);
        this.drainQueue();
      });
    };
    if (this.deflating) this.queue.push(run);
    else run();
  }

  private sendFrame(opcode: Opcode, payload: Uint8Array): void {
    if (this.deflating) this.queue.push(() => this.writeFrame(opcode, payload, false));
    else this.writeFrame(opcode, payload, false);
  }

  private drainQueue(): void {
    while (!this.deflating && this.queue.length > 0) this.queue.shift()!();
  }

  private writeFrame(opcode: Opcode, payload: Uint8Array, rsv1: boolean): void {
    if (this.lost) return;
    const [head, body] = encodeFrame(opcode, payload, { mask: !this.isServer, rsv1 });
    if (body.length === 0) this.transport.write(head);
    else if (body.length < 1024) this.transport.write(Buffer.concat([head, body]));
    else this.transport.writeSequence([head, body]);
  }

  // -------------------------------------------------------------------------
  // Flow control

  /**
   * Register a producer of outgoing messages: it is paused while the socket's buffer is full
   * and resumed when it drains (the TCP transport's own flow control).
   */
  attachProducer(producer: IPushProducer | IPullProducer, streaming = true): void {
    if (typeof this.transport.registerProducer !== "function") throw new TypeError("the underlying transport cannot take a producer");
    this.transport.registerProducer(producer, streaming);
  }

  detachProducer(): void {
    this.transport.unregisterProducer?.();
  }

  /** Stop delivering messages and stop reading the socket. */
  pauseProducing(): void {
    this.pausedByUser = true;
    this.receiver.pause();
    this.transport.pauseProducing?.();
  }

  resumeProducing(): void {
    if (!this.pausedByUser) return;
    this.pausedByUser = false;
    this.transport.resumeProducing?.();
    this.receiver.resume();
  }

  /** Drop the connection now. */
  stopProducing(): void {
    this.abortConnection();
  }

  getPeer(): IAddress {
    return this.transport.getPeer();
  }

  getHost(): IAddress {
    return this.transport.getHost();
  }

  // -------------------------------------------------------------------------
  // Closing

  /**
   * Start the close handshake with `code` (default 1000) and `reason`; the connection ends when
   * the peer answers, or `closeTimeout` seconds later. Calling it again does nothing.
   */
  loseConnection(code: number = CloseCode.normal, reason = ""): void {
    if (!isValidCloseCode(code)) throw new RangeError(`${code} is not a close code a WebSocket may send (1000-1003, 1007-1014, 3000-4999)`);
    this.startClose(code, reason);
  }

  /** Drop the TCP connection now, without a close handshake. */
  abortConnection(): void {
    if (this.lost) return;
    this.state = "closed";
    if (typeof this.transport.abortConnection === "function") this.transport.abortConnection();
    else this.transport.loseConnection();
  }

  private startClose(code: number | null, reason: string): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.state = "closing";
    this.sendClose(code, reason);
    this.armCloseTimer();
  }

  private sendClose(code: number | null, reason: string): void {
    if (this.sentClose) return;
    this.sentClose = true;
    let payload: Buffer;
    try {
      payload = closePayload(code, reason);
    } catch {
      payload = closePayload(code, "");
    }
    this.sendFrame(Opcode.close, payload);
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== null) return;
    this.closeTimer = this.clock.callLater(this.closeTimeout, () => {
      this.closeTimer = null;
      log.info("WebSocket peer {peer} did not finish the close handshake in {seconds} s: aborting", {
        peer: this.transport.getPeer(),
        seconds: this.closeTimeout,
      });
      this.abortConnection();
    });
  }

  /** Close TCP once both close frames have passed: the server first (§7.1.1). */
  private closeTCP(): void {
    this.state = "closed";
    if (this.isServer) this.transport.loseConnection();
    else this.armCloseTimer();
  }

  // -------------------------------------------------------------------------
  // The receiver's events

  textReceived(text: string): void {
    this.activity();
    if (this.state === "open" || this.state === "closing") this.protocol.textMessageReceived?.(text);
  }

  bytesReceived(data: Buffer): void {
    this.activity();
    if (this.state === "open" || this.state === "closing") this.protocol.bytesMessageReceived?.(data);
  }

  pingReceived(payload: Buffer): void {
    this.activity();
    if (this.state === "open") this.sendFrame(Opcode.pong, payload);
  }

  pongReceived(payload: Buffer): void {
    this.activity();
    this.protocol.pongReceived?.(payload);
  }

  closeReceived(code: number, reason: string): void {
    this.activity();
    this.receivedClose = true;
    this.closeCode = code;
    this.closeReason = reason;
    if (!this.sentClose) {
      // Echo the code (§5.5.1); a close that carried none is answered with none.
      this.state = "closing";
      this.sendClose(code === CloseCode.noStatus ? null : code, "");
    }
    this.wasClean = true;
    this.closeTCP();
  }

  receiveFailed(code: number, message: string): void {
    log.info("WebSocket peer {peer} broke the protocol ({code}): {message}", { peer: this.transport.getPeer(), code, message });
    this.fail(code, message);
  }

  /** Fail the connection (§7.1.7): send a close frame with `code`, then close TCP. */
  private fail(code: number, message: string): void {
    if (this.closeCode === null) {
      this.closeCode = code;
      this.closeReason = message;
    }
    if (this.state !== "closed") {
      this.state = "closing";
      this.sendClose(code, message.slice(0, 123));
      this.state = "closed";
      this.transport.loseConnection();
      this.armCloseTimer();
    }
  }

  // -------------------------------------------------------------------------
  // Keep-alive

  private activity(): void {
    this.awaitingPong = false;
    if (this.keepAliveTimer !== null && this.pingInterval !== null && this.state === "open") {
      this.keepAliveTimer.reset(this.pingInterval);
    }
  }

  private armKeepAlive(): void {
    if (this.pingInterval === null) return;
    this.keepAliveTimer = this.clock.callLater(this.pingInterval, () => this.keepAliveTick());
  }

  private keepAliveTick(): void {
    this.keepAliveTimer = null;
    if (this.state !== "open") return;
    if (this.awaitingPong) {
      log.info("WebSocket peer {peer} answered no ping for {seconds} s: aborting", { peer: this.transport.getPeer(), seconds: this.pingTimeout });
      this.closeCode = CloseCode.abnormal;
      this.closeReason = "no answer to a keep-alive ping";
      this.abortConnection();
      return;
    }
    this.awaitingPong = true;
    this.sendFrame(Opcode.ping, Buffer.alloc(0));
    this.keepAliveTimer = this.clock.callLater(this.pingTimeout, () => this.keepAliveTick());
  }

  // -------------------------------------------------------------------------
  // From the byte transport

  /** Bytes from the socket. */
  dataReceived(data: Bytes): void {
    this.receiver.feed(data);
  }

  /** The socket is gone: tell the protocol, once. */
  connectionLost(reason: Failure): void {
    if (this.lost) return;
    this.lost = true;
    this.state = "closed";
    if (this.closeTimer?.active()) this.closeTimer.cancel();
    if (this.keepAliveTimer?.active()) this.keepAliveTimer.cancel();
    this.closeTimer = this.keepAliveTimer = null;
    this.queue.length = 0;
    this.deflate?.close();
    if (this.closeCode === null) this.closeCode = CloseCode.abnormal;
    const clean = this.wasClean && this.receivedClose && this.sentClose;
    this.wasClean = clean;
    const why = clean
      ? new Failure(new ConnectionDone(`WebSocket closed with ${this.closeCode}${this.closeReason ? `: ${this.closeReason}` : ""}`))
      : reason.value instanceof ConnectionLost
        ? reason
        : new Failure(new ConnectionLost(`WebSocket connection lost without a close handshake (${String(reason.value?.message ?? reason)})`));
    this.onLost?.(this);
    this.protocol.connectionLost(why);
  }
}
