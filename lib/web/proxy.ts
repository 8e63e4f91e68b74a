/**
 * twisted.web.proxy's ReverseProxyResource, built on torsion's HTTP client: put it in a resource
 * tree and every request below it is relayed to another server (host, port, path), the answer
 * relayed back.
 *
 * Where Twisted's opens one connection a request and reads the upstream response as fast as it
 * comes, this one keeps the chain a proxy needs under load:
 *
 * - Back-pressure both ways. The browser's transport is the consumer of the upstream body: a
 *   slow browser pauses the upstream connection's reading (its TransportProxyProducer is the
 *   registered producer). The request body (which the Site has already received, spilling to
 *   disk beyond its threshold) is sent by a FileBodyProducer that the upstream connection
 *   pauses when the upstream reads slowly.
 * - The disconnect chain. A browser that goes away cancels the upstream request at whatever
 *   stage it is (connecting, sending, waiting for the head) or aborts the upstream connection
 *   mid-body: the upstream sees its connection lost at once (a torsion upstream's
 *   notifyFinish() errbacks) and the connection never goes back to the pool. An upstream that
 *   fails before its head gives the browser 502 Bad Gateway; after it, the browser's
 *   connection is dropped (a truncated body must not look complete).
 * - Hop-by-hop headers (RFC 9110 7.6.1: Connection and what it names, Keep-Alive,
 *   Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization,
 *   Proxy-Authenticate) are not forwarded either way; X-Forwarded-For/-Proto/-Host are set;
 *   Host is the upstream's, as Twisted's.
 * - Upstream connections come from one HTTPConnectionPool shared by the whole subtree.
 */

import type { Failure } from "../internet/failure.js";
import type { HostnameEndpointReactor } from "../internet/hostname-endpoint.js";
import type { Bytes, IProtocol, ITCPTransport, ITransport } from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import { Agent } from "./client/agent.js";
import { FileBodyProducer } from "./client/body-producers.js";
import { PotentialDataLoss, ResponseDone } from "./client/errors.js";
import type { IBodyProducer, IResponse } from "./client/iclient.js";
import { HTTPConnectionPool } from "./client/pool.js";
import type { TransportProxyProducer } from "./client/response.js";
import { getReactor } from "../internet/reactor.js";
import { Headers } from "./http-headers.js";
import { NOT_DONE_YET, type IRequest, type IResource } from "./iweb.js";
import { Resource } from "./resource.js";

const log = new Logger("torsion.web.proxy");

/** Headers that describe one connection, not the message (RFC 9110 7.6.1), never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

/** `headers` without the hop-by-hop ones, nor those its Connection header names. */
function endToEnd(headers: Headers, alsoDrop: readonly string[] = []): Array<[string, string[]]> {
  const named = new Set(alsoDrop);
  for (const value of headers.getRawHeaders("connection") ?? []) {
    for (const token of value.split(",")) named.add(token.trim().toLowerCase());
  }
  const kept: Array<[string, string[]]> = [];
  for (const [name, values] of headers.getAllRawHeaders()) {
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && !named.has(lower)) kept.push([name, values]);
  }
  return kept;
}

/** What the proxy counts, for operators and the disconnect-chain measurement. */
export interface ProxyCounters {
  /** Upstream requests under way (sent, response not finished). */
  inFlight: number;
  /** Upstream requests cancelled or aborted because the browser went away. */
  abortedByClient: number;
  /** Upstream failures answered with 502 (before the head). */
  badGateway: number;
  /** Upstream failures after the head (the browser's connection dropped). */
  upstreamLostMidBody: number;
}

/** What a subtree of ReverseProxyResources shares: the agent, its pool, the counters. */
interface ProxyShared {
  readonly agent: Agent;
  readonly pool: HTTPConnectionPool;
  readonly counters: ProxyCounters;
}

/** Options of ReverseProxyResource. */
export interface ReverseProxyOptions {
  /** The reactor for upstream connections (default: the global reactor). */
  reactor?: HostnameEndpointReactor;
  /** The upstream connection pool (default: a persistent one keeping up to 64 idle connections to the upstream, as a proxy wants). */
  pool?: HTTPConnectionPool;
  /** "http" (default) or "https" for the upstream. */
  scheme?: "http" | "https";
}

