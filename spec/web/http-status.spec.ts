// lib/web/http-status.ts: the status codes and phrases of twisted.web.http (RFC 9110 section 15).
import { expect } from "chai";
import { NOT_FOUND, NOT_MODIFIED, NO_BODY_CODES, NO_CONTENT, OK, RESPONSES, responsePhrase } from "../../lib/web/http-status.js";

describe("web/http-status", () => {
  it("names the codes as Twisted does, with their phrases", () => {
    expect([OK, NOT_FOUND]).to.deep.equal([200, 404]);
    expect(RESPONSES.get(OK)).to.equal("OK");
    expect(responsePhrase(NOT_FOUND)).to.equal("Not Found");
  });

  it("every phrase is one line of visible text (it goes on the status line)", () => {
    for (const [code, phrase] of RESPONSES) {
      expect(code).to.be.within(100, 599);
      expect(phrase, String(code)).to.match(/^[\x20-\x7e]+$/);
    }
  });

  it("a code with no phrase of its own gets a non-empty one, so the status line stays well-formed", () => {
    expect(responsePhrase(599)).to.be.a("string").and.not.equal("");
  });

  it("204 and 304 never carry a body (RFC 9110 6.4.1)", () => {
    expect([...NO_BODY_CODES].sort()).to.deep.equal([NO_CONTENT, NOT_MODIFIED]);
  });
});
