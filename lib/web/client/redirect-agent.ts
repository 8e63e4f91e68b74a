/**
 * RedirectAgent and BrowserLikeRedirectAgent, as twisted.web.client's: follow redirects up to
 * `redirectLimit` (20), failing with ResponseFailed(InfiniteRedirection) beyond it (so a loop
 * fails instead of hanging) and ResponseFailed(RedirectWithNoLocation) for a redirect without
 * Location. Each response's previousResponse is the redirect it followed.
 *
 * RedirectAgent follows 301/302/307/308 for GET and HEAD only (another method gets
 * ResponseFailed(PageRedirect)) and 303 as GET. BrowserLikeRedirectAgent does what browsers do:
 * 301, 302 and 303 become a GET (a HEAD stays HEAD) without the body; 307 and 308 repeat the
 * method and body. Credentials (Authorization, Cookie, Proxy-Authorization) are not sent to
 * another origin (scheme, host or port).
 */

import { type Deferred, fail } from "../../internet/deferred.js";
import { Failure } from "../../internet/failure.js";
import type { Bytes, IProtocol, ITransport } from "../../internet/interfaces.js";
import type { Headers } from "../http-headers.js";
import { InfiniteRedirection, RedirectWithNoLocation, ResponseFailed } from "./errors.js";
import type { IAgent, IBodyProducer, IResponse } from "./iclient.js";
import { TorsionError } from "../../internet/error.js";

/** A redirect the agent will not follow for this method (twisted.web.error.PageRedirect). */
export class PageRedirect extends TorsionError {
  static override readonly code: string = "TORSION_ERR_PAGE_REDIRECT";
  constructor(
    readonly status: number,
    readonly location: string,
  ) {
    super(`${status} redirect to ${location} not followed for this method`);
  }
}

const SENSITIVE = ["authorization", "cookie", "cookie2", "proxy-authorization", "www-authenticate"];

/** Reads and drops a body, so the connection under it can go back to the pool. */
class Discard implements IProtocol {
  makeConnection(_t: ITransport): void {}
  connectionMade(): void {}
  dataReceived(_data: Bytes): void {}
  connectionLost(_reason: Failure): void {}
}

function origin(uri: string): string {
  try {
    return new URL(uri).origin;
  } catch {
    return uri;
  }
}

export class RedirectAgent implements IAgent {
  /** Codes that repeat the request at the new location (for GET and HEAD). */
  protected redirectResponses: readonly number[] = [301, 302, 307, 308];
  /** Codes that turn the request into a GET. */
  protected seeOtherResponses: readonly number[] = [303];

  constructor(
    private readonly agent: IAgent,
    readonly redirectLimit = 20,
  ) {}

  request(method: string, uri: string, headers: Headers | null = null, bodyProducer: IBodyProducer | null = null): Deferred<IResponse> {
    return this.agent
      .request(method, uri, headers, bodyProducer)
      .addCallback((response) => this.handleResponse(response, method, uri, headers, bodyProducer, 0));
  }

  /** Whether a 301/302/307/308 for `method` is followed (RedirectAgent: GET and HEAD only). */
  protected follows(method: string, _code: number): boolean {
    return method === "GET" || method === "HEAD";
  }

  private handleResponse(
    response: IResponse,
    method: string,
    uri: string,
    headers: Headers | null,
    bodyProducer: IBodyProducer | null,
    count: number,
  ): IResponse | Deferred<IResponse> {
    const code = response.code;
    const seeOther = this.seeOtherResponses.includes(code);
    if (!seeOther && !this.redirectResponses.includes(code)) return response;
    const locations = response.headers.getRawHeaders("location");
    if (locations === undefined || locations.length === 0) {
      return fail(new ResponseFailed([new Failure(new RedirectWithNoLocation(code, uri))], response));
    }
    let location: string;
    try {
      location = new URL(locations[0], uri).toString();
    } catch {
      return fail(new ResponseFailed([new Failure(new RedirectWithNoLocation(code, uri))], response));
    }
    if (!seeOther && !this.follows(method, code)) {
      return fail(new ResponseFailed([new Failure(new PageRedirect(code, location))], response));
    }
    if (count >= this.redirectLimit) {
      return fail(new ResponseFailed([new Failure(new InfiniteRedirection(code, location))], response));
    }
    response.deliverBody(new Discard());
    const nextMethod = seeOther ? (method === "HEAD" ? "HEAD" : "GET") : method;
    const nextBody = seeOther ? null : bodyProducer;
    let nextHeaders = headers;
    if (headers !== null && origin(location) !== origin(uri)) {
      nextHeaders = headers.copy();
      for (const name of SENSITIVE) nextHeaders.removeHeader(name);
    }
    return this.agent.request(nextMethod, location, nextHeaders, nextBody).addCallback((next) => {
      next.setPreviousResponse(response);
      return this.handleResponse(next, nextMethod, location, nextHeaders, nextBody, count + 1);
    });
  }
}

/** Redirects followed as browsers do (see the module comment). */
export class BrowserLikeRedirectAgent extends RedirectAgent {
  protected override redirectResponses: readonly number[] = [307, 308];
  protected override seeOtherResponses: readonly number[] = [301, 302, 303];

  protected override follows(_method: string, _code: number): boolean {
    return true;
  }
}

