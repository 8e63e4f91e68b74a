import { expect } from "chai";
import { Headers, canonicalHeaderName, headerString } from "../../lib/web/http-headers.js";
import { bytes, makeChannel, SilentRequest } from "./http-test-helpers.js";

// Ports of twisted/web/test/test_http_headers.py (BytesHeadersTests and UnicodeHeadersTests
// collapse into one: torsion's header strings are latin1 and Buffers are converted).
describe("twisted.web.http_headers Headers", () => {
  describe("HeadersTests", () => {
    it("test_sanitizeLinearWhitespace: CR, LF and CRLF in names and values become one space", () => {
      for (const component of ["Foo\nbar", "Foo\rbar", "Foo\r\nbar"]) {
        const h = new Headers();
        h.setRawHeaders(component, [component]);
        expect([...h.getAllRawHeaders()]).to.deep.equal([["Foo bar", ["Foo bar"]]]);
      }
    });

    it("test_initializer: the constructor takes a mapping of names to values", () => {
      const h = new Headers({ Foo: ["bar"] });
      expect(h.getRawHeaders("foo")).to.deep.equal(["bar"]);
    });

    it("test_setRawHeaders: replaces the values of a name", () => {
      const h = new Headers();
      h.setRawHeaders("test", ["lemur", "panda"]);
      expect(h.hasHeader("Test")).to.equal(true);
      expect(h.getRawHeaders("test")).to.deep.equal(["lemur", "panda"]);
      h.setRawHeaders("TEST", ["x"]);
      expect(h.getRawHeaders("test")).to.deep.equal(["x"]);
    });

    it("test_rawHeadersTypeCheckingValuesIterable: values must be an array", () => {
      expect(() => new Headers().setRawHeaders("key", "value" as unknown as string[])).to.throw(TypeError);
    });

    it("test_rawHeadersTypeCheckingValuesAreString: each value must be a string or bytes", () => {
      expect(() => new Headers().setRawHeaders("key", [1 as unknown as string])).to.throw(TypeError);
      expect(() => new Headers().addRawHeader(2 as unknown as string, "v")).to.throw(TypeError);
    });

    it("test_addRawHeader: adds a value after the existing ones", () => {
      const h = new Headers();
      h.addRawHeader("test", "lemur");
      expect(h.getRawHeaders("test")).to.deep.equal(["lemur"]);
      h.addRawHeader("Test", "panda");
      expect(h.getRawHeaders("test")).to.deep.equal(["lemur", "panda"]);
    });

    it("test_getRawHeadersNoDefault: undefined for an absent header", () => {
      expect(new Headers().getRawHeaders("test")).to.equal(undefined);
    });

    it("test_getRawHeadersDefaultValue: the default for an absent header", () => {
      const d = ["default"];
      expect(new Headers().getRawHeaders("test", d)).to.equal(d);
      expect(new Headers().getRawHeaders("test", null)).to.equal(null);
    });

    it("test_getRawHeadersWithDefaultMatchingValue: the values when present, not the default", () => {
      const h = new Headers();
      h.setRawHeaders("key", ["value"]);
      expect(h.getRawHeaders("key", ["default"])).to.deep.equal(["value"]);
    });

    it("test_getRawHeaders: values whatever the case of the name", () => {
      const h = new Headers();
      h.setRawHeaders("test", ["lemur"]);
      expect(h.getRawHeaders("test")).to.deep.equal(["lemur"]);
      expect(h.getRawHeaders("Test")).to.deep.equal(["lemur"]);
      expect(h.getRawHeaders(bytes("TEST"))).to.deep.equal(["lemur"]);
    });

    it("test_hasHeaderTrue / test_hasHeaderFalse", () => {
      const h = new Headers();
      h.setRawHeaders("test", ["lemur"]);
      expect(h.hasHeader("test")).to.equal(true);
      expect(h.hasHeader("Test")).to.equal(true);
      expect(h.hasHeader("other")).to.equal(false);
    });

    it("test_removeHeader: removes every value", () => {
      const h = new Headers();
      h.setRawHeaders("foo", ["lemur"]);
      h.removeHeader("FOO");
      expect(h.hasHeader("foo")).to.equal(false);
      expect(h.getRawHeaders("foo")).to.equal(undefined);
    });

    it("test_removeHeaderDoesntExist: removing an absent header is harmless", () => {
      const h = new Headers();
      h.removeHeader("test");
      expect([...h.getAllRawHeaders()]).to.deep.equal([]);
    });

    it("test_canonicalNameCaps: names are Title-Cased, with Twisted's exceptions", () => {
      expect(canonicalHeaderName("test")).to.equal("Test");
      expect(canonicalHeaderName("test-stuff")).to.equal("Test-Stuff");
      expect(canonicalHeaderName("content-md5")).to.equal("Content-MD5");
      expect(canonicalHeaderName("dnt")).to.equal("DNT");
      expect(canonicalHeaderName("etag")).to.equal("ETag");
      expect(canonicalHeaderName("p3p")).to.equal("P3P");
      expect(canonicalHeaderName("te")).to.equal("TE");
      expect(canonicalHeaderName("www-authenticate")).to.equal("WWW-Authenticate");
      expect(canonicalHeaderName("x-xss-protection")).to.equal("X-XSS-Protection");
    });

    it("names that are Object.prototype's properties are names like any other", () => {
      const h = new Headers();
      h.addRawHeader("__proto__", "x");
      h.addRawHeader("Constructor", "y");
      expect([...h.getAllRawHeaders()]).to.deep.equal([
        ["__proto__", ["x"]],
        ["Constructor", ["y"]],
      ]);
    });

    it("test_getAllRawHeaders: canonical names and values, in insertion order", () => {
      const h = new Headers();
      h.setRawHeaders("test", ["lemurs"]);
      h.setRawHeaders("www-authenticate", ["basic aksljdlk="]);
      expect([...h.getAllRawHeaders()]).to.deep.equal([
        ["Test", ["lemurs"]],
        ["WWW-Authenticate", ["basic aksljdlk="]],
      ]);
      expect([...h]).to.deep.equal([...h.getAllRawHeaders()]);
    });

    it("test_repr: toString shows the headers", () => {
      const h = new Headers({ foo: ["bar", "baz"] });
      expect(String(h)).to.equal('Headers({Foo: ["bar","baz"]})');
    });

    it("test_copy: a copy is independent", () => {
      const h = new Headers();
      h.setRawHeaders("test", ["foo"]);
      const c = h.copy();
      expect(c.getRawHeaders("test")).to.deep.equal(["foo"]);
      h.addRawHeader("test", "bar");
      c.addRawHeader("test", "baz");
      expect(h.getRawHeaders("test")).to.deep.equal(["foo", "bar"]);
      expect(c.getRawHeaders("test")).to.deep.equal(["foo", "baz"]);
    });

    it("test_rawHeadersValueEncoding / test_nameEncoding: characters above U+00FF are sent as UTF-8", () => {
      const h = new Headers();
      h.setRawHeaders("x-name", ["café ☃"]);
      const stored = h.getRawHeaders("x-name")![0];
      expect(Buffer.from(stored, "latin1").toString("utf8")).to.equal("café ☃");
    });

    it("Buffers are decoded as latin1, byte for byte", () => {
      const h = new Headers();
      h.addRawHeader(bytes("X-Bin"), Buffer.from([0x41, 0xe9, 0xff]));
      expect(h.getRawHeaders("x-bin")).to.deep.equal(["A\xe9\xff"]);
    });

    it("getLast returns the last value or undefined", () => {
      const h = new Headers({ a: ["1", "2"] });
      expect(h.getLast("A")).to.equal("2");
      expect(h.getLast("b")).to.equal(undefined);
    });

    it("headerString passes clean strings through unchanged", () => {
      const s = "text/html; charset=utf-8";
      expect(headerString(s)).to.equal(s);
    });
  });

  describe("HTTPChannelSanitizationTests", () => {
    it("test_writeHeadersSanitizesLinearWhitespace: response header names and values cannot split the response", () => {
      for (const component of ["Foo\nbar", "Foo\rbar", "Foo\r\nbar"]) {
        const { channel, transport } = makeChannel({ requestFactory: SilentRequest });
        channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
        const req = channel.requests[0];
        req.setHeader(component, component);
        req.setHeader("content-length", "0");
        req.finish();
        expect(transport.value().toString("latin1")).to.equal("HTTP/1.1 200 OK\r\nFoo bar: Foo bar\r\nContent-Length: 0\r\n\r\n");
      }
    });
  });
});
