/**
 * IRequest (lib/web/iweb.ts) as resources use it: a resource typed against IRequest, as every
 * guide types it, reaches the cookies, the Basic credentials and the body on a real Site's
 * request, and on DummyRequest in a unit test. The root's `Request` is twisted.web.server's.
 */

import { expect } from "chai";
import * as root from "../../lib/index.js";
import type { IRequest } from "../../lib/web/iweb.js";
import { Resource } from "../../lib/web/resource.js";
import { Request as ServerRequest } from "../../lib/web/server.js";
import { DummyRequest, renderBody } from "../../lib/web/testing.js";
import { connectSite, httpBody, sendRequest } from "./site-helpers.js";
import * as iweb from "../../lib/web/iweb.js";
import * as server from "../../lib/web/server.js";

/** Echoes what an IRequest offers: the "session" cookie, the Basic user and password, the body's size. */
class Whoami extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): string {
    request.addCookie("seen", "yes", { path: "/", httpOnly: true });
    const body = request.content.getvalue();
    return `session=${request.getCookie("session") ?? "-"} user=${request.getUser()} password=${request.getPassword()} body=${body.length}`;
  }
  render_POST(request: IRequest): string {
    return `posted ${request.content.read().toString()}`;
  }
}

describe("IRequest: what a resource typed against it can use", () => {
  it("reads the request's cookies and Basic credentials, and sets a cookie, on a Site's request", () => {
    const fixture = connectSite(new Whoami());
    sendRequest(
      fixture,
      "GET / HTTP/1.1",
      "Host: example.com",
      "Cookie: session=abc123; theme=dark",
      `Authorization: Basic ${Buffer.from("alice:s3cret").toString("base64")}`,
      "Connection: close",
    );
    const response = fixture.transport.value().toString("latin1");
    expect(response).to.match(/\r\nSet-Cookie: seen=yes; Path=\/; HttpOnly\r\n/);
    expect(httpBody(response)).to.equal("session=abc123 user=alice password=s3cret body=0");
  });

  it("gives a request without a body an empty content, never null, as Twisted's file object", () => {
    const fixture = connectSite(new Whoami());
    sendRequest(fixture, "GET / HTTP/1.1", "Host: example.com", "Connection: close");
    expect(httpBody(fixture.transport.value())).to.equal("session=- user= password= body=0");
  });

  it("gives a POST's body in content", () => {
    const fixture = connectSite(new Whoami());
    fixture.channel.dataReceived(Buffer.from("POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"));
    expect(httpBody(fixture.transport.value())).to.equal("posted hello");
  });

  it("closes content once the request is done (the body is released)", () => {
    const fixture = connectSite(new Whoami());
    const seen: IRequest[] = [];
    const site = fixture.site;
    const original = site.getResourceFor.bind(site);
    site.getResourceFor = (request: IRequest) => (seen.push(request), original(request));
    sendRequest(fixture, "GET / HTTP/1.1", "Host: example.com", "Connection: close");
    expect(seen).to.have.length(1);
    expect((seen[0]!.content as { closed?: boolean }).closed).to.equal(true);
    expect(seen[0]!.content.length).to.equal(0);
  });

  it("DummyRequest offers the same: cookies set before rendering, credentials, an empty body, cookies added", async () => {
    const request = new DummyRequest([]);
    request.receivedCookies.set("session", "xyz");
    request.user = "bob";
    request.password = "pw";
    const body = await renderBody(new Whoami(), request);
    expect(body.toString()).to.equal("session=xyz user=bob password=pw body=0");
    expect(request.cookies).to.deep.equal([{ name: "seen", value: "yes", options: { path: "/", httpOnly: true } }]);
  });

  it("exports twisted.web.server.Request from the root as Request, ServerRequest its alias", () => {
    expect(root.Request).to.equal(ServerRequest);
    expect(root.ServerRequest).to.equal(ServerRequest);
    expect(root.http.Request).to.equal(root.HTTPRequest);
    expect(root.Request.prototype).to.be.instanceOf(root.HTTPRequest);
  });
});

// lib/web/iweb.ts: the web contracts (IRequest, IResource) and NOT_DONE_YET beside them.

describe("web/iweb", () => {
  it("its one value is NOT_DONE_YET; the rest is types", () => {
    expect(Object.keys(iweb)).to.deep.equal(["NOT_DONE_YET"]);
    expect(typeof iweb.NOT_DONE_YET).to.equal("symbol");
  });

  it("server.NOT_DONE_YET (where Twisted's users look) is the same value", () => {
    expect(server.NOT_DONE_YET).to.equal(iweb.NOT_DONE_YET);
  });
});
