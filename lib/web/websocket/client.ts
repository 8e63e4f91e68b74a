/**
 * The client side of WebSocket, as twisted.web.websocket.WebSocketClientEndpoint:
 *
 *     const endpoint = WebSocketClientEndpoint.new(reactor, "ws://127.0.0.1:8080/chat");
 *     const protocol = await endpoint.connect({ buildProtocol: (uri) => new Chat() });
 *
 * connect() opens the TCP (wss: TLS, verified against the host name) connection, sends the
 * opening handshake, checks the server's answer (RFC 6455 §4.1: 101, Upgrade, Connection, the
 * accept value, only offered subprotocols and extensions), and fires with the protocol once it
 * is open (after negotiationFinished). A refusal fails it with ConnectionRejected, which
 * carries the server's `status`, `headers` and (up to 64 KiB of) `body`. Cancelling it aborts the
 * connection at whatever stage it is.
 */

import { Deferred } from "../../internet/defer.js";
import { ConnectError } from "../../internet/error.js";
import { Failure } from "../../internet/failure.js";
import type {
  Bytes,
  IProtocol,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IStreamClientEndpoint,
  ITLSClientContextFactory,
} from "../../internet/interfaces.js";
import { Factory, Protocol } from "../../internet/protocol.js";
import { SSL4ClientEndpoint, TCP4ClientEndpoint } from "../../internet/endpoints.js";
import { optionsForClientTLS } from "../../internet/ssl.js";
import { WEBSOCKET_VERSION, acceptKey, headerTokens, newKey } from "./handshake.js";
import {
  PerMessageDeflate,
  type DeflateOptions,
  type DeflateParams,
  acceptResponse,
  clientOffer,
  parseExtensions,
} from "./permessage-deflate.js";
import { type ByteTransport, type IWebSocketProtocol, WebSocketTransport, type WebSocketOptions } from "./transport.js";

/** The server refused the handshake: its answer, for the caller to read. */
export class ConnectionRejected extends ConnectError {
  static override readonly code: string = "TORSION_ERR_CONNECTION_REJECTED";
  constructor(
    readonly status: number,
    readonly phrase: string,
    readonly headers: ReadonlyMap<string, string[]>,
    readonly body: Buffer,
    why = `the server answered ${status} ${phrase} instead of 101 Switching Protocols`,
  ) {
    super(why);
    this.name = "ConnectionRejected";
  }
}

/** Builds the protocol of a client WebSocket connection. */
export interface IWebSocketClientFactory {
  buildProtocol(uri: string): IWebSocketProtocol;
}

/** What WebSocketClientEndpoint.new accepts besides the reactor and the URL. */
export interface WebSocketClientOptions extends WebSocketOptions {
  /** Subprotocols to offer, most preferred first. */
  subprotocols?: string[];
  /** The Origin header to send (browsers always do; other clients need not). */
  origin?: string;
  /** More request headers (e.g. Authorization, Cookie). */
  headers?: Record<string, string>;
  /** Offer permessage-deflate (RFC 7692). */
  perMessageDeflate?: boolean | DeflateOptions;
  /** For wss: the TLS options; default optionsForClientTLS(host), which verifies the certificate. */
  tlsOptions?: ITLSClientContextFactory;
  /** Seconds allowed for the TCP connection (default 30). */
  connectTimeout?: number;
  /** Seconds allowed for the server's answer to the handshake (default 30). */
  handshakeTimeout?: number;
  /** Use this endpoint instead of one made from the URL (a unix socket, a proxy tunnel). */
  endpoint?: IStreamClientEndpoint;
}

const MAX_HEAD = 16 * 1024;
const MAX_REJECTION_BODY = 64 * 1024;

export class WebSocketClientEndpoint {
  private constructor(
    private readonly reactor: IReactorTime,
    readonly url: URL,
    private readonly endpoint: IStreamClientEndpoint,
    private readonly options: WebSocketClientOptions,
  ) {}

