import { expect } from "chai";
import { CancelledError, ConnectionDone, ConnectionLost } from "../../../lib/internet/error.js";
import { Failure } from "../../../lib/internet/failure.js";
import { Request } from "../../../lib/web/client/client-request.js";
import {
  BadResponseVersion,
  DataLoss,
  ExcessResponseData,
  ParseError,
  PotentialDataLoss,
  RequestGenerationFailed,
  RequestNotSent,
  RequestTransmissionFailed,
  ResponseDone,
  ResponseFailed,
  ResponseNeverReceived,
  WrongBodyLength,
  ExcessWrite,
} from "../../../lib/web/client/errors.js";
import { UNKNOWN_LENGTH } from "../../../lib/web/client/iclient.js";
import type { Response } from "../../../lib/web/client/response.js";
import { assertNoResult, failureResultOf, successResultOf } from "../../support/deferred-helpers.js";
import { AccumulatingProtocol, connectedProtocol, hostHeaders, simpleRequest, StringProducer } from "./helpers.js";

const done = (): Failure => new Failure(new ConnectionDone());
const lost = (): Failure => new Failure(new ConnectionLost());

function respond(head: string): Buffer {
  return Buffer.from(head, "latin1");
}

/** The error a request failed with, its reasons' types checked. */
function reasonsOf(f: Failure, type: abstract new (...a: never[]) => unknown): Failure[] {
  expect(f.value, String(f.value)).to.be.instanceOf(type);
  return (f.value as ResponseFailed).reasons as Failure[];
}

