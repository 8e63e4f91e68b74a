/**
 * HTTPConnectionPool, as twisted.web.client.HTTPConnectionPool: connections kept open between
 * requests to the same (scheme, host, port), at most `maxPersistentPerHost` idle per key, each
 * closed after `cachedConnectionTimeout` seconds idle (240, as Twisted). A connection goes back
 * to the pool only once its response is complete and it is QUIESCENT (HTTP11ClientProtocol's
 * rule), so one abandoned, cancelled or malformed mid-response is never reused.
 *
 * retryAutomatically: a cached connection may have been closed by the server just as a request
 * is sent on it (it cannot know we were about to use it). An idempotent request without a body
 * that fails that way (RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived, not
 * from a cancel) is tried once more on a new connection, as Twisted's _RetryingHTTP11ClientProtocol.
 */

import { Deferred, succeed } from "../../internet/deferred.js";
import { CancelledError } from "../../internet/error.js";
import type { Failure } from "../../internet/failure.js";
import type { IAddress, IDelayedCall, IProtocol, IReactorTime, IStreamClientEndpoint } from "../../internet/interfaces.js";
import { Factory } from "../../internet/protocol.js";
import type { Request } from "./client-request.js";
import { RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived } from "./errors.js";
import { HTTP11ClientProtocol } from "./http11-client-protocol.js";
import type { ResponseParserLimits } from "./response-parser.js";
import type { Response } from "./response.js";

/** What a pooled connection is: HTTP11ClientProtocol, or the retrying wrapper of a cached one. */
export interface PooledConnection {
  readonly state: HTTP11ClientProtocol["state"];
  request(request: Request): Deferred<Response>;
  abort(): Deferred<void>;
}

/** Builds one HTTP11ClientProtocol per connection (Twisted's _HTTP11ClientFactory); quiet. */
class HTTP11ClientFactory extends Factory {
  override noisy = false;

  constructor(
    private readonly quiescentCallback: (p: HTTP11ClientProtocol) => void,
    private readonly limits: Partial<ResponseParserLimits>,
    private readonly description: string,
  ) {
    super();
  }

  override buildProtocol(_addr: IAddress): IProtocol {
    return new HTTP11ClientProtocol(this.quiescentCallback, this.limits);
  }

  override toString(): string {
    return `<HTTP11ClientFactory ${this.description}>`;
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "DELETE", "TRACE"]);

/** A cached connection that retries once on a new one, as Twisted's _RetryingHTTP11ClientProtocol. */
class RetryingHTTP11ClientProtocol implements PooledConnection {
  constructor(
    private readonly clientProtocol: HTTP11ClientProtocol,
    private readonly newConnection: () => Deferred<HTTP11ClientProtocol>,
  ) {}

  get state(): HTTP11ClientProtocol["state"] {
    return this.clientProtocol.state;
  }

  abort(): Deferred<void> {
    return this.clientProtocol.abort();
  }

  /** As Twisted's _shouldRetry. */
  private shouldRetry(request: Request, failure: Failure): boolean {
    if (!IDEMPOTENT.has(request.method) || request.bodyProducer !== null) return false;
    const err = failure.value;
    if (!(err instanceof RequestNotSent || err instanceof RequestTransmissionFailed || err instanceof ResponseNeverReceived)) return false;
    if (err instanceof RequestTransmissionFailed || err instanceof ResponseNeverReceived) {
      if (err.reasons.some((r) => r.check(CancelledError))) return false;
    }
    return true;
  }

  request(request: Request): Deferred<Response> {
    return this.clientProtocol.request(request).addErrback((failure: Failure): Deferred<Response> => {
      if (!this.shouldRetry(request, failure)) failure.raiseException();
      return this.newConnection().addCallback((connection) => connection.request(request));
    });
  }
}

