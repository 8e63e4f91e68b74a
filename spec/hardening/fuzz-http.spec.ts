/**
 * Fuzzing HTTPChannel and its parser (lib/web/http-channel.ts, http-parser.ts): random splits,
 * random bytes, a soup of meaningful fragments, mutations of valid requests, and a request
 * smuggling corpus written from llhttp's test fixtures (test/request/*.md) and Twisted's
 * test_http.py, and llhttp's corpus itself (spec/fixtures/llhttp) split at random. Every input
 * keeps the invariants of expectSane() (http-harness.ts).
 */

import { expect } from "chai";
import fc from "fast-check";
import { createRequire } from "node:module";
import { HTTPParseError, HTTPRequestParser, type HTTPParserHandler } from "../../lib/web/http-parser.js";
import type { Headers } from "../../lib/web/http-headers.js";
import { check, cutPoints, cutsArb, splitAt } from "./fuzz-config.js";
import { expectSane, expectedBody, feedChannel, serialize, validRequestArb, type ValidRequest } from "./http-harness.js";
import { loadCorpus } from "./llhttp-corpus.js";

const pipelineArb = fc.array(validRequestArb, { minLength: 1, maxLength: 3 });

const fragmentArb = fc.constantFrom(
  "GET / HTTP/1.1\r\n", "POST / HTTP/1.1\r\n", "GET /smuggled HTTP/1.1\r\n", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0",
  "\r\n", "\r", "\n", "\0", " ", "\t", ":", ";", ",", "\"", "\\", "=", "\x7f", "\xff",
  "Host: a\r\n", "Content-Length: ", "content-length:", "Transfer-Encoding: ", "transfer-encoding:",
  "chunked", "identity", "gzip", "0", "1", "5", "a", "F", "0x", "+", "-", "ffffffffffffffff",
  "Connection: close\r\n", "Connection: keep-alive\r\n", "Expect: 100-continue\r\n", "abc", "x: y\r\n",
);

const editArb = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom("\r", "\n", "\r\n", "\0", " ", "\t", ":", ",", "\r\n ") }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), value: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("dupline" as const), at: fc.nat() }),
);
type Edit = typeof editArb extends fc.Arbitrary<infer E> ? E : never;

/** Apply byte-level edits to a request stream. */
function applyEdits(input: Buffer, edits: Edit[]): Buffer {
  let data = input;
  for (const e of edits) {
    const at = e.at % (data.length + 1);
    if (e.kind === "flip" && at < data.length) {
      data = Buffer.from(data);
      data[at] = e.value;
    } else if (e.kind === "insert") {
      data = Buffer.concat([data.subarray(0, at), Buffer.from(e.text, "latin1"), data.subarray(at)]);
    } else if (e.kind === "delete") {
      data = Buffer.concat([data.subarray(0, at), data.subarray(at + e.value)]);
    } else if (e.kind === "dupline") {
      // Duplicate the line that contains `at` (a header, a chunk-size line, ...).
      const start = data.lastIndexOf(10, at - 1) + 1;
      const end = data.indexOf(10, at);
      if (end !== -1) data = Buffer.concat([data.subarray(0, end + 1), data.subarray(start, end + 1), data.subarray(end + 1)]);
    }
  }
  return data;
}