describe("HTTP11ClientProtocol (twisted.web.test.test_newclient)", () => {
  describe("HTTP11ClientProtocolTests", () => {
    it("test_request: the request is written to the transport", () => {
      const { transport, protocol } = connectedProtocol();
      protocol.request(simpleRequest());
      expect(transport.value().toString()).to.equal("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    });

    it("test_secondRequest: a second request while the first is outstanding fails with RequestNotSent", () => {
      const { protocol } = connectedProtocol();
      protocol.request(simpleRequest());
      failureResultOf(protocol.request(simpleRequest()), RequestNotSent);
    });

    it("test_requestAfterConnectionLost: a request after the connection is lost fails with RequestNotSent", () => {
      const { protocol } = connectedProtocol();
      protocol.connectionLost(done());
      failureResultOf(protocol.request(simpleRequest()), RequestNotSent);
    });

    it("test_failedWriteTo: a body producer that fails gives RequestGenerationFailed and closes the connection", () => {
      const { transport, protocol } = connectedProtocol();
      const producer = new StringProducer(3);
      const d = protocol.request(simpleRequest({ body: producer }));
      producer.finished!.errback(new Error("producer broke"));
      const reasons = reasonsOf(failureResultOf(d), RequestGenerationFailed);
      expect(reasons[0].getErrorMessage()).to.equal("producer broke");
      expect(transport.disconnecting).to.equal(true);
    });

    it("test_connectionLostDuringRequestGeneration: losing the connection while sending the body gives RequestTransmissionFailed and stops the producer", () => {
      const { protocol } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const d = protocol.request(simpleRequest({ body: producer }));
      protocol.connectionLost(lost());
      const reasons = reasonsOf(failureResultOf(d), RequestTransmissionFailed);
      expect(reasons[0].check(ConnectionLost)).to.equal(ConnectionLost);
      expect(producer.stopped).to.equal(true);
    });

    it("test_receiveSimplestResponse: a response with no body fires the Deferred with code, phrase and version", () => {
      const { transport, protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
      const response = successResultOf(d);
      expect([response.code, response.phrase, response.version]).to.deep.equal([200, "OK", ["HTTP", 1, 1]]);
      expect(transport.disconnecting).to.equal(true);
    });

    it("test_receiveResponseHeaders: the response's headers are parsed, repeated ones kept in order", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nX-Foo: bar\r\nX-Foo: baz\r\nContent-Length: 0\r\n\r\n"));
      expect(successResultOf(d).headers.getRawHeaders("x-foo")).to.deep.equal(["bar", "baz"]);
    });

    it("test_receiveResponseBeforeRequestGenerationDone: the response fires once the body is sent; the connection then closes", () => {
      const { transport, protocol } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const d = protocol.request(simpleRequest({ body: producer, persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
      expect(successResultOf(d).code).to.equal(200);
      expect(protocol.state).to.equal("TRANSMITTING_AFTER_RECEIVING_RESPONSE");
      producer.finished!.callback(null);
      expect(transport.disconnecting).to.equal(true);
    });

    it("test_receiveResponseHeadersTooLong: a head beyond the limit fails with ResponseFailed(ParseError) and aborts", () => {
      const { transport, protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nX-Foo: " + "x".repeat(70000)));
      const reasons = reasonsOf(failureResultOf(d), ResponseFailed);
      expect(reasons[0].check(ParseError)).to.equal(ParseError);
      expect(transport.disconnected).to.equal(true);
    });

    it("test_receiveResponseBody: the body reaches deliverBody's protocol, then ResponseDone", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfoo"));
      const response = successResultOf(d);
      const body = new AccumulatingProtocol();
      response.deliverBody(body);
      protocol.dataReceived(respond("bar"));
      expect(body.data).to.equal("foobar");
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
    });

    it("test_responseBodyFinishedWhenConnectionLostWhenContentLengthIsUnknown: a close-delimited body ends with PotentialDataLoss", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\n\r\nfoo"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      protocol.dataReceived(respond("bar"));
      protocol.connectionLost(done());
      expect(body.data).to.equal("foobar");
      expect(body.closedReason!.check(PotentialDataLoss)).to.equal(PotentialDataLoss);
    });

    it("test_chunkedResponseBodyUnfinishedWhenConnectionLost: a chunked body cut short ends with ResponseFailed", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      protocol.connectionLost(done());
      expect(body.data).to.equal("foo");
      const reasons = reasonsOf(body.closedReason!, ResponseFailed);
      expect(reasons.map((r) => r.type)).to.deep.equal([ConnectionDone, DataLoss]);
    });

    it("a server closing mid-body of a Content-Length response: ResponseFailed with DataLoss", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      protocol.connectionLost(done());
      expect(reasonsOf(body.closedReason!, ResponseFailed)[1].check(DataLoss)).to.equal(DataLoss);
    });

    it("test_parserDataReceivedException: a malformed status line fails the request with ResponseFailed(ParseError)", () => {
      const { transport, protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("unparseable garbage goes here\r\n\r\n"));
      const reasons = reasonsOf(failureResultOf(d), ResponseFailed);
      expect(reasons[0].value).to.be.instanceOf(ParseError);
      expect(transport.disconnected).to.equal(true);
    });

    it("test_proxyStopped: once the body is done, the body protocol's transport no longer reaches the connection", () => {
      const { transport, protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      protocol.dataReceived(respond("abc"));
      body.transport!.pauseProducing();
      expect(transport.producerState).to.equal("producing");
    });

    it("test_abortClosesConnection / test_abortBeforeResponseBody: abort() aborts; the waiting request fails with ResponseFailed", () => {
      const { transport, protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      const aborted = protocol.abort();
      expect(transport.disconnected).to.equal(true);
      assertNoResult(aborted);
      protocol.connectionLost(lost());
      successResultOf(aborted);
      expect(failureResultOf(d).value).to.be.instanceOf(ResponseFailed);
    });

    it("test_abortAfterConnectionLost: abort() after the connection is lost fires at once", () => {
      const { protocol } = connectedProtocol();
      protocol.connectionLost(done());
      successResultOf(protocol.abort());
    });

    it("test_abortAfterResponseHeaders: abort() while the body arrives ends the body with ResponseFailed", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      protocol.abort();
      expect(body.closedReason!.value).to.be.instanceOf(ResponseFailed);
    });

    it("test_quiescentCallbackCalled: a complete persistent response makes the connection QUIESCENT before the body's ResponseDone", () => {
      const { protocol, quiescent, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest({ persistent: true }));
      const body = new AccumulatingProtocol();
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"));
      let stateAtEnd = "";
      let quiescentAtEnd = -1;
      body.closed.addCallback(() => {
        stateAtEnd = protocol.state;
        quiescentAtEnd = quiescent.length;
      });
      successResultOf(d).deliverBody(body);
      protocol.dataReceived(respond("abc"));
      expect([stateAtEnd, quiescentAtEnd]).to.deep.equal(["QUIESCENT", 1]);
      expect(transport.disconnecting).to.equal(false);
    });

    it("test_transportProducingWhenQuiescentAfterFullBody: the connection is reading again once QUIESCENT", () => {
      const { protocol, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"));
      expect(protocol.state).to.equal("QUIESCENT");
      expect(transport.producerState).to.equal("producing");
      successResultOf(d);
    });

    it("test_quiescentCallbackCalledEmptyResponse: a persistent 204 makes the connection QUIESCENT", () => {
      const { protocol, quiescent } = connectedProtocol();
      protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 204 No Content\r\n\r\n"));
      expect(quiescent).to.deep.equal([protocol]);
    });

    it("test_quiescentCallbackNotCalled: 'Connection: close' from the server closes instead", () => {
      const { protocol, quiescent, transport } = connectedProtocol();
      protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
      expect(quiescent).to.have.length(0);
      expect(transport.disconnecting).to.equal(true);
    });

    it("test_quiescentCallbackNotCalledNonPersistentQuery: a non-persistent request closes after its response", () => {
      const { protocol, quiescent, transport } = connectedProtocol();
      protocol.request(simpleRequest({ persistent: false }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
      expect(quiescent).to.have.length(0);
      expect(transport.disconnecting).to.equal(true);
    });

    it("an HTTP/1.0 response without keep-alive is not persistent", () => {
      const { protocol, quiescent } = connectedProtocol();
      protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
      expect(quiescent).to.have.length(0);
    });

    it("test_cancelBeforeResponse: cancelling while waiting for the head aborts; ResponseNeverReceived(CancelledError)", () => {
      const { protocol, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      d.cancel();
      expect(transport.disconnected).to.equal(true);
      const reasons = reasonsOf(failureResultOf(d), ResponseNeverReceived);
      expect(reasons[0].check(CancelledError)).to.equal(CancelledError);
      protocol.connectionLost(lost());
      expect(protocol.state).to.equal("CONNECTION_LOST");
    });

    it("test_cancelDuringResponse: cancelling mid-head gives ResponseFailed(CancelledError)", () => {
      const { protocol, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\n"));
      d.cancel();
      expect(transport.disconnected).to.equal(true);
      const f = failureResultOf(d);
      expect(f.value).to.be.instanceOf(ResponseFailed).and.not.instanceOf(ResponseNeverReceived);
    });

    it("test_cancelDuringBodyProduction: cancelling while the body is sent gives RequestGenerationFailed(CancelledError) and stops the producer", () => {
      const { protocol, transport } = connectedProtocol();
      const producer = new StringProducer(10);
      const d = protocol.request(simpleRequest({ body: producer }));
      d.cancel();
      expect(transport.disconnected).to.equal(true);
      expect(producer.stopped).to.equal(true);
      const reasons = reasonsOf(failureResultOf(d), RequestGenerationFailed);
      expect(reasons[0].check(CancelledError)).to.equal(CancelledError);
    });

    it("test_cancelDuringChunkedBodyProduction: the same for a chunked body", () => {
      const { protocol, transport } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const d = protocol.request(simpleRequest({ body: producer }));
      d.cancel();
      expect(transport.disconnected).to.equal(true);
      expect(producer.stopped).to.equal(true);
      reasonsOf(failureResultOf(d), RequestGenerationFailed);
    });

    it("a response larger than its Content-Length: ResponseFailed(ExcessResponseData), connection aborted, never QUIESCENT", () => {
      const { protocol, transport, quiescent } = connectedProtocol();
      const d = protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      expect(body.data).to.equal("abc");
      expect(reasonsOf(body.closedReason!, ResponseFailed)[0].check(ExcessResponseData)).to.equal(ExcessResponseData);
      expect(transport.disconnected).to.equal(true);
      expect(quiescent).to.have.length(0);
    });

    it("data from the server while no request is waiting aborts the idle connection", () => {
      const { protocol, transport } = connectedProtocol();
      protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
      expect(protocol.state).to.equal("QUIESCENT");
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\n"));
      expect(transport.disconnected).to.equal(true);
      failureResultOf(protocol.request(simpleRequest()), RequestNotSent);
    });

    it("the transport is paused from the head until deliverBody, then resumed", () => {
      const { protocol, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
      expect(transport.producerState).to.equal("paused");
      successResultOf(d).deliverBody(new AccumulatingProtocol());
      expect(transport.producerState).to.equal("producing");
    });

    it("a body that came whole with the head leaves the socket reading (nothing to hold back)", () => {
      const { protocol, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
      expect(transport.producerState).to.equal("producing");
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      expect(body.data).to.equal("hello");
    });

    it("the body protocol's transport is a push producer over the connection: pausing it pauses the socket", () => {
      const { protocol, transport } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      body.transport!.pauseProducing();
      expect(transport.producerState).to.equal("paused");
      body.transport!.resumeProducing();
      expect(transport.producerState).to.equal("producing");
    });
  });

  describe("HTTPClientParserTests (through the protocol)", () => {
    function responseTo(method: string, wire: string): { response: Response | null; failure: Failure | null; body: AccumulatingProtocol } {
      const { protocol } = connectedProtocol();
      const d = protocol.request(new Request(method, "/", hostHeaders(), null, true));
      protocol.dataReceived(respond(wire));
      const body = new AccumulatingProtocol();
      let response: Response | null = null;
      let failure: Failure | null = null;
      d.addCallbacks(
        (r) => {
          response = r;
          r.deliverBody(body);
          return null;
        },
        (f) => {
          failure = f;
          return null;
        },
      );
      return { response, failure, body };
    }

    it("test_parseVersion / test_responseStatusParsing: version, code and phrase", () => {
      const { response } = responseTo("GET", "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      expect([response!.version, response!.code, response!.phrase]).to.deep.equal([["HTTP", 1, 0], 404, "Not Found"]);
    });

    it("test_responseStatusWithoutPhrase: a status line without a reason phrase is accepted", () => {
      const { response } = responseTo("GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
      expect([response!.code, response!.phrase]).to.deep.equal([200, ""]);
    });

    it("test_parseBadVersion: HTTP/2.0, HTTP/1.2 and garbage versions are BadResponseVersion", () => {
      for (const line of ["HTTP/2.0 200 OK", "HTTP/1.2 200 OK", "HTTP/x.y 200 OK"]) {
        const { failure } = responseTo("GET", `${line}\r\n\r\n`);
        expect(reasonsOf(failure!, ResponseFailed)[0].value, line).to.be.instanceOf(BadResponseVersion);
      }
    });

    it("test_badResponseStatus: a non-numeric or short status code is a ParseError", () => {
      for (const line of ["HTTP/1.1 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1  200 OK"]) {
        const { failure } = responseTo("GET", `${line}\r\n\r\n`);
        expect(reasonsOf(failure!, ResponseFailed)[0].value, line).to.be.instanceOf(ParseError);
      }
    });

    it("test_headResponse / test_headResponseContentLengthEntityHeader: a HEAD response has no body whatever its Content-Length", () => {
      const { response, body } = responseTo("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
      expect(response!.headers.getLast("content-length")).to.equal("10");
      expect(response!.length).to.equal(0);
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
    });

    it("test_noContentResponse / test_notModifiedResponse: 204 and 304 have no body", () => {
      for (const status of ["204 No Content", "304 Not Modified"]) {
        const { body } = responseTo("GET", `HTTP/1.1 ${status}\r\nContent-Length: 10\r\n\r\n`);
        expect(body.closedReason!.check(ResponseDone), status).to.equal(ResponseDone);
      }
    });

    it("test_responseHeadersMultiline: obs-fold is refused (RFC 9112 5.2), not joined", () => {
      const { failure } = responseTo("GET", "HTTP/1.1 200 OK\r\nX-Foo: a\r\n b\r\n\r\n");
      expect(reasonsOf(failure!, ResponseFailed)[0].value).to.be.instanceOf(ParseError);
    });

    it("test_fieldContentWhitespace: leading and trailing whitespace of values is dropped", () => {
      const { response } = responseTo("GET", "HTTP/1.1 200 OK\r\nX-Foo:  \t bar \t \r\nContent-Length: 0\r\n\r\n");
      expect(response!.headers.getLast("x-foo")).to.equal("bar");
    });

    it("test_contentLength / test_extraBytesPassedBack: the body is exactly Content-Length bytes", () => {
      const { body, response } = responseTo("GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
      expect(response!.length).to.equal(10);
      expect(body.data).to.equal("0123456789");
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
    });

    it("test_zeroContentLength: Content-Length: 0 finishes at once", () => {
      const { body } = responseTo("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
    });

    it("test_multipleContentLengthHeaders: two Content-Length headers (or a list) are refused", () => {
      for (const h of ["Content-Length: 1\r\nContent-Length: 2", "Content-Length: 1\r\nContent-Length: 1", "Content-Length: 1, 1", "Content-Length: +1", "Content-Length: 0x1"]) {
        const { failure } = responseTo("GET", `HTTP/1.1 200 OK\r\n${h}\r\n\r\nx`);
        expect(reasonsOf(failure!, ResponseFailed)[0].value, h).to.be.instanceOf(ParseError);
      }
    });

    it("test_contentLengthAndTransferEncoding: both together are refused (smuggling-safe)", () => {
      const { failure } = responseTo("GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
      expect(reasonsOf(failure!, ResponseFailed)[0].getErrorMessage()).to.contain("both Transfer-Encoding and Content-Length");
    });

    it("a Transfer-Encoding other than chunked (gzip, chunked twice, identity) is refused", () => {
      for (const te of ["gzip", "chunked, chunked", "gzip, chunked", "identity"]) {
        const { failure } = responseTo("GET", `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n`);
        expect(reasonsOf(failure!, ResponseFailed)[0].value, te).to.be.instanceOf(ParseError);
      }
    });

    it("test_chunkedResponseBody: chunks (with extensions and trailers) are decoded", () => {
      const { body, response } = responseTo(
        "GET",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
      );
      expect(response!.length).to.equal(UNKNOWN_LENGTH);
      expect(body.data).to.equal("abc0123456789");
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
    });

    it("a chunked body split byte by byte decodes the same", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest({ persistent: true }));
      const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
      const body = new AccumulatingProtocol();
      for (const c of wire) {
        protocol.dataReceived(respond(c));
        if (d.called && body.transport === null) successResultOf(d).deliverBody(body);
      }
      expect(body.data).to.equal("abc0123456789");
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
      expect(protocol.state).to.equal("QUIESCENT");
    });

    it("malformed chunks (bad size, missing CRLF after the data, bare LF) fail the body with ResponseFailed(ParseError)", () => {
      for (const chunks of ["zz\r\nabc\r\n", "3\r\nabcX\r\n", "3\nabc\r\n", "-3\r\nabc\r\n", "0x3\r\nabc\r\n"]) {
        const { body } = responseTo("GET", `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
        expect(reasonsOf(body.closedReason!, ResponseFailed)[0].value, JSON.stringify(chunks)).to.be.instanceOf(ParseError);
      }
    });

    it("bare LF, bare CR, control characters and bad header names in the head are refused", () => {
      for (const head of [
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: b\x00c\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX A: b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
      ]) {
        const { failure } = responseTo("GET", head);
        expect(reasonsOf(failure!, ResponseFailed)[0].value, JSON.stringify(head)).to.be.instanceOf(ParseError);
      }
    });

    it("test_unknownContentLength: with no length the body runs to the end of the connection", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest({ persistent: true }));
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\n\r\nabc"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      expect(body.closedReason).to.equal(null);
      protocol.connectionLost(done());
      expect(body.data).to.equal("abc");
      expect(body.closedReason!.check(PotentialDataLoss)).to.equal(PotentialDataLoss);
    });

    it("test_noResponseAtAll / test_someResponseButNotAll: ResponseNeverReceived, or ResponseFailed once bytes arrived", () => {
      const a = connectedProtocol();
      const d1 = a.protocol.request(simpleRequest());
      a.protocol.connectionLost(done());
      expect(failureResultOf(d1).value).to.be.instanceOf(ResponseNeverReceived);
      const b = connectedProtocol();
      const d2 = b.protocol.request(simpleRequest());
      b.protocol.dataReceived(respond("HTTP/1.1 2"));
      b.protocol.connectionLost(done());
      expect(failureResultOf(d2).value).to.be.instanceOf(ResponseFailed).and.not.instanceOf(ResponseNeverReceived);
    });

    it("test_1XXResponseIsSwallowed / test_multiple1XXResponsesAreIgnored: 100 and 103 are skipped; the final response is the one fired", () => {
      const { response, body } = responseTo(
        "GET",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      );
      expect(response!.code).to.equal(200);
      expect(response!.headers.hasHeader("link")).to.equal(false);
      expect(body.data).to.equal("ok");
    });
  });

  describe("RequestTests", () => {
    it("test_sendSimplestRequest / test_sendSimplestPersistentRequest: Connection: close only when not persistent", () => {
      const a = connectedProtocol();
      new Request("GET", "/", hostHeaders(), null, false).writeTo(a.transport);
      expect(a.transport.value().toString()).to.equal("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
      const b = connectedProtocol();
      new Request("GET", "/", hostHeaders(), null, true).writeTo(b.transport);
      expect(b.transport.value().toString()).to.equal("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    });

    it("test_sanitizeLinearWhitespaceInRequestHeaders: CR/LF in a header value cannot split the request", () => {
      const { transport } = connectedProtocol();
      const headers = hostHeaders();
      headers.addRawHeader("X-Evil", "a\r\nInjected: yes");
      new Request("GET", "/", headers, null, true).writeTo(transport);
      expect(transport.value().toString()).to.not.contain("\r\nInjected");
    });

    it("a method or request-target that could split the request line throws TypeError at once", () => {
      expect(() => new Request("GET /x", "/", hostHeaders())).to.throw(TypeError, /method/);
      expect(() => new Request("GET", "/a b", hostHeaders())).to.throw(TypeError, /target/);
      expect(() => new Request("GET", "/a\r\nHost: x", hostHeaders())).to.throw(TypeError);
    });

    it("test_sendChunkedRequestBody: a body of unknown length is sent chunked, ending with the last chunk", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const d = new Request("POST", "/bar", hostHeaders(), producer, true).writeTo(transport);
      expect(transport.producer).to.equal(producer);
      transport.clear();
      producer.consumer!.write(Buffer.from("x"));
      producer.consumer!.write(Buffer.from("y".repeat(16)));
      producer.finished!.callback(null);
      expect(transport.value().toString()).to.equal("1\r\nx\r\n10\r\n" + "y".repeat(16) + "\r\n0\r\n\r\n");
      expect(transport.producer).to.equal(null);
      successResultOf(d);
    });

    it("test_sendRequestBodyWithLength: a body of known length goes with Content-Length, unframed", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(3);
      const d = new Request("POST", "/bar", hostHeaders(), producer, true).writeTo(transport);
      expect(transport.value().toString()).to.equal("POST /bar HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\n");
      transport.clear();
      producer.consumer!.write(Buffer.from("abc"));
      producer.finished!.callback(null);
      expect(transport.value().toString()).to.equal("abc");
      successResultOf(d);
    });

    it("test_sendPUTRequestEmptyBody / test_sendPOSTRequestEmptyBody: Content-Length: 0", () => {
      for (const method of ["PUT", "POST"]) {
        const { transport } = connectedProtocol();
        new Request(method, "/", hostHeaders(), null, true).writeTo(transport);
        expect(transport.value().toString()).to.contain("\r\nContent-Length: 0\r\n");
      }
    });

    it("test_sendRequestBodyWithTooFewBytes: finishing short of the length fails with WrongBodyLength", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(3);
      const d = new Request("POST", "/", hostHeaders(), producer).writeTo(transport);
      producer.consumer!.write(Buffer.from("ab"));
      producer.finished!.callback(null);
      failureResultOf(d, WrongBodyLength);
    });

    it("test_sendRequestBodyWithTooManyBytes: writing beyond the length stops the producer and fails with WrongBodyLength", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(3);
      const d = new Request("POST", "/", hostHeaders(), producer).writeTo(transport);
      producer.consumer!.write(Buffer.from("abcd"));
      expect(producer.stopped).to.equal(true);
      failureResultOf(d, WrongBodyLength);
    });

    it("test_sendChunkedRequestBodyFinishedThenWriteMore: a write after finishing is ExcessWrite, not sent", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const d = new Request("POST", "/", hostHeaders(), producer).writeTo(transport);
      producer.finished!.callback(null);
      successResultOf(d);
      transport.clear();
      producer.consumer!.write(Buffer.from("late"));
      expect(transport.value().length).to.equal(0);
      void ExcessWrite;
    });

    it("test_sendRequestBodyWithError: the producer's failure fails writeTo and unregisters it", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const d = new Request("POST", "/", hostHeaders(), producer).writeTo(transport);
      producer.finished!.errback(new Error("boom"));
      expect(failureResultOf(d).getErrorMessage()).to.equal("boom");
      expect(transport.producer).to.equal(null);
    });

    it("test_stopWriting: stopWriting stops the body producer", () => {
      const { transport } = connectedProtocol();
      const producer = new StringProducer(UNKNOWN_LENGTH);
      const request = new Request("POST", "/", hostHeaders(), producer);
      const d = request.writeTo(transport);
      request.stopWriting();
      expect(producer.stopped).to.equal(true);
      failureResultOf(d, CancelledError);
    });
  });

  describe("ResponseTests", () => {
    it("test_bufferEarlyData / test_bodyDataFinishedBeforeStartProducing: data and the end before deliverBody are delivered to it", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"));
      const body = new AccumulatingProtocol();
      successResultOf(d).deliverBody(body);
      expect(body.data).to.equal("abc");
      expect(body.closedReason!.check(ResponseDone)).to.equal(ResponseDone);
    });

    it("test_multipleStartProducingFails / test_startProducingAfterFinishedFails: deliverBody twice raises", () => {
      const { protocol } = connectedProtocol();
      const d = protocol.request(simpleRequest());
      protocol.dataReceived(respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"));
      const response = successResultOf(d);
      response.deliverBody(new AccumulatingProtocol());
      expect(() => response.deliverBody(new AccumulatingProtocol())).to.throw(/already has protocol/);
      protocol.dataReceived(respond("abc"));
      expect(() => response.deliverBody(new AccumulatingProtocol())).to.throw(/already finished/);
    });
  });
});