  /** An endpoint for a ws:// or wss:// URL. */
  static new(reactor: IReactorTCP & IReactorTime & Partial<IReactorSSL>, url: string | URL, options: WebSocketClientOptions = {}): WebSocketClientEndpoint {
    const parsed = new URL(url);
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
      throw new TypeError(`a WebSocket URL starts with ws:// or wss://, not ${JSON.stringify(String(url))}`);
    }
    if (parsed.hash) throw new TypeError(`a WebSocket URL has no fragment (RFC 6455 §3): ${JSON.stringify(String(url))}`);
    const secure = parsed.protocol === "wss:";
    const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = parsed.port ? Number(parsed.port) : secure ? 443 : 80;
    let endpoint = options.endpoint;
    if (endpoint === undefined) {
      const timeout = { timeout: options.connectTimeout ?? 30 };
      if (secure) {
        if (typeof reactor.connectSSL !== "function") throw new TypeError("wss:// needs a reactor with connectSSL");
        endpoint = new SSL4ClientEndpoint(reactor as IReactorSSL, host, port, options.tlsOptions ?? optionsForClientTLS(host), timeout);
      } else {
        endpoint = new TCP4ClientEndpoint(reactor, host, port, timeout);
      }
    }
    return new WebSocketClientEndpoint(reactor, parsed, endpoint, options);
  }

  /** Connect and handshake; fires with the open protocol, or fails with ConnectionRejected or the connection error. */
  connect(factory: IWebSocketClientFactory): Deferred<IWebSocketProtocol> {
    let handshake: ClientHandshake | null = null;
    const result = new Deferred<IWebSocketProtocol>(() => {
      connecting.cancel();
      handshake?.abort();
    });
    const owner = this;
    class HandshakeFactory extends Factory {
      override noisy = false;
      override buildProtocol(): IProtocol {
        handshake = new ClientHandshake(owner.reactor, owner.url, owner.options, factory, result);
        return handshake;
      }
    }
    const connecting = this.endpoint.connect(new HandshakeFactory());
    connecting.addErrback((failure: Failure) => {
      if (!result.called) result.errback(failure);
      return null;
    });
    return result;
  }
}

/** The protocol of the connection until the handshake is done; then it relays to the WebSocket transport. */
class ClientHandshake extends Protocol {
  private readonly key = newKey();
  private head: Buffer[] = [];
  private headSize = 0;
  private ws: WebSocketTransport | null = null;
  private rejection: { code: number; phrase: string; headers: Map<string, string[]>; length: number; body: Buffer[]; size: number } | null = null;
  private timer: ReturnType<IReactorTime["callLater"]> | null = null;
  private readonly deflateOptions: DeflateOptions | null;

  constructor(
    private readonly clock: IReactorTime,
    private readonly url: URL,
    private readonly options: WebSocketClientOptions,
    private readonly wsFactory: IWebSocketClientFactory,
    private readonly result: Deferred<IWebSocketProtocol>,
  ) {
    super();
    const pmd = options.perMessageDeflate;
    this.deflateOptions = pmd === true ? {} : pmd || null;
  }

