// lib/web/path-segments.ts: splitting a request path into segments and their percent-codecs.
import { expect } from "chai";
import { originPath, quoteSegment, rawSegments, splitPath, unquoteSegment } from "../../lib/web/path-segments.js";

describe("web/path-segments", () => {
  it("originPath drops an absolute form's scheme and authority, and keeps an origin form", () => {
    expect(originPath("http://example.com/a/b?q")).to.equal("/a/b?q");
    expect(originPath("https://example.com")).to.equal("/");
    expect(originPath("/a//b")).to.equal("/a//b");
  });

  it("rawSegments keeps the encoding; splitPath decodes each segment", () => {
    expect(rawSegments("/a/b%20c/")).to.deep.equal(["a", "b%20c", ""]);
    expect(splitPath("/a/b%20c/")).to.deep.equal(["a", "b c", ""]);
    expect(splitPath("http://h/x%2Fy")).to.deep.equal(["x/y"]);
    expect(splitPath("/")).to.deep.equal([""]);
  });

  it("unquoteSegment decodes UTF-8, turns bad sequences into U+FFFD and leaves a stray % alone", () => {
    expect(unquoteSegment("caf%C3%A9")).to.equal("café");
    expect(unquoteSegment("%ff")).to.equal("\ufffd");
    expect(unquoteSegment("100%")).to.equal("100%");
    expect(unquoteSegment("%zz")).to.equal("%zz");
  });

  it("quoteSegment encodes all but letters, digits and -._~, and round-trips through unquoteSegment", () => {
    expect(quoteSegment("a b/c!*'()")).to.equal("a%20b%2Fc%21%2A%27%28%29");
    expect(quoteSegment("-._~")).to.equal("-._~");
    for (const s of ["café", "a/b", "100%", "..", "日本"]) expect(unquoteSegment(quoteSegment(s))).to.equal(s);
  });
});
