/**
 * twisted.web.client for torsion: Agent and its connection pool, request bodies, readBody,
 * and the agents that wrap an agent (redirects, content decoding, cookies, proxies). Import
 * from here (`torsion/web/client`); the pieces live one concept a file in ./client/.
 */

export { Agent, BrowserLikePolicyForHTTPS, StandardEndpointFactory, type AgentOptions, type IAgentEndpointFactory, type IPolicyForHTTPS } from "./client/agent.js";
export { FileBodyProducer, type BodySource, type FileBodyProducerOptions } from "./client/body-producers.js";
export { Request } from "./client/client-request.js";
export * from "./client/errors.js";
export { HTTP11ClientProtocol, type ClientProtocolState } from "./client/http11-client-protocol.js";
export { UNKNOWN_LENGTH, type IAgent, type IBodyProducer, type IClientRequest, type IResponse, type UnknownLength } from "./client/iclient.js";
export { HTTPConnectionPool, type PooledConnection } from "./client/pool.js";
export { readBody } from "./client/read-body.js";
export { HTTPResponseParser, type ResponseParserLimits } from "./client/response-parser.js";
export { Response, TransportProxyProducer } from "./client/response.js";
export { URI } from "./client/uri.js";
export { BrowserLikeRedirectAgent, PageRedirect, RedirectAgent } from "./client/redirect-agent.js";
export { BrotliDecoder, ContentDecoderAgent, DecodedResponse, DEFAULT_DECODERS, DeflateDecoder, GzipDecoder, type DecoderFactory } from "./client/content-decoder-agent.js";
export { CookieAgent, type ICookieJar } from "./client/cookie-agent.js";
export { ProxyAgent, TunnelError, TunnelingTLSEndpoint, type ProxyAgentOptions } from "./client/proxy-agent.js";
