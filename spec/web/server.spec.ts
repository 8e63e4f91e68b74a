import { expect } from "chai";
import { Deferred } from "../../lib/internet/defer.js";
import { Failure } from "../../lib/internet/failure.js";
import { formatEvent, LogLevel } from "../../lib/internet/log.js";
import { HTTPChannel } from "../../lib/web/http-channel.js";
import { DEFAULT_METHODS } from "../../lib/web/http-parser.js";
import { datetimeToString } from "../../lib/web/http-dates.js";
import { CACHED } from "../../lib/web/http-request.js";
import type { IRequest, IResource, RenderResult } from "../../lib/web/iweb.js";
import { Resource, UnsupportedMethod, computeAllowedMethods } from "../../lib/web/resource.js";
import { NOT_DONE_YET, Request, Site, splitPath, unquoteSegment, version } from "../../lib/web/server.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { DeferredResource } from "../../lib/web/util.js";
import { connectSite, dechunk, httpBody, httpCode, httpHeader, makeSecure, sendRequest, type SiteFixture } from "./site-helpers.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { RecordingRequest } from "../support/recording-request.js";

/** Renders "correct", or nothing when setLastModified(10)/setETag("MatchingTag") say CACHED. */
class SimpleResource extends Resource {
  constructor(private readonly contentType: string | null = null) {
    super();
  }

  override render(request: IRequest): RenderResult {
    if (this.contentType !== null) request.responseHeaders.setRawHeaders("content-type", [this.contentType]);
    const results = [request.setLastModified(10), request.setETag("MatchingTag")];
    return results.includes(CACHED) ? Buffer.alloc(0) : Buffer.from("correct");
  }
}

class ZeroLengthResource extends Resource {
  override render(_request: IRequest): RenderResult {
    return Buffer.alloc(0);
  }
}

class NoContentResource extends Resource {
  override render(request: IRequest): RenderResult {
    request.setResponseCode(204);
    return Buffer.alloc(0);
  }
}

/** A Request that remembers the last one built, so tests can look at it after the response. */
function recordingSite(root: IResource, port = 80): SiteFixture {
  RecordingRequest.reset();
  return connectSite(root, { requestFactory: RecordingRequest, methods: new Set([...DEFAULT_METHODS, "HEH", "hlalauguG"]) }, port);
}

/** Send `method uri HTTP/1.0` to a recording site and return the request. */
function requestOn(fixture: SiteFixture, method: string, uri: string, ...headers: string[]): RecordingRequest {
  sendRequest(fixture, `${method} ${uri} HTTP/1.0`, ...headers);
  return RecordingRequest.last!;
}

