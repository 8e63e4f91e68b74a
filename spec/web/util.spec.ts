import { expect } from "chai";
import { Deferred, fail, succeed } from "../../lib/internet/defer.js";
import { Failure } from "../../lib/internet/failure.js";
import type { IResource } from "../../lib/web/iweb.js";
import { Resource, getChildForRequest } from "../../lib/web/resource.js";
import { NOT_DONE_YET } from "../../lib/web/server.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { DeferredResource, ParentRedirect, Redirect, formatFailure, redirectTo } from "../../lib/web/util.js";

describe("twisted.web.util", () => {
  describe("RedirectToTests", () => {
    it("test_headersAndCode: sets 302, Location and an HTML Content-Type", () => {
      const request = new DummyRequest([]);
      redirectTo("http://target.example.com/4321", request);
      expect(request.responseCode).to.equal(302);
      expect(request.responseHeaders.getRawHeaders("location")).to.deep.equal(["http://target.example.com/4321"]);
      expect(request.responseHeaders.getRawHeaders("content-type")).to.deep.equal(["text/html; charset=utf-8"]);
    });

    it("test_legitimateRedirect: a plain URL appears unchanged in the page", () => {
      const html = redirectTo("https://twisted.org/", new DummyRequest([""])).toString();
      expect(html).to.equal(
        '\n<html>\n    <head>\n        <meta http-equiv="refresh" content="0;URL=https://twisted.org/">\n    </head>\n' +
          '    <body bgcolor="#FFFFFF" text="#000000">\n    <a href="https://twisted.org/">click here</a>\n    </body>\n</html>\n',
      );
    });

    it("test_maliciousRedirect: the URL is HTML-escaped in the page", () => {
      const html = redirectTo('https://twisted.org/"><script>alert(document.location)</script>', new DummyRequest([""])).toString();
      expect(html).to.not.include("<script>");
      expect(html).to.include("https://twisted.org/&quot;&gt;&lt;script&gt;alert(document.location)&lt;/script&gt;");
    });
  });

  describe("ParentRedirectTests", () => {
    function location(path: string): string {
      const request = new DummyRequest([]);
      request.setHost("10.0.0.1", 80);
      const q = path.indexOf("?");
      request.prepath = (q === -1 ? path : path.slice(0, q)).replace(/^\//, "").split("/");
      new ParentRedirect().render(request);
      return request.responseHeaders.getRawHeaders("location")![0];
    }

    it("test_locationRoot: at the root, redirect to the root without the query", () => {
      expect(location("/")).to.equal("http://10.0.0.1/");
      expect(location("/?biff=baff")).to.equal("http://10.0.0.1/");
    });

    it("test_locationToRoot: one level down redirects to the root", () => {
      expect(location("/foo")).to.equal("http://10.0.0.1/");
      expect(location("/foo?bar=sproiiing")).to.equal("http://10.0.0.1/");
    });

    it("test_locationUpOne: below /foo/ redirects to /foo/", () => {
      expect(location("/foo/")).to.equal("http://10.0.0.1/foo/");
      expect(location("/foo/bar")).to.equal("http://10.0.0.1/foo/");
      expect(location("/foo/bar?biz=baz")).to.equal("http://10.0.0.1/foo/");
    });
  });

  describe("DeferredResourceTests", () => {
    it("testDeferredResource: a DeferredResource is a leaf: traversal stops at it", () => {
      const r = new Resource();
      r.isLeaf = true;
      class SDResource extends Resource {
        override getChildWithDefault(name: string, request: DummyRequest): IResource {
          return new DeferredResource(succeed<IResource>(r)).getChildWithDefault(name, request);
        }
      }
      const d = new DummyRequest(["foo", "bar", "baz"]);
      getChildForRequest(new SDResource(), d);
      expect(d.postpath).to.deep.equal(["bar", "baz"]);
    });

    it("test_render: the resource the Deferred gives is rendered with request.render", () => {
      const rendered: IResource[] = [];
      const request = new DummyRequest([]);
      request.render = (resource: IResource) => void rendered.push(resource);
      const result = new Resource();
      expect(new DeferredResource(succeed<IResource>(result)).render(request)).to.equal(NOT_DONE_YET);
      expect(rendered).to.deep.equal([result]);
    });

    it("test_renderNoFailure: a failed Deferred is reported with processingFailed, not as an unhandled error", async () => {
      const request = new DummyRequest([]);
      const finished = request.notifyFinish();
      const failure = new Failure(new RangeError("no"));
      new DeferredResource(fail<IResource>(failure)).render(request);
      const seen = await finished.asPromise().then(
        () => null,
        (err: unknown) => err,
      );
      expect(Failure.from(seen).value).to.equal(failure.value);
      expect(request.failures).to.have.length(1);
    });

    it("a promise of a resource is rendered when it resolves", async () => {
      const request = new DummyRequest([]);
      const rendered: IResource[] = [];
      request.render = (resource: IResource) => void rendered.push(resource);
      const target = new Resource();
      new DeferredResource(Promise.resolve<IResource>(target)).render(request);
      await new Promise((r) => setImmediate(r));
      expect(rendered).to.deep.equal([target]);
    });

    it("a Deferred fired later renders then", () => {
      const d = new Deferred<IResource>();
      const request = new DummyRequest([]);
      const rendered: IResource[] = [];
      request.render = (resource: IResource) => void rendered.push(resource);
      new DeferredResource(d).render(request);
      expect(rendered).to.have.length(0);
      const target = new Resource();
      d.callback(target);
      expect(rendered).to.deep.equal([target]);
    });
  });

  describe("Redirect and formatFailure", () => {
    it("Redirect answers every path below it with a redirect to its URL", () => {
      const redirect = new Redirect("/elsewhere");
      const request = new DummyRequest(["a", "b"]);
      const target = getChildForRequest(redirect, request);
      expect(target).to.equal(redirect);
      target.render(request);
      expect(request.responseCode).to.equal(302);
      expect(request.responseHeaders.getRawHeaders("location")).to.deep.equal(["/elsewhere"]);
    });

    it("test_returnsBytes / formatFailure: the traceback, escaped, ASCII only", () => {
      const html = formatFailure(new Failure(new Error("<bad> \u2603")));
      expect(html.startsWith("<pre>")).to.equal(true);
      expect(html).to.include("&lt;bad&gt; &#9731;");
      expect(/^[\x00-\x7f]*$/.test(html)).to.equal(true);
    });
  });
});
