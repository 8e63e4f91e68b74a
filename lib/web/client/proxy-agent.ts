/**
 * ProxyAgent, as twisted.web.client.ProxyAgent: every request goes to an HTTP proxy at
 * `endpoint`. An http: request is sent to the proxy with its absolute URI as the target (RFC
 * 9112 3.2.2). An https: request, which Twisted's ProxyAgent cannot make, goes through a tunnel:
 * CONNECT host:port to the proxy (RFC 9110 9.3.6), then TLS with the origin over it, verified
 * against the origin's name (optionsForClientTLS), so the proxy sees only ciphertext. A proxy
 * that refuses the tunnel fails the request with TunnelError carrying its status.
 */

import { Deferred, fail } from "../../internet/deferred.js";
import { TorsionError } from "../../internet/error.js";
import type { Failure } from "../../internet/failure.js";
import type {
  Bytes,
  IAddress,
  IProtocol,
  IProtocolFactory,
  IStreamClientEndpoint,
  ITLSClientContextFactory,
  ITLSTransport,
  ITransport,
} from "../../internet/interfaces.js";
import type { HostnameEndpointReactor } from "../../internet/hostname-endpoint.js";
import { connectProtocol } from "../../internet/endpoints.js";
import type { Headers } from "../http-headers.js";
import { Agent, BrowserLikePolicyForHTTPS, type IPolicyForHTTPS } from "./agent.js";
import { SchemeNotSupported } from "./errors.js";
import type { IAgent, IBodyProducer, IResponse } from "./iclient.js";
import { HTTPConnectionPool } from "./pool.js";
import { URI } from "./uri.js";

/** The proxy answered CONNECT with something other than 2xx (407 Proxy Authentication Required, 403...). */
export class TunnelError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_TUNNEL_ERROR";
  constructor(
    readonly status: number,
    readonly statusLine: string,
  ) {
    super(`The proxy refused the tunnel: ${statusLine}`);
  }
}

const MAX_CONNECT_HEAD = 16384;

/**
 * Speaks CONNECT on a new proxy connection; once the proxy says 2xx, starts TLS and becomes a
 * pass-through to the application's protocol.
 */
class TunnelProtocol implements IProtocol {
  transport: ITransport | null = null;
  private head = Buffer.alloc(0);
  private inner: IProtocol | null = null;
  private failed = false;

  constructor(
    private readonly authority: string,
    private readonly onTunnel: (transport: ITransport, self: TunnelProtocol, rest: Buffer) => void,
    private readonly onFailure: (err: unknown) => void,
  ) {}

  makeConnection(transport: ITransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  connectionMade(): void {
    this.transport!.write(Buffer.from(`CONNECT ${this.authority} HTTP/1.1\r\nHost: ${this.authority}\r\n\r\n`, "latin1"));
  }

  /** @internal From now on, everything goes to `protocol` (the HTTP client over TLS). */
  _switchTo(protocol: IProtocol): void {
    this.inner = protocol;
  }

  dataReceived(data: Bytes): void {
    if (this.inner !== null) {
      this.inner.dataReceived(data);
      return;
    }
    if (this.failed) return;
    this.head = Buffer.concat([this.head, data]);
    const end = this.head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.head.length > MAX_CONNECT_HEAD) this.fail(new TunnelError(0, "response head too long"));
      return;
    }
    const statusLine = this.head.toString("latin1", 0, this.head.indexOf("\r\n"));
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    const code = m ? Number(m[1]) : 0;
    if (code < 200 || code > 299) {
      this.fail(new TunnelError(code, statusLine));
      return;
    }
    const rest = this.head.subarray(end + 4);
    this.head = Buffer.alloc(0);
    this.onTunnel(this.transport!, this, rest);
  }

  private fail(err: Error): void {
    this.failed = true;
    (this.transport as { abortConnection?: () => void }).abortConnection?.();
    this.onFailure(err);
  }

  connectionLost(reason: Failure): void {
    if (this.inner !== null) this.inner.connectionLost(reason);
    else if (!this.failed) {
      this.failed = true;
      this.onFailure(reason);
    }
  }

  handshakeCompleted(): void {
    const p = this.inner as { handshakeCompleted?: () => void } | null;
    p?.handshakeCompleted?.();
  }
}