/** Relays the upstream body to the browser's request, with back-pressure, and ends it. */
class ProxyBodyProtocol implements IProtocol {
  private transport: TransportProxyProducer | null = null;
  private registered = false;

  constructor(
    private readonly request: IRequest,
    private readonly done: (reason: Failure) => void,
  ) {}

  makeConnection(transport: ITransport): void {
    this.transport = transport as unknown as TransportProxyProducer;
    if (!(this.request as { disconnected?: boolean }).disconnected) {
      // the browser's connection pauses the upstream's reading while it cannot take more
      this.request.registerProducer(this.transport, true);
      this.registered = true;
    }
    this.connectionMade();
  }

  connectionMade(): void {}

  dataReceived(data: Bytes): void {
    this.request.write(data);
  }

  connectionLost(reason: Failure): void {
    try {
      if (this.registered) {
        this.registered = false;
        this.request.unregisterProducer();
      }
    } catch (err) {
      // the browser's connection already let go of its producer (it was lost)
      void err;
    } finally {
      this.done(reason);
    }
  }

  /** The browser went away: drop the upstream connection at once. */
  abort(): void {
    this.transport?.abortConnection();
  }
}

/** Drop the browser's connection at once (a body cut short must not end like a whole one). */
function dropBrowser(request: IRequest): void {
  const transport = (request as { transport?: ITransport | null }).transport as Partial<ITCPTransport> | null | undefined;
  if (transport?.abortConnection) transport.abortConnection();
  else (request as { loseConnection?: () => void }).loseConnection?.();
}

/**
 * A resource that relays every request below it to `host`:`port`, under `path`, as Twisted's
 * ReverseProxyResource(host, port, path): a request for /a/b below it goes to `path`/a/b.
 */
export class ReverseProxyResource extends Resource {
  private readonly shared: ProxyShared;
  readonly scheme: "http" | "https";

