import { expect } from "chai";
import { Headers } from "../../lib/web/http-headers.js";
import type { IRequest, IResource, RenderResult } from "../../lib/web/iweb.js";
import {
  ErrorPage,
  ForbiddenResource,
  NoResource,
  Resource,
  StringResource,
  UnsupportedMethod,
  computeAllowedMethods,
  escapeHtml,
  getChildForRequest,
} from "../../lib/web/resource.js";
import { DummyRequest, renderBody } from "../../lib/web/testing.js";

class DynamicChild extends Resource {
  constructor(
    readonly path: string,
    readonly request: IRequest,
  ) {
    super();
  }
}

class DynamicChildren extends Resource {
  override getChild(path: string, request: IRequest): IResource {
    return new DynamicChild(path, request);
  }
}

class BytesReturnedRenderable extends Resource {
  constructor(private readonly response: Buffer) {
    super();
  }
  render_GET(_request: IRequest): RenderResult {
    return this.response;
  }
}

class ImplicitAllowedMethods extends Resource {
  render_GET(_request: IRequest): RenderResult {
    return "";
  }
  render_PUT(_request: IRequest): RenderResult {
    return "";
  }
}

function pageRenderingTest(page: ErrorPage, code: number, brief: string, detail: string): void {
  const request = new DummyRequest([""]);
  const expected = `\n<html>\n  <head><title>${code} - ${brief}</title></head>\n  <body>\n    <h1>${brief}</h1>\n    <p>${detail}</p>\n  </body>\n</html>\n`;
  expect((page.render(request) as Buffer).toString("utf8")).to.equal(expected);
  expect(request.responseCode).to.equal(code);
  expect([...request.responseHeaders]).to.deep.equal([...new Headers({ "content-type": ["text/html; charset=utf-8"] })]);
}

