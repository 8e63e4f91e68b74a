/**
 * twisted.web.http: HTTP/1.1 server protocol, requests, headers, status codes.
 *
 * Each concept lives in a file of its own and is re-exported here, so `torsion/web/http`
 * offers every public name of twisted.web.http:
 *
 * - http-channel.ts: HTTPChannel, the protocol (keep-alive, pipelining, timeouts, flow control)
 * - http-request.ts: Request, CACHED
 * - http-query.ts: parseQs, unquotePlus (query strings and form bodies)
 * - http-factory.ts: HTTPFactory, combinedLogFormatter
 * - http-headers.ts: Headers
 * - http-parser.ts: HTTPRequestParser and its limits, HTTPParseError
 * - http-content.ts: RequestContent, the body (spilled to a temporary file when large)
 * - http-status.ts: status codes and RESPONSES
 * - http-dates.ts: datetimeToString, stringToDatetime, datetimeToLogString
 */

export * from "./http-status.js";
export { datetimeToString, datetimeToLogString, stringToDatetime } from "./http-dates.js";
export { Headers, canonicalHeaderName, type HeaderInput } from "./http-headers.js";
export {
  HTTPParseError,
  HTTPRequestParser,
  DEFAULT_LIMITS,
  DEFAULT_METHODS,
  type HTTPLimits,
  type HTTPParserHandler,
  type HTTPParserOptions,
} from "./http-parser.js";
export { RequestContent, DEFAULT_SPILL_THRESHOLD } from "./http-content.js";
export { Request, CACHED, type CookieOptions, type RequestFactory } from "./http-request.js";
export { parseQs, unquotePlus } from "./http-query.js";
export { HTTPChannel, SERVER_VERSION, type HTTPChannelOptions } from "./http-channel.js";
export {
  HTTPFactory,
  combinedLogFormatter,
  escapeForLog,
  type AccessLogFormatter,
  type HTTPFactoryOptions,
  type HTTPFactoryStatistics,
} from "./http-factory.js";

/** Twisted's alias of RESPONSES. */
export { RESPONSES as responses } from "./http-status.js";