  constructor(
    readonly host: string,
    readonly port: number,
    /** The upstream path prefix, already percent-encoded, without a trailing slash. */
    readonly path: string,
    options: ReverseProxyOptions = {},
    shared?: ProxyShared,
  ) {
    super();
    if (typeof host !== "string" || host === "") throw new TypeError(`ReverseProxyResource: host must be a non-empty string, not ${JSON.stringify(host)}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`ReverseProxyResource: port must be an integer from 1 to 65535, not ${port}`);
    if (typeof path !== "string") throw new TypeError(`ReverseProxyResource: path must be a string, not ${typeof path}`);
    this.scheme = options.scheme ?? "http";
    if (shared !== undefined) {
      this.shared = shared;
    } else {
      const reactor = options.reactor ?? (getReactor() as HostnameEndpointReactor);
      const pool = options.pool ?? new HTTPConnectionPool(reactor);
      if (options.pool === undefined) pool.maxPersistentPerHost = 64;
      this.shared = {
        agent: new Agent(reactor, { pool }),
        pool,
        counters: { inFlight: 0, abortedByClient: 0, badGateway: 0, upstreamLostMidBody: 0 },
      };
    }
  }

  /** The subtree's counters (shared by every child made from this resource). */
  get counters(): ProxyCounters {
    return this.shared.counters;
  }

  /** The upstream connection pool (closeCachedConnections() at shutdown). */
  get pool(): HTTPConnectionPool {
    return this.shared.pool;
  }

  /** The same upstream, with `path` one segment longer (the segment percent-encoded), as Twisted's getChild. */
  override getChild(path: string, _request: IRequest): IResource {
    return new ReverseProxyResource(this.host, this.port, `${this.path}/${encodeURIComponent(path)}`, { scheme: this.scheme }, this.shared);
  }

  /** The Host value of the upstream: the port only when it is not the scheme's default, as Twisted. */
  private upstreamHost(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    const defaultPort = this.scheme === "https" ? 443 : 80;
    return this.port === defaultPort ? host : `${host}:${this.port}`;
  }

  override render(request: IRequest): typeof NOT_DONE_YET {
    const counters = this.shared.counters;
    const query = request.uri.indexOf("?");
    const target = (this.path === "" ? "/" : this.path) + (query >= 0 ? request.uri.slice(query) : "");
    const url = `${this.scheme}://${this.upstreamHost()}${target}`;

    const headers = new Headers(endToEnd(request.requestHeaders, ["content-length", "host"]));
    headers.setRawHeaders("host", [this.upstreamHost()]);
    const client = request.getClientAddress();
    const clientIP = client !== null && client.type === "TCP" ? client.host : null;
    if (clientIP !== null) {
      const prior = request.requestHeaders.getRawHeaders("x-forwarded-for");
      headers.setRawHeaders("x-forwarded-for", [prior ? `${prior.join(", ")}, ${clientIP}` : clientIP]);
    }
    headers.setRawHeaders("x-forwarded-proto", [request.isSecure() ? "https" : "http"]);
    const originalHost = request.getHeader("host");
    if (originalHost !== undefined) headers.setRawHeaders("x-forwarded-host", [originalHost]);

    const content = request.content;
    let body: IBodyProducer | null = null;
    if (content !== null && content.length > 0) {
      content.seek(0);
      body = new FileBodyProducer({ read: (size) => content.read(size), length: content.length });
    } else if (request.method === "POST" || request.method === "PUT" || request.method === "PATCH") {
      body = new FileBodyProducer(Buffer.alloc(0));
    }

    counters.inFlight++;
    let settled = false;
    const settle = (): void => {
      if (!settled) {
        settled = true;
        counters.inFlight--;
      }
    };
    let bodyProtocol: ProxyBodyProtocol | null = null;
    let browserGone = false;

    const upstream = this.shared.agent.request(request.method, url, headers, body);
    upstream.addCallbacks(
      (response: IResponse) => {
        if (browserGone) {
          // the browser left just as the head arrived: nobody will read this body
          (response as unknown as { _transport?: TransportProxyProducer })._transport?.abortConnection();
          settle();
          return null;
        }
        request.setResponseCode(response.code, response.phrase);
        for (const [name, values] of endToEnd(response.headers)) {
          const lower = name.toLowerCase();
          // the Site sets defaults for these: the upstream's replace them (Twisted's handleHeader)
          if (lower === "server" || lower === "date" || lower === "content-type" || lower === "content-length") request.responseHeaders.setRawHeaders(name, values);
          else for (const v of values) request.responseHeaders.addRawHeader(name, v);
        }
        bodyProtocol = new ProxyBodyProtocol(request, (reason) => {
          settle();
          if (browserGone) return;
          if (reason.check(ResponseDone, PotentialDataLoss)) {
            request.finish();
          } else {
            counters.upstreamLostMidBody++;
            log.warn("The upstream response for {url} failed mid-body: {reason}", { url, reason: reason.getErrorMessage() });
            dropBrowser(request);
          }
        });
        response.deliverBody(bodyProtocol);
        return null;
      },
      (failure: Failure) => {
        settle();
        if (browserGone) return null;
        counters.badGateway++;
        log.warn("The upstream request for {url} failed: {reason}", { url, reason: failure.getErrorMessage() });
        request.setResponseCode(502, "Bad Gateway");
        request.setHeader("content-type", "text/plain; charset=utf-8");
        request.write(Buffer.from(`Bad Gateway: the upstream server could not be reached or failed (${failure.type.name})\n`));
        request.finish();
        return null;
      },
    );

    request.notifyFinish().addErrback(() => {
      // the browser went away before the response was finished
      browserGone = true;
      if (settled) return null;
      counters.abortedByClient++;
      // cancel whatever stage the request is at (connecting, sending, waiting for the head),
      // or drop the upstream connection mid-body
      if (bodyProtocol === null) upstream.cancel();
      else bodyProtocol.abort();
      return null;
    });
    return NOT_DONE_YET;
  }
}
