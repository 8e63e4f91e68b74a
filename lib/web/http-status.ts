/**
 * HTTP status codes and their reason phrases, as twisted.web._responses (re-exported by http.ts).
 *
 * The names and phrases are Twisted's, so code ported from Twisted reads the same; 431 (RFC 6585),
 * which the parser answers for an oversized header block, is added.
 */

export const CONTINUE = 100;
export const SWITCHING = 101;
export const OK = 200;
export const CREATED = 201;
export const ACCEPTED = 202;
export const NON_AUTHORITATIVE_INFORMATION = 203;
export const NO_CONTENT = 204;
export const RESET_CONTENT = 205;
export const PARTIAL_CONTENT = 206;
export const MULTI_STATUS = 207;
export const MULTIPLE_CHOICE = 300;
export const MOVED_PERMANENTLY = 301;
export const FOUND = 302;
export const SEE_OTHER = 303;
export const NOT_MODIFIED = 304;
export const USE_PROXY = 305;
export const TEMPORARY_REDIRECT = 307;
export const PERMANENT_REDIRECT = 308;
export const BAD_REQUEST = 400;
export const UNAUTHORIZED = 401;
export const PAYMENT_REQUIRED = 402;
export const FORBIDDEN = 403;
export const NOT_FOUND = 404;
export const NOT_ALLOWED = 405;
export const NOT_ACCEPTABLE = 406;
export const PROXY_AUTH_REQUIRED = 407;
export const REQUEST_TIMEOUT = 408;
export const CONFLICT = 409;
export const GONE = 410;
export const LENGTH_REQUIRED = 411;
export const PRECONDITION_FAILED = 412;
export const REQUEST_ENTITY_TOO_LARGE = 413;
export const REQUEST_URI_TOO_LONG = 414;
export const UNSUPPORTED_MEDIA_TYPE = 415;
export const REQUESTED_RANGE_NOT_SATISFIABLE = 416;
export const EXPECTATION_FAILED = 417;
export const REQUEST_HEADER_FIELDS_TOO_LARGE = 431;
export const INTERNAL_SERVER_ERROR = 500;
export const NOT_IMPLEMENTED = 501;
export const BAD_GATEWAY = 502;
export const SERVICE_UNAVAILABLE = 503;
export const GATEWAY_TIMEOUT = 504;
export const HTTP_VERSION_NOT_SUPPORTED = 505;
export const INSUFFICIENT_STORAGE_SPACE = 507;
export const NOT_EXTENDED = 510;

/** Status code -> reason phrase. */
export const RESPONSES: ReadonlyMap<number, string> = new Map<number, string>([
  [CONTINUE, "Continue"],
  [SWITCHING, "Switching Protocols"],
  [OK, "OK"],
  [CREATED, "Created"],
  [ACCEPTED, "Accepted"],
  [NON_AUTHORITATIVE_INFORMATION, "Non-Authoritative Information"],
  [NO_CONTENT, "No Content"],
  [RESET_CONTENT, "Reset Content."],
  [PARTIAL_CONTENT, "Partial Content"],
  [MULTI_STATUS, "Multi-Status"],
  [MULTIPLE_CHOICE, "Multiple Choices"],
  [MOVED_PERMANENTLY, "Moved Permanently"],
  [FOUND, "Found"],
  [SEE_OTHER, "See Other"],
  [NOT_MODIFIED, "Not Modified"],
  [USE_PROXY, "Use Proxy"],
  [TEMPORARY_REDIRECT, "Temporary Redirect"],
  [PERMANENT_REDIRECT, "Permanent Redirect"],
  [BAD_REQUEST, "Bad Request"],
  [UNAUTHORIZED, "Unauthorized"],
  [PAYMENT_REQUIRED, "Payment Required"],
  [FORBIDDEN, "Forbidden"],
  [NOT_FOUND, "Not Found"],
  [NOT_ALLOWED, "Method Not Allowed"],
  [NOT_ACCEPTABLE, "Not Acceptable"],
  [PROXY_AUTH_REQUIRED, "Proxy Authentication Required"],
  [REQUEST_TIMEOUT, "Request Time-out"],
  [CONFLICT, "Conflict"],
  [GONE, "Gone"],
  [LENGTH_REQUIRED, "Length Required"],
  [PRECONDITION_FAILED, "Precondition Failed"],
  [REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large"],
  [REQUEST_URI_TOO_LONG, "Request-URI Too Long"],
  [UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"],
  [REQUESTED_RANGE_NOT_SATISFIABLE, "Requested Range not satisfiable"],
  [EXPECTATION_FAILED, "Expectation Failed"],
  [REQUEST_HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large"],
  [INTERNAL_SERVER_ERROR, "Internal Server Error"],
  [NOT_IMPLEMENTED, "Not Implemented"],
  [BAD_GATEWAY, "Bad Gateway"],
  [SERVICE_UNAVAILABLE, "Service Unavailable"],
  [GATEWAY_TIMEOUT, "Gateway Time-out"],
  [HTTP_VERSION_NOT_SUPPORTED, "HTTP Version not supported"],
  [INSUFFICIENT_STORAGE_SPACE, "Insufficient Storage Space"],
  [NOT_EXTENDED, "Not Extended"],
]);

/** The reason phrase of `code`, or "Unknown Status" as Twisted says. */
export function responsePhrase(code: number): string {
  return RESPONSES.get(code) ?? "Unknown Status";
}

/** Codes whose responses never carry a body (RFC 9110 6.4.1), as Twisted's NO_BODY_CODES. */
export const NO_BODY_CODES: ReadonlySet<number> = new Set([NO_CONTENT, NOT_MODIFIED]);
