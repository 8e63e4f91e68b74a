/**
 * The in-memory harness of the HTTP fuzz specs: an HTTPChannel on a StringTransport and a
 * Clock whose requests record what reached the application and answer at once, plus a strict
 * reader of the responses written and the invariants every input must keep.
 */

import { expect } from "chai";
import fc from "fast-check";
import { captureLogEvents } from "../../lib/internet/log.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport } from "../../lib/internet/testing.js";
import { HTTPChannel, type HTTPChannelOptions } from "../../lib/web/http-channel.js";
import { DEFAULT_METHODS } from "../../lib/web/http-parser.js";
import { Request } from "../../lib/web/http-request.js";
import { parseResponses, type ParsedResponse } from "../support/http-response.js";

export { parseResponses, type ParsedResponse };

/** What the application saw of one request. */
export interface SeenRequest {
  method: string;
  uri: string;
  version: string;
  headers: [string, string[]][];
  body: string;
}

let seen: SeenRequest[] = [];

/** Records the request and answers `<method> <uri> <body length>` with a Content-Length. */
export class RecordingRequest extends Request {
  override process(): void {
    const body = this.content !== null ? this.content.read() : Buffer.alloc(0);
    seen.push({
      method: this.method,
      uri: this.uri,
      version: this.clientproto,
      headers: [...this.requestHeaders.getAllRawHeaders()].map(([n, v]) => [n, v.slice()]),
      body: body.toString("latin1"),
    });
    const out = Buffer.from(`${this.method} ${this.uri} ${body.length}\n`, "latin1");
    this.setHeader("content-type", "text/plain");
    this.setHeader("content-length", String(out.length));
    this.write(out);
    this.finish();
  }
}

export interface Outcome {
  seen: SeenRequest[];
  output: string;
  /** The channel asked its transport to close. */
  closed: boolean;
}

/** Feed `chunks` to a fresh channel, then let every timeout pass. Nothing may throw. */
export function feedChannel(chunks: readonly Uint8Array[], options: HTTPChannelOptions = {}): Outcome {
  seen = [];
  const logs = captureLogEvents();
  try {
    return runChannel(chunks, options);
  } finally {
    logs.stop();
  }
}

function runChannel(chunks: readonly Uint8Array[], options: HTTPChannelOptions): Outcome {
  const clock = new Clock();
  const transport = new StringTransport({ lenient: true });
  // The corpus cases (from llhttp and Twisted) are about framing, and most send no Host: the
  // Host rule (RFC 9112 3.2) would refuse them before their framing is tried. It has specs
  // of its own (spec/web/http-channel.spec.ts).
  const channel = new HTTPChannel({
    serverVersion: null, sendDate: false, requestFactory: RecordingRequest, allowMissingHost: true, ...options, reactor: clock,
  });
  channel.makeConnection(transport);
  for (const chunk of chunks) {
    if (transport.disconnecting) break;
    channel.dataReceived(chunk);
  }
  // Every timeout (headers 30 s, idle 60 s, abort 15 s) passes.
  clock.advance(200);
  const outcome = { seen, output: transport.value().toString("latin1"), closed: transport.disconnecting };
  seen = [];
  return outcome;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The invariants every input keeps, however malformed:
 * - what reaches the application is clean (known method, request-target without controls or
 *   spaces, lower-case token header names, values without CR/LF/NUL/controls);
 * - the output is a well-formed sequence of responses, one per request seen, plus at most one
 *   error response, which is last and followed by a close;
 * - once every timeout has passed, the connection is closed (nothing hangs).
 */
export function expectSane(outcome: Outcome): ParsedResponse[] {
  for (const r of outcome.seen) {
    expect(DEFAULT_METHODS.has(r.method), `method ${JSON.stringify(r.method)}`).to.equal(true);
    expect(r.uri, "request-target: visible ASCII (RFC 9112 3.2)").to.match(/^[\x21-\x7e]+$/);
    expect(["HTTP/1.0", "HTTP/1.1"]).to.include(r.version);
    for (const [name, values] of r.headers) {
      expect(name, "header name").to.match(TOKEN_RE);
      for (const v of values) {
        expect(v, `value of ${name}`).not.to.match(/[\x00-\x08\x0a-\x1f\x7f]/);
        expect(v, `value of ${name}`).not.to.match(/^[ \t]|[ \t]$/);
      }
    }
  }
  const responses = parseResponses(
    outcome.output,
    outcome.seen.map((r) => r.method),
  );
  expect(responses.length, "responses vs requests").to.be.oneOf([outcome.seen.length, outcome.seen.length + 1]);
  for (let i = 0; i < outcome.seen.length; i++) expect(responses[i].status, `response ${i}`).to.equal(200);
  if (responses.length > outcome.seen.length) {
    const last = responses[responses.length - 1];
    expect(last.status, "error response").to.be.within(400, 599);
    expect(last.headers.get("connection")).to.equal("close");
  }
  expect(outcome.closed, "connection closed once every timeout passed").to.equal(true);
  return responses;
}

// --- generators of valid requests --------------------------------------------------------------

const tokenChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const tokenArb = fc.string({ unit: fc.constantFrom(...tokenChars.split("")), minLength: 1, maxLength: 10 });
const valueArb = fc
  .string({ unit: fc.constantFrom(..."abcXYZ019 \t/;=,.:-_\"()\x80\xff".split("")), maxLength: 24 })
  .map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ""));
