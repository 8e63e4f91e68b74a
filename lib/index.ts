/**
 * torsion: Twisted's networking model on Node.js. Every public name, from one import.
 * Each module is also importable on its own from a subpath mirroring Twisted's
 * (`torsion/internet/defer`, `torsion/internet/task`, `torsion/web/server`, ...).
 * Modules whose names would be ambiguous at the root (iosim's `connect`, the thread bridge)
 * are on their subpath only.
 */

// twisted.internet: the core
export * from "./internet/error.js";
export * from "./internet/failure.js";
export * from "./internet/log.js";
export * from "./internet/defer.js";
export * from "./internet/address.js";
export * from "./internet/base.js";
export * from "./internet/task.js";
export * from "./internet/protocol.js";
export * from "./internet/endpoints.js";
export * from "./internet/endpoint-descriptions.js";
export * from "./internet/testing.js";
export type * from "./internet/interfaces.js";
export {
  reactor,
  NodeReactor,
  ThreePhaseEvent,
  getReactor,
  installReactor,
  isReactorInstalled,
  whenReactorInstalled,
  type SystemEventTriggerID,
} from "./internet/reactor.js";
export { FileDescriptor, TransportCounters, type TransportCounterName, type ShutdownResource, type ResourceTracker } from "./internet/abstract.js";
export {
  Port as TCPPort,
  Connector as TCPConnector,
  Server as TCPServer,
  Client as TCPClient,
  Connection as TCPConnection,
} from "./internet/tcp.js";
export { BasePort, BaseConnector, connectErrorFor } from "./internet/port-connector.js";
export {
  Port as UNIXPort,
  Connector as UNIXConnector,
  UNIXConnection,
  FilesystemLock,
  isLocked,
} from "./internet/unix.js";
export {
  CertificateOptions,
  DefaultOpenSSLContextFactory,
  ClientContextFactory,
  ClientTLSOptions,
  optionsForClientTLS,
  Certificate,
  PrivateCertificate,
  platformTrust,
  trustRootFromCertificates,
  trustRootFromDirectory,
  Port as SSLPort,
  Connector as SSLConnector,
  type CertificateOptionsInit,
  type ClientTLSOptionsInit,
  type ITrustRoot,
  type TrustRootLike,
  type PEM,
  type TLSVersion,
} from "./internet/ssl.js";
export * from "./internet/threads.js";
export { ThreadPool, TaskHandle } from "./internet/threadpool.js";
export type {
  OnResult,
  ThreadPoolOptions,
  StopOptions,
  ThreadPoolStatistics,
  WorkerInfo,
  TaskState,
  PoolWorkerOptions,
} from "./internet/threadpool.js";
export * from "./internet/work-ref.js";
// twisted.internet: processes, standard I/O, UDP
export { ProcessProtocol } from "./internet/process-protocol.js";
export { Process, spawnProcess, signalNumber } from "./internet/process.js";
export { getProcessOutput, getProcessValue, getProcessOutputAndValue, type ProcessUtilsOptions } from "./internet/utils.js";
export { StandardIO, type StandardIOOptions } from "./internet/stdio.js";
export {
  ProcessEndpoint,
  ProcessEndpointTransport,
  StandardIOEndpoint,
  StandardErrorBehavior,
  type ProcessEndpointOptions,
} from "./internet/process-endpoints.js";
export { DatagramProtocol } from "./internet/datagram-protocol.js";
export { Port as UDPPort, MulticastPort } from "./internet/udp.js";
export { FakeDatagramPort } from "./internet/fake-datagram-port.js";

// twisted.protocols
export * from "./protocols/basic.js";
export * from "./protocols/policies.js";

