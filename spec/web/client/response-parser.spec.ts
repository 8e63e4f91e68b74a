import { expect } from "chai";
import { Headers } from "../../../lib/web/http-headers.js";
import { ParseError } from "../../../lib/web/client/errors.js";
import { CHUNKED, CLOSE_DELIMITED, HTTPResponseParser, type ResponseParserHandler } from "../../../lib/web/client/response-parser.js";

class Recorder implements ResponseParserHandler {
  heads: Array<[number, string, number]> = [];
  body: Buffer[] = [];
  rest: Buffer | null = null;
  headReceived(_major: number, _minor: number, code: number, phrase: string, _headers: Headers, length: number, _inHand: boolean): void {
    this.heads.push([code, phrase, length]);
  }
  bodyReceived(data: Buffer): void {
    this.body.push(Buffer.from(data));
  }
  messageComplete(rest: Buffer): void {
    this.rest = rest;
  }
}

function parse(wire: string, method = "GET", split = 0): Recorder {
  const r = new Recorder();
  const p = new HTTPResponseParser(r);
  p.reset(method);
  const bytes = Buffer.from(wire, "latin1");
  if (split <= 0) p.dataReceived(bytes);
  else for (let i = 0; i < bytes.length; i += split) p.dataReceived(bytes.subarray(i, i + split));
  return r;
}

describe("HTTPResponseParser (twisted.web.test.test_newclient HTTPClientParserTests, the parser alone)", () => {
  it("the framing it reports: a length, CHUNKED, CLOSE_DELIMITED, 0 for HEAD", () => {
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").heads).to.deep.equal([[200, "OK", 3]]);
    expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").heads[0][2]).to.equal(CHUNKED);
    expect(parse("HTTP/1.1 200 OK\r\n\r\n").heads[0][2]).to.equal(CLOSE_DELIMITED);
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "HEAD").heads[0][2]).to.equal(0);
  });

  it("test_extraBytesPassedBack: what follows the response is handed back as `rest`", () => {
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1").rest!.toString()).to.equal("HTTP/1.1");
    expect(parse("HTTP/1.1 204 No Content\r\n\r\nxyz").rest!.toString()).to.equal("xyz");
  });

  it("any split of the input gives the same result", () => {
    const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    for (const split of [0, 1, 2, 3, 7, 13]) {
      const r = parse(wire, "GET", split);
      expect(Buffer.concat(r.body).toString(), `split ${split}`).to.equal("hello world");
      expect(r.rest, `split ${split}`).to.not.equal(null);
    }
  });

  it("a head larger than maxHeadSize is refused before it is all buffered", () => {
    const r = new Recorder();
    const p = new HTTPResponseParser(r, { maxHeadSize: 1024 });
    p.reset("GET");
    expect(() => p.dataReceived(Buffer.from("HTTP/1.1 200 OK\r\nX: " + "y".repeat(2000)))).to.throw(ParseError, /larger than 1024/);
    expect(() => p.dataReceived(Buffer.from("more"))).to.throw(ParseError);
  });

  it("noMoreData says how the response stands when the connection ends", () => {
    const states = ["", "HTTP/1.1 2", "HTTP/1.1 200 OK\r\n\r\nabc", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"].map((wire) => {
      const p = new HTTPResponseParser(new Recorder());
      p.reset("GET");
      if (wire) p.dataReceived(Buffer.from(wire));
      return p.noMoreData();
    });
    expect(states).to.deep.equal(["no-response", "partial-head", "potential-data-loss", "data-loss", "complete"]);
  });
});
