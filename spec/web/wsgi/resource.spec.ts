// WSGIResource: ports of twisted/web/test/test_wsgi.py (WSGIResourceTests, EnvironTests,
// InputStream*Tests end to end, StartResponseTests, ApplicationTests), each through a real pool
// worker and a Site's channel on a StringTransport. Real sockets: response.spec.ts; a real
// database in the workers: spec/examples/wsgi-sqlite.spec.ts; InputStream on its own: input.spec.ts.

import { expect } from "chai";
import sinon from "sinon";
import { ipAddress } from "../../../lib/internet/address.js";
import { captureLogEvents, type LogCapture } from "../../../lib/internet/log.js";
import { Clock } from "../../../lib/internet/task.js";
import type { StringTransport } from "../../../lib/internet/testing.js";
import type { ThreadPool } from "../../../lib/internet/threadpool.js";
import { Resource } from "../../../lib/web/resource.js";
import { DummyRequest } from "../../../lib/web/testing.js";
import { WSGIResource, wsgiStatistics } from "../../../lib/web/wsgi/resource.js";
import { WSGIResponse } from "../../../lib/web/wsgi/response.js";
import { stopPools } from "../../fixtures/thread-helpers.js";
import { dechunk, httpBody, httpCode } from "../site-helpers.js";
import { RecordingRequest, Reports, app, dropConnection, lowLevelRender, wsgiPool, type RenderOptions } from "./helpers.js";
import { until } from "../../support/wait.js";

let pool: ThreadPool;
let reports: Reports;
let logs: LogCapture | null = null;

function capture(): LogCapture {
  logs = captureLogEvents();
  return logs;
}

async function environOf(options: RenderOptions = {}): Promise<Record<string, unknown>> {
  const { response } = await lowLevelRender(pool, "environ", options);
  expect(httpCode(response), response).to.equal(200);
  return JSON.parse(bodyOf(response));
}

/** The body, unchunked when it was sent chunked. */
function bodyOf(response: string): string {
  return /\r\nTransfer-Encoding: chunked\r\n/i.test(response.split("\r\n\r\n", 1)[0] + "\r\n") ? dechunk(httpBody(response)) : httpBody(response);
}

async function envKey(key: string, options: RenderOptions = {}): Promise<unknown> {
  return (await environOf(options))[key];
}

function lastRequest(): RecordingRequest {
  return RecordingRequest.made[RecordingRequest.made.length - 1];
}

/** The logged failures' messages. */
function failureMessages(capture: LogCapture): string[] {
  return capture.failures().map((f) => `${f.value.name}: ${f.value.message}`);
}

/** The hooks of this file, registered inside each of its describes (never at the root). */
function fixtures(): void {
  beforeEach(() => {
    pool = wsgiPool();
    reports = new Reports();
  });
  afterEach(async () => {
    logs?.stop();
    logs = null;
    reports.dispose();
    await stopPools();
  });
}

describe("WSGIResourceTests", () => {
  fixtures();

  it("test_interfaces: is a leaf resource with render, getChildWithDefault and putChild", () => {
    const resource = new WSGIResource(new Clock(), pool, app("hello"));
    expect(resource.isLeaf).to.equal(true);
    expect(resource.render).to.be.a("function");
  });

  it("test_unsupported: getChildWithDefault and putChild raise", () => {
    const resource = new WSGIResource(new Clock(), pool, app("hello"));
    expect(() => resource.getChildWithDefault("foo", new DummyRequest([]))).to.throw(Error, "Cannot get IResource children from WSGIResource");
    expect(() => resource.putChild("foo", new Resource())).to.throw(Error, "Cannot put IResource children under WSGIResource");
  });

  it("refuses a plain function as the application, saying how to name it", () => {
    expect(() => new WSGIResource(new Clock(), pool, (() => []) as never)).to.throw(TypeError, "threadable");
  });

  it("refuses an unknown onDisconnect and a bad timeout", () => {
    expect(() => new WSGIResource(new Clock(), pool, app("hello"), { onDisconnect: "later" as never })).to.throw(TypeError, "onDisconnect");
    expect(() => new WSGIResource(new Clock(), pool, app("hello"), { timeout: 0 })).to.throw(RangeError, "timeout");
  });

  it("answers 500 and logs when the application module has no such export", async () => {
    const log = capture();
    const { response, resource } = await lowLevelRender(pool, "noSuchApplication");
    expect(httpCode(response)).to.equal(500);
    expect(failureMessages(log).join("\n")).to.contain('has no export named "noSuchApplication"');
    expect(resource.statistics().errors).to.equal(1);
  });
});

