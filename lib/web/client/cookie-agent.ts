/**
 * CookieAgent, as twisted.web.client.CookieAgent: sends the cookies a jar holds for each URI
 * and stores the Set-Cookie of each response in it. The jar is anything with tough-cookie's
 * interface (getCookieString(url), setCookie(cookie, url), either returning a value or a
 * Promise), so tough-cookie's CookieJar works as is; torsion itself depends on no cookie library.
 */

import { Deferred } from "../../internet/deferred.js";
import { Headers } from "../http-headers.js";
import type { IAgent, IBodyProducer, IResponse } from "./iclient.js";

/** What CookieAgent needs of a jar (tough-cookie's CookieJar has both). */
export interface ICookieJar {
  getCookieString(url: string): string | PromiseLike<string>;
  setCookie(cookie: string, url: string): unknown;
}

export class CookieAgent implements IAgent {
  constructor(
    private readonly agent: IAgent,
    readonly cookieJar: ICookieJar,
  ) {}

  request(method: string, uri: string, headers: Headers | null = null, bodyProducer: IBodyProducer | null = null): Deferred<IResponse> {
    const cookies = Deferred.fromPromise(Promise.resolve().then(() => this.cookieJar.getCookieString(uri)));
    return cookies
      .addCallback((cookie: string) => {
        const h = headers === null ? new Headers() : headers.copy();
        // a Cookie header the caller set wins, as in Twisted
        if (cookie !== "" && !h.hasHeader("cookie")) h.setRawHeaders("cookie", [cookie]);
        return this.agent.request(method, uri, h, bodyProducer);
      })
      .addCallback((response: IResponse) => {
        const setCookies = response.headers.getRawHeaders("set-cookie") ?? [];
        // tough-cookie rejects some cookies (a Domain not matching the host): they are dropped, as a browser drops them
        const stored = setCookies.map((c) => Promise.resolve().then(() => this.cookieJar.setCookie(c, uri)).catch(() => undefined));
        return Deferred.fromPromise(Promise.all(stored).then(() => response));
      });
  }
}