const pathArb = fc
  .string({ unit: fc.constantFrom(..."abcz019/?=&%._~-".split("")), maxLength: 24 })
  .map((p) => "/" + p);

export interface ValidRequest {
  method: string;
  path: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  headers: [string, string][];
  body: Buffer;
  chunked: boolean;
  chunkCuts: number[];
  extensions: string[];
  trailers: [string, string][];
}

const reserved = new Set(["content-length", "transfer-encoding", "connection", "expect", "te", "trailer", "upgrade", "host", "keep-alive"]);

export const validRequestArb: fc.Arbitrary<ValidRequest> = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"),
  path: pathArb,
  version: fc.constantFrom("HTTP/1.1" as const, "HTTP/1.1" as const, "HTTP/1.0" as const),
  headers: fc.array(fc.tuple(tokenArb, valueArb), { maxLength: 6 }).map((hs) => hs.filter(([n]) => !reserved.has(n.toLowerCase()))),
  body: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  chunked: fc.boolean(),
  chunkCuts: fc.array(fc.nat(), { maxLength: 6 }),
  extensions: fc.array(fc.constantFrom("", ";a", ";a=b", ';name="q;uo\\"ted"', " ;x=1", ";\tk=v"), { maxLength: 6 }),
  trailers: fc.array(fc.tuple(tokenArb, valueArb), { maxLength: 2 }).map((hs) => hs.filter(([n]) => !reserved.has(n.toLowerCase()))),
});

/** The bytes of a request, keep-alive so pipelined ones all get answered. */
export function serialize(r: ValidRequest): Buffer {
  const chunked = r.chunked && r.version === "HTTP/1.1";
  let head = `${r.method} ${r.path} ${r.version}\r\nHost: example.com\r\n`;
  if (r.version === "HTTP/1.0") head += "Connection: keep-alive\r\n";
  for (const [n, v] of r.headers) head += `${n}: ${v}\r\n`;
  if (!chunked) {
    if (r.body.length > 0 || r.method === "POST") head += `Content-Length: ${r.body.length}\r\n`;
    return Buffer.concat([Buffer.from(head + "\r\n", "latin1"), r.body.length > 0 || r.method === "POST" ? r.body : Buffer.alloc(0)]);
  }
  head += "Transfer-Encoding: chunked\r\n\r\n";
  const parts: Buffer[] = [Buffer.from(head, "latin1")];
  const cuts = [...new Set(r.chunkCuts.map((c) => (r.body.length ? c % r.body.length : 0)))].filter((c) => c > 0).sort((a, b) => a - b);
  let start = 0;
  let e = 0;
  for (const end of [...cuts, r.body.length]) {
    if (end === start) continue;
    const ext = r.extensions[e++ % Math.max(1, r.extensions.length)] ?? "";
    parts.push(Buffer.from(`${(end - start).toString(16)}${ext}\r\n`, "latin1"), r.body.subarray(start, end), Buffer.from("\r\n"));
    start = end;
  }
  let trailer = "0\r\n";
  for (const [n, v] of r.trailers) trailer += `${n}: ${v}\r\n`;
  parts.push(Buffer.from(trailer + "\r\n", "latin1"));
  return Buffer.concat(parts);
}

/** The body the application should see for a request as serialize() writes it. */
export function expectedBody(r: ValidRequest): string {
  const sent = r.chunked && r.version === "HTTP/1.1" ? true : r.body.length > 0 || r.method === "POST";
  return sent ? r.body.toString("latin1") : "";
}