describe("EnvironTests", () => {
  fixtures();

  it("test_environIsDict: the environ is a plain object with string keys", async () => {
    const environ = await environOf();
    expect(Object.keys(environ)).to.include.members(["REQUEST_METHOD", "wsgi.version"]);
  });

  it("test_requestMethod: REQUEST_METHOD is the request's method", async () => {
    expect(await envKey("REQUEST_METHOD")).to.equal("GET");
    expect(await envKey("REQUEST_METHOD", { method: "POST" })).to.equal("POST");
  });

  it("test_scriptName: SCRIPT_NAME is the resource's position, not URL-encoded", async () => {
    expect(await envKey("SCRIPT_NAME", { resourceSegments: [], requestSegments: [""] })).to.equal("");
    expect(await envKey("SCRIPT_NAME", { resourceSegments: [""], requestSegments: [""] })).to.equal("/");
    expect(await envKey("SCRIPT_NAME", { resourceSegments: ["foo"], requestSegments: ["foo"] })).to.equal("/foo");
    expect(await envKey("SCRIPT_NAME", { resourceSegments: ["foo", ""], requestSegments: ["foo", ""] })).to.equal("/foo/");
    expect(await envKey("SCRIPT_NAME", { resourceSegments: ["foo"], requestSegments: ["foo", "bar"] })).to.equal("/foo");
    // "bar\xff" as a segment: Resource keys are UTF-8 text, the environ has the path's own bytes.
    const unencoded = await envKey("SCRIPT_NAME", {
      resourceSegments: ["foo", "/", "bar\ufffd"],
      requestSegments: ["foo", "/", Buffer.from("bar\xff", "latin1")],
    });
    expect(unencoded).to.equal("/foo///bar\xff");
  });

  it("test_pathInfo: PATH_INFO is what is below the resource", async () => {
    expect(await envKey("PATH_INFO", { resourceSegments: [], requestSegments: [""] })).to.equal("/");
    expect(await envKey("PATH_INFO", { resourceSegments: [""], requestSegments: [""] })).to.equal("");
    expect(await envKey("PATH_INFO", { resourceSegments: ["foo"], requestSegments: ["foo"] })).to.equal("");
    expect(await envKey("PATH_INFO", { resourceSegments: ["foo", ""], requestSegments: ["foo", ""] })).to.equal("");
    expect(await envKey("PATH_INFO", { resourceSegments: ["foo"], requestSegments: ["foo", "bar"] })).to.equal("/bar");
    expect(await envKey("PATH_INFO", { resourceSegments: ["foo"], requestSegments: ["foo", ""] })).to.equal("/");
    expect(await envKey("PATH_INFO", { resourceSegments: [], requestSegments: ["foo", "/", Buffer.from("bar\xff", "latin1")] })).to.equal(
      "/foo///bar\xff",
    );
  });

  it("PATH_INFO holds UTF-8 bytes as latin1 characters (PEP 3333 native strings)", async () => {
    const pathInfo = (await envKey("PATH_INFO", { resourceSegments: [], requestSegments: [Buffer.from("café", "utf8")] })) as string;
    expect(Buffer.from(pathInfo, "latin1").toString("utf8")).to.equal("/café");
  });

  it("test_queryString: QUERY_STRING is what follows the first ?", async () => {
    expect(await envKey("QUERY_STRING", { query: null })).to.equal("");
    expect(await envKey("QUERY_STRING", { query: [] })).to.equal("");
    expect(await envKey("QUERY_STRING", { query: [["foo", "bar"]] })).to.equal("foo=bar");
    expect(await envKey("QUERY_STRING", { query: [["/", "/"]] })).to.equal("%2F=%2F");
    expect(await envKey("QUERY_STRING", { query: [["foo", "?bar"]], safe: "?" })).to.equal("foo=?bar");
  });

  it("test_contentType: CONTENT_TYPE is the Content-Type header, or empty", async () => {
    expect(await envKey("CONTENT_TYPE")).to.equal("");
    expect(await envKey("CONTENT_TYPE", { headers: [["content-type", "x-foo/bar"]] })).to.equal("x-foo/bar");
  });

  it("test_contentLength: CONTENT_LENGTH is the Content-Length header, or empty", async () => {
    expect(await envKey("CONTENT_LENGTH")).to.equal("");
    expect(await envKey("CONTENT_LENGTH", { method: "POST", body: "x".repeat(1234) })).to.equal("1234");
  });

  it("test_serverName: SERVER_NAME is the Host header's host, else the local address", async () => {
    expect(await envKey("SERVER_NAME")).to.equal("10.0.0.1");
    expect(await envKey("SERVER_NAME", { headers: [["host", "example.org"]] })).to.equal("example.org");
  });

  it("test_serverPort: SERVER_PORT is the local port, as a string", async () => {
    expect(await envKey("SERVER_PORT", { host: ipAddress("10.0.0.1", 12354) })).to.equal("12354");
    expect(await envKey("SERVER_PORT")).to.equal("80");
  });

  it("test_serverProtocol: SERVER_PROTOCOL is the request's HTTP version", async () => {
    expect(await envKey("SERVER_PROTOCOL", { version: "1.0" })).to.equal("HTTP/1.0");
    expect(await envKey("SERVER_PROTOCOL", { version: "1.1" })).to.equal("HTTP/1.1");
  });

  it("test_remoteAddr: REMOTE_ADDR is the client's address", async () => {
    expect(await envKey("REMOTE_ADDR")).to.equal("192.168.1.1");
  });

  it("test_remoteAddrIPv6: REMOTE_ADDR is the client's IPv6 address", async () => {
    expect(await envKey("REMOTE_ADDR", { peer: ipAddress("::1", 1234) })).to.equal("::1");
  });

  it("test_headers: request headers are HTTP_ keys; repeats joined by commas", async () => {
    const single = await environOf({ headers: [["foo", "bar"], ["baz", "quux"]] });
    expect(single.HTTP_FOO).to.equal("bar");
    expect(single.HTTP_BAZ).to.equal("quux");
    expect(await envKey("HTTP_FOO", { headers: [["foo", "bar"], ["foo", "baz"]] })).to.equal("bar,baz");
    expect(await envKey("HTTP_FOO_BAR", { headers: [["foo-bar", "baz"]] })).to.equal("baz");
  });

  it("test_wsgiVersion: wsgi.version is [1, 0]", async () => {
    expect(await envKey("wsgi.version")).to.deep.equal([1, 0]);
  });

  it("test_wsgiRunOnce: wsgi.run_once is false", async () => {
    expect(await envKey("wsgi.run_once")).to.equal(false);
  });

  it("test_wsgiMultithread: wsgi.multithread is true", async () => {
    expect(await envKey("wsgi.multithread")).to.equal(true);
  });

  it("test_wsgiMultiprocess: wsgi.multiprocess is false", async () => {
    expect(await envKey("wsgi.multiprocess")).to.equal(false);
  });

  it("test_wsgiURLScheme: wsgi.url_scheme is http, or https on a secure transport", async () => {
    expect(await envKey("wsgi.url_scheme")).to.equal("http");
    expect(await envKey("wsgi.url_scheme", { secure: true })).to.equal("https");
  });

  it("test_wsgiErrors: wsgi.errors writes become error events of the wsgi system", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "errors");
    expect(httpCode(response)).to.equal(200);
    const events = log.events.filter((e) => e.system === "wsgi");
    expect(events.map((e) => e.message)).to.deep.equal(["some message\n", "another\nmessage\n"]);
    expect(events.every((e) => e.isError === true && e.log_level >= 3)).to.equal(true);
    expect(events[0].log_namespace).to.equal("torsion.web.wsgi.errors");
  });

  it("test_wsgiErrorsAcceptsOnlyNativeStringsInPython3: wsgi.errors.write(bytes) is a TypeError", async () => {
    capture();
    const { response } = await lowLevelRender(pool, "errors");
    expect(dechunk(httpBody(response))).to.equal("wsgi.errors.write() argument must be a string, not <Buffer of 4 bytes> (Buffer)");
  });

  it("has torsion.disconnected() false while the client is there, and streams for input and errors", async () => {
    const environ = await environOf();
    expect(environ["torsion.disconnected()"]).to.equal(false);
    expect(environ["wsgi.input"]).to.equal("<object>");
    expect(environ["wsgi.errors"]).to.equal("<object>");
    expect(environ["torsion.disconnected"]).to.equal("<function>");
  });
});

