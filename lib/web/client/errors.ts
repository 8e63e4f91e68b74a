/**
 * The errors of the HTTP client, as twisted.web._newclient and twisted.web.error name them.
 * A request fails with one of the "reasons" wrappers (ResponseFailed, ResponseNeverReceived,
 * RequestGenerationFailed, RequestTransmissionFailed), whose `reasons` are the Failures that
 * caused it (ConnectionLost, ParseError, CancelledError, ...), so a caller can tell a server
 * that hung up from a cancelled request from a malformed response.
 */

import { TorsionError } from "../../internet/error.js";
import type { Failure } from "../../internet/failure.js";

function describe(reasons: readonly Failure[]): string {
  return reasons.map((r) => `${r.type.name}: ${r.getErrorMessage()}`).join("; ");
}

/** A base for the errors carrying the Failures that caused them (Twisted's _WrapperException). */
export class WrapperError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_WRAPPER_ERROR";
  constructor(
    readonly reasons: readonly Failure[],
    what: string,
  ) {
    super(reasons.length > 0 ? `${what}: ${describe(reasons)}` : what);
  }
}

/** The body was fully received: what a body protocol's connectionLost gets on success. */
export class ResponseDone extends TorsionError {
  static override readonly code: string = "TORSION_ERR_RESPONSE_DONE";
  constructor(message = "Response body fully received") {
    super(message);
  }
}

/**
 * The body ended with the connection and had no length of its own (neither Content-Length nor
 * chunked), so it may have been cut short without anyone knowing (RFC 9112 6.3 item 8).
 */
export class PotentialDataLoss extends TorsionError {
  static override readonly code: string = "TORSION_ERR_POTENTIAL_DATA_LOSS";
  constructor(message = "The response body ended with the connection and had no length: it may be incomplete") {
    super(message);
  }
}

/** Some or all of the response was lost, or it could not be parsed. `response` if one was made. */
export class ResponseFailed extends WrapperError {
  constructor(
    reasons: readonly Failure[],
    readonly response: unknown = null,
  ) {
    super(reasons, "The response failed");
  }
}

/** The connection ended (or was cancelled) before any byte of a response arrived. */
export class ResponseNeverReceived extends ResponseFailed {
  constructor(reasons: readonly Failure[]) {
    super(reasons);
    this.message = `No response was received${reasons.length ? `: ${describe(reasons)}` : ""}`;
  }
}

/** Writing the request failed locally: the body producer failed, wrote too much or too little, or the request was cancelled while sent. */
export class RequestGenerationFailed extends WrapperError {
  constructor(reasons: readonly Failure[]) {
    super(reasons, "The request could not be generated");
  }
}

/** The connection was lost while the request was being written. */
export class RequestTransmissionFailed extends WrapperError {
  constructor(reasons: readonly Failure[]) {
    super(reasons, "The request could not be transmitted");
  }
}

/** The connection cannot take a request now (another is under way, or it is closed). */
export class RequestNotSent extends TorsionError {
  static override readonly code: string = "TORSION_ERR_REQUEST_NOT_SENT";
  constructor(message = "The request was not sent: the connection is busy or closed") {
    super(message);
  }
}

/** The response head (or a chunk header) is malformed: `data` is the offending text. */
export class ParseError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_PARSE_ERROR";
  constructor(
    message: string,
    readonly data: string = "",
  ) {
    super(data ? `${message}: ${JSON.stringify(data.length > 200 ? data.slice(0, 200) + "..." : data)}` : message);
  }
}

/** The status line names an HTTP version other than 1.0 or 1.1. */
export class BadResponseVersion extends ParseError {}

/** The server sent bytes beyond the end of the response (more than its Content-Length). */
export class ExcessResponseData extends TorsionError {
  static override readonly code: string = "TORSION_ERR_EXCESS_RESPONSE_DATA";
}

/** The body ended before its Content-Length or its last chunk: `received` of the bytes arrived. */
export class DataLoss extends TorsionError {
  static override readonly code: string = "TORSION_ERR_DATA_LOSS";
}

/** The body producer wrote a different number of bytes than its length said. */
export class WrongBodyLength extends TorsionError {
  static override readonly code: string = "TORSION_ERR_WRONG_BODY_LENGTH";
}

/** The body producer wrote after it finished (or beyond its length). */
export class ExcessWrite extends TorsionError {
  static override readonly code: string = "TORSION_ERR_EXCESS_WRITE";
  constructor(message = "The body producer wrote more bytes than its length, or after it finished") {
    super(message);
  }
}

/** The application aborted the connection (HTTP11ClientProtocol.abort). */
export class ConnectionAborted extends TorsionError {
  static override readonly code: string = "TORSION_ERR_CONNECTION_ABORTED";
  constructor(message = "The connection was aborted") {
    super(message);
  }
}

/** The URI's scheme is not one the agent speaks (twisted.web.error.SchemeNotSupported). */
export class SchemeNotSupported extends TorsionError {
  static override readonly code: string = "TORSION_ERR_SCHEME_NOT_SUPPORTED";
}

/** readBody got PotentialDataLoss: `response` is the body received (twisted.web.client.PartialDownloadError). */
export class PartialDownloadError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_PARTIAL_DOWNLOAD_ERROR";
  constructor(
    readonly status: number,
    message: string,
    readonly response: Buffer,
  ) {
    super(`${status} ${message}: the body may be incomplete (${response.length} bytes received)`);
  }
}

/** A redirect response had no Location header (twisted.web.error.RedirectWithNoLocation). */
export class RedirectWithNoLocation extends TorsionError {
  static override readonly code: string = "TORSION_ERR_REDIRECT_WITH_NO_LOCATION";
  constructor(
    readonly status: number,
    readonly uri: string,
  ) {
    super(`${status} redirect from ${uri} has no Location header`);
  }
}

/** More redirects than the agent allows: a loop, or too long a chain (twisted.web.error.InfiniteRedirection). */
export class InfiniteRedirection extends TorsionError {
  static override readonly code: string = "TORSION_ERR_INFINITE_REDIRECTION";
  constructor(
    readonly status: number,
    readonly location: string,
  ) {
    super(`Infinite redirection detected to ${location}`);
  }
}