describe("twisted.web.server", () => {
  const logs = captureLogsOfEachTest();

  describe("ResourceTests (test_web.py)", () => {
    it("testListEntities: a new Resource lists no entities", () => {
      expect(new Resource().listEntities()).to.deep.equal([]);
    });
  });

  describe("SiteTest", () => {
    it("test_simplestSite: getResourceFor returns the '' child of the root for /", () => {
      const sres1 = new SimpleResource();
      const sres2 = new SimpleResource();
      sres1.putChild("", sres2);
      const site = new Site(sres1);
      expect(site.getResourceFor(new DummyRequest([""]))).to.equal(sres2);
    });

    it("test_defaultRequestFactory: server.Request is the default request factory", () => {
      expect(new Site(new SimpleResource()).requestFactory).to.equal(Request);
    });

    it("test_constructorRequestFactory: a requestFactory given to the constructor is used", () => {
      class Custom extends Request {}
      expect(new Site(new SimpleResource(), { requestFactory: Custom }).requestFactory).to.equal(Custom);
    });

    it("test_buildProtocol: buildProtocol gives an HTTPChannel that knows the site and builds its requests", () => {
      class Custom extends Request {}
      const site = new Site(new SimpleResource(), { requestFactory: Custom });
      const channel = site.buildProtocol(null) as HTTPChannel & { site?: Site };
      expect(channel).to.be.instanceOf(HTTPChannel);
      expect(channel.site).to.equal(site);
      expect(channel.requestFactory).to.equal(Custom);
    });

    it("displayTracebacks is false by default and can be set by option", () => {
      expect(new Site(new Resource()).displayTracebacks).to.equal(false);
      expect(new Site(new Resource(), { displayTracebacks: true }).displayTracebacks).to.equal(true);
    });

    it("version is the Server header sent with responses", () => {
      const root = new SimpleResource();
      const site = new Site(root, { sendDate: false });
      const f = connectSite(site);
      sendRequest(f, "GET / HTTP/1.1", "Host: a");
      expect(httpHeader(f.transport.value(), "Server")).to.equal(version);
    });
  });

  describe("ConditionalTests", () => {
    let f: SiteFixture;
    beforeEach(() => {
      const resrc = new SimpleResource();
      resrc.putChild("", resrc);
      resrc.putChild("with-content-type", new SimpleResource("image/jpeg"));
      f = connectSite(resrc);
    });
    afterEach(() => {
      f.channel.connectionLost(new Failure(new Error("test over")));
    });

    function modifiedTest(header: string): void {
      sendRequest(f, "GET / HTTP/1.1", header);
      const result = f.transport.value();
      expect(httpCode(result)).to.equal(200);
      expect(dechunk(httpBody(result)) || httpBody(result)).to.equal("correct");
      expect(httpHeader(result, "Content-Type")).to.equal("text/html");
    }

    it("test_modified: If-Modified-Since before the modification gives 200 and the body", () => {
      modifiedTest("If-Modified-Since: " + datetimeToString(1));
    });

    it("test_unmodified: If-Modified-Since after the modification gives 304, no body, no Content-Type", () => {
      sendRequest(f, "GET / HTTP/1.1", "If-Modified-Since: " + datetimeToString(100));
      const result = f.transport.value();
      expect(httpCode(result)).to.equal(304);
      expect(httpBody(result)).to.equal("");
      expect(httpHeader(result, "Content-Type")).to.equal(null);
    });

    it("test_invalidTimestamp: an unparseable If-Modified-Since is ignored", () => {
      modifiedTest("If-Modified-Since: like, maybe a week ago, I guess?");
    });

    it("test_invalidTimestampYear: a non-integer year is ignored", () => {
      modifiedTest("If-Modified-Since: Thu, 01 Jan blah 00:00:10 GMT");
    });

    it("test_invalidTimestampTooLongAgo: a year before the epoch is ignored", () => {
      modifiedTest("If-Modified-Since: Thu, 01 Jan 1899 00:00:10 GMT");
    });

    it("test_invalidTimestampMonth: an unknown month is ignored", () => {
      modifiedTest("If-Modified-Since: Thu, 01 Blah 1970 00:00:10 GMT");
    });

    it("test_etagMatchedNot: a non-matching If-None-Match gives 200 and the body", () => {
      modifiedTest("If-None-Match: unmatchedTag");
    });

    it("test_etagMatched: a matching If-None-Match gives 304 with the ETag and no body", () => {
      sendRequest(f, "GET / HTTP/1.1", "If-None-Match: MatchingTag");
      const result = f.transport.value();
      expect(httpHeader(result, "ETag")).to.equal("MatchingTag");
      expect(httpCode(result)).to.equal(304);
      expect(httpBody(result)).to.equal("");
    });

    it("test_unmodifiedWithContentType: a 304 keeps a Content-Type the resource set", () => {
      sendRequest(f, "GET /with-content-type HTTP/1.1", "If-None-Match: MatchingTag");
      const result = f.transport.value();
      expect(httpCode(result)).to.equal(304);
      expect(httpBody(result)).to.equal("");
      expect(httpHeader(result, "Content-Type")).to.equal("image/jpeg");
    });
  });

  describe("RequestTests", () => {
    it("test_interface: server.Request provides what IRequest names", () => {
      const f = recordingSite(new SimpleResource());
      const request: IRequest = requestOn(f, "GET", "/");
      for (const name of ["prePathURL", "URLPath", "processingFailed", "notifyFinish", "registerProducer", "setETag", "getClientAddress"]) {
        expect(typeof (request as unknown as Record<string, unknown>)[name], name).to.equal("function");
      }
    });

    it("testChildLink: childLink is relative to the path requested", () => {
      const root = new Resource();
      const f = recordingSite(root);
      expect(requestOn(f, "GET", "/foo/bar").childLink("baz")).to.equal("bar/baz");
      const g = recordingSite(root);
      expect(requestOn(g, "GET", "/foo/bar/").childLink("baz")).to.equal("baz");
    });

    it("testPrePathURLSimple: the default port is left out", () => {
      const f = recordingSite(new SimpleResource());
      const request = requestOn(f, "GET", "/foo/bar", "Host: example.com");
      expect(request.urlAtRender).to.equal("http://example.com/foo/bar");
    });

    it("testPrePathURLNonDefault: a non-default port is included", () => {
      const f = recordingSite(new SimpleResource(), 81);
      const request = requestOn(f, "GET", "/foo/bar", "Host: example.com:81");
      expect(request.urlAtRender).to.equal("http://example.com:81/foo/bar");
    });

    it("testPrePathURLSSLPort: port 443 on plain HTTP is included", () => {
      const f = recordingSite(new SimpleResource(), 443);
      const request = requestOn(f, "GET", "/foo/bar", "Host: example.com:443");
      expect(request.urlAtRender).to.equal("http://example.com:443/foo/bar");
    });

    it("testPrePathURLSSLPortAndSSL: port 443 on a secure transport is https without a port", () => {
      const f = recordingSite(new SimpleResource(), 443);
      makeSecure(f.transport);
      const request = requestOn(f, "GET", "/foo/bar", "Host: example.com");
      expect(request.urlAtRender).to.equal("https://example.com/foo/bar");
    });

    it("testPrePathURLHTTPPortAndSSL: port 80 on a secure transport is included", () => {
      const f = recordingSite(new SimpleResource(), 80);
      makeSecure(f.transport);
      const request = requestOn(f, "GET", "/foo/bar", "Host: example.com:80");
      expect(request.urlAtRender).to.equal("https://example.com:80/foo/bar");
    });

    it("testPrePathURLSSLNonDefault: a non-default port on a secure transport is included", () => {
      const f = recordingSite(new SimpleResource(), 81);
      makeSecure(f.transport);
      const request = requestOn(f, "GET", "/foo/bar", "Host: example.com:81");
      expect(request.urlAtRender).to.equal("https://example.com:81/foo/bar");
    });

    it("testPrePathURLSetSSLHost: setHost(host, port, true) makes the URL https", () => {
      const f = recordingSite(new SimpleResource(), 81);
      RecordingRequest.hostOverride = ["foo.com", 81, true];
      const request = requestOn(f, "GET", "/foo/bar");
      expect(request.urlAtRender).to.equal("https://foo.com:81/foo/bar");
    });

    it("test_prePathURLQuoting: special characters of segments are quoted back", () => {
      const root = new Resource();
      root.isLeaf = true;
      const f = recordingSite(root);
      const request = requestOn(f, "GET", "/foo%2Fbar", "Host: example.com");
      request.prepath = request.postpath.splice(0);
      expect(request.prepath).to.deep.equal(["foo/bar"]);
      expect(request.prePathURL()).to.equal("http://example.com/foo%2Fbar");
      const g = recordingSite(new Resource());
      expect(requestOn(g, "GET", "/foo%2Fbar", "Host: example.com").urlAtRender).to.equal("http://example.com/foo%2Fbar");
    });

    function failingRequest(displayTracebacks: boolean | undefined, message: string): SiteFixture {
      const root = new Resource();
      root.isLeaf = true;
      (root as unknown as { render_GET(): never }).render_GET = () => {
        throw new Error(message);
      };
      const f = connectSite(root, displayTracebacks === undefined ? {} : { displayTracebacks });
      sendRequest(f, "GET / HTTP/1.1");
      return f;
    }

    it("test_processingFailedNoTracebackByDefault: the page is generic and the failure is logged once", () => {
      const f = failingRequest(undefined, "Oh no!");
      const written = f.transport.value().toString("latin1");
      expect(written).to.not.include("Oh no!");
      expect(written).to.include("Processing Failed");
      expect(httpCode(written)).to.equal(500);
      const failures = logs.failures();
      expect(failures).to.have.length(1);
      expect(failures[0].getErrorMessage()).to.equal("Oh no!");
    });

    it("test_processingFailedNoTraceback: displayTracebacks false gives the generic page", () => {
      const f = failingRequest(false, "Oh no!");
      const written = f.transport.value().toString("latin1");
      expect(written).to.not.include("Oh no!");
      expect(written).to.include("Processing Failed");
      expect(logs.failures()).to.have.length(1);
    });

    it("test_processingFailedDisplayTraceback: displayTracebacks true shows the failure", () => {
      const f = failingRequest(true, "Oh no!");
      expect(f.transport.value().toString("latin1")).to.include("Oh no!");
      expect(logs.failures()[0].getErrorMessage()).to.equal("Oh no!");
    });

    it("test_processingFailedDisplayTracebackHandlesUnicode: non-ASCII becomes character references", () => {
      const f = failingRequest(true, "\u2603");
      expect(f.transport.value().toString("latin1")).to.include("&#9731;");
      expect(logs.failures()).to.have.length(1);
    });

    it("test_OPTIONSStar: OPTIONS * is answered 200 with Content-Length 0", () => {
      const f = connectSite(new Resource());
      sendRequest(f, "OPTIONS * HTTP/1.1", "Host: example.com");
      const response = f.transport.value().toString("latin1");
      expect(response.startsWith("HTTP/1.1 200 OK")).to.equal(true);
      expect(response).to.include("Content-Length: 0\r\n");
    });

    it("test_rejectNonOPTIONSStar: another method on * gets 405 allowing only OPTIONS", () => {
      const f = connectSite(new Resource());
      sendRequest(f, "GET * HTTP/1.1", "Host: example.com");
      const response = f.transport.value().toString("latin1");
      expect(response.startsWith("HTTP/1.1 405 Method Not Allowed")).to.equal(true);
      expect(response).to.include("Content-Length: 0\r\n");
      expect(response).to.include("Allow: OPTIONS\r\n");
    });

    it("test_noDefaultContentTypeOnZeroLengthResponse: an empty body gets no default Content-Type", () => {
      const resrc = new ZeroLengthResource();
      resrc.putChild("", resrc);
      const f = connectSite(resrc);
      sendRequest(f, "GET / HTTP/1.1", "Host: example.com");
      expect(f.transport.value().toString("latin1").toLowerCase()).to.not.include("content-type");
    });

    it("test_noDefaultContentTypeOn204Response: a 204 gets no default Content-Type", () => {
      const resrc = new NoContentResource();
      resrc.putChild("", resrc);
      const f = connectSite(resrc);
      sendRequest(f, "GET / HTTP/1.1", "Host: example.com");
      const response = f.transport.value().toString("latin1");
      expect(response.startsWith("HTTP/1.1 204 No Content\r\n")).to.equal(true);
      expect(response.toLowerCase()).to.not.include("content-type");
    });
  });

  describe("RememberURLTests", () => {
    class RootResource extends Resource {
      override getChildWithDefault(name: string, request: IRequest): IResource {
        (request as Request).rememberRootURL();
        return super.getChildWithDefault(name, request);
      }
      override render(_request: IRequest): RenderResult {
        return "";
      }
    }

    it("testSimple: the root URL of a site below / is that resource's path on the site's host", () => {
      const r = new Resource();
      const rr = new RootResource();
      r.putChild("foo", rr);
      rr.putChild("", rr);
      rr.putChild("bar", new Resource());
      for (const url of ["/foo/", "/foo/bar", "/foo/bar/baz", "/foo/bar/"]) {
        const f = recordingSite(r, 81);
        const request = requestOn(f, "GET", url, "Host: example.com:81");
        expect(request.getRootURL(), url).to.equal("http://example.com:81/foo");
      }
    });

    it("testRoot: the root URL of a site at / is /", () => {
      const rr = new RootResource();
      rr.putChild("", rr);
      rr.putChild("bar", new Resource());
      for (const url of ["/", "/bar", "/bar/baz", "/bar/"]) {
        const f = recordingSite(rr, 81);
        const request = requestOn(f, "GET", url, "Host: example.com:81");
        expect(request.getRootURL(), url).to.equal("http://example.com:81/");
      }
    });
  });

  describe("NewRenderTests", () => {
    class NewRenderResource extends Resource {
      render_GET(_request: IRequest): RenderResult {
        return Buffer.from("hi hi");
      }
      render_HEH(_request: IRequest): RenderResult {
        return Buffer.from("ho ho");
      }
    }

    /** An IResource that is not a Resource: GET only, no render_HEAD, leaves the request open. */
    class HeadlessResource implements IResource {
      isLeaf = true;
      allowedMethods = ["GET"];
      request: IRequest | null = null;
      render(request: IRequest): RenderResult {
        this.request = request;
        if (!this.allowedMethods.includes(request.method)) throw new UnsupportedMethod(this.allowedMethods);
        request.write(Buffer.from("some data"));
        return NOT_DONE_YET;
      }
      getChildWithDefault(): IResource {
        throw new Error("not implemented");
      }
      putChild(): void {
        throw new Error("not implemented");
      }
    }

    function getReq(resource: IResource = new NewRenderResource()): SiteFixture {
      const root = new Resource();
      root.putChild("newrender", resource);
      return recordingSite(root, 81);
    }

    it("testGoodMethods: render_GET and render_HEH answer their methods", () => {
      let f = getReq();
      requestOn(f, "GET", "/newrender");
      expect(f.transport.value().toString("latin1").split("\r\n").pop()).to.equal("hi hi");
      f = getReq();
      requestOn(f, "HEH", "/newrender");
      expect(f.transport.value().toString("latin1").split("\r\n").pop()).to.equal("ho ho");
    });

    it("testBadMethods: an unknown method gets 501", () => {
      let f = getReq();
      expect(requestOn(f, "CONNECT", "/newrender").code).to.equal(501);
      f = getReq();
      expect(requestOn(f, "hlalauguG", "/newrender").code).to.equal(501);
    });

    it("test_notAllowedMethod: a known method without render_ gets 405 and Allow", () => {
      const f = getReq();
      const req = requestOn(f, "POST", "/newrender");
      expect(req.code).to.equal(405);
      const allowed = req.responseHeaders.getRawHeaders("allow")![0].split(",").map((s) => s.trim()).sort();
      expect(allowed).to.deep.equal(["GET", "HEAD", "HEH"]);
    });

    it("testImplicitHead: HEAD is rendered by render_GET and sends no body", () => {
      const f = getReq();
      const req = requestOn(f, "HEAD", "/newrender");
      expect(req.code).to.equal(200);
      const response = f.transport.value().toString("latin1");
      expect(response).to.not.include("hi hi");
      expect(httpHeader(response, "Content-Length")).to.equal("5");
      // torsion logs this usual path at debug, not info (Twisted logs one info event).
      expect(logs.events.filter((e) => e.log_level >= LogLevel.info)).to.have.length(0);
    });

    it("test_unsupportedHead: HEAD on a GET-only IResource fakes GET and sends no body", () => {
      const resource = new HeadlessResource();
      const f = getReq(resource);
      const req = requestOn(f, "HEAD", "/newrender");
      const body = httpBody(f.transport.value());
      expect(req.code).to.equal(200);
      expect(body).to.equal("");
      expect(logs.events.filter((e) => e.log_level === LogLevel.info)).to.have.length(2);
    });

    it("test_noBytesResult: a render returning neither bytes nor a string gets 500 with an escaped description", () => {
      const noBytes = new Resource();
      (noBytes as unknown as { render(): unknown }).render = () => ({ toString: () => "my>repr" });
      const f = getReq(noBytes);
      const req = requestOn(f, "GET", "/newrender");
      const body = httpBody(f.transport.value());
      expect(req.code).to.equal(500);
      expect(body).to.include("<title>500 - Request did not return bytes</title>");
      expect(body).to.include("Value: my&gt;repr");
      expect(body).to.not.include("my>repr");
    });

    for (const [value, shown, hint] of [
      [42, "42", ""],
      [undefined, "undefined", " (did the render method forget to return?)"],
    ] as const) {
      it(`a render returning ${shown}: the client gets 500, the server's log says what a render may return`, () => {
        class Broken extends Resource {
          override isLeaf = true;
          render_GET(): RenderResult {
            return value as unknown as RenderResult;
          }
        }
        const f = getReq(new Broken());
        const req = requestOn(f, "GET", "/newrender");
        expect(req.code).to.equal(500);
        const body = httpBody(f.transport.value());
        expect(body).to.include("a render method must return a string");
        const errors = logs.events.filter((e) => e.log_level === LogLevel.error).map((e) => formatEvent(e));
        expect(errors).to.deep.equal([
          `<Broken> rendered ${shown} for GET /newrender${hint}: a render method must return a string (sent as UTF-8), ` +
            "bytes (a Uint8Array), NOT_DONE_YET (it then writes and finishes the request itself), or a Promise of a string or bytes",
        ]);
      });
    }
  });

  describe("AllowedMethodsTests", () => {
    class GettableResource extends Resource {
      render_GET(): RenderResult {
        return "";
      }
      render_fred_render_ethel(): RenderResult {
        return "";
      }
    }

    function getReq(): SiteFixture {
      const root = new Resource();
      root.putChild("gettableresource", new GettableResource());
      return recordingSite(root, 81);
    }

    it("test_computeAllowedMethods: the render_ methods, with HEAD from the GET default", () => {
      expect(new Set(computeAllowedMethods(new GettableResource()))).to.deep.equal(new Set(["GET", "HEAD", "fred_render_ethel"]));
    });

    it("test_notAllowed: 405 lists the computed methods in Allow", () => {
      const req = requestOn(getReq(), "POST", "/gettableresource");
      expect(req.code).to.equal(405);
      expect(new Set(req.responseHeaders.getRawHeaders("allow")![0].split(", "))).to.deep.equal(
        new Set(["GET", "HEAD", "fred_render_ethel"]),
      );
    });

    it("test_notAllowedQuoting: the URI in the 405 page is HTML-escaped", () => {
      const f = getReq();
      const req = requestOn(f, "POST", "/gettableresource?value=<script>bad");
      expect(req.code).to.equal(405);
      const page = f.transport.value().toString("latin1");
      expect(page).to.not.include("<script>bad");
      expect(page).to.include("&lt;script&gt;bad");
    });

    it("test_notImplementedQuoting: the method in the 501 page is HTML-escaped", () => {
      // The HTTP parser accepts only token methods, so the request changes its own before processing.
      class OddMethod extends Request {
        override process(): void {
          this.method = "<style>bad";
          super.process();
        }
      }
      const root = new Resource();
      root.putChild("gettableresource", new GettableResource());
      const f = connectSite(root, { requestFactory: OddMethod });
      sendRequest(f, "GET /gettableresource HTTP/1.0");
      const page = f.transport.value().toString("latin1");
      expect(httpCode(page)).to.equal(501);
      expect(page).to.not.include("<style>bad");
      expect(page).to.include("&lt;style&gt;bad");
    });
  });

  describe("Request rendering (torsion)", () => {
    class Leaf extends Resource {
      override isLeaf = true;
      constructor(private readonly fn: (request: IRequest) => RenderResult) {
        super();
      }
      render_GET(request: IRequest): RenderResult {
        return this.fn(request);
      }
      render_POST(request: IRequest): RenderResult {
        return this.fn(request);
      }
    }

    it("a string is sent as UTF-8 with charset=utf-8 added to the default type", () => {
      const f = connectSite(new Leaf(() => "café"));
      sendRequest(f, "GET / HTTP/1.1");
      const response = f.transport.value();
      expect(httpHeader(response, "Content-Type")).to.equal("text/html; charset=utf-8");
      expect(httpHeader(response, "Content-Length")).to.equal("5");
      expect(response.subarray(response.length - 5).toString("utf8")).to.equal("café");
    });

    it("a string keeps a Content-Type the resource set", () => {
      const f = connectSite(
        new Leaf((request) => {
          request.setHeader("content-type", "text/plain");
          return "x";
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      expect(httpHeader(f.transport.value(), "Content-Type")).to.equal("text/plain");
    });

    it("a promise of bytes is written when it resolves", async () => {
      let resolve!: (b: Buffer) => void;
      const f = connectSite(new Leaf(() => new Promise<Buffer>((r) => (resolve = r))));
      sendRequest(f, "GET / HTTP/1.1");
      expect(f.transport.value().length).to.equal(0);
      resolve(Buffer.from("later"));
      await new Promise((r) => setImmediate(r));
      expect(httpBody(f.transport.value())).to.equal("later");
      expect(httpHeader(f.transport.value(), "Content-Length")).to.equal("5");
    });

    it("an async render_GET that throws gets 500 and the failure is logged", async () => {
      const f = connectSite(
        new Leaf(async () => {
          throw new Error("async boom");
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      await new Promise((r) => setImmediate(r));
      expect(httpCode(f.transport.value())).to.equal(500);
      expect(logs.failures().map((x) => x.getErrorMessage())).to.deep.equal(["async boom"]);
    });

    it("a Deferred result that resolves after the client left writes nothing and logs nothing", () => {
      const d = new Deferred<string>();
      const f = connectSite(new Leaf(() => d));
      sendRequest(f, "GET / HTTP/1.1");
      f.channel.connectionLost(new Failure(new Error("gone")));
      d.callback("too late");
      expect(f.transport.value().length).to.equal(0);
      expect(logs.failures()).to.have.length(0);
    });

    it("NOT_DONE_YET leaves the request open until the resource finishes it", () => {
      let saved: IRequest | null = null;
      const f = connectSite(
        new Leaf((request) => {
          saved = request;
          return NOT_DONE_YET;
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      expect(f.transport.value().length).to.equal(0);
      saved!.write(Buffer.from("abc"));
      saved!.finish();
      expect(dechunk(httpBody(f.transport.value()))).to.equal("abc");
      expect(httpHeader(f.transport.value(), "Content-Type")).to.equal("text/html");
    });

    it("finish() without a write still gets the default Content-Type", () => {
      const f = connectSite(
        new Leaf((request) => {
          request.finish();
          return NOT_DONE_YET;
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      expect(httpHeader(f.transport.value(), "Content-Type")).to.equal("text/html");
    });

    it("an error after the headers went out drops the connection instead of sending a 500", () => {
      const f = connectSite(
        new Leaf((request) => {
          request.write(Buffer.from("partial"));
          throw new Error("midway");
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      const response = f.transport.value().toString("latin1");
      expect(httpCode(response)).to.equal(200);
      expect(response).to.not.include("Processing Failed");
      expect(f.transport.disconnecting).to.equal(true);
      expect(logs.failures().map((x) => x.getErrorMessage())).to.deep.equal(["midway"]);
    });

    it("processingFailed after a disconnect only logs", () => {
      let saved: Request | null = null;
      const f = connectSite(
        new Leaf((request) => {
          saved = request as Request;
          return NOT_DONE_YET;
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      f.channel.connectionLost(new Failure(new Error("gone")));
      expect(saved!.disconnected).to.equal(true);
      saved!.processingFailed(new Failure(new Error("late")));
      expect(f.transport.value().length).to.equal(0);
      expect(logs.failures()).to.have.length(1);
    });

    it("processingFailed stops a producer registered on the request", () => {
      let stopped = 0;
      const f = connectSite(
        new Leaf((request) => {
          request.registerProducer({ pauseProducing() {}, resumeProducing() {}, stopProducing: () => void stopped++ }, true);
          throw new Error("with a producer");
        }),
      );
      sendRequest(f, "GET / HTTP/1.1");
      expect(stopped).to.equal(1);
      expect(httpCode(f.transport.value())).to.equal(500);
    });

    it("path segments are percent-decoded and UTF-8 decoded before the tree is walked", () => {
      const root = new Resource();
      const leaf = new Leaf((request) => `${request.prepath.join("|")}`);
      root.putChild("café", leaf);
      const f = connectSite(root);
      sendRequest(f, "GET /caf%C3%A9 HTTP/1.1");
      expect(Buffer.from(httpBody(f.transport.value()), "latin1").toString("utf8")).to.equal("café");
    });

    it("putChild with bytes is the same child as with the UTF-8 string", () => {
      const root = new Resource();
      const child = new Resource();
      root.putChild(Buffer.from("café", "utf8"), child);
      expect(root.getChildWithDefault("café", new DummyRequest([]))).to.equal(child);
    });

    it("an absolute-form request-target is walked by its path", () => {
      const root = new Resource();
      root.putChild("x", new Leaf(() => "found"));
      const f = connectSite(root);
      sendRequest(f, "GET http://example.com/x HTTP/1.1");
      expect(httpBody(f.transport.value())).to.equal("found");
    });

    it("splitPath and unquoteSegment: '/a/b%20c/' splits to decoded segments; bad UTF-8 becomes U+FFFD", () => {
      expect(splitPath("/a/b%20c/")).to.deep.equal(["a", "b c", ""]);
      expect(splitPath("/")).to.deep.equal([""]);
      expect(unquoteSegment("%ff")).to.equal("\ufffd");
      expect(unquoteSegment("%2e%2E")).to.equal("..");
    });

    it("a 404 for a missing child", () => {
      const f = connectSite(new Resource());
      sendRequest(f, "GET /nothing HTTP/1.1");
      expect(httpCode(f.transport.value())).to.equal(404);
    });

    it("a Site used as a resource redirects to its URL with a slash", () => {
      const site = new Site(new Resource());
      const request = new DummyRequest([]);
      request.prepath = ["sub"];
      expect(site.render(request)).to.equal(NOT_DONE_YET);
      expect(request.responseCode).to.equal(302);
      expect(request.responseHeaders.getRawHeaders("location")).to.deep.equal(["http://dummy/sub/"]);
      expect(request.finished).to.equal(1);
    });

    it("DeferredResource renders the resource its Deferred gives, with the rest of the path", async () => {
      const d = new Deferred<IResource>();
      const root = new Resource();
      root.putChild("later", new DeferredResource(d));
      const target = new Resource();
      target.putChild("x", new Leaf((request) => `at ${request.prepath.join("/")}`));
      const f = connectSite(root);
      sendRequest(f, "GET /later/x HTTP/1.1");
      expect(f.transport.value().length).to.equal(0);
      d.callback(target);
      await new Promise((r) => setImmediate(r));
      expect(httpBody(f.transport.value())).to.equal("at later/x");
    });

    it("DeferredResource answers 500 when its Deferred fails", async () => {
      const d = new Deferred<IResource>();
      const root = new Resource();
      root.putChild("later", new DeferredResource(d));
      const f = connectSite(root);
      sendRequest(f, "GET /later HTTP/1.1");
      d.errback(new Error("no resource for you"));
      await new Promise((r) => setImmediate(r));
      expect(httpCode(f.transport.value())).to.equal(500);
      expect(logs.failures()).to.have.length(1);
    });
  });
});