describe("InputStreamTests (end to end)", () => {
  fixtures();

  async function readerResult(op: string, body: string, arg?: string): Promise<unknown> {
    const q: [string, string][] = [["op", op]];
    if (arg !== undefined) q.push(["arg", arg]);
    const { response } = await lowLevelRender(pool, "input", { method: "PUT", query: q, body });
    expect(httpCode(response), response).to.equal(200);
    return JSON.parse(dechunk(httpBody(response)));
  }

  it("test_readAll: read() through the worker returns the whole body", async () => {
    expect(await readerResult("read", "some bytes are here")).to.equal("some bytes are here");
  });

  it("test_readSome: read(3) through the worker", async () => {
    expect(await readerResult("read", "hello, world.", "3")).to.equal("hel");
  });

  it("test_readlines: readlines() through the worker", async () => {
    expect(await readerResult("readlines", "alice\nbob\ncarol")).to.deep.equal(["alice\n", "bob\n", "carol"]);
  });

  it("test_iterable: iterating wsgi.input through the worker", async () => {
    expect(await readerResult("iterate", "green eggs\nand ham\n")).to.deep.equal(["green eggs\n", "and ham\n"]);
  });

  it("reads a body larger than the inline limit through the bridge, in order", async () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    let sum = 0;
    for (const byte of body) sum = (sum + byte) % 65521;
    const { response } = await lowLevelRender(pool, "input", { method: "POST", query: [["op", "length"]], body });
    expect(JSON.parse(dechunk(httpBody(response)))).to.deep.equal({ total: 300_000, sum });
  });
});