describe("hardening: HTTPChannel fuzzing", () => {
  it("random splits of valid pipelined requests parse and answer exactly as the whole", () => {
    check(
      fc.property(pipelineArb, cutsArb, (requests: ValidRequest[], rawCuts) => {
        const data = Buffer.concat(requests.map(serialize));
        const whole = feedChannel([data]);
        const split = feedChannel(splitAt(data, cutPoints(data.length, rawCuts)));
        expect(whole.seen.length).to.equal(requests.length);
        whole.seen.forEach((seen, i) => {
          expect(seen.method).to.equal(requests[i].method);
          expect(seen.uri).to.equal(requests[i].path);
          expect(seen.version).to.equal(requests[i].version);
          expect(seen.body).to.equal(expectedBody(requests[i]));
          for (const [name, value] of requests[i].headers) {
            expect(seen.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1]).to.include(value);
          }
        });
        expect(split.seen).to.deep.equal(whole.seen);
        expect(split.output).to.equal(whole.output);
        expectSane(whole);
      }),
      150,
    );
  });

  it("a valid request fed one byte at a time is the same request", () => {
    check(
      fc.property(validRequestArb, (request) => {
        const data = serialize(request);
        const bytewise: Buffer[] = [];
        for (let i = 0; i < data.length; i++) bytewise.push(data.subarray(i, i + 1));
        expect(feedChannel(bytewise).seen).to.deep.equal(feedChannel([data]).seen);
      }),
      40,
    );
  });

  it("random bytes never throw out of dataReceived and end in responses or a 4xx/5xx and a close", () => {
    check(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 96 }), { minLength: 1, maxLength: 6 }), (chunks) => {
        expectSane(feedChannel(chunks));
      }),
      300,
    );
  });

  it("random bytes after a valid request line and header keep the invariants", () => {
    const head = fc.constantFrom(
      "GET / HTTP/1.1\r\n",
      "POST /x HTTP/1.1\r\nHost: a\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n",
    );
    check(
      fc.property(head, fc.uint8Array({ maxLength: 128 }), cutsArb, (h, tail, rawCuts) => {
        const data = Buffer.concat([Buffer.from(h, "latin1"), tail]);
        expectSane(feedChannel(splitAt(data, cutPoints(data.length, rawCuts))));
      }),
      300,
    );
  });

  it("a soup of HTTP fragments (CR, LF, NUL, colons, codings, sizes) keeps the invariants", () => {
    check(
      fc.property(fc.array(fragmentArb, { minLength: 1, maxLength: 40 }), cutsArb, (parts, rawCuts) => {
        const data = Buffer.from(parts.join(""), "latin1");
        const outcome = feedChannel(splitAt(data, cutPoints(data.length, rawCuts)));
        expectSane(outcome);
        // The same bytes in one piece reach the same verdict.
        const whole = feedChannel([data]);
        expect(outcome.seen).to.deep.equal(whole.seen);
        expect(outcome.output).to.equal(whole.output);
      }),
      400,
    );
  });

  it("mutated valid requests (byte flips, inserted CR/LF/NUL/SP/HTAB, duplicated lines) keep the invariants", () => {
    check(
      fc.property(pipelineArb, fc.array(editArb, { minLength: 1, maxLength: 4 }), cutsArb, (requests, edits, rawCuts) => {
        const data = applyEdits(Buffer.concat(requests.map(serialize)), edits);
        const outcome = feedChannel(splitAt(data, cutPoints(data.length, rawCuts)));
        expectSane(outcome);
        expect(outcome.seen.length).to.be.at.most(requests.length + 4);
      }),
      500,
    );
  });
});

// --- the smuggling corpus -----------------------------------------------------------------------

/** A request that must never reach the application: each case hides it where a lenient parser finds it. */
const S = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
const CHUNK_S = `${S.length.toString(16)}\r\n${S}\r\n0\r\n\r\n`;

interface SmugglingCase {
  name: string;
  raw: string;
  /** The status of the error response, or "one" when it is one honest request whose body holds S. */
  expect: number | "one";
}

/** A head, with a Content-Length covering `body` so a CL-only parser reads S as body. */
function withCL(headerLines: string, body: string, version = "HTTP/1.1"): string {
  return `POST / ${version}\r\nHost: a\r\n${headerLines}Content-Length: ${body.length}\r\n\r\n${body}`;
}

