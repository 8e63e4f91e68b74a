/**
 * WebSocketResource: a resource that answers the opening handshake of RFC 6455 §4.2 and hands
 * the connection to a WebSocket protocol, as twisted.web.websocket.WebSocketResource. Put it
 * anywhere in a resource tree: the same Site serves pages, streams, WSGI and WebSockets on one
 * port.
 *
 * The factory sees the request (headers, cookies, path, peer) and builds a protocol for it, or
 * refuses it: return null for 403, or set the request's code first (401, 404, ...) and return
 * null. A request that is not a valid handshake gets 400 (426 with the version torsion speaks
 * for another version), and a plain GET gets 426 Upgrade Required.
 */

import type { IProtocol, IReactorCore, IReactorTime, ITransport } from "../../internet/interfaces.js";
import type { Failure } from "../../internet/failure.js";
import { NOT_DONE_YET, type IRequest, type RenderResult } from "../iweb.js";
import { Resource } from "../resource.js";
import { WEBSOCKET_VERSION, acceptKey, headerTokens, isValidKey, subprotocolList } from "./handshake.js";
import { PerMessageDeflate, type DeflateOptions, acceptOffer, parseExtensions } from "./permessage-deflate.js";
import { type ByteTransport, type IWebSocketProtocol, WebSocketTransport, type WebSocketOptions } from "./transport.js";

/** Builds the protocol of one WebSocket connection from its handshake request. */
export interface IWebSocketServerFactory {
  buildProtocol(request: IRequest): IWebSocketProtocol | null;
}

/** What a WebSocketResource accepts besides its factory. */
export interface WebSocketResourceOptions extends WebSocketOptions {
  /** Subprotocols the server speaks, most preferred first; the first the client also lists is chosen. */
  subprotocols?: string[];
  /**
   * Origins allowed (the Origin header, e.g. "https://example.com"), or a function deciding.
   * Default: any (a browser's same-origin policy does not apply to WebSockets: set this on a
   * site whose pages use cookies for authentication).
   */
  allowedOrigins?: string[] | ((origin: string | undefined, request: IRequest) => boolean);
  /** permessage-deflate (RFC 7692): false (default) offers none; true or options accept a client's offer. */
  perMessageDeflate?: boolean | DeflateOptions;
  /** Where the close and keep-alive timers run. Default: the request's channel's reactor. */
  clock?: IReactorTime;
  /**
   * When the reactor shuts down ("before shutdown"), close every open WebSocket with 1001 and
   * delay the shutdown until they have closed (each bounded by closeTimeout). Default true.
   */
  closeOnShutdown?: boolean;
}

/** The counters of a WebSocketResource. */
export interface WebSocketStatistics {
  /** Connections open now. */
  open: number;
  /** Connections that have ended, by close code (1006 when there was no close frame). */
  closed: Record<number, number>;
  /** Handshakes refused (bad request, wrong version, origin, the factory said no). */
  refused: number;
}

/** A request that can hand its connection to another protocol (server.Request can). */
interface SwitchableRequest extends IRequest {
  switchProtocols(protocol: IProtocol): void;
}

