import { expect } from "chai";
import { parseQs, unquotePlus } from "../../lib/web/http-query.js";

describe("twisted.web.http query strings", () => {
  describe("QueryArgumentsTests", () => {
    it("testParseqs: names map to every value, in order", () => {
      expect(Object.fromEntries(parseQs("a=b&d=c;+=f"))).to.deep.equal({ a: ["b"], d: ["c; =f"] });
      expect(Object.fromEntries(parseQs("a=b&a=c"))).to.deep.equal({ a: ["b", "c"] });
    });
  });

  it("parseQs decodes +, %XX and UTF-8, keeping blank values", () => {
    expect(Object.fromEntries(parseQs("a=1&a=2&b=&c&d=%C3%A9+x"))).to.deep.equal({ a: ["1", "2"], b: [""], c: [""], d: ["é x"] });
  });

  it("parseQs adds to a given Map and skips empty pairs", () => {
    const into = new Map([["a", ["0"]]]);
    parseQs("&&a=1&", into);
    expect(Object.fromEntries(into)).to.deep.equal({ a: ["0", "1"] });
  });

  it("unquotePlus keeps malformed escapes literally and decodes raw latin1 bytes as UTF-8", () => {
    expect(unquotePlus("100%")).to.equal("100%");
    expect(unquotePlus("%zz")).to.equal("%zz");
    expect(unquotePlus("plain")).to.equal("plain");
    expect(unquotePlus(Buffer.from("é", "utf8").toString("latin1"))).to.equal("é");
  });
});
