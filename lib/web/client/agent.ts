/**
 * Agent, as twisted.web.client.Agent: `agent.request(method, uri, headers, bodyProducer)`
 * fires with an IResponse once the response head has arrived. http: URIs connect with a
 * HostnameEndpoint (resolved through the reactor's resolver, Happy Eyeballs, `connectTimeout`,
 * `bindAddress`); https: ones run TLS over it with the context factory's options for the host
 * (BrowserLikePolicyForHTTPS: optionsForClientTLS, so the certificate is verified against the
 * platform's trust roots and must name the host). Connections come from an HTTPConnectionPool
 * (by default a non-persistent one, as Twisted's).
 *
 * Cancelling the Deferred aborts whatever stage the request is at: connecting, sending,
 * waiting for the head. A body being read is aborted through readBody's cancel (or the body
 * protocol's transport.abortConnection()).
 */

import { Deferred, fail } from "../../internet/deferred.js";
import { HostnameEndpoint, type HostnameEndpointReactor } from "../../internet/hostname-endpoint.js";
import type { IStreamClientEndpoint, ITLSClientContextFactory } from "../../internet/interfaces.js";
import { optionsForClientTLS, type TrustRootLike } from "../../internet/ssl.js";
import { wrapClientTLS } from "../../internet/wrap-client-tls.js";
import { Headers } from "../http-headers.js";
import { Request } from "./client-request.js";
import { SchemeNotSupported } from "./errors.js";
import type { IAgent, IBodyProducer, IResponse } from "./iclient.js";
import { HTTPConnectionPool } from "./pool.js";
import { URI } from "./uri.js";

/** Gives the TLS options for a host, as IPolicyForHTTPS. */
export interface IPolicyForHTTPS {
  creatorForNetloc(hostname: string, port: number): ITLSClientContextFactory;
}

/**
 * Verify like a browser, as Twisted's BrowserLikePolicyForHTTPS: the platform's trust roots
 * (or `trustRoot`), the certificate must name the host.
 */
export class BrowserLikePolicyForHTTPS implements IPolicyForHTTPS {
  constructor(private readonly trustRoot?: TrustRootLike) {}

  creatorForNetloc(hostname: string, _port: number): ITLSClientContextFactory {
    return optionsForClientTLS(hostname, this.trustRoot !== undefined ? { trustRoot: this.trustRoot } : {});
  }
}

/** Makes the endpoint for a URI, as IAgentEndpointFactory. */
export interface IAgentEndpointFactory {
  endpointForURI(uri: URI): IStreamClientEndpoint;
}

/** Options of Agent; Twisted's keyword arguments. */
export interface AgentOptions {
  /** TLS options per host for https (default BrowserLikePolicyForHTTPS). */
  contextFactory?: IPolicyForHTTPS;
  /** Seconds to connect (resolution included) before TimeoutError (default 30). */
  connectTimeout?: number;
  /** The local address to connect from. */
  bindAddress?: { host: string; port: number };
  /** Where connections come from (default: a new non-persistent pool). */
  pool?: HTTPConnectionPool;
}

/** The endpoints Agent makes by default (Twisted's _StandardEndpointFactory). */
export class StandardEndpointFactory implements IAgentEndpointFactory {
  constructor(
    private readonly reactor: HostnameEndpointReactor,
    private readonly policy: IPolicyForHTTPS,
    private readonly connectTimeout: number | undefined,
    private readonly bindAddress: { host: string; port: number } | undefined,
  ) {}

  endpointForURI(uri: URI): IStreamClientEndpoint {
    const options: { timeout?: number; bindAddress?: { host: string; port: number } } = {};
    if (this.connectTimeout !== undefined) options.timeout = this.connectTimeout;
    if (this.bindAddress !== undefined) options.bindAddress = this.bindAddress;
    const endpoint = new HostnameEndpoint(this.reactor, uri.host, uri.port, options);
    if (uri.scheme === "http") return endpoint;
    if (uri.scheme === "https") return wrapClientTLS(this.policy.creatorForNetloc(uri.host, uri.port), endpoint);
    throw new SchemeNotSupported(`Unsupported scheme: ${JSON.stringify(uri.scheme)}`);
  }
}

export class Agent implements IAgent {
  readonly pool: HTTPConnectionPool;
  private endpointFactory: IAgentEndpointFactory;

  constructor(reactor: HostnameEndpointReactor, options: AgentOptions = {}) {
    if (typeof reactor?.callLater !== "function" || typeof reactor.connectTCP !== "function") {
      throw new TypeError("Agent: the reactor must provide IReactorTime and IReactorTCP");
    }
    this.pool = options.pool ?? new HTTPConnectionPool(reactor, false);
    this.endpointFactory = new StandardEndpointFactory(
      reactor,
      options.contextFactory ?? new BrowserLikePolicyForHTTPS(),
      options.connectTimeout,
      options.bindAddress,
    );
  }

  /** An Agent whose connections come from `endpointFactory` (a proxy tunnel, a UNIX socket...). */
  static usingEndpointFactory(reactor: HostnameEndpointReactor, endpointFactory: IAgentEndpointFactory, pool?: HTTPConnectionPool): Agent {
    const agent = new Agent(reactor, pool ? { pool } : {});
    agent.endpointFactory = endpointFactory;
    return agent;
  }

  /**
   * Issue a request; fires with the response once its head has arrived. A URI that is not
   * http(s) fails with SchemeNotSupported; a refused connection with ConnectionRefusedError; an
   * unknown host with DNSLookupError; a malformed response with ResponseFailed.
   */
  request(method: string, uri: string, headers: Headers | null = null, bodyProducer: IBodyProducer | null = null): Deferred<IResponse> {
    let parsed: URI;
    let endpoint: IStreamClientEndpoint;
    try {
      parsed = URI.fromString(uri);
      if (parsed.scheme !== "http" && parsed.scheme !== "https") throw new SchemeNotSupported(`Unsupported scheme: ${JSON.stringify(parsed.scheme)}`);
      endpoint = this.endpointFactory.endpointForURI(parsed);
    } catch (err) {
      return fail(err);
    }
    const key = `${parsed.scheme}://${parsed.host}:${parsed.port}`;
    return this.requestWithEndpoint(key, endpoint, method, parsed, headers, bodyProducer, parsed.originForm);
  }

  /** @internal Issue a request for `parsedURI` on a connection for `key` (ProxyAgent sends the absolute URI). */
  requestWithEndpoint(
    key: string,
    endpoint: IStreamClientEndpoint,
    method: string,
    parsedURI: URI,
    headers: Headers | null,
    bodyProducer: IBodyProducer | null,
    requestPath: string,
  ): Deferred<IResponse> {
    const h = headers === null ? new Headers() : headers.copy();
    if (!h.hasHeader("host")) h.addRawHeader("Host", parsedURI.hostValue);
    let request: Request;
    try {
      request = new Request(method, requestPath, h, bodyProducer, this.pool.persistent, parsedURI.toString());
    } catch (err) {
      return fail(err);
    }
    return this.pool.getConnection(key, endpoint).addCallback((connection) => connection.request(request)) as Deferred<IResponse>;
  }
}