export class WebSocketResource extends Resource {
  override isLeaf = true;
  private readonly options: WebSocketResourceOptions;
  private readonly stats = { open: 0, closed: new Map<number, number>(), refused: 0 };
  /** The open connections, for a graceful shutdown (closeAll). */
  private readonly live = new Set<WebSocketTransport>();
  /** The reactors whose shutdown this resource already waits on. */
  private readonly hooked = new WeakSet<object>();
  /** Told when the last open connection ends (closeAll's waiters). */
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly factory: IWebSocketServerFactory,
    options: WebSocketResourceOptions = {},
  ) {
    super();
    this.options = options;
  }

  override render(request: IRequest): RenderResult {
    const refuse = (code: number, message: string): string => {
      this.stats.refused++;
      request.setResponseCode(code);
      request.setHeader("content-type", "text/plain; charset=utf-8");
      return message + "\n";
    };
    const headers = request.requestHeaders;
    if (request.method !== "GET") {
      request.setHeader("allow", "GET");
      return refuse(405, "A WebSocket handshake is a GET request.");
    }
    if (!headerTokens(headers.getRawHeaders("upgrade")).includes("websocket")) {
      request.setHeader("upgrade", "websocket");
      request.setHeader("connection", "Upgrade");
      return refuse(426, "This resource speaks WebSocket: send Upgrade: websocket.");
    }
    if (request.clientproto !== "HTTP/1.1") return refuse(400, "A WebSocket handshake needs HTTP/1.1.");
    if (!headerTokens(headers.getRawHeaders("connection")).includes("upgrade")) return refuse(400, "Connection: Upgrade is missing.");
    const versions = headers.getRawHeaders("sec-websocket-version") ?? [];
    if (versions.length !== 1 || versions[0]!.trim() !== WEBSOCKET_VERSION) {
      request.setHeader("sec-websocket-version", WEBSOCKET_VERSION);
      return refuse(426, `Only WebSocket version ${WEBSOCKET_VERSION} is spoken here.`);
    }
    const keys = headers.getRawHeaders("sec-websocket-key") ?? [];
    if (keys.length !== 1 || !isValidKey(keys[0]!.trim())) return refuse(400, "Sec-WebSocket-Key must be 16 bytes in base64.");
    const origin = request.getHeader("origin");
    const allowed = this.options.allowedOrigins;
    if (allowed !== undefined) {
      const ok = typeof allowed === "function" ? allowed(origin, request) : origin !== undefined && allowed.includes(origin);
      if (!ok) return refuse(403, "This origin may not open a WebSocket here.");
    }
    const switchable = request as Partial<SwitchableRequest>;
    if (typeof switchable.switchProtocols !== "function") return refuse(501, "This server cannot switch protocols on this request.");

    const offered = subprotocolList(headers.getRawHeaders("sec-websocket-protocol"));
    const subprotocol = (this.options.subprotocols ?? []).find((p) => offered.includes(p)) ?? null;
    let deflate: { params: PerMessageDeflate["params"]; response: string } | null = null;
    const pmd = this.options.perMessageDeflate;
    const deflateOptions = pmd === true ? {} : pmd || null;
    if (deflateOptions !== null) {
      const ext = headers.getRawHeaders("sec-websocket-extensions");
      const offers = ext ? parseExtensions(ext.join(", ")) : null;
      if (offers !== null) deflate = acceptOffer(offers, deflateOptions);
    }

    const protocol = this.factory.buildProtocol(request);
    if (protocol === null || protocol === undefined) {
      this.stats.refused++;
      if (request.code === 200) request.setResponseCode(403);
      return "";
    }

    request.setResponseCode(101);
    request.setHeader("upgrade", "websocket");
    request.setHeader("connection", "Upgrade");
    request.setHeader("sec-websocket-accept", acceptKey(keys[0]!.trim()));
    if (subprotocol !== null) request.setHeader("sec-websocket-protocol", subprotocol);
    if (deflate !== null) request.setHeader("sec-websocket-extensions", deflate.response);
    const clock = this.options.clock ?? (request as { channel?: { reactor?: IReactorTime } }).channel?.reactor;
    if (clock === undefined) throw new TypeError("WebSocketResource needs a clock: pass options.clock");
    const resource = this;
    let ws: WebSocketTransport | null = null;
    // The protocol the channel hands the connection to: it builds the WebSocket transport on
    // the byte transport and relays bytes and the loss to it.
    const adapter: IProtocol = {
      makeConnection(transport: ITransport): void {
        const pmdEngine = deflate === null ? null : new PerMessageDeflate(deflate.params, true, deflateOptions ?? {});
        ws = new WebSocketTransport(transport as ByteTransport, protocol, true, clock, resource.options, pmdEngine, subprotocol);
        ws.onLost = (ended) => resource._ended(ended);
        resource.stats.open++;
        resource.live.add(ws);
        resource.hookShutdown(clock);
        ws.start();
      },
      connectionMade(): void {},
      dataReceived(data): void {
        ws?.dataReceived(data);
      },
      connectionLost(reason: Failure): void {
        ws?.connectionLost(reason);
      },
    };
    switchable.switchProtocols!(adapter);
    return NOT_DONE_YET;
  }

  /** The counters: open connections, closed ones by code, refused handshakes. */
  statistics(): WebSocketStatistics {
    return { open: this.stats.open, closed: Object.fromEntries(this.stats.closed), refused: this.stats.refused };
  }

  /**
   * Close every open WebSocket with `code` (1001, going away, by default): what a graceful
   * shutdown does before the Site stops. Each ends within its closeTimeout.
   */
  closeAll(code = 1001, reason = "server shutting down"): void {
    for (const ws of [...this.live]) ws.loseConnection(code, reason);
  }

  /**
   * closeAll(), then a Promise that settles when every WebSocket has ended: each ends within
   * its closeTimeout (aborted if the peer does not answer), so this is bounded too.
   */
  closeAllAndWait(code = 1001, reason = "server shutting down"): Promise<void> {
    this.closeAll(code, reason);
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The first connection on a reactor: make its shutdown close the WebSockets first. */
  private hookShutdown(clock: IReactorTime): void {
    if (this.options.closeOnShutdown === false || this.hooked.has(clock)) return;
    const core = clock as Partial<IReactorCore>;
    if (typeof core.addSystemEventTrigger !== "function") return;
    this.hooked.add(clock);
    core.addSystemEventTrigger("before", "shutdown", () => this.closeAllAndWait());
  }

  /** @internal */
  _ended(ws: WebSocketTransport): void {
    if (!this.live.delete(ws)) return;
    this.stats.open--;
    const code = ws.closeCode ?? 1006;
    this.stats.closed.set(code, (this.stats.closed.get(code) ?? 0) + 1);
    if (this.live.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