describe("StartResponseTests", () => {
  fixtures();

  async function startCase(name: string): Promise<string> {
    const { response } = await lowLevelRender(pool, "startResponseCase", { query: [["case", name]] });
    return response;
  }

  async function startCaseError(name: string): Promise<string> {
    const log = capture();
    const response = await startCase(name);
    expect(httpCode(response)).to.equal(500);
    const messages = failureMessages(log);
    expect(messages).to.have.length(1);
    return messages[0];
  }

  function headerLines(response: string): string[] {
    const head = response.split("\r\n\r\n", 1)[0];
    return head
      .split("\r\n")
      .slice(1)
      .map((line) => (line.startsWith("Date: ") ? "Date: <date>" : line))
      .sort();
  }

  it("test_status: the status given is the response's status line", async () => {
    expect(await startCase("status")).to.match(/^HTTP\/1\.1 107 Strange message\r\n/);
  });

  it("test_statusMustBeNativeString: a status that is not a string is a TypeError", async () => {
    expect(await startCaseError("statusBytes")).to.equal('TypeError: status must be a string like "200 OK", not <Buffer of 6 bytes> (Buffer)');
  });

  it("refuses a status without a reason phrase", async () => {
    expect(await startCaseError("statusNoReason")).to.contain('status must be a string like "200 OK"');
  });

  it("test_headers: the headers given are sent, with Date, Server and Transfer-Encoding", async () => {
    expect(headerLines(await startCase("headers"))).to.deep.equal(
      ["Baz: quux", "Date: <date>", "Foo: bar", "Server: TwistedWeb/spec", "Transfer-Encoding: chunked"].sort(),
    );
  });

  it("test_headersMustBeSequence: headers that are not an array are a TypeError", async () => {
    expect(await startCaseError("headersIterator")).to.match(/^TypeError: headers must be an array of \[name, value\] pairs, not <Array Iterator>/);
  });

  it("test_headersMustEachBeSequence: a header that is not an array is a TypeError", async () => {
    expect(await startCaseError("headerIterator")).to.match(/^TypeError: header must be a \[name, value\] pair of strings, not <Array Iterator>/);
  });

  it("test_headersShouldEachHaveKeyAndValue: a header of three items is a TypeError", async () => {
    expect(await startCaseError("tooMany")).to.equal('TypeError: header must be a [name, value] pair of strings, not ["too", "many", "cooks"]');
  });

  it("test_headerKeyMustBeNativeString: a header name that is not a string is a TypeError", async () => {
    expect(await startCaseError("keyBytes")).to.equal('TypeError: header must be a [name, value] pair of strings, not [<Buffer of 3 bytes>, "value"]');
  });

  it("test_headerValueMustBeNativeString: a header value that is not a string is a TypeError", async () => {
    expect(await startCaseError("valueBytes")).to.equal('TypeError: header must be a [name, value] pair of strings, not ["key", <Buffer of 5 bytes>]');
  });

  it("refuses a header value with CR/LF (no header injection)", async () => {
    expect(await startCaseError("valueNewline")).to.contain("holds CR, LF, NUL");
  });

  it("test_applicationProvidedContentType: one Content-Type, the application's", async () => {
    expect(headerLines(await startCase("contentType"))).to.deep.equal(
      ["Content-Type: monkeys are great", "Date: <date>", "Server: TwistedWeb/spec", "Transfer-Encoding: chunked"].sort(),
    );
  });

  it("test_applicationProvidedServerAndDate: the application's Server and Date are disregarded", async () => {
    expect(headerLines(await startCase("serverAndDate"))).to.deep.equal(
      ["Date: <date>", "Server: TwistedWeb/spec", "Transfer-Encoding: chunked"].sort(),
    );
  });

  it("test_delayedUntilReturn: nothing is written while only empty chunks come", async () => {
    const { response } = await lowLevelRender(pool, "delayed", { query: [["case", "untilReturn"]] }, reports);
    expect(reports.recorded).to.deep.equal([""]);
    expect(response).to.match(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("test_delayedUntilContent: the head goes out with the first non-empty chunk", async () => {
    await lowLevelRender(pool, "delayed", { query: [["case", "untilContent"]] }, reports);
    expect(reports.recorded[0]).to.equal("");
    expect(reports.recorded[1]).to.match(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("test_content: each chunk is written as it is produced", async () => {
    await lowLevelRender(pool, "delayed", { query: [["case", "content"]] }, reports);
    expect(httpBody(reports.recorded[0])).to.equal("foo");
    expect(httpBody(reports.recorded[1])).to.equal("foobar");
  });

  it("test_multipleStartResponse: the last start_response before the body wins", async () => {
    expect(await startCase("multiple")).to.match(/^HTTP\/1\.1 200 Bar\r\n/);
  });

  it("test_startResponseWithException: exc_info before the head replaces the status", async () => {
    expect(await startCase("withException")).to.match(/^HTTP\/1\.1 100 Foo\r\n/);
  });

  it("test_startResponseWithExceptionTooLate: exc_info after the head is re-raised", async () => {
    const { response } = await lowLevelRender(pool, "excInfoTooLate", {}, reports);
    expect(response).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    await reports.reportedAtLeast(1);
    expect(reports.reported).to.deep.equal(["same error re-raised"]);
  });

  it("test_write: the write callable writes at once, without buffering", async () => {
    await lowLevelRender(pool, "writeCallable", {}, reports);
    expect(httpBody(reports.recorded[0])).to.equal("foo");
    expect(httpBody(reports.recorded[1])).to.equal("foobar");
  });

  it("test_writeAcceptsOnlyByteStrings: write(string) is a TypeError that says to encode", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "writeString");
    expect(httpCode(response)).to.equal(500);
    expect(failureMessages(log)[0]).to.equal(
      "TypeError: the data given to write() must be bytes (a Uint8Array or Buffer), not a string: encode it, e.g. with new TextEncoder().encode(text) or Buffer.from(text)",
    );
  });
});

describe("ApplicationTests", () => {
  fixtures();

  it("test_close: close() of the iterable is called after the iteration", async () => {
    const { response, resource } = await lowLevelRender(pool, "closeable", {}, reports);
    expect(httpBody(response)).to.equal("012");
    await reports.reportedAtLeast(1);
    expect(reports.reported).to.deep.equal(["closed"]);
    expect(resource.statistics()).to.include({ closeCalls: 1, completed: 1, active: 0 });
  });

  it("test_applicationCalledInThread: the application runs in a worker, not on the reactor's thread", async () => {
    const { response } = await lowLevelRender(pool, "environ");
    // The environ's own streams exist only in the worker: the application saw them there.
    expect(JSON.parse(dechunk(httpBody(response)))["wsgi.input"]).to.equal("<object>");
  });

  it("the response is its request's producer from its start, and a closed connection reaches it once, through the channel", async () => {
    const stops = sinon.spy(WSGIResponse.prototype, "stopProducing");
    try {
      const pending = lowLevelRender(pool, "gateFirst", {}, reports);
      await reports.atGate();
      const request = lastRequest();
      // Before any chunk: the producer route already exists.
      expect(request.producer).to.be.an.instanceOf(WSGIResponse);
      dropConnection(request.channel!);
      reports.open();
      const { resource } = await pending;
      expect(stops.callCount).to.equal(1);
      await reports.reportedAtLeast(1);
      expect(reports.reported).to.deep.equal([{ disconnected: true }]);
      expect(resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1, active: 0 });
    } finally {
      stops.restore();
    }
  });

  it("test_connectionClosedDuringIteration: iteration stops when the connection is lost", async () => {
    const pending = lowLevelRender(pool, "waitForDisconnect", {}, reports);
    await reports.atGate();
    dropConnection(lastRequest().channel!);
    reports.open();
    const { channel, resource } = await pending;
    expect(channel.connected).to.equal(false);
    // torsion.disconnected() was already true when the application looked, and no chunk was
    // asked for after the one in flight ("second" was yielded, nothing after it).
    await reports.reportedAtLeast(2);
    expect(reports.reported).to.deep.equal([{ seen: true }, { yielded: 2 }]);
    expect(resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1, completed: 0 });
    // Counted by the resource that ran it; wsgiStatistics sums the resources it is given.
    expect(wsgiStatistics([resource, resource]).stoppedByDisconnect).to.equal(2);
  });

  it("test_applicationExceptionBeforeStartResponse: 500, and the exception is logged", async () => {
    const log = capture();
    const { response, resource } = await lowLevelRender(pool, "raiseBeforeStart");
    expect(response).to.match(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    expect(failureMessages(log)).to.deep.equal(["RangeError: This application had some error."]);
    expect(log.events.find((e) => e.log_failure)!.log_namespace).to.equal("torsion.web.wsgi.raiseBeforeStart");
    expect(resource.statistics().errors).to.equal(1);
  });

  it("test_applicationExceptionAfterStartResponse: 500 when nothing was written yet", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "raiseAfterStart");
    expect(response).to.match(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    expect(failureMessages(log)).to.deep.equal(["RangeError: This application had some error."]);
  });

  it("test_applicationExceptionAfterWrite: the connection is closed and the exception logged", async () => {
    const log = capture();
    const pending = lowLevelRender(pool, "raiseAfterWrite");
    await until(() => failureMessages(log).length > 0, 10, "the error to be logged");
    const request = lastRequest();
    const transport = request.transport as StringTransport;
    expect(transport.disconnecting).to.equal(true);
    // "Give it a little push to go the rest of the way", as Twisted's test does.
    dropConnection(request.channel!);
    const { response } = await pending;
    expect(response).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).to.contain("Some bytes, triggering the server to start sending the response");
    expect(failureMessages(log)).to.deep.equal(["RangeError: This application had some error."]);
  });

  it("test_applicationCloseException: an error in close() is logged and the connection closed", async () => {
    const log = capture();
    const pending = lowLevelRender(pool, "closeRaises");
    await until(() => failureMessages(log).length > 0, 10, "the error to be logged");
    const request = lastRequest();
    const transport = request.transport as StringTransport;
    expect(transport.disconnecting).to.equal(true);
    dropConnection(request.channel!);
    const { response, resource } = await pending;
    expect(response).to.match(/^HTTP\/1\.1 200 OK\r\n[\s\S]*foo/);
    expect(failureMessages(log)).to.deep.equal(["RangeError: This application had some error."]);
    expect(resource.statistics()).to.include({ errors: 1, closeCalls: 1 });
  });

  it("a string chunk is a TypeError that says to encode it", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "yieldString");
    expect(httpCode(response)).to.equal(500);
    expect(failureMessages(log)[0]).to.contain("must be bytes (a Uint8Array or Buffer), not a string: encode it, e.g. with new TextEncoder().encode(text)");
  });

  it("a string returned instead of an iterable is a TypeError", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "returnString");
    expect(httpCode(response)).to.equal(500);
    expect(failureMessages(log)[0]).to.contain("the application returned a string");
  });

  it("undefined returned is a TypeError (Twisted's no-op application)", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "returnNothing");
    expect(httpCode(response)).to.equal(500);
    expect(failureMessages(log)[0]).to.contain("must return an iterable of byte chunks");
  });

  it("body bytes before start_response are an error (500)", async () => {
    const log = capture();
    const { response } = await lowLevelRender(pool, "noStartResponse");
    expect(httpCode(response)).to.equal(500);
    expect(failureMessages(log)[0]).to.contain("before it called start_response");
  });

  it("an async generator application streams its chunks and is closed", async () => {
    const { response, resource } = await lowLevelRender(pool, "asyncStream", { query: [["chunks", "3"]] }, reports);
    expect(dechunk(httpBody(response))).to.equal("chunk 0\nchunk 1\nchunk 2\n");
    await reports.reportedAtLeast(1);
    expect(reports.reported).to.deep.equal([{ made: 3, disconnected: false }]);
    expect(resource.statistics()).to.include({ closeCalls: 1, completed: 1 });
  });

  it("an async function returning a list is awaited", async () => {
    const { response } = await lowLevelRender(pool, "asyncHello");
    expect(dechunk(httpBody(response))).to.equal("hello from an async function");
  });
});
