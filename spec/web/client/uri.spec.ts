import { expect } from "chai";
import { SchemeNotSupported } from "../../../lib/web/client/errors.js";
import { URI } from "../../../lib/web/client/uri.js";

describe("URI (twisted.web.test.test_agent URITests)", () => {
  it("test_parseDefaultPort / test_parseCustomDefaultPort: the scheme's port unless given", () => {
    expect(URI.fromString("http://example.com/").port).to.equal(80);
    expect(URI.fromString("https://example.com/").port).to.equal(443);
    expect(URI.fromString("http://example.com:5144/").port).to.equal(5144);
  });

  it("test_originForm / test_emptyPath: path and query, / for an empty path; the fragment dropped", () => {
    const uri = URI.fromString("http://example.com/foo?bar=baz#frag");
    expect([uri.path, uri.query, uri.fragment, uri.originForm]).to.deep.equal(["/foo", "bar=baz", "frag", "/foo?bar=baz"]);
    expect(URI.fromString("http://example.com").originForm).to.equal("/");
  });

  it("test_hostBracketIPv6AddressLiteral: [::1] is the host ::1, bracketed again in Host", () => {
    const uri = URI.fromString("http://[::1]:8080/");
    expect([uri.host, uri.port, uri.hostValue]).to.deep.equal(["::1", 8080, "[::1]:8080"]);
  });

  it("userinfo is not part of the host", () => {
    expect(URI.fromString("http://user:pw@example.com/").host).to.equal("example.com");
  });

  it("a relative URI, no host, or a bad port are errors naming the URI", () => {
    expect(() => URI.fromString("/just/a/path")).to.throw(SchemeNotSupported, /just/);
    expect(() => URI.fromString("http:///path")).to.throw(SchemeNotSupported);
    expect(() => URI.fromString("http://example.com:99999/")).to.throw(RangeError, /99999/);
  });
});