/** An endpoint that reaches `host`:`port` through a CONNECT tunnel of the proxy at `proxyEndpoint`, with TLS. */
export class TunnelingTLSEndpoint implements IStreamClientEndpoint {
  constructor(
    private readonly proxyEndpoint: IStreamClientEndpoint,
    private readonly host: string,
    private readonly port: number,
    private readonly creator: ITLSClientContextFactory,
  ) {}

  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const authority = `${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
    let connecting: Deferred<unknown> | null = null;
    let tunnel: TunnelProtocol | null = null;
    const result = new Deferred<IProtocol>(() => {
      connecting?.cancel();
      (tunnel?.transport as { abortConnection?: () => void } | null)?.abortConnection?.();
    });
    tunnel = new TunnelProtocol(
      authority,
      (transport, self, rest) => {
        if (result.called) {
          (transport as { abortConnection?: () => void }).abortConnection?.();
          return;
        }
        let app: IProtocol | null;
        try {
          (transport as unknown as ITLSTransport).startTLS(this.creator, { server: false });
          app = factory.buildProtocol({ type: "TCP", family: "IPv4", host: this.host, port: this.port } as IAddress);
        } catch (err) {
          (transport as { abortConnection?: () => void }).abortConnection?.();
          result.errback(err);
          return;
        }
        if (app === null) {
          transport.loseConnection();
          result.errback(new TorsionError("the protocol factory refused the tunnelled connection"));
          return;
        }
        self._switchTo(app);
        app.makeConnection(transport);
        if (rest.length > 0) app.dataReceived(rest);
        result.callback(app);
      },
      (err) => {
        if (!result.called) result.errback(err);
      },
    );
    connecting = connectProtocol(this.proxyEndpoint, tunnel).addErrback((f: Failure) => {
      if (!result.called) result.errback(f);
      return null;
    });
    return result;
  }
}

/** Options of ProxyAgent. */
export interface ProxyAgentOptions {
  /** Connections to the proxy (and tunnels through it) come from this pool (default: a new non-persistent one). */
  pool?: HTTPConnectionPool;
  /** TLS options for https origins reached through a tunnel (default BrowserLikePolicyForHTTPS). */
  contextFactory?: IPolicyForHTTPS;
}

export class ProxyAgent implements IAgent {
  private readonly agent: Agent;
  private readonly policy: IPolicyForHTTPS;

  /** Requests go to the HTTP proxy `endpoint` (a HostnameEndpoint to proxy:3128, say). */
  constructor(
    private readonly endpoint: IStreamClientEndpoint,
    reactor: HostnameEndpointReactor,
    options: ProxyAgentOptions = {},
  ) {
    const pool = options.pool ?? new HTTPConnectionPool(reactor, false);
    this.policy = options.contextFactory ?? new BrowserLikePolicyForHTTPS();
    this.agent = Agent.usingEndpointFactory(reactor, { endpointForURI: () => endpoint }, pool);
  }

  request(method: string, uri: string, headers: Headers | null = null, bodyProducer: IBodyProducer | null = null): Deferred<IResponse> {
    let parsed: URI;
    try {
      parsed = URI.fromString(uri);
    } catch (err) {
      return fail(err);
    }
    if (parsed.scheme === "http") {
      // one pool key for the proxy: every origin shares its connections (Twisted's ("http-proxy", host, port))
      return this.agent.requestWithEndpoint("http-proxy", this.endpoint, method, parsed, headers, bodyProducer, parsed.toString());
    }
    if (parsed.scheme === "https") {
      const tunnel = new TunnelingTLSEndpoint(this.endpoint, parsed.host, parsed.port, this.policy.creatorForNetloc(parsed.host, parsed.port));
      return this.agent.requestWithEndpoint(`https-tunnel://${parsed.host}:${parsed.port}`, tunnel, method, parsed, headers, bodyProducer, parsed.originForm);
    }
    return fail(new SchemeNotSupported(`Unsupported scheme: ${JSON.stringify(parsed.scheme)}`));
  }
}
