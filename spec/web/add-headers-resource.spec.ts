// lib/web/add-headers-resource.ts (twisted/web/test/test_tap.py's AddHeadersResourceTests).
import { expect } from "chai";
import type { IRequest, RenderResult } from "../../lib/web/iweb.js";
import { AddHeadersResource } from "../../lib/web/add-headers-resource.js";
import { Resource } from "../../lib/web/resource.js";
import { DummyRequest } from "../../lib/web/testing.js";

class Hello extends Resource {
  override isLeaf = true;
  render_GET(_request: IRequest): RenderResult {
    return "hello\n";
  }
}

describe("web/add-headers-resource", () => {
  describe("AddHeadersResourceTests", () => {
    it("test_getChildWithDefault: adds the headers to the response, repeated names in order", () => {
      const root = new Resource();
      root.putChild("", new Hello());
      const resource = new AddHeadersResource(root, [
        ["K1", "V1"],
        ["K2", "V2"],
        ["K1", "V3"],
      ]);
      const request = new DummyRequest([]);
      expect(resource.getChildWithDefault("", request)).to.be.instanceOf(Hello);
      expect(request.responseHeaders.getRawHeaders("K1")).to.deep.equal(["V1", "V3"]);
      expect(request.responseHeaders.getRawHeaders("K2")).to.deep.equal(["V2"]);
    });
  });

  it("is a leaf exactly when the resource it wraps is, and renders it with the headers", () => {
    const leaf = new AddHeadersResource(new Hello(), [["X-A", "1"]]);
    expect(leaf.isLeaf).to.equal(true);
    expect(new AddHeadersResource(new Resource(), []).isLeaf).to.equal(false);
    const request = new DummyRequest([]);
    expect(leaf.render(request)).to.equal("hello\n");
    leaf.render(request); // a HEAD faked as GET renders twice: still one value
    expect(request.responseHeaders.getRawHeaders("X-A")).to.deep.equal(["1"]);
  });

  it("putChild goes to the wrapped resource", () => {
    const root = new Resource();
    const wrapper = new AddHeadersResource(root, []);
    const child = new Hello();
    wrapper.putChild("x", child);
    expect(root.getChildWithDefault("x", new DummyRequest(["x"]))).to.equal(child);
  });
});
