// lib/web/http-conditional.ts: If-None-Match and If-Modified-Since (RFC 9110 section 13), and the
// one check that Request and DummyRequest share: a resource spec on DummyRequest sees what
// production sees.
import { expect } from "chai";
import { datetimeToString } from "../../lib/web/http-dates.js";
import { CACHED, noneMatchListsTag, notModifiedSince, parseEntityTags } from "../../lib/web/http-conditional.js";
import { Request } from "../../lib/web/http-request.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { makeChannel } from "./http-test-helpers.js";

/** A real twisted.web.http-style Request on a channel over a StringTransport. */
function realRequest(method: string, headers: Record<string, string>): Request {
  const { channel } = makeChannel();
  const request = new Request(channel);
  request.method = method;
  for (const [name, value] of Object.entries(headers)) request.requestHeaders.setRawHeaders(name, [value]);
  return request;
}

function dummyRequest(method: string, headers: Record<string, string>): DummyRequest {
  const request = new DummyRequest([]);
  request.method = method;
  for (const [name, value] of Object.entries(headers)) request.requestHeaders.setRawHeaders(name, [value]);
  return request;
}

const kinds = [
  { name: "Request", make: realRequest },
  { name: "DummyRequest", make: dummyRequest },
] as const;

describe("web/http-conditional", () => {
  describe("parseEntityTags", () => {
    it("reads '*', strong and weak tags, with or without spaces after the commas", () => {
      expect(parseEntityTags("*")).to.deep.equal(["*"]);
      expect(parseEntityTags('"a", W/"b","c"')).to.deep.equal(['"a"', 'W/"b"', '"c"']);
    });

    it("keeps a comma inside a quoted tag (RFC 9110 8.8.3: etagc includes ',')", () => {
      expect(parseEntityTags('"a,b", "c"')).to.deep.equal(['"a,b"', '"c"']);
    });

    it("takes a bare tag (as Twisted's setETag sends one) up to whitespace or a comma", () => {
      expect(parseEntityTags("abc def,ghi")).to.deep.equal(["abc", "def", "ghi"]);
    });
  });

  it("noneMatchListsTag compares weakly and honours '*'", () => {
    expect(noneMatchListsTag('W/"x"', '"x"')).to.equal(true);
    expect(noneMatchListsTag('"x"', 'W/"x"')).to.equal(true);
    expect(noneMatchListsTag('"y", "z"', '"x"')).to.equal(false);
    expect(noneMatchListsTag("*", '"x"')).to.equal(true);
  });

  it("notModifiedSince: at or after the time holds, before does not, a bad date is ignored", () => {
    expect(notModifiedSince(datetimeToString(1000), 1000)).to.equal(true);
    expect(notModifiedSince(datetimeToString(999), 1000)).to.equal(false);
    expect(notModifiedSince(`${datetimeToString(2000)}; length=12`, 1000)).to.equal(true);
    expect(notModifiedSince("not a date", 0)).to.equal(false);
  });

  for (const { name, make } of kinds) {
    describe(`${name}.setETag and setLastModified (one check for both)`, () => {
      const cases: Array<[string, string, string, number | null]> = [
        // [method, If-None-Match, etag, expected code (null: not CACHED)]
        ["GET", '"abc"', '"abc"', 304],
        ["HEAD", 'W/"abc"', '"abc"', 304],
        ["PUT", '"abc"', '"abc"', 412],
        ["GET", '"x", "abc"', '"abc"', 304],
        ["GET", '"x","abc"', '"abc"', 304], // no space after the comma: the drifted DummyRequest missed this
        ["GET", '"a,b"', '"a,b"', 304],
        ["GET", '"a,b"', '"b"', null],
        ["GET", "*", '"anything"', 304],
        ["GET", '"other"', '"abc"', null],
      ];
      for (const [method, header, etag, code] of cases) {
        it(`${method} with If-None-Match: ${header} and ETag ${etag} -> ${code ?? "not cached"}`, () => {
          const request = make(method, { "if-none-match": header });
          const result = request.setETag(etag);
          if (code === null) {
            expect(result).to.equal(null);
          } else {
            expect(result).to.equal(CACHED);
            expect(request.code).to.equal(code);
          }
        });
      }

      it("setLastModified: 304 when If-Modified-Since is at or after it, not when before", () => {
        const fresh = make("GET", { "if-modified-since": datetimeToString(5000) });
        expect(fresh.setLastModified(4999.5)).to.equal(CACHED);
        expect(fresh.code).to.equal(304);
        const stale = make("GET", { "if-modified-since": datetimeToString(5000) });
        expect(stale.setLastModified(5001)).to.equal(null);
      });
    });
  }
});