describe("twisted.web.resource", () => {
  describe("ErrorPageTests", () => {
    it("test_getChild: every child of an ErrorPage is the page itself", () => {
      const page = new ErrorPage(321, "foo", "bar");
      expect(page.getChild("name", new DummyRequest([]))).to.equal(page);
    });

    it("test_errorPageRendering: render() gives HTML with the code, brief and detail and sets the code", () => {
      pageRenderingTest(new ErrorPage(321, "brief description text", "much longer text might go here"), 321, "brief description text", "much longer text might go here");
    });

    it("test_noResourceRendering: NoResource is 404", () => {
      pageRenderingTest(new NoResource("long message"), 404, "No Such Resource", "long message");
    });

    it("test_forbiddenResourceRendering: ForbiddenResource is 403", () => {
      pageRenderingTest(new ForbiddenResource("longer message"), 403, "Forbidden Resource", "longer message");
    });

    it("escapes the brief and the detail (no HTML injection, unlike Twisted's deprecated ErrorPage)", () => {
      const body = (new ErrorPage(400, "<b>", '<script>alert("x")</script>').render(new DummyRequest([])) as Buffer).toString();
      expect(body).to.not.include("<script>");
      expect(body).to.include("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
      expect(body).to.include("<h1>&lt;b&gt;</h1>");
    });
  });

  describe("ResourceTests", () => {
    it("test_staticChildren: putChild adds a static child returned by getChildWithDefault", () => {
      const resource = new Resource();
      const child = new Resource();
      const sibling = new Resource();
      resource.putChild("foo", child);
      resource.putChild("bar", sibling);
      expect(resource.getChildWithDefault("foo", new DummyRequest([]))).to.equal(child);
    });

    it("test_dynamicChildren: getChildWithDefault delegates to getChild for unknown names", () => {
      const request = new DummyRequest([]);
      const child = new DynamicChildren().getChildWithDefault("foo", request);
      expect(child).to.be.instanceOf(DynamicChild);
      expect((child as DynamicChild).path).to.equal("foo");
      expect((child as DynamicChild).request).to.equal(request);
    });

    it("test_staticChildPathType: a segment given as bytes or as a string is the same key; other types are a TypeError", () => {
      const resource = new Resource();
      const child = new Resource();
      resource.putChild(Buffer.from("foo"), child);
      expect(resource.getChildWithDefault("foo", new DummyRequest([]))).to.equal(child);
      expect(() => resource.putChild(null as unknown as string, new Resource())).to.throw(TypeError);
      expect(resource.getChildWithDefault("other", new DummyRequest([]))).to.be.instanceOf(ErrorPage);
    });

    it("test_defaultHEAD: HEAD is rendered as GET", () => {
      const request = new DummyRequest([]);
      request.method = "HEAD";
      const expected = Buffer.from("insert response here");
      expect(new BytesReturnedRenderable(expected).render(request)).to.equal(expected);
    });

    it("test_explicitAllowedMethods: UnsupportedMethod lists allowedMethods when set", () => {
      const resource = new Resource();
      resource.allowedMethods = ["GET", "HEAD", "PUT"];
      const request = new DummyRequest([]);
      request.method = "FICTIONAL";
      try {
        resource.render(request);
        expect.fail("render did not raise");
      } catch (err) {
        expect(err).to.be.instanceOf(UnsupportedMethod);
        expect(new Set((err as UnsupportedMethod).allowedMethods)).to.deep.equal(new Set(["GET", "HEAD", "PUT"]));
      }
    });

    it("test_implicitAllowedMethods: UnsupportedMethod lists the render_ methods", () => {
      const request = new DummyRequest([]);
      request.method = "FICTIONAL";
      try {
        new ImplicitAllowedMethods().render(request);
        expect.fail("render did not raise");
      } catch (err) {
        expect(new Set((err as UnsupportedMethod).allowedMethods)).to.deep.equal(new Set(["GET", "HEAD", "PUT"]));
      }
    });

    it("HEAD on a resource without render_GET is UnsupportedMethod, not a crash (Twisted raises AttributeError)", () => {
      class PostOnly extends Resource {
        render_POST(): RenderResult {
          return "";
        }
      }
      const request = new DummyRequest([]);
      request.method = "HEAD";
      expect(() => new PostOnly().render(request)).to.throw(UnsupportedMethod);
      expect(computeAllowedMethods(new PostOnly())).to.deep.equal(["POST"]);
    });

    it("render_ methods assigned on the instance count as allowed", () => {
      const resource = new Resource();
      (resource as unknown as Record<string, unknown>).render_DELETE = () => "";
      expect(computeAllowedMethods(resource)).to.deep.equal(["DELETE"]);
    });

    it("UnsupportedMethod requires an array of methods", () => {
      expect(() => new UnsupportedMethod("GET" as unknown as string[])).to.throw(TypeError);
      expect(new UnsupportedMethod(["GET"]).message).to.equal('Expected one of ["GET"]');
    });

    it("listNames and delEntity manage static children", () => {
      const resource = new Resource();
      resource.putChild("a", new Resource());
      resource.putChild("b", new Resource());
      resource.delEntity("a");
      expect(resource.listNames()).to.deep.equal(["b"]);
    });
  });

  describe("GetChildForRequestTests", () => {
    it("test_exhaustedPostPath: with no postpath the resource itself is returned", () => {
      const resource = new Resource();
      expect(getChildForRequest(resource, new DummyRequest([]))).to.equal(resource);
    });

    it("test_leafResource: the first leaf met is returned", () => {
      const resource = new Resource();
      resource.isLeaf = true;
      expect(getChildForRequest(resource, new DummyRequest(["foo", "bar"]))).to.equal(resource);
    });

    it("test_postPathToPrePath: consumed segments move from postpath to prepath", () => {
      const request = new DummyRequest(["foo", "bar"]);
      const root = new Resource();
      const child = new Resource();
      child.isLeaf = true;
      root.putChild("foo", child);
      expect(getChildForRequest(root, request)).to.equal(child);
      expect(request.prepath).to.deep.equal(["foo"]);
      expect(request.postpath).to.deep.equal(["bar"]);
    });
  });

  describe("StringResource and escapeHtml", () => {
    it("StringResource answers GET with its body, type and code", async () => {
      const request = new DummyRequest([]);
      const body = await renderBody(new StringResource("héllo", "text/plain; charset=utf-8", 202), request);
      expect(body.toString("utf8")).to.equal("héllo");
      expect(request.responseCode).to.equal(202);
      expect(request.responseHeaders.getRawHeaders("content-type")).to.deep.equal(["text/plain; charset=utf-8"]);
    });

    it("escapeHtml escapes & < > \" '", () => {
      expect(escapeHtml(`a&b<c>d"e'f`)).to.equal("a&amp;b&lt;c&gt;d&quot;e&#x27;f");
    });
  });
});