export class HTTPConnectionPool {
  /** Whether connections are kept open between requests. */
  persistent: boolean;
  /** Idle connections kept per (scheme, host, port); the oldest is closed beyond it. */
  maxPersistentPerHost = 2;
  /** Seconds an idle connection is kept. */
  cachedConnectionTimeout = 240;
  /** Retry an idempotent request once when a cached connection turns out to be closed. */
  retryAutomatically = true;
  /** Limits of the response parser on this pool's connections. */
  responseLimits: Partial<ResponseParserLimits> = {};
  private readonly connections = new Map<string, HTTP11ClientProtocol[]>();
  private readonly timeouts = new Map<HTTP11ClientProtocol, IDelayedCall>();

  constructor(
    private readonly reactor: IReactorTime,
    persistent = true,
  ) {
    this.persistent = persistent;
  }

  /** The number of idle connections held (all keys), for operators and specs. */
  get idleConnections(): number {
    let n = 0;
    for (const list of this.connections.values()) n += list.length;
    return n;
  }

  /**
   * A connection for `key`: an idle cached one if there is one, else a new one made with
   * `endpoint`. Cancelling the Deferred abandons a new connection attempt.
   */
  getConnection(key: string, endpoint: IStreamClientEndpoint): Deferred<PooledConnection> {
    const cached = this.connections.get(key);
    if (cached !== undefined) {
      while (cached.length > 0) {
        const connection = cached.shift()!;
        this.timeouts.get(connection)?.cancel();
        this.timeouts.delete(connection);
        if (connection.state === "QUIESCENT") {
          if (cached.length === 0) this.connections.delete(key);
          if (this.retryAutomatically) {
            return succeed<PooledConnection>(new RetryingHTTP11ClientProtocol(connection, () => this.newConnection(key, endpoint)));
          }
          return succeed<PooledConnection>(connection);
        }
      }
      this.connections.delete(key);
    }
    return this.newConnection(key, endpoint) as Deferred<PooledConnection>;
  }

  private newConnection(key: string, endpoint: IStreamClientEndpoint): Deferred<HTTP11ClientProtocol> {
    const quiescent = (connection: HTTP11ClientProtocol): void => this.putConnection(key, connection);
    const factory = new HTTP11ClientFactory(quiescent, this.responseLimits, key);
    return endpoint.connect(factory) as Deferred<HTTP11ClientProtocol>;
  }

  /** A connection is idle again: keep it (closing the oldest beyond the limit) or close it. */
  private putConnection(key: string, connection: HTTP11ClientProtocol): void {
    if (!this.persistent || connection.state !== "QUIESCENT") {
      connection.transport?.loseConnection();
      return;
    }
    let list = this.connections.get(key);
    if (list === undefined) {
      list = [];
      this.connections.set(key, list);
    }
    if (list.length >= this.maxPersistentPerHost) {
      const dropped = list.shift()!;
      this.timeouts.get(dropped)?.cancel();
      this.timeouts.delete(dropped);
      dropped.transport?.loseConnection();
    }
    if (this.maxPersistentPerHost <= 0) {
      connection.transport?.loseConnection();
      return;
    }
    list.push(connection);
    this.timeouts.set(
      connection,
      this.reactor.callLater(this.cachedConnectionTimeout, () => this.removeConnection(key, connection)),
    );
  }

  /** The idle timeout of `connection` expired: close it. */
  private removeConnection(key: string, connection: HTTP11ClientProtocol): void {
    this.timeouts.delete(connection);
    connection.transport?.loseConnection();
    const list = this.connections.get(key);
    if (list === undefined) return;
    const i = list.indexOf(connection);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.connections.delete(key);
  }

  /**
   * Close every idle connection; the Deferred fires once they are all closed. Connections in
   * use are left to finish (they close when done if the pool is then not persistent).
   */
  closeCachedConnections(): Deferred<void> {
    const waits: Deferred<void>[] = [];
    for (const list of this.connections.values()) {
      for (const connection of list) {
        this.timeouts.get(connection)?.cancel();
        this.timeouts.delete(connection);
        waits.push(connection.abort());
      }
    }
    this.connections.clear();
    const all = new Deferred<void>();
    let pending = waits.length;
    if (pending === 0) all.callback(undefined);
    for (const w of waits) {
      w.addBoth(() => {
        if (--pending === 0) all.callback(undefined);
        return null;
      });
    }
    return all;
  }
}