// twisted.web
export * as http from "./web/http.js";
export {
  HTTPChannel,
  HTTPFactory,
  Request as HTTPRequest,
  Headers,
  HTTPParseError,
  HTTPRequestParser,
  RequestContent,
  CACHED,
  RESPONSES,
  combinedLogFormatter,
  datetimeToString,
  stringToDatetime,
  type HTTPFactoryOptions,
  type HTTPFactoryStatistics,
} from "./web/http.js";
export * from "./web/resource.js";
// twisted.web.server.Request under its own name; ServerRequest is its earlier name, kept as an
// alias. twisted.web.http.Request is http.Request (and HTTPRequest).
export {
  Site,
  Request,
  Request as ServerRequest,
  NOT_DONE_YET,
  version as serverVersion,
  supportedMethods,
  unquoteSegment,
  quoteSegment,
  splitPath,
  type SiteOptions,
} from "./web/server.js";
export { redirectTo, Redirect, ParentRedirect, DeferredResource, formatFailure } from "./web/util.js";
export * from "./web/static.js";
export { AddHeadersResource } from "./web/add-headers-resource.js";
export { DummyRequest, render as renderResource, renderBody } from "./web/testing.js";
export type * from "./web/iweb.js";
export {
  WSGIResource,
  wsgiStatistics,
  type WSGIResourceOptions,
  type WSGIStatistics,
  type WSGIApplication,
  type WSGIEnviron,
  type WSGIErrors,
  type WSGIInput,
  type StartResponse,
  type WSGIWrite,
  type WSGIBody,
  type WSGIHeader,
} from "./web/wsgi/resource.js";

// twisted.application: services
export {
  Service,
  MultiService,
  Application,
  startApplication,
  type IService,
  type IServiceCollection,
  type StopResult,
  type ApplicationReactor,
} from "./application/service.js";
export {
  StreamServerEndpointService,
  TimerService,
  ClientService,
  backoffPolicy,
  type RetryPolicy,
  type BackoffPolicyOptions,
  type ClientServiceOptions,
} from "./application/internet.js";
export * as strports from "./application/strports.js";
export {
  GracefulShutdown,
  type GracefulShutdownOptions,
  type DrainResult,
  type DrainableFactory,
  type DrainableChannel,
  type DrainableRequest,
} from "./application/graceful.js";

// twisted.web.client, twisted.web.proxy, and the name resolution the client uses (issue 17)
export {
  GAIResolver,
  PluggableNameResolver,
  StaticResolver,
  resolveAll,
  type IHostnameResolver,
  type IHostResolution,
  type IReactorPluggableNameResolver,
  type IResolutionReceiver,
} from "./internet/resolver.js";
export { HostnameEndpoint, type HostnameEndpointOptions } from "./internet/hostname-endpoint.js";
export { wrapClientTLS, TLSWrapperClientEndpoint } from "./internet/wrap-client-tls.js";
export {
  Agent,
  BrowserLikePolicyForHTTPS,
  BrowserLikeRedirectAgent,
  ContentDecoderAgent,
  CookieAgent,
  FileBodyProducer,
  GzipDecoder,
  DeflateDecoder,
  BrotliDecoder,
  HTTPConnectionPool,
  HTTP11ClientProtocol,
  ProxyAgent,
  RedirectAgent,
  Request as ClientRequest,
  Response as ClientResponse,
  readBody,
  URI,
  UNKNOWN_LENGTH,
  ResponseDone,
  ResponseFailed,
  ResponseNeverReceived,
  PotentialDataLoss,
  PartialDownloadError,
  RequestGenerationFailed,
  RequestTransmissionFailed,
  RequestNotSent,
  SchemeNotSupported,
  InfiniteRedirection,
  RedirectWithNoLocation,
  PageRedirect,
  TunnelError,
  ParseError as ResponseParseError,
  type IAgent,
  type IBodyProducer,
  type IResponse,
  type ICookieJar,
} from "./web/client.js";
export { ReverseProxyResource, type ReverseProxyOptions, type ProxyCounters } from "./web/proxy.js";

// the torsion command, usable as a library
export type { ResourceContext, ResourceFactory, WebOptions } from "./cli/web.js";

// twisted.web.websocket
export { WebSocketResource, type IWebSocketServerFactory, type WebSocketResourceOptions, type WebSocketStatistics } from "./web/websocket/resource.js";
export { WebSocketTransport, type IWebSocketProtocol, type WebSocketOptions } from "./web/websocket/transport.js";
export { WebSocketClientEndpoint, ConnectionRejected, type IWebSocketClientFactory, type WebSocketClientOptions } from "./web/websocket/client.js";
export { CloseCode } from "./web/websocket/frames.js";
export type { DeflateOptions } from "./web/websocket/permessage-deflate.js";