const smuggling: SmugglingCase[] = [
  // CL.TE and TE.CL (llhttp transfer-encoding.md "Content-Length with Transfer-Encoding"; Twisted test_contentLengthAndTransferEncoding)
  { name: "CL then TE: chunked", raw: withCL("Transfer-Encoding: chunked\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "TE: chunked then CL", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${CHUNK_S}`, expect: 400 },
  { name: "TE.CL: CL stops inside the chunk that holds S", raw: `POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNK_S}`, expect: 400 },
  { name: "CL then 'Transfer-Encoding: chunked, identity'", raw: withCL("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL then TE 'identity' (removed in RFC 7230)", raw: withCL("Transfer-Encoding: identity\r\n", S), expect: 400 },
  // TE values that are not exactly chunked (llhttp "Invalid `Transfer-Encoding` header value")
  { name: "TE: chunked, identity (final coding not chunked)", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "TE: identity, chunked (unknown coding first)", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n${CHUNK_S}${S}`, expect: 501 },
  { name: "TE: xchunked", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n${S}`, expect: 400 },
  { name: "TE: chunkedx", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n${S}`, expect: 400 },
  { name: "TE: chunked;q=1 (a parameter is not chunked)", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n${S}`, expect: 400 },
  { name: "TE: chunked twice on one line", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n${CHUNK_S}`, expect: 400 },
  { name: "TE: chunked on two lines", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNK_S}`, expect: 400 },
  { name: "TE: chunked then TE: identity", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "CL with TE: ' chunked' folded (obs-fold)", raw: withCL("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL with TE '\\tchunked' (HTAB is OWS)", raw: withCL("Transfer-Encoding:\tchunked\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL with TE 'CHUNKED' (case-insensitive)", raw: withCL("Transfer-Encoding: CHUNKED\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL with 'Transfer-Encoding : chunked' (space before colon)", raw: withCL("Transfer-Encoding : chunked\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL with ' Transfer-Encoding: chunked' (leading space)", raw: withCL("X: y\r\n Transfer-Encoding: chunked\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL with 'Transfer_Encoding: chunked' (not TE: an honest header)", raw: withCL("Transfer_Encoding: chunked\r\n", "0\r\n\r\n" + S), expect: "one" },
  { name: "CL with TE 'chunked\\0'", raw: withCL("Transfer-Encoding: chunked\0\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "CL with TE 'chunked\\v'", raw: withCL("Transfer-Encoding: chunked\v\r\n", "0\r\n\r\n" + S), expect: 400 },
  { name: "TE: chunked in HTTP/1.0", raw: `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNK_S}${S}`, expect: 400 },
  // chunk sizes (llhttp "Chunk size overflow", "Invalid character in chunk size"; Twisted test_malformedChunkSize*)
  { name: "chunk size that wraps a 64-bit integer to 0x23", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000023\r\n${S}\r\n0\r\n\r\n`, expect: 400 },
  { name: "chunk size ffffffffffffffff", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n${S}`, expect: 400 },
  { name: "chunk size with 0x", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x23\r\n${S}\r\n0\r\n\r\n`, expect: 400 },
  { name: "chunk size with +", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+23\r\n${S}\r\n0\r\n\r\n`, expect: 400 },
  { name: "chunk size with -", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-0\r\n\r\n${S}`, expect: 400 },
  { name: "chunk size with a leading space", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 23\r\n${S}\r\n0\r\n\r\n`, expect: 400 },
  { name: "chunk size with trailing space and no extension", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n23 \r\n${S}\r\n0\r\n\r\n`, expect: 400 },
  { name: "chunk size ended by a bare LF", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\n${S}`, expect: 400 },
  { name: "chunk size ended by a bare CR", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\r\n\r\n${S}`, expect: 400 },
  { name: "chunk data not followed by CRLF", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab${S}`, expect: 400 },
  { name: "chunk data followed by bare LF", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\n0\r\n\r\n${S}`, expect: 400 },
  { name: "last chunk followed by bare LF", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n${S}`, expect: 400 },
  // chunk extensions (llhttp "chunk extensions" quoted-string cases)
  { name: "extension with a quoted CRLF", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;a="\r\n${S}"\r\n\r\n`, expect: 400 },
  { name: "extension with an unterminated quote", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;a="b\r\n\r\n${S}`, expect: 400 },
  { name: "extension with an escaped quote then LF", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;a="b\\"\n\r\n${S}`, expect: 400 },
  { name: "extension with NUL", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;a=\0\r\n\r\n${S}`, expect: 400 },
  { name: "extension with a bare CR", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;a=b\rc\r\n\r\n${S}`, expect: 400 },
  // line endings and header syntax (llhttp "invalid.md", "connection.md"; Twisted test_headerStripWhitespace, test_invalidHeader*)
  { name: "bare LF ends a header, hiding CL", raw: `POST / HTTP/1.1\r\nX: a\nContent-Length: 0\r\n\r\n${S}`, expect: 400 },
  { name: "bare LF in the request line", raw: `POST / HTTP/1.1\nContent-Length: 0\r\n\r\n${S}`, expect: 400 },
  { name: "bare LF LF ends the head", raw: `GET / HTTP/1.1\nHost: a\n\n${S}`, expect: 400 },
  { name: "bare CR inside a header value", raw: `POST / HTTP/1.1\r\nX: a\rContent-Length: 0\r\nContent-Length: 35\r\n\r\n${S}`, expect: 400 },
  { name: "obs-fold continuing a header", raw: `POST / HTTP/1.1\r\nX: a\r\n Content-Length: 0\r\nContent-Length: 35\r\n\r\n${S}`, expect: 400 },
  { name: "obs-fold with HTAB", raw: withCL("X: a\r\n\tb\r\n", S), expect: 400 },
  { name: "header without colon", raw: withCL("Bad Header\r\n", S), expect: 400 },
  { name: "header with only a colon", raw: withCL(":\r\n", S), expect: 400 },
  { name: "NUL in a header name", raw: withCL("X\0Y: z\r\n", S), expect: 400 },
  { name: "NUL in a header value", raw: withCL("X: a\0b\r\n", S), expect: 400 },
  // Content-Length (llhttp "Content-Length" invalid cases; Twisted test_duplicateContentLengths, test_contentLength*)
  { name: "two Content-Length lines", raw: `POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: ${S.length}\r\n\r\n${S}`, expect: 400 },
  { name: "two identical Content-Length lines", raw: `POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length list", raw: `POST / HTTP/1.1\r\nContent-Length: ${S.length}, 0\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length with +", raw: `POST / HTTP/1.1\r\nContent-Length: +0\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length with -", raw: `POST / HTTP/1.1\r\nContent-Length: -0\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length with 0x", raw: `POST / HTTP/1.1\r\nContent-Length: 0x0\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length with an inner space", raw: `POST / HTTP/1.1\r\nContent-Length: 0 35\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length empty", raw: `POST / HTTP/1.1\r\nContent-Length:\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length overflowing 64 bits", raw: `POST / HTTP/1.1\r\nContent-Length: 18446744073709551651\r\n\r\n${S}`, expect: 400 },
  { name: "Content-Length with leading zeros (honest: 35 bytes)", raw: `POST / HTTP/1.1\r\nContent-Length: 0${S.length}\r\n\r\n${S}`, expect: "one" },
  { name: "Content-Length with surrounding OWS (honest)", raw: `POST / HTTP/1.1\r\nContent-Length: \t${S.length} \r\n\r\n${S}`, expect: "one" },
  // request line
  { name: "HTTP/0.9 request line", raw: `GET /smuggled\r\n\r\n${S}`, expect: 400 },
  { name: "two spaces in the request line", raw: `GET  / HTTP/1.1\r\n\r\n${S}`, expect: 400 },
  { name: "HTAB in the request line", raw: `GET /\tHTTP/1.1\r\n\r\n${S}`, expect: 400 },
  { name: "lower-case method", raw: `get / HTTP/1.1\r\n\r\n${S}`, expect: 501 },
  { name: "HTTP/1.2", raw: `GET / HTTP/1.2\r\n\r\n${S}`, expect: 505 },
  { name: "HTTP/1.1 with trailing space", raw: `GET / HTTP/1.1 \r\n\r\n${S}`, expect: 400 },
  // from llhttp's test/request fixtures (invalid.md, content-length.md, transfer-encoding.md)
  { name: "llhttp: CR inside a header name (Content\\rLength)", raw: `PUT /url HTTP/1.1\r\nContent\rLength: 003\r\n\r\nabc${S}`, expect: 400 },
  { name: "llhttp: missing CRLF-CRLF before body (a CR line)", raw: `PUT /url HTTP/1.1\r\nContent-Length: 3\r\n\rabc${S}`, expect: 400 },
  { name: "llhttp: headers separated by CR", raw: `GET / HTTP/1.1\r\nFoo: 1\rContent-Length: 35\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: header value with CR then Transfer-Encoding", raw: `POST / HTTP/1.1\r\nHost: a\r\nx:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: invalid obs-fold after chunked", raw: `PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: space after chunk size then CRLF", raw: `PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na \r\n0123456789\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: chunk size, space, bare LF", raw: `PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 \n  \r\n\\\r\nfoo\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: unbalanced chunk extension quoting", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ilovew3="abc";somuchlove="def; ghi\r\nhello\r\n0\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: obs-fold hides Content-Length", raw: `POST /hello HTTP/1.1\r\nHost: localhost\r\nFoo: bar\r\n Content-Length: 35\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: bare LF inside a value hides Content-Length", raw: `GET / HTTP/1.1\r\nHost: localhost\r\nDummy: x\nContent-Length: 35\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: CR at the start of a header line", raw: `GET / HTTP/1.1\r\nHost: a\r\n\rZGET /smuggled: HTTP/1.1\r\nHost: a\r\n\r\n`, expect: 400 },
  { name: "llhttp: Content-Length with a space before the colon", raw: `PUT /url HTTP/1.1\r\nContent-Length : 35\r\n\r\n${S}`, expect: 400 },
  { name: "llhttp: missing last-chunk, then a request", raw: `PUT /url HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\n${S}`, expect: 400 },
  // a body that hides a request: honest framing reads it as body, and only as body
  { name: "CL body that is a whole request", raw: withCL("", S), expect: "one" },
  { name: "chunked body that is a whole request", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNK_S}`, expect: "one" },
  { name: "trailer that carries Content-Length", raw: `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${S.length.toString(16)}\r\n${S}\r\n0\r\nContent-Length: 99\r\n\r\n`, expect: "one" },
  { name: "Expect: 100-continue with CL and TE", raw: withCL("Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + S), expect: 400 },
];

describe("hardening: request smuggling corpus", () => {
  for (const c of smuggling) {
    it(`${c.name}: ${c.expect === "one" ? "one request, S only as body" : `${c.expect}, closed`}, never the hidden request`, () => {
      const data = Buffer.from(c.raw, "latin1");
      const splits: Buffer[][] = [[data], [...data].map((b) => Buffer.from([b]))];
      for (const chunks of splits) {
        const outcome = feedChannel(chunks);
        const responses = expectSane(outcome);
        expect(outcome.seen.map((r) => r.uri)).not.to.include("/smuggled");
        if (c.expect === "one") {
          expect(outcome.seen.length).to.equal(1);
          expect(outcome.seen[0].body).to.include(S);
          expect(responses.map((r) => r.status)).to.deep.equal([200]);
        } else {
          expect(outcome.seen.length).to.equal(0);
          expect(responses.map((r) => r.status)).to.deep.equal([c.expect]);
        }
      }
    });
  }

  it("random splits of every corpus entry give the same verdict", () => {
    check(
      fc.property(fc.constantFrom(...smuggling), cutsArb, (c, rawCuts) => {
        const data = Buffer.from(c.raw, "latin1");
        const outcome = feedChannel(splitAt(data, cutPoints(data.length, rawCuts)));
        const whole = feedChannel([data]);
        expect(outcome.seen).to.deep.equal(whole.seen);
        expect(outcome.output).to.equal(whole.output);
      }),
      200,
    );
  });
});

// --- chunked decoding on its own ----------------------------------------------------------------

class BodyCollector implements HTTPParserHandler {
  heads = 0;
  body: Buffer[] = [];
  complete = 0;
  headReceived(_m: string, _u: string, _v: string, _h: Headers, _l: number): void {
    this.heads++;
  }
  bodyReceived(data: Buffer): void {
    this.body.push(Buffer.from(data));
  }
  messageComplete(): void {
    this.complete++;
  }
}

const CHUNKED_HEAD = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/** Feed a parser; returns the body, or the HTTPParseError. Any other exception escapes and fails the spec. */
function parseChunked(chunks: readonly Buffer[]): { body: Buffer; complete: boolean } | HTTPParseError {
  const handler = new BodyCollector();
  const parser = new HTTPRequestParser(handler);
  try {
    for (const c of chunks) {
      let data = c;
      while (data.length > 0 && !parser.messageDone) data = data.subarray(parser.execute(data));
    }
  } catch (err) {
    if (err instanceof HTTPParseError) return err;
    throw err;
  }
  return { body: Buffer.concat(handler.body), complete: handler.complete === 1 };
}

describe("hardening: chunked decoding", () => {
  it("any chunking of a body, with extensions and trailers, in any split, decodes to the body", () => {
    check(
      fc.property(validRequestArb, cutsArb, (request, rawCuts) => {
        const r: ValidRequest = { ...request, version: "HTTP/1.1", chunked: true };
        const data = serialize(r);
        const result = parseChunked(splitAt(data, cutPoints(data.length, rawCuts)));
        if (result instanceof HTTPParseError) throw result;
        expect(result.complete).to.equal(true);
        expect(result.body.toString("latin1")).to.equal(r.body.toString("latin1"));
      }),
      200,
    );
  });

  it("a random chunk-size line is accepted exactly when it is 1*HEXDIG [BWS ;ext], and its size is the hex value", () => {
    const line = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFxX+- \t;=\"\\gz\0\r\x7f\xff".split("")), minLength: 0, maxLength: 20 });
    check(
      fc.property(line, (text) => {
        const data = Buffer.from(`${CHUNKED_HEAD}${text}\r\n`, "latin1");
        const result = parseChunked([data]);
        const m = /^([0-9a-fA-F]+)(?:[ \t]*;[^\0\r\x7f]*)?$/.exec(text);
        // The extension grammar is checked in detail by the parser (quotes, backslashes); the
        // reference here only says which lines must be refused.
        if (m === null) {
          expect(result, `${JSON.stringify(text)} must be refused`).to.be.instanceOf(HTTPParseError);
          expect((result as HTTPParseError).status).to.equal(400);
          return;
        }
        const size = parseInt(m[1], 16);
        if (result instanceof HTTPParseError) {
          // Only an extension the strict grammar refuses, or a size beyond 2^53-1, may be refused.
          const ext = text.slice(m[1].length);
          expect(ext !== "" || size > Number.MAX_SAFE_INTEGER, `${JSON.stringify(text)} refused: ${result.message}`).to.equal(true);
          return;
        }
        expect(size <= Number.MAX_SAFE_INTEGER).to.equal(true);
        if (size === 0) {
          // Last chunk: the trailer section's empty line completes the message.
          const done = parseChunked([data, Buffer.from("\r\n")]);
          expect(done).not.to.be.instanceOf(HTTPParseError);
          expect((done as { complete: boolean }).complete).to.equal(true);
        } else if (size <= 64) {
          const done = parseChunked([data, Buffer.alloc(size, 0x78), Buffer.from("\r\n0\r\n\r\n")]);
          expect(done).not.to.be.instanceOf(HTTPParseError);
          expect((done as { body: Buffer }).body.length).to.equal(size);
        }
      }),
      500,
    );
  });

  it("input after a parse error is refused with the same error, never parsed", () => {
    check(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), (bad, more) => {
        const parser = new HTTPRequestParser(new BodyCollector());
        let first: unknown = null;
        try {
          parser.execute(Buffer.concat([Buffer.from("GET / HTTP/1.1\r\nX: \0"), bad, Buffer.from("\r\n")]));
        } catch (err) {
          first = err;
        }
        expect(first).to.be.instanceOf(HTTPParseError);
        expect(() => parser.execute(Buffer.from(more))).to.throw(HTTPParseError);
      }),
      100,
    );
  });
});

// --- differential: llhttp (Node's own parser) --------------------------------------------------------

interface LLMessage {
  method: string;
  url: string;
  body: string;
  /** CONNECT or an Upgrade: llhttp hands the rest of the stream over, so comparison stops there. */
  upgrade: boolean;
}

/**
 * Node's llhttp, strict (no lenient flags), through node:_http_common's HTTPParser binding:
 * the complete messages it parses from `data`, up to its first error.
 */
function llhttpParse(data: Buffer): LLMessage[] {
  const { HTTPParser, methods } = createRequire(import.meta.url)("_http_common") as {
    HTTPParser: any;
    methods: string[];
  };
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
  const complete: LLMessage[] = [];
  let current: LLMessage | null = null;
  // As node:_http_common: a head with many headers is flushed early through kOnHeaders, and
  // kOnHeadersComplete then has no url; kOnHeaders after the head carries trailers.
  let pendingUrl = "";
  parser[HTTPParser.kOnHeaders] = (_headers: string[], url: string) => {
    if (current === null) pendingUrl += url ?? "";
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number, _minor: number, _headers: string[], method: number, url: string | undefined,
    _status: number, _message: string, upgrade: boolean,
  ) => {
    current = { method: methods[method], url: url || pendingUrl, body: "", upgrade: upgrade || methods[method] === "CONNECT" };
    pendingUrl = "";
    return 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer) => {
    if (current !== null) current.body += b.toString("latin1");
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (current !== null) complete.push(current);
    current = null;
  };
  parser[HTTPParser.kOnExecute] = () => {};
  try {
    parser.execute(data);
  } finally {
    parser.free?.();
  }
  return complete;
}

describe("hardening: differential against llhttp", () => {
  /**
   * The smuggling property across implementations: where llhttp (in front, say) and torsion
   * (behind) both accept a stream, they see the same requests with the same bodies. Either may
   * refuse more than the other; neither may frame the same bytes differently.
   */
  function agree(data: Buffer): void {
    const theirs = llhttpParse(data);
    const ours = feedChannel([data]).seen;
    const n = Math.min(theirs.length, ours.length);
    for (let i = 0; i < n; i++) {
      const label = `request ${i} of ${JSON.stringify(data.toString("latin1"))}`;
      expect(ours[i].method, label).to.equal(theirs[i].method);
      expect(ours[i].uri, label).to.equal(theirs[i].url);
      expect(ours[i].body, label).to.equal(theirs[i].body);
      if (theirs[i].upgrade) break;
    }
  }

  it("valid pipelines: both parse them identically (llhttp refuses BWS before a chunk extension, RFC 9112 allows it)", () => {
    check(
      fc.property(pipelineArb, (requests) => {
        const data = Buffer.concat(requests.map(serialize));
        agree(data);
      }),
      200,
    );
  });

  it("mutated pipelines: where both accept, both frame the same requests", () => {
    check(
      fc.property(pipelineArb, fc.array(editArb, { minLength: 1, maxLength: 4 }), (requests, edits) => {
        agree(applyEdits(Buffer.concat(requests.map(serialize)), edits));
      }),
      500,
    );
  });

  it("fragment soup: where both accept, both frame the same requests", () => {
    check(
      fc.property(fc.array(fragmentArb, { minLength: 1, maxLength: 40 }), (parts) => {
        agree(Buffer.from(parts.join(""), "latin1"));
      }),
      500,
    );
  });

  it("the smuggling corpus: where both accept, both frame the same requests", () => {
    for (const c of smuggling) agree(Buffer.from(c.raw, "latin1"));
  });
});

describe("hardening: llhttp's corpus, split at random", () => {
  // Every case of every file, lenient ones too: whatever torsion's verdict on the bytes is, it
  // must not depend on how they arrive.
  const corpus = loadCorpus();

  it("every case fed one byte at a time gets the verdict it gets whole", () => {
    expect(corpus.length).to.be.greaterThan(100);
    for (const c of corpus) {
      const whole = feedChannel([c.input]);
      const bytewise = feedChannel([...c.input].map((b) => Uint8Array.of(b)));
      expect(bytewise.seen, c.name).to.deep.equal(whole.seen);
      expect(bytewise.output, c.name).to.equal(whole.output);
      expect(bytewise.closed, c.name).to.equal(whole.closed);
      expectSane(whole);
    }
  });

  it("random splits of every case get the verdict it gets whole", () => {
    check(
      fc.property(fc.nat(corpus.length - 1), cutsArb, (index, rawCuts) => {
        const c = corpus[index];
        const whole = feedChannel([c.input]);
        const split = feedChannel(splitAt(c.input, cutPoints(c.input.length, rawCuts)));
        expect(split.seen, c.name).to.deep.equal(whole.seen);
        expect(split.output, c.name).to.equal(whole.output);
        expect(split.closed, c.name).to.equal(whole.closed);
      }),
      400,
    );
  });
});