  override connectionMade(): void {
    const u = this.url;
    const lines = [
      `GET ${(u.pathname || "/") + u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${this.key}`,
      `Sec-WebSocket-Version: ${WEBSOCKET_VERSION}`,
    ];
    if (this.options.origin !== undefined) lines.push(`Origin: ${this.options.origin}`);
    if (this.options.subprotocols?.length) lines.push(`Sec-WebSocket-Protocol: ${this.options.subprotocols.join(", ")}`);
    if (this.deflateOptions !== null) lines.push(`Sec-WebSocket-Extensions: ${clientOffer(this.deflateOptions)}`);
    for (const [name, value] of Object.entries(this.options.headers ?? {})) {
      if (/[\r\n]/.test(name + value)) throw new TypeError(`a header may not contain CR or LF: ${JSON.stringify(name)}`);
      lines.push(`${name}: ${value}`);
    }
    this.transport!.write(Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"));
    this.timer = this.clock.callLater(this.options.handshakeTimeout ?? 30, () => {
      this.timer = null;
      this.failHandshake(new ConnectError(`no answer to the WebSocket handshake within ${this.options.handshakeTimeout ?? 30} s`));
    });
  }

  override dataReceived(data: Bytes): void {
    if (this.ws !== null) {
      this.ws.dataReceived(data);
      return;
    }
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.rejection !== null) {
      this.collectRejection(buf);
      return;
    }
    this.head.push(buf);
    this.headSize += buf.length;
    const all = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
    const end = all.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.headSize > MAX_HEAD) this.failHandshake(new ConnectError(`the server's answer has a head over ${MAX_HEAD} bytes`));
      else this.head = [all];
      return;
    }
    this.head = [];
    this.responseHead(all.subarray(0, end).toString("latin1"), all.subarray(end + 4));
  }

  private responseHead(text: string, rest: Buffer): void {
    const lines = text.split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
    if (status === null) {
      this.failHandshake(new ConnectError(`the server's answer is not HTTP: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`));
      return;
    }
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) {
        this.failHandshake(new ConnectError(`a malformed header line in the server's answer: ${JSON.stringify(line.slice(0, 80))}`));
        return;
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const list = headers.get(name) ?? [];
      list.push(line.slice(colon + 1).trim());
      headers.set(name, list);
    }
    const code = Number(status[1]);
    if (code !== 101) {
      const length = Number(headers.get("content-length")?.[0] ?? 0);
      this.rejection = { code, phrase: status[2] ?? "", headers, length: Number.isFinite(length) ? Math.min(length, MAX_REJECTION_BODY) : 0, body: [], size: 0 };
      this.collectRejection(rest);
      return;
    }
    const problem = this.checkAccept(headers);
    if (typeof problem === "string") {
      this.failHandshake(new ConnectError(`the server's handshake is not valid: ${problem}`));
      return;
    }
    this.open(problem, headers.get("sec-websocket-protocol")?.[0] ?? null, rest);
  }

  /** RFC 6455 §4.1's checks of a 101; the agreed deflate parameters (or null), or what is wrong. */
  private checkAccept(headers: Map<string, string[]>): DeflateParams | null | string {
    if (!headerTokens(headers.get("upgrade")).includes("websocket")) return "Upgrade: websocket is missing";
    if (!headerTokens(headers.get("connection")).includes("upgrade")) return "Connection: Upgrade is missing";
    if (headers.get("sec-websocket-accept")?.[0] !== acceptKey(this.key)) return "Sec-WebSocket-Accept does not match the key";
    const sub = headers.get("sec-websocket-protocol");
    if (sub !== undefined && (sub.length !== 1 || !(this.options.subprotocols ?? []).includes(sub[0]!))) {
      return `the server chose a subprotocol that was not offered: ${sub.join(", ")}`;
    }
    const ext = headers.get("sec-websocket-extensions");
    if (ext === undefined) return null;
    if (this.deflateOptions === null) return "the server answered with an extension that was not offered";
    const offers = parseExtensions(ext.join(", "));
    if (offers === null) return "a malformed Sec-WebSocket-Extensions";
    return acceptResponse(offers, this.deflateOptions);
  }

  private open(deflate: DeflateParams | null, subprotocol: string | null, rest: Buffer): void {
    this.cancelTimer();
    const protocol = this.wsFactory.buildProtocol(this.url.href);
    const engine = deflate === null ? null : new PerMessageDeflate(deflate, false, this.deflateOptions ?? {});
    const ws = new WebSocketTransport(this.transport as unknown as ByteTransport, protocol, false, this.clock, this.options, engine, subprotocol);
    this.ws = ws;
    ws.start();
    if (!this.result.called) this.result.callback(protocol);
    if (rest.length > 0) ws.dataReceived(rest);
  }

  private collectRejection(data: Buffer): void {
    const r = this.rejection!;
    if (r.size < r.length && data.length > 0) {
      const piece = data.subarray(0, r.length - r.size);
      r.body.push(piece);
      r.size += piece.length;
    }
    if (r.size >= r.length) this.reject();
  }

  private reject(): void {
    const r = this.rejection!;
    this.failHandshake(new ConnectionRejected(r.code, r.phrase, r.headers, Buffer.concat(r.body)));
  }

  private failHandshake(error: Error): void {
    this.cancelTimer();
    if (!this.result.called) this.result.errback(new Failure(error));
    (this.transport as ByteTransport | null)?.abortConnection?.() ?? this.transport?.loseConnection();
  }

  /** Cancelled: drop the connection. */
  abort(): void {
    this.cancelTimer();
    const t = this.transport as ByteTransport | null;
    if (t?.abortConnection) t.abortConnection();
    else t?.loseConnection();
  }

  private cancelTimer(): void {
    if (this.timer?.active()) this.timer.cancel();
    this.timer = null;
  }

  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.cancelTimer();
    if (this.ws !== null) {
      this.ws.connectionLost(reason);
      return;
    }
    if (this.rejection !== null && !this.result.called) {
      this.reject();
      return;
    }
    if (!this.result.called) this.result.errback(new Failure(new ConnectError(`the connection closed during the WebSocket handshake: ${String(reason.value?.message ?? reason)}`)));
  }
}
