import { expect } from "chai";
import { ConnectionDone, ConnectionLost } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport, StringTransportWithDisconnection, ipAddress, unixAddress } from "../../lib/internet/testing.js";
import { HTTPFactory } from "../../lib/web/http-factory.js";
import { CACHED, Request } from "../../lib/web/http-request.js";
import { assertResponseEquals, bytes, factoryChannel, makeChannel, SilentRequest, type ChannelFixture } from "./http-test-helpers.js";
import { DummyProducer, DummyPullProducer } from "../support/producers.js";

/** A Request on a fresh channel, held by it as the request being answered. */
function newRequest(transport?: StringTransport): { req: Request } & ChannelFixture {
  const fixture = makeChannel({ requestFactory: SilentRequest }, transport);
  const req = new Request(fixture.channel);
  fixture.channel.requests.push(req);
  return { req, ...fixture };
}

describe("twisted.web.http Request", () => {
  describe("RequestTests", () => {
    it("test_getHeader: returns the value of a request header", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("test", ["lemur"]);
      expect(req.getHeader("test")).to.equal("lemur");
    });

    it("test_getRequestHostname: the host part of the Host header", () => {
      const { req } = newRequest();
      const check = (header: string, host: string) => {
        req.requestHeaders.setRawHeaders("host", [header]);
        expect(req.getRequestHostname()).to.equal(host);
      };
      check("example.com", "example.com");
      check("example.com:8443", "example.com");
      check("192.168.1.1", "192.168.1.1");
      check("192.168.1.1:19289", "192.168.1.1");
      check("[2607:f0d0:1002:51::4]", "2607:f0d0:1002:51::4");
      check("[::1]", "::1");
      check("[::1]:8080", "::1");
      check("[2607:f0d0:1002:51::4]:9443", "2607:f0d0:1002:51::4");
    });

    it("getRequestHostname falls back to the local address", () => {
      const { req } = newRequest();
      expect(req.getRequestHostname()).to.equal("10.0.0.1");
    });

    it("test_getHeaderReceivedMultiples: the last value of a repeated header", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("test", ["lemur", "panda"]);
      expect(req.getHeader("test")).to.equal("panda");
    });

    it("test_getHeaderNotFound: undefined for an absent header", () => {
      const { req } = newRequest();
      expect(req.getHeader("test")).to.equal(undefined);
    });

    it("test_getAllHeaders: name -> value of every request header", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("test", ["lemur"]);
      expect(req.getAllHeaders()).to.deep.equal({ test: "lemur" });
    });

    it("test_getAllHeadersNoHeaders: empty without headers", () => {
      expect(newRequest().req.getAllHeaders()).to.deep.equal({});
    });

    it("test_getAllHeadersMultipleHeaders: only the last value of each", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("test", ["lemur", "panda"]);
      expect(req.getAllHeaders()).to.deep.equal({ test: "panda" });
    });

    it("test_setResponseCode: the code is used in the status line", () => {
      const { req, transport } = newRequest();
      req.setResponseCode(201);
      req.write(Buffer.alloc(0));
      expect(transport.value().toString("latin1").split("\r\n")[0]).to.equal("(no clientproto yet) 201 Created");
    });

    it("test_setResponseCodeAndMessage: a custom reason phrase is used", () => {
      const { req, transport } = newRequest();
      req.setResponseCode(202, "happily accepted");
      req.write(Buffer.alloc(0));
      expect(transport.value().toString("latin1").split("\r\n")[0]).to.equal("(no clientproto yet) 202 happily accepted");
    });

    it("test_setResponseCodeAndMessageNotBytes: a message that is neither string nor bytes is a TypeError", () => {
      const { req } = newRequest();
      expect(() => req.setResponseCode(202, 12 as unknown as string)).to.throw(TypeError);
    });

    it("test_setResponseCodeAcceptsIntegers: a non-integer code is a TypeError", () => {
      const { req } = newRequest();
      req.setResponseCode(1);
      expect(() => req.setResponseCode("1" as unknown as number)).to.throw(TypeError);
      expect(() => req.setResponseCode(1.5)).to.throw(TypeError);
    });

    it("an unknown code gets the phrase Unknown Status", () => {
      const { req } = newRequest();
      req.setResponseCode(299);
      expect(req.codeMessage).to.equal("Unknown Status");
    });

    it("a reason phrase with CR/LF cannot split the response", () => {
      const { req, transport } = newRequest();
      req.setResponseCode(200, "OK\r\nX-Evil: 1");
      req.write(Buffer.alloc(0));
      expect(transport.value().toString("latin1")).to.not.contain("\r\nX-Evil");
    });

    it("test_setLastModifiedNeverSet: sets lastModified", () => {
      const { req } = newRequest();
      req.setLastModified(42);
      expect(req.lastModified).to.equal(42);
    });

    it("test_setLastModifiedUpdate: a later time replaces it", () => {
      const { req } = newRequest();
      req.setLastModified(0);
      req.setLastModified(1);
      expect(req.lastModified).to.equal(1);
    });

    it("test_setLastModifiedIgnore: an earlier time is ignored", () => {
      const { req } = newRequest();
      req.setLastModified(1);
      req.setLastModified(0);
      expect(req.lastModified).to.equal(1);
    });

    it("test_setLastModifiedCached: If-Modified-Since after it returns CACHED and sets 304", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("if-modified-since", ["02 Jan 1970 00:00:00 GMT"]);
      expect(req.setLastModified(42)).to.equal(CACHED);
      expect(req.code).to.equal(304);
    });

    it("test_setLastModifiedNotCached: If-Modified-Since before it returns null", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("if-modified-since", ["01 Jan 1970 00:00:00 GMT"]);
      expect(req.setLastModified(1000000)).to.equal(null);
    });

    it("test_setLastModifiedTwiceNotCached: the highest time is compared", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("if-modified-since", ["01 Jan 1970 00:00:01 GMT"]);
      req.setLastModified(1000000);
      expect(req.setLastModified(0)).to.equal(null);
    });

    it("test_setLastModifiedTwiceCached: the highest time is compared (cached)", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("if-modified-since", ["01 Jan 1999 00:00:01 GMT"]);
      req.setLastModified(1);
      expect(req.setLastModified(0)).to.equal(CACHED);
    });

    it("setLastModified ignores an unparsable If-Modified-Since", () => {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("if-modified-since", ["yesterday"]);
      expect(req.setLastModified(1)).to.equal(null);
    });

    it("setETag returns CACHED with 304 for a matching GET and 412 for other methods", () => {
      const { req } = newRequest();
      req.method = "GET";
      req.requestHeaders.setRawHeaders("if-none-match", ['"a" "b"']);
      expect(req.setETag('"b"')).to.equal(CACHED);
      expect(req.code).to.equal(304);
      const other = newRequest().req;
      other.method = "PUT";
      other.requestHeaders.setRawHeaders("if-none-match", ["*"]);
      expect(other.setETag('"x"')).to.equal(CACHED);
      expect(other.code).to.equal(412);
      const none = newRequest().req;
      expect(none.setETag('"x"')).to.equal(null);
    });

    it("setETag matches an If-None-Match list separated by commas, comparing weakly (RFC 9110 13.1.2)", () => {
      const { req } = newRequest();
      req.method = "GET";
      req.requestHeaders.setRawHeaders("if-none-match", ['W/"a", "b"']);
      expect(req.setETag('"a"')).to.equal(CACHED);
      expect(req.code).to.equal(304);
      const miss = newRequest().req;
      miss.method = "GET";
      miss.requestHeaders.setRawHeaders("if-none-match", ['"a", "b"']);
      expect(miss.setETag('"c"')).to.equal(null);
    });

    it("a 304 response carries its headers and no body", () => {
      const { req, transport } = newRequest();
      req.clientproto = "HTTP/1.1";
      req.method = "GET";
      req.requestHeaders.setRawHeaders("if-none-match", ['"v1"']);
      expect(req.setETag('"v1"')).to.equal(CACHED);
      req.write(bytes("body"));
      req.finish();
      expect(transport.value().toString("latin1")).to.equal('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n');
    });

    it("test_setHost: the default port is left out of Host", () => {
      const { req } = newRequest();
      req.setHost("example.com", 80);
      expect(req.requestHeaders.getRawHeaders("host")).to.deep.equal(["example.com"]);
      expect(req.getHost()).to.deep.include({ host: "example.com", port: 80 });
    });

    it("test_setHostSSL: 443 is the default port when secure", () => {
      const { req } = newRequest();
      req.setHost("example.com", 443, true);
      expect(req.requestHeaders.getRawHeaders("host")).to.deep.equal(["example.com"]);
      expect(req.isSecure()).to.equal(true);
    });

    it("test_setHostNonDefaultPort: another port is kept", () => {
      const { req } = newRequest();
      req.setHost("example.com", 81);
      expect(req.requestHeaders.getRawHeaders("host")).to.deep.equal(["example.com:81"]);
    });

    it("test_setHostSSLNonDefaultPort: another port is kept when secure", () => {
      const { req } = newRequest();
      req.setHost("example.com", 81, true);
      expect(req.requestHeaders.getRawHeaders("host")).to.deep.equal(["example.com:81"]);
    });

    it("test_setHeader: sets a response header", () => {
      const { req } = newRequest();
      req.setHeader("test", "lemur");
      expect(req.responseHeaders.getRawHeaders("test")).to.deep.equal(["lemur"]);
    });

    function checkCookie(expected: string, name: string | Buffer, value: string | Buffer, options = {}): void {
      const { req, transport } = newRequest();
      req.addCookie(name, value, options);
      expect(req.cookies[0]).to.equal(expected);
      req.write(Buffer.alloc(0));
      const lines = transport.value().toString("latin1").split("\r\n").filter((l) => l.startsWith("Set-Cookie"));
      expect(lines).to.deep.equal(["Set-Cookie: " + expected]);
    }

    it("test_addCookieWithMinimumArgumentsUnicode: name and value", () => {
      checkCookie("foo=bar", "foo", "bar");
    });

    it("test_addCookieWithAllArgumentsUnicode: every RFC 6265 attribute", () => {
      checkCookie(
        "foo=bar; Expires=Fri, 31 Dec 9999 23:59:59 GMT; Domain=.example.com; Path=/; Max-Age=31536000; Comment=test; Secure; HttpOnly",
        "foo",
        "bar",
        { expires: "Fri, 31 Dec 9999 23:59:59 GMT", domain: ".example.com", path: "/", maxAge: "31536000", comment: "test", secure: true, httpOnly: true },
      );
    });

    it("test_addCookieWithMinimumArgumentsBytes: bytes work as well", () => {
      checkCookie("foo=bar", bytes("foo"), bytes("bar"));
    });

    it("test_addCookieWithAllArgumentsBytes: bytes attributes work as well", () => {
      checkCookie("foo=bar; Domain=.example.com; Path=/; Max-Age=10", bytes("foo"), bytes("bar"), {
        domain: bytes(".example.com"),
        path: bytes("/"),
        maxAge: 10,
      });
    });

    it("test_addCookieSanitization: CR, LF and ; become spaces", () => {
      for (const input of ["Foo; bar", bytes("Foo; bar"), "Foo\r\nbar"]) {
        const out = "Foo  bar".replace("  ", typeof input === "string" && input.includes("\r\n") ? " " : "  ");
        checkCookie(`${out}=${out}`, input, input);
        for (const [opt, attr] of [["expires", "Expires"], ["domain", "Domain"], ["path", "Path"], ["maxAge", "Max-Age"], ["comment", "Comment"]]) {
          checkCookie(`${out}=${out}; ${attr}=${out}`, input, input, { [opt]: input });
        }
      }
    });

    it("test_addCookieSameSite: lax, strict (any case) and none; anything else is an error", () => {
      checkCookie("foo=bar; SameSite=lax", "foo", "bar", { sameSite: "lax" });
      checkCookie("foo=bar; SameSite=lax", "foo", "bar", { sameSite: "Lax" });
      checkCookie("foo=bar; SameSite=strict", "foo", "bar", { sameSite: "strict" });
      checkCookie("foo=bar; SameSite=none", "foo", "bar", { sameSite: "None" });
      expect(() => newRequest().req.addCookie("foo", "bar", { sameSite: "anything-else" })).to.throw(RangeError);
    });

    it("test_firstWrite: HTTP/1.0 sends the status line, headers, and the body as is", () => {
      const { req, transport } = newRequest();
      req.setResponseCode(200);
      req.clientproto = "HTTP/1.0";
      req.responseHeaders.setRawHeaders("test", ["lemur"]);
      req.write(bytes("Hello"));
      assertResponseEquals(transport.value(), [["HTTP/1.0 200 OK", "Test: lemur", "Hello"]]);
    });

    it("test_firstWriteHTTP11Chunked: HTTP/1.1 without a length is chunked", () => {
      const { req, transport } = newRequest();
      req.setResponseCode(200);
      req.clientproto = "HTTP/1.1";
      req.responseHeaders.setRawHeaders("test", ["lemur"]);
      req.write(bytes("Hello"));
      req.write(bytes("World!"));
      assertResponseEquals(transport.value(), [["HTTP/1.1 200 OK", "Test: lemur", "Transfer-Encoding: chunked", "5\r\nHello\r\n6\r\nWorld!\r\n"]]);
    });

    it("test_firstWriteLastModified: lastModified becomes a Last-Modified header", () => {
      const { req, transport } = newRequest();
      req.clientproto = "HTTP/1.0";
      req.lastModified = 0;
      req.responseHeaders.setRawHeaders("test", ["lemur"]);
      req.write(bytes("Hello"));
      assertResponseEquals(transport.value(), [["HTTP/1.0 200 OK", "Test: lemur", "Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT", "Hello"]]);
    });

    it("test_lastModifiedAlreadyWritten: a Last-Modified header wins and a warning is logged", () => {
      const logs = captureLogEvents();
      try {
        const { req, transport } = newRequest();
        req.clientproto = "HTTP/1.0";
        req.lastModified = 1000000000;
        req.responseHeaders.setRawHeaders("last-modified", ["Thu, 01 Jan 1970 00:00:00 GMT"]);
        req.write(bytes("Hello"));
        assertResponseEquals(transport.value(), [["HTTP/1.0 200 OK", "Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT", "Hello"]]);
        expect(logs.events.map((e) => e.log_format)).to.deep.equal([
          "Warning: last-modified specified both in header list and lastModified attribute.",
        ]);
      } finally {
        logs.stop();
      }
    });

    it("test_receivedCookiesDefault: no cookies by default", () => {
      expect(newRequest().req.receivedCookies.size).to.equal(0);
    });

    function cookiesOf(headers: string[]): Record<string, string> {
      const { req } = newRequest();
      req.requestHeaders.setRawHeaders("cookie", headers);
      req.parseCookies();
      return Object.fromEntries(req.receivedCookies);
    }

    it("test_parseCookies: cookies from the Cookie header", () => {
      expect(cookiesOf(['test="lemur"; test2="panda"'])).to.deep.equal({ test: '"lemur"', test2: '"panda"' });
    });

    it("test_parseCookiesMultipleHeaders: cookies from several Cookie headers", () => {
      expect(cookiesOf(['test="lemur"', 'test2="panda"'])).to.deep.equal({ test: '"lemur"', test2: '"panda"' });
    });

    it("test_parseCookiesNoCookie: no Cookie header, no cookies", () => {
      const { req } = newRequest();
      req.parseCookies();
      expect(req.receivedCookies.size).to.equal(0);
    });

    it("test_parseCookiesEmptyCookie: an empty Cookie header list gives no cookies", () => {
      expect(cookiesOf([])).to.deep.equal({});
    });

    it("test_parseCookiesIgnoreValueless: cookies without = are ignored", () => {
      expect(cookiesOf(["foo; bar; baz;"])).to.deep.equal({});
    });

    it("test_parseCookiesEmptyValue: an empty value is kept", () => {
      expect(cookiesOf(["foo="])).to.deep.equal({ foo: "" });
    });

    it("test_parseCookiesRetainRightSpace: trailing space in a value is kept", () => {
      expect(cookiesOf(["foo=bar "])).to.deep.equal({ foo: "bar " });
    });

    it("test_parseCookiesStripLeftSpace: leading space of a name is stripped", () => {
      expect(cookiesOf([" foo=bar"])).to.deep.equal({ foo: "bar" });
    });

    it("test_parseCookiesContinueAfterMalformedCookie: malformed cookies are skipped", () => {
      expect(cookiesOf(['12345; test="lemur"; 12345; test2="panda"; 12345'])).to.deep.equal({ test: '"lemur"', test2: '"panda"' });
    });

    it("test_connectionLost: connectionLost closes the body and drops the channel", () => {
      const { req } = newRequest();
      req.gotLength(10);
      const content = req.content!;
      req.connectionLost(new Failure(new ConnectionDone()));
      expect(req.channel).to.equal(null);
      expect(content.closed).to.equal(true);
    });

    it("test_registerProducerTwiceFails: a second producer is an error", () => {
      const { req } = newRequest();
      req.registerProducer(new DummyProducer(), true);
      expect(() => req.registerProducer(new DummyProducer(), true)).to.throw(Error, /before previous one/);
    });

    it("test_registerProducerWhenNotQueuedRegistersPushProducer: a push producer is driven by the channel", () => {
      const { req, channel } = newRequest();
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      channel.pauseProducing();
      channel.resumeProducing();
      expect(producer.events).to.deep.equal(["pause", "resume"]);
    });

    it("test_registerProducerWhenNotQueuedRegistersPullProducer: a pull producer is called each turn", () => {
      const { req, clock } = newRequest();
      const producer = new DummyPullProducer();
      req.registerProducer(producer, false);
      expect(producer.events).to.deep.equal([]);
      clock.advance(0.01);
      const afterOneTurn = producer.events.length;
      expect(afterOneTurn).to.be.greaterThan(0);
      clock.advance(0.01);
      expect(producer.events.length).to.equal(2 * afterOneTurn);
      expect(new Set(producer.events)).to.deep.equal(new Set(["resume"]));
    });

    it("test_connectionLostNotification: notifyFinish errbacks when the connection is lost", () => {
      const { req } = newRequest();
      const d = req.notifyFinish();
      const reasons: Failure[] = [];
      d.addErrback((f) => {
        reasons.push(f);
      });
      const reason = new Failure(new ConnectionLost("connection lost"));
      req.connectionLost(reason);
      expect(reasons).to.deep.equal([reason]);
    });

    it("test_finishNotification: notifyFinish fires with undefined on finish", () => {
      const { req } = newRequest();
      const results: unknown[] = [];
      req.notifyFinish().addCallback((r) => {
        results.push(r);
      });
      req.finish();
      expect(results).to.deep.equal([undefined]);
    });

    it("notifyFinish after finish or after a lost connection is already fired", () => {
      const { req } = newRequest();
      req.finish();
      const results: unknown[] = [];
      req.notifyFinish().addCallback((r) => {
        results.push(r);
      });
      expect(results).to.deep.equal([undefined]);
      const lost = newRequest().req;
      const reason = new Failure(new ConnectionDone());
      lost.connectionLost(reason);
      const failures: Failure[] = [];
      lost.notifyFinish().addErrback((f) => {
        failures.push(f);
      });
      expect(failures).to.deep.equal([reason]);
    });

    it("test_writeAfterFinish: write after finish is an error", () => {
      const { req } = newRequest();
      req.finish();
      expect(() => req.write(bytes("foobar"))).to.throw(Error, /after Request.finish was called/);
    });

    it("test_finishAfterConnectionLost: finish after a lost connection raises and says to use notifyFinish", () => {
      const { req } = newRequest();
      req.connectionLost(new Failure(new ConnectionLost("The end.")));
      expect(() => req.finish()).to.throw(Error, /use Request.notifyFinish/);
    });

    it("test_writeAfterConnectionLost: write after a lost connection is silently ignored", () => {
      const { req, transport } = newRequest();
      req.connectionLost(new Failure(new ConnectionLost("The end.")));
      req.write(bytes("foobar"));
      expect(transport.value().length).to.equal(0);
    });

    it("write rejects a string with a TypeError that says what to write instead", () => {
      const { req } = newRequest();
      expect(() => req.write("text" as unknown as Uint8Array)).to.throw(
        TypeError,
        'Request.write takes bytes (a Uint8Array), not string: write Buffer.from("text") (UTF-8), or return the string from render()',
      );
      expect(() => req.write(42 as unknown as Uint8Array)).to.throw(TypeError, "Request.write takes bytes (a Uint8Array), not number");
    });

    it("test_reprUninitialized / test_reprInitialized: toString names class, method, uri, version", () => {
      const { req } = newRequest();
      expect(String(req)).to.equal("<Request method=(no method yet) uri=(no uri yet) clientproto=(no clientproto yet)>");
      req.method = "GET";
      req.uri = "/foo/bar";
      req.clientproto = "HTTP/1.0";
      expect(String(req)).to.equal("<Request method=GET uri=/foo/bar clientproto=HTTP/1.0>");
    });

    it("test_reprSubclass: toString uses the subclass name", () => {
      class Otherwise extends Request {}
      const { channel } = makeChannel();
      expect(String(new Otherwise(channel))).to.match(/^<Otherwise /);
    });

    it("test_unregisterNonQueuedNonStreamingProducer: a pull producer stops being called when unregistered", () => {
      const { req, clock } = newRequest();
      const producer = new DummyPullProducer();
      req.registerProducer(producer, false);
      req.unregisterProducer();
      clock.advance(1);
      expect(producer.events).to.deep.equal([]);
      expect(req.producer).to.equal(null);
    });

    it("test_unregisterNonQueuedStreamingProducer: a push producer is no longer driven when unregistered", () => {
      const { req, channel } = newRequest();
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      req.unregisterProducer();
      channel.pauseProducing();
      expect(producer.events).to.deep.equal([]);
    });

    it("test_finishProducesLog: finish writes an access log line through the factory", () => {
      const logs = captureLogEvents();
      try {
        const lines: string[] = [];
        const clock = new Clock();
        const factory = new HTTPFactory({ reactor: clock, timeOut: null, requestFactory: SilentRequest, logFile: { write: (l: string) => lines.push(l) } });
        factory.doStart();
        const proto = factory.buildProtocol(null);
        proto.makeConnection(new StringTransport());
        proto.dataReceived(bytes("GET /path HTTP/1.1\r\n"));
        proto.dataReceived(bytes("Host: a\r\n\r\n"));
        proto.requests[0].finish();
        expect(lines.length).to.equal(1);
        expect(lines[0]).to.contain('[01/Jan/1970:00:00:00 +0000] "GET /path HTTP/1.1"');
        factory.doStop();
      } finally {
        logs.stop();
      }
    });

    it("test_requestBodyTimeoutFromFactory: a factory's timeout applies to its channels", () => {
      const logs = captureLogEvents();
      try {
        // bodyTimeout (torsion's, not Twisted's) off: this is the idle timeout alone.
        const { channel: proto, transport, clock } = factoryChannel({ timeout: 100, bodyTimeout: null });
        expect(proto.timeOut).to.equal(100);
        proto.dataReceived(bytes("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n"));
        clock.advance(99);
        expect(transport.disconnecting).to.equal(false);
        clock.advance(2);
        expect(transport.disconnecting).to.equal(true);
      } finally {
        logs.stop();
      }
    });

    it("test_finishCleansConnection: finish resumes a transport paused for pipelining", () => {
      const { channel: proto, transport: trans } = factoryChannel({ timeOut: null, requestFactory: SilentRequest, eagerReadSize: 0 });
      expect(trans.producerState).to.equal("producing");
      proto.dataReceived(bytes("GET /path HTTP/1.1\r\n"));
      proto.dataReceived(bytes("\r\n\r\n"));
      proto.dataReceived(bytes("GET "));
      expect(trans.producerState).to.equal("paused");
      proto.requests[0].finish();
      expect(trans.producerState).to.equal("producing");
    });

    it("test_finishProducerStillRegistered: finishing with a producer registered logs an error and unregisters it", () => {
      const logs = captureLogEvents();
      try {
        const { req } = newRequest();
        req.uri = "/x";
        req.registerProducer(new DummyProducer(), true);
        req.finish();
        expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["Producer was not unregistered for /x"]);
        expect(req.producer).to.equal(null);
      } finally {
        logs.stop();
      }
    });

    it("test_getClientIPWithIPv4: the peer's IPv4 address", () => {
      const { req } = newRequest(new StringTransport({ peerAddress: ipAddress("127.0.0.1", 12344) }));
      expect(req.getClientIP()).to.equal("127.0.0.1");
    });

    it("test_getClientIPWithIPv6: the peer's IPv6 address", () => {
      const peer = { type: "TCP" as const, family: "IPv6" as const, host: "::1", port: 12344 };
      const { req } = newRequest(new StringTransport({ peerAddress: peer }));
      expect(req.getClientIP()).to.equal("::1");
    });

    it("test_getClientIPWithNonTCPPeer: null for a UNIX peer", () => {
      const { req } = newRequest(new StringTransport({ peerAddress: unixAddress("/tmp/sock") }));
      expect(req.getClientIP()).to.equal(null);
    });

    it("test_getClientAddress: the peer address as given by the transport", () => {
      const peer = unixAddress("/tmp/sock");
      const { req } = newRequest(new StringTransport({ peerAddress: peer }));
      expect(req.getClientAddress()).to.deep.equal(peer);
    });
  });

  describe("response bodies", () => {
    it("HEAD answers carry headers and no body", () => {
      const { req, transport } = newRequest();
      req.method = "HEAD";
      req.clientproto = "HTTP/1.1";
      req.setHeader("content-length", "5");
      req.write(bytes("hello"));
      req.finish();
      expect(transport.value().toString("latin1")).to.equal("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    });

    it("204 responses are not chunked and have no body", () => {
      const { req, transport } = newRequest();
      req.clientproto = "HTTP/1.1";
      req.setResponseCode(204);
      req.write(bytes("ignored"));
      req.finish();
      expect(transport.value().toString("latin1")).to.equal("HTTP/1.1 204 No Content\r\n\r\n");
    });

    it("finish without a write on HTTP/1.1 sends an empty chunked body", () => {
      const { req, transport } = newRequest();
      req.clientproto = "HTTP/1.1";
      req.finish();
      expect(transport.value().toString("latin1")).to.equal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    });

    it("with a Content-Length the body is sent as is, and sentLength counts it", () => {
      const { req, transport } = newRequest();
      req.clientproto = "HTTP/1.1";
      req.setHeader("content-length", "11");
      req.write(bytes("hello "));
      req.write(bytes("world"));
      req.finish();
      expect(transport.value().toString("latin1")).to.equal("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
      expect(req.sentLength).to.equal(11);
    });

    it("large chunks are framed correctly", () => {
      const { req, transport } = newRequest();
      req.clientproto = "HTTP/1.1";
      const big = Buffer.alloc(40000, 0x61);
      req.write(big);
      req.write(big);
      req.finish();
      const text = transport.value().toString("latin1");
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      expect(body).to.equal(`9c40\r\n${"a".repeat(40000)}\r\n9c40\r\n${"a".repeat(40000)}\r\n0\r\n\r\n`);
    });

    it("redirect sets 302 and Location", () => {
      const { req } = newRequest();
      req.redirect("http://example.com/");
      expect(req.code).to.equal(302);
      expect(req.responseHeaders.getRawHeaders("location")).to.deep.equal(["http://example.com/"]);
    });

    it("the base Request answers 404", () => {
      const { channel, transport } = makeChannel({ requestFactory: Request });
      channel.dataReceived(bytes("GET /nothing HTTP/1.1\r\n\r\n"));
      expect(transport.value().toString("latin1")).to.equal(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nNot Found\n",
      );
    });

    it("finish twice logs a warning and does nothing more", () => {
      const logs = captureLogEvents();
      try {
        const { req, transport } = newRequest();
        req.finish();
        const before = transport.value().length;
        req.finish();
        expect(transport.value().length).to.equal(before);
        expect(logs.events.map((e) => e.log_format)).to.deep.equal(["Warning! request.finish called twice."]);
      } finally {
        logs.stop();
      }
    });
  });

  describe("disconnect", () => {
    it("stops a producer registered on the request when the connection is lost", () => {
      const transport = new StringTransportWithDisconnection();
      const { req, channel } = newRequest(transport);
      transport.protocol = channel;
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      transport.loseConnection();
      expect(producer.events).to.deep.equal(["stop"]);
    });

    it("stops a pull producer and no longer calls it", () => {
      const { req, clock, channel } = newRequest();
      const producer = new DummyPullProducer();
      req.registerProducer(producer, false);
      channel.connectionLost(new Failure(new ConnectionDone()));
      clock.advance(1);
      expect(producer.events).to.deep.equal(["stop"]);
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });

    it("a producer registered after the connection was lost is stopped at once", () => {
      const { req } = newRequest();
      req.connectionLost(new Failure(new ConnectionDone()));
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      expect(producer.events).to.deep.equal(["stop"]);
    });

    it("every notifyFinish Deferred errbacks with the reason", () => {
      const { req } = newRequest();
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) req.notifyFinish().addErrback((f) => void seen.push(f.getErrorMessage()));
      req.connectionLost(new Failure(new ConnectionLost("gone")));
      expect(seen).to.deep.equal(["gone", "gone", "gone"]);
    });
  });

  describe("args and query strings", () => {
    it("args is empty without a query and is computed on first use", () => {
      const { channel } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET /p HTTP/1.1\r\n\r\n"));
      expect(channel.requests[0].args.size).to.equal(0);
      expect(channel.requests[0].path).to.equal("/p");
    });

    it("a form body is not parsed for other methods or content types", () => {
      const { channel } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes("PUT / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1"));
      expect(channel.requests[0].args.size).to.equal(0);
    });
  });
});
