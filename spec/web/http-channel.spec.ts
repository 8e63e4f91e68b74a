import { expect } from "chai";
import { ConnectionDone, ConnectionLost } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import type { IPullProducer } from "../../lib/internet/interfaces.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport, StringTransportWithDisconnection } from "../../lib/internet/testing.js";
import type { HTTPFactoryOptions } from "../../lib/web/http-factory.js";
import type { HTTPChannel } from "../../lib/web/http-channel.js";
import { Request } from "../../lib/web/http-request.js";
import {
  DelayedHTTPHandler,
  DummyHTTPHandler,
  SilentRequest,
  assertResponseEquals,
  bytes,
  factoryChannel,
  feedBytewise,
  makeChannel,
  type ChannelFixture,
} from "./http-test-helpers.js";
import { HTTPFactory } from "../../lib/web/http-factory.js";
import { Resource } from "../../lib/web/resource.js";
import { Site } from "../../lib/web/server.js";
import type { IRequest } from "../../lib/web/iweb.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { loopback, type Loopback } from "../support/loopback.js";
import { DummyProducer } from "../support/producers.js";
import { later, until, within } from "../support/wait.js";

const http10Requests = "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nAccept: text/html\r\n\r\n";
const http10Expected = [["HTTP/1.0 200 OK", "Request: /", "Command: GET", "Version: HTTP/1.0", "Content-Length: 13", "'''\nNone\n'''\n"]];

const http11Requests =
  "GET / HTTP/1.1\r\nAccept: text/html\r\n\r\n" +
  "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789" +
  "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789" +
  "HEAD / HTTP/1.1\r\n\r\n";
const http11Expected = [
  ["HTTP/1.1 200 OK", "Request: /", "Command: GET", "Version: HTTP/1.1", "Content-Length: 13", "'''\nNone\n'''\n"],
  ["HTTP/1.1 200 OK", "Request: /", "Command: POST", "Version: HTTP/1.1", "Content-Length: 21", "'''\n10\n0123456789'''\n"],
  ["HTTP/1.1 200 OK", "Request: /", "Command: POST", "Version: HTTP/1.1", "Content-Length: 21", "'''\n10\n0123456789'''\n"],
  ["HTTP/1.1 200 OK", "Request: /", "Command: HEAD", "Version: HTTP/1.1", "Content-Length: 13", ""],
];

const http11CloseRequests = "GET / HTTP/1.1\r\nAccept: text/html\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\n\r\n";
const http11CloseExpected = [
  ["HTTP/1.1 200 OK", "Connection: close", "Request: /", "Command: GET", "Version: HTTP/1.1", "Content-Length: 13", "'''\nNone\n'''\n"],
];

/**
 * With DelayedHTTPHandler requests fed to `channel`: nothing is answered yet and one request is
 * in process; answered in turn, never more than one at a time, they give the `expected` responses.
 */
function assertAnsweredOneAtATime(channel: HTTPChannel, transport: StringTransport, expected: string[][]): void {
  expect(transport.value().length).to.equal(0);
  expect(channel.requests.length).to.equal(1);
  while (channel.requests.length) {
    expect(channel.requests.length).to.equal(1);
    (channel.requests[0] as DelayedHTTPHandler).delayedProcess();
  }
  assertResponseEquals(transport.value(), expected);
}

/** The shared cases of HTTP1_0Tests, run for each request set as Twisted's subclasses do. */
function httpVersionSuite(name: string, requests: string, expected: string[][]): void {
  describe(name, () => {
    it("test_buffer: requests fed a byte at a time get the expected responses", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      feedBytewise(channel, requests);
      channel.connectionLost(new Failure(new ConnectionLost("all one")));
      assertResponseEquals(transport.value(), expected);
    });

    it("test_noPipelining: pipelined requests are buffered, not processed in parallel", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler });
      feedBytewise(channel, requests);
      assertAnsweredOneAtATime(channel, transport, expected);
    });

    it("test_requestBodyTimeout: the idle timeout is reset by each piece of a body", () => {
      // bodyTimeout (torsion's, not Twisted's) off: this is the idle timeout alone.
      const { channel, transport, clock } = makeChannel({ timeOut: 100, bodyTimeout: null, requestFactory: SilentRequest });
      channel.dataReceived(bytes("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n"));
      clock.advance(99);
      expect(transport.disconnecting).to.equal(false);
      channel.dataReceived(bytes("x"));
      clock.advance(99);
      expect(transport.disconnecting).to.equal(false);
      channel.dataReceived(bytes("x"));
      expect(channel.requests.length).to.equal(1);
    });
  });
}

describe("twisted.web.http HTTPChannel", () => {
  httpVersionSuite("HTTP1_0Tests", http10Requests, http10Expected);
  httpVersionSuite("HTTP1_1Tests", http11Requests, http11Expected);
  httpVersionSuite("HTTP1_1_close_Tests", http11CloseRequests, http11CloseExpected);

  describe("HTTP0_9Tests", () => {
    it("test_buffer: an HTTP/0.9 request is refused with 400 and the connection closes", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      feedBytewise(channel, "GET /\r\n");
      expect(transport.value().toString("latin1")).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(transport.disconnecting).to.equal(true);
    });
  });

  describe("HTTP1_0Tests (timeouts, with HTTPFactory)", () => {
    const logs = captureLogsOfEachTest();

    /** A factory's channel that has the head of a POST whose body never comes. */
    /** Twisted has no body deadline: bodyTimeout is off here, so the idle timeout alone is shown. */
    function waitingForBody(options: HTTPFactoryOptions = {}): ChannelFixture {
      const fixture = factoryChannel({ bodyTimeout: null, ...options });
      fixture.channel.dataReceived(bytes("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n"));
      return fixture;
    }

    it("test_requestBodyDefaultTimeout: the default idle timeout is 60 seconds", () => {
      const { transport, clock } = waitingForBody();
      clock.advance(59);
      expect(transport.disconnecting).to.equal(false);
      clock.advance(1);
      expect(transport.disconnecting).to.equal(true);
    });

    it("test_transportForciblyClosed: a timed-out transport still open 15 s later is aborted", () => {
      const { transport, clock } = waitingForBody();
      clock.advance(60);
      expect(transport.disconnecting).to.equal(true);
      expect(transport.disconnected).to.equal(false);
      expect(logs.events.map((e) => e.log_format)).to.deep.equal(["Timing out client: {peer}"]);
      clock.advance(14);
      expect(transport.disconnected).to.equal(false);
      clock.advance(1);
      expect(transport.disconnected).to.equal(true);
      expect(logs.events[1].log_format).to.equal("Forcibly timing out client: {peer}");
    });

    it("test_transportNotAbortedAfterConnectionLost: connectionLost cancels the forced abort", () => {
      const { channel, transport, clock } = waitingForBody();
      clock.advance(60);
      clock.advance(14);
      channel.connectionLost(new Failure(new ConnectionDone()));
      clock.advance(1);
      expect(transport.disconnecting).to.equal(true);
      expect(transport.disconnected).to.equal(false);
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });

    it("test_transportNotAbortedWithZeroAbortTimeout: abortTimeout null never aborts", () => {
      const { transport, clock } = waitingForBody({ abortTimeout: null });
      clock.advance(60);
      expect(transport.disconnecting).to.equal(true);
      clock.advance(2 ** 32);
      expect(transport.disconnected).to.equal(false);
    });

    it("test_connectionLostAfterForceClose: connectionLost after the forced abort is harmless", () => {
      const { channel, transport, clock } = waitingForBody();
      clock.advance(60);
      clock.advance(15);
      expect(transport.disconnected).to.equal(true);
      channel.connectionLost(new Failure(new ConnectionDone()));
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });
  });

  describe("PipeliningBodyTests", () => {
    const requests =
      "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789" +
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n";
    const expected = [
      ["HTTP/1.1 200 OK", "Request: /", "Command: POST", "Version: HTTP/1.1", "Content-Length: 21", "'''\n10\n0123456789'''\n"],
      ["HTTP/1.1 200 OK", "Request: /", "Command: POST", "Version: HTTP/1.1", "Content-Length: 23", "'''\nNone\n0123456789'''\n"],
    ];

    it("test_stepwiseTinyTube: a byte at a time, requests are answered one at a time", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler });
      feedBytewise(channel, requests);
      assertAnsweredOneAtATime(channel, transport, expected);
    });

    it("test_stepwiseDumpTruck: all at once, requests are answered one at a time", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler });
      channel.dataReceived(bytes(requests));
      assertAnsweredOneAtATime(channel, transport, expected);
    });

    it("test_immediateTinyTube: never more than one request dispatched at a time", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      const buf = bytes(requests);
      for (let i = 0; i < buf.length; i++) {
        channel.dataReceived(buf.subarray(i, i + 1));
        expect(channel.requests.length).to.be.at.most(1);
      }
      assertResponseEquals(transport.value(), expected);
    });

    it("test_immediateDumpTruck: pipelined requests in one read all get answered in order", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.dataReceived(bytes(requests));
      assertResponseEquals(transport.value(), expected);
    });

    it("test_immediateABiggerTruck: many pipelined requests beyond the eager read size are all answered", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      const count = Math.floor(0x4000 / requests.length) * 10;
      channel.dataReceived(bytes(requests.repeat(count)));
      const all: string[][] = [];
      for (let i = 0; i < count; i++) all.push(...expected);
      assertResponseEquals(transport.value(), all);
      expect(transport.producerState).to.equal("producing");
    });

    it("test_pipeliningReadLimit: reading continues up to the eager read size, then the transport pauses", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler });
      const underLimit = Math.floor(0x4000 / requests.length);
      for (let x = 1; x <= underLimit; x++) {
        channel.dataReceived(bytes(requests));
        expect(transport.producerState, `after ${x} iterations`).to.equal("producing");
      }
      channel.dataReceived(bytes(requests));
      expect(transport.producerState).to.equal("paused");
    });

    it("resumes reading when the queue drains, and answers every buffered request in order", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler });
      const n = Math.floor(0x4000 / requests.length) + 1;
      channel.dataReceived(bytes(requests.repeat(n)));
      expect(transport.producerState).to.equal("paused");
      let answered = 0;
      while (channel.requests.length) {
        (channel.requests[0] as DelayedHTTPHandler).delayedProcess();
        answered++;
      }
      expect(answered).to.equal(2 * n);
      expect(transport.producerState).to.equal("producing");
    });

    it("with eagerReadSize 0 stops reading as soon as a request is being answered", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler, eagerReadSize: 0 });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
      expect(transport.producerState).to.equal("paused");
      (channel.requests[0] as DelayedHTTPHandler).delayedProcess();
      expect(transport.producerState).to.equal("producing");
    });
  });

  describe("ShutdownTests", () => {
    it("test_losingConnection: Request.loseConnection closes the transport without a response", () => {
      class ShutdownHTTPHandler extends Request {
        override process(): void {
          this.loseConnection();
        }
      }
      const { channel, transport } = makeChannel({ requestFactory: ShutdownHTTPHandler });
      channel.dataReceived(bytes("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"));
      expect(transport.disconnecting).to.equal(true);
      expect(transport.value().length).to.equal(0);
    });
  });

  describe("SecurityTests", () => {
    class SecureTransport extends StringTransport {
      isSecure(): boolean {
        return true;
      }
    }

    it("test_isSecure: a request on a secure transport is secure", () => {
      const { channel } = makeChannel({}, new SecureTransport());
      expect(new Request(channel).isSecure()).to.equal(true);
    });

    it("test_notSecure: a request on plain TCP is not secure", () => {
      const { channel } = makeChannel();
      expect(new Request(channel).isSecure()).to.equal(false);
    });

    it("test_notSecureAfterFinish: after finish a request no longer reports secure", () => {
      const { channel } = makeChannel({}, new SecureTransport());
      const req = new Request(channel);
      channel.requests.push(req);
      req.setResponseCode(200);
      req.finish();
      expect(req.isSecure()).to.equal(false);
    });
  });

  describe("PersistenceTests", () => {
    function persistenceAfter(request: string): { persistent: boolean; response: string } {
      const { channel, transport } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes(request));
      const req = channel.requests[0];
      req.setHeader("content-length", "0");
      req.finish();
      return { persistent: !transport.disconnecting, response: transport.value().toString("latin1") };
    }

    it("test_http10: after an HTTP/1.0 request the channel is not persistent", () => {
      const r = persistenceAfter("GET / HTTP/1.0\r\n\r\n");
      expect(r.persistent).to.equal(false);
      expect(r.response).to.not.match(/Connection:/i);
    });

    it("test_http11: after an HTTP/1.1 request the channel is persistent", () => {
      const r = persistenceAfter("GET / HTTP/1.1\r\n\r\n");
      expect(r.persistent).to.equal(true);
      expect(r.response).to.not.match(/Connection:/i);
    });

    it("test_http11Close: Connection: close makes it not persistent and is echoed", () => {
      const r = persistenceAfter("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
      expect(r.persistent).to.equal(false);
      expect(r.response).to.contain("\r\nConnection: close\r\n");
    });

    it("HTTP/1.0 with Connection: keep-alive and a Content-Length stays open and says keep-alive", () => {
      const r = persistenceAfter("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      expect(r.persistent).to.equal(true);
      expect(r.response).to.contain("\r\nConnection: keep-alive\r\n");
    });

    it("HTTP/1.0 keep-alive without a Content-Length is close-delimited", () => {
      const { channel, transport } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      const req = channel.requests[0];
      req.write(bytes("body"));
      req.finish();
      expect(transport.value().toString("latin1")).to.equal("HTTP/1.0 200 OK\r\n\r\nbody");
      expect(transport.disconnecting).to.equal(true);
    });

    it("Connection tokens are comma separated and case-insensitive", () => {
      const r = persistenceAfter("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n");
      expect(r.persistent).to.equal(false);
    });

    it("a response header Connection: close ends an HTTP/1.1 connection", () => {
      const { channel, transport } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\nGET /second HTTP/1.1\r\n\r\n"));
      const req = channel.requests[0];
      req.setHeader("connection", "close");
      req.setHeader("content-length", "0");
      req.finish();
      expect(transport.disconnecting).to.equal(true);
      expect(channel.requests.length).to.equal(0);
    });

    it("data after a non-persistent request is never parsed", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.dataReceived(bytes("GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\n\r\n"));
      const text = transport.value().toString("latin1");
      expect(text.match(/HTTP\/1\.\d 200/g)!.length).to.equal(1);
      expect(text).to.not.contain("/b");
    });
  });

  describe("Expect100ContinueServerTests", () => {
    it("test_HTTP10: HTTP/1.0 requests get no 100 Continue", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.dataReceived(bytes("GET / HTTP/1.0\r\n"));
      channel.dataReceived(bytes("Host: www.example.com\r\n"));
      channel.dataReceived(bytes("Content-Length: 3\r\n"));
      channel.dataReceived(bytes("Expect: 100-continue\r\n"));
      channel.dataReceived(bytes("\r\n"));
      expect(transport.value().length).to.equal(0);
      channel.dataReceived(bytes("abc"));
      assertResponseEquals(transport.value(), [
        ["HTTP/1.0 200 OK", "Command: GET", "Content-Length: 13", "Version: HTTP/1.0", "Request: /", "'''\n3\nabc'''\n"],
      ]);
    });

    it("test_expect100ContinueHeader: 100 Continue is sent after the headers, before the body", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n"));
      channel.dataReceived(bytes("Host: www.example.com\r\n"));
      channel.dataReceived(bytes("Expect: 100-continue\r\n"));
      channel.dataReceived(bytes("Content-Length: 3\r\n"));
      expect(transport.value().length).to.equal(0);
      channel.dataReceived(bytes("\r\n"));
      expect(transport.value().toString("latin1")).to.equal("HTTP/1.1 100 Continue\r\n\r\n");
      channel.dataReceived(bytes("abc"));
      const response = transport.value().toString("latin1");
      expect(response.startsWith("HTTP/1.1 100 Continue\r\n\r\n")).to.equal(true);
      assertResponseEquals(response.slice("HTTP/1.1 100 Continue\r\n\r\n".length), [
        ["HTTP/1.1 200 OK", "Command: GET", "Content-Length: 13", "Version: HTTP/1.1", "Request: /", "'''\n3\nabc'''\n"],
      ]);
    });
  });

  describe("ChannelProductionTests", () => {
    const request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

    it("test_HTTPChannelIsAProducer: the channel registers itself as the transport's push producer", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      expect(transport.producer).to.equal(channel);
      expect(transport.streaming).to.equal(true);
    });

    it("test_HTTPChannelUnregistersSelfWhenCallingLoseConnection: loseConnection unregisters it", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.loseConnection();
      expect(transport.producer).to.equal(null);
      expect(transport.streaming).to.equal(null);
    });

    it("test_HTTPChannelRejectsMultipleProducers: a second producer is an error", () => {
      const { channel } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.registerProducer(new DummyProducer(), true);
      expect(() => channel.registerProducer(new DummyProducer(), true)).to.throw(Error, /never unregistered/);
    });

    it("test_HTTPChannelCanUnregisterWithNoProducer: unregistering with no producer is allowed", () => {
      const { channel } = makeChannel({ requestFactory: DummyHTTPHandler });
      expect(() => channel.unregisterProducer()).to.not.throw();
    });

    it("test_HTTPChannelStopWithNoRequestOutstanding: stopProducing with no producer does nothing", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.stopProducing();
      expect(transport.disconnecting).to.equal(false);
    });

    it("test_HTTPChannelStopRequestProducer: stopProducing stops the request's producer", () => {
      const { channel } = makeChannel({ requestFactory: DelayedHTTPHandler });
      channel.dataReceived(bytes(request));
      const req = channel.requests[0];
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      expect(producer.events).to.deep.equal([]);
      channel.stopProducing();
      expect(producer.events).to.deep.equal(["stop"]);
    });

    it("test_HTTPChannelPropagatesProducingFromTransportToTransport: pause/resume reach the transport when idle", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      expect(transport.producerState).to.equal("producing");
      channel.pauseProducing();
      expect(transport.producerState).to.equal("paused");
      channel.resumeProducing();
      expect(transport.producerState).to.equal("producing");
    });

    it("test_HTTPChannelPropagatesPausedProductionToRequest: pause/resume reach the request's producer", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler, eagerReadSize: 0 });
      channel.dataReceived(bytes(request));
      channel.dataReceived(bytes("123"));
      const req = channel.requests[0] as DelayedHTTPHandler;
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      expect(transport.producerState).to.equal("paused");
      expect(producer.events).to.deep.equal([]);
      channel.pauseProducing();
      expect(transport.producerState).to.equal("paused");
      expect(producer.events).to.deep.equal(["pause"]);
      channel.resumeProducing();
      expect(transport.producerState).to.equal("paused");
      expect(producer.events).to.deep.equal(["pause", "resume"]);
      req.unregisterProducer();
      req.delayedProcess();
      expect(transport.producerState).to.equal("producing");
    });

    it("test_HTTPChannelStaysPausedWhenRequestCompletes: a response done while paused leaves the transport paused", () => {
      const { channel, transport } = makeChannel({ requestFactory: DelayedHTTPHandler, eagerReadSize: 0 });
      channel.dataReceived(bytes(request));
      channel.dataReceived(bytes("extra"));
      const req = channel.requests[0] as DelayedHTTPHandler;
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      expect(transport.producerState).to.equal("paused");
      channel.pauseProducing();
      expect(producer.events).to.deep.equal(["pause"]);
      req.unregisterProducer();
      req.delayedProcess();
      expect(transport.producerState).to.equal("paused");
      channel.resumeProducing();
      expect(transport.producerState).to.equal("producing");
    });

    it("test_HTTPChannelToleratesDataWhenTransportPaused: data while paused is answered without pausing twice", () => {
      class NoDoublePauseTransport extends StringTransport {
        override pauseProducing(): void {
          if (this.producerState === "paused") throw new Error("Transport was paused twice!");
          super.pauseProducing();
        }
      }
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler }, new NoDoublePauseTransport());
      channel.pauseProducing();
      expect(transport.producerState).to.equal("paused");
      channel.dataReceived(bytes(request));
      expect(transport.producerState).to.equal("paused");
      expect(transport.value().toString("latin1").startsWith("HTTP/1.1 200 OK\r\n")).to.equal(true);
      channel.resumeProducing();
      expect(transport.producerState).to.equal("producing");
    });

    it("test_HTTPChannelToleratesPullProducers: a pull producer is driven until it finishes", () => {
      class NonStreamingProducer implements IPullProducer {
        counter = 0;
        stopped = false;
        constructor(private readonly consumer: Request) {}
        resumeProducing(): void {
          if (this.counter < 10) {
            this.consumer.write(bytes(String(this.counter)));
            this.counter++;
            if (this.counter === 10) {
              this.consumer.unregisterProducer();
              this.consumer.finish();
            }
          }
        }
        stopProducing(): void {
          this.stopped = true;
        }
      }
      class DummyPullProducerHandler extends Request {
        override process(): void {
          this.setResponseCode(200);
          this.registerProducer(new NonStreamingProducer(this), false);
        }
      }
      const { channel, transport, clock } = makeChannel({ requestFactory: DummyPullProducerHandler });
      channel.dataReceived(bytes(request));
      for (let i = 0; i < 20; i++) clock.advance(0.01);
      const body = transport.value().toString("latin1").split("\r\n\r\n").slice(1).join("\r\n\r\n");
      let expected = "";
      for (let i = 0; i < 10; i++) expected += `1\r\n${i}\r\n`;
      expect(body).to.equal(expected + "0\r\n\r\n");
      expect(channel.requests.length).to.equal(0);
    });

    it("test_HTTPChannelUnregistersSelfWhenTimingOut: the idle timeout unregisters the channel", () => {
      const logs = captureLogEvents();
      try {
        const { channel, transport, clock } = makeChannel({ timeOut: 100 });
        clock.advance(99);
        expect(transport.producer).to.equal(channel);
        clock.advance(1);
        expect(transport.producer).to.equal(null);
        expect(transport.disconnecting).to.equal(true);
      } finally {
        logs.stop();
      }
    });
  });

  describe("timeouts", () => {
    it("the idle timeout is suspended while a request is being answered", () => {
      const { channel, transport, clock } = makeChannel({ requestFactory: SilentRequest, timeOut: 10 });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
      clock.advance(1000);
      expect(transport.disconnecting).to.equal(false);
      const req = channel.requests[0];
      req.setHeader("content-length", "0");
      req.finish();
      clock.advance(9);
      expect(transport.disconnecting).to.equal(false);
      const logs = captureLogEvents();
      try {
        clock.advance(1);
      } finally {
        logs.stop();
      }
      expect(transport.disconnecting).to.equal(true);
    });

    it("a header block trickling in slower than headersTimeout gets 408 and is closed (slowloris)", () => {
      const logs = captureLogEvents();
      try {
        const { channel, transport, clock } = makeChannel({ timeOut: 60, headersTimeout: 30 });
        channel.dataReceived(bytes("GET / HTTP/1.1\r\n"));
        for (let i = 0; i < 5; i++) {
          clock.advance(5);
          channel.dataReceived(bytes("X-A: b\r\n"));
        }
        expect(transport.disconnecting).to.equal(false);
        clock.advance(5);
        expect(transport.value().toString("latin1")).to.match(/^HTTP\/1\.1 408 Request Time-out\r\n/);
        expect(transport.disconnecting).to.equal(true);
        clock.advance(15);
        expect(transport.disconnected).to.equal(true);
      } finally {
        logs.stop();
      }
    });

    describe("bodyTimeout (a body trickled in)", () => {
      const POST = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n";

      it("a body trickling at a byte a second gets 408 bodyTimeout seconds after its head, and is closed", () => {
        const logs = captureLogEvents();
        try {
          const { channel, transport, clock } = makeChannel({ requestFactory: SilentRequest, bodyTimeout: 30 });
          channel.dataReceived(bytes(POST));
          for (let i = 0; i < 29; i++) {
            clock.advance(1);
            channel.dataReceived(bytes("x"));
          }
          expect(transport.value().length, "nothing answered at 29 s").to.equal(0);
          expect(transport.disconnecting).to.equal(false);
          clock.advance(1);
          expect(transport.value().toString("latin1")).to.match(/^HTTP\/1\.1 408 Request Time-out\r\n/);
          expect(transport.disconnecting).to.equal(true);
          expect(channel.requests.length, "the request was never processed").to.equal(1);
          expect(logs.messages().some((m) => /request body not received in 30 s/.test(m))).to.equal(true);
        } finally {
          logs.stop();
        }
      });

      it("the default is 30 s, chunked bodies too", () => {
        const logs = captureLogEvents();
        try {
          const { channel, transport, clock } = makeChannel({ requestFactory: SilentRequest, timeOut: null });
          channel.dataReceived(bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"));
          clock.advance(29.9);
          expect(transport.disconnecting).to.equal(false);
          clock.advance(0.1);
          expect(transport.value().toString("latin1")).to.match(/^HTTP\/1\.1 408 /);
        } finally {
          logs.stop();
        }
      });

      it("time while reading is paused (back-pressure) does not count; the deadline starts again from then", () => {
        const logs = captureLogEvents();
        try {
          const { channel, transport, clock } = makeChannel({ requestFactory: SilentRequest, bodyTimeout: 30, timeOut: null });
          channel.dataReceived(bytes(POST + "abc"));
          transport.pauseProducing(); // as an application holding the body back would
          clock.advance(100);
          expect(transport.value().length).to.equal(0);
          expect(transport.disconnecting).to.equal(false);
          transport.resumeProducing();
          clock.advance(29);
          expect(transport.disconnecting).to.equal(false);
          clock.advance(1);
          expect(transport.value().toString("latin1")).to.match(/^HTTP\/1\.1 408 /);
        } finally {
          logs.stop();
        }
      });

      it("a body complete in time is answered, and bodyTimeout no longer applies to it", () => {
        const { channel, transport, clock } = makeChannel({ requestFactory: SilentRequest, bodyTimeout: 30, timeOut: null });
        channel.dataReceived(bytes(POST + "x".repeat(50)));
        clock.advance(20);
        channel.dataReceived(bytes("y".repeat(50)));
        expect(channel.requests[0].content!.read().length).to.equal(100);
        clock.advance(1000); // the application takes its time: not the client's fault
        expect(transport.disconnecting).to.equal(false);
      });

      it("bodyTimeout null disables it", () => {
        const { channel, transport, clock } = makeChannel({ requestFactory: SilentRequest, bodyTimeout: null, timeOut: null });
        channel.dataReceived(bytes(POST + "abc"));
        clock.advance(10000);
        expect(transport.disconnecting).to.equal(false);
      });

      it("HTTPFactory passes bodyTimeout to its channels", () => {
        const logs = captureLogEvents();
        try {
          const { channel, transport, clock } = factoryChannel({ requestFactory: SilentRequest, bodyTimeout: 2, timeOut: null });
          expect(channel.bodyTimeout).to.equal(2);
          channel.dataReceived(bytes(POST));
          clock.advance(2);
          expect(transport.value().toString("latin1")).to.match(/^HTTP\/1\.1 408 /);
        } finally {
          logs.stop();
        }
      });
    });

    it("headersTimeout null leaves only the idle timeout", () => {
      const { channel, transport, clock } = makeChannel({ timeOut: 60, headersTimeout: null });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n"));
      for (let i = 0; i < 10; i++) {
        clock.advance(50);
        channel.dataReceived(bytes("X-A: b\r\n"));
      }
      expect(transport.disconnecting).to.equal(false);
    });

    it("connectionLost leaves no timer behind", () => {
      const { channel, clock } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n"));
      expect(clock.getDelayedCalls().length).to.be.greaterThan(0);
      channel.connectionLost(new Failure(new ConnectionDone()));
      expect(clock.getDelayedCalls()).to.deep.equal([]);
    });

    it("setTimeout changes the idle timeout and returns the previous one", () => {
      const logs = captureLogEvents();
      try {
        const { channel, transport, clock } = makeChannel({ timeOut: 60 });
        expect(channel.setTimeout(5)).to.equal(60);
        clock.advance(5);
        expect(transport.disconnecting).to.equal(true);
      } finally {
        logs.stop();
      }
    });
  });

  describe("connectionLost (the disconnect chain)", () => {
    it("calls connectionLost on every request it holds and errbacks notifyFinish with the reason", () => {
      const { channel } = makeChannel({ requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"));
      const first = channel.requests[0];
      const failures: Failure[] = [];
      first.notifyFinish().addErrback((f) => {
        failures.push(f);
      });
      first.setHeader("content-length", "0");
      // Finish the first: the second (body incomplete) becomes the one held.
      const d1 = first.notifyFinish();
      const done: unknown[] = [];
      d1.addCallback((r) => {
        done.push(r);
      });
      first.finish();
      expect(done).to.deep.equal([undefined]);
      const second = channel.requests[0];
      expect(second).to.not.equal(undefined);
      second.notifyFinish().addErrback((f) => {
        failures.push(f);
      });
      const reason = new Failure(new ConnectionLost());
      channel.connectionLost(reason);
      expect(failures.length).to.equal(1);
      expect(failures[0].check(ConnectionLost)).to.equal(ConnectionLost);
      expect(channel.requests).to.deep.equal([]);
    });

    it("stops a producer registered on the request being answered, exactly once", () => {
      const transport = new StringTransportWithDisconnection();
      const { channel } = makeChannel({ requestFactory: SilentRequest }, transport);
      transport.protocol = channel;
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
      const req = channel.requests[0];
      const producer = new DummyProducer();
      req.registerProducer(producer, true);
      const errors: Failure[] = [];
      req.notifyFinish().addErrback((f) => {
        errors.push(f);
      });
      // The transport stops its producer (the channel) first, then calls connectionLost.
      channel.stopProducing();
      transport.loseConnection();
      expect(producer.events).to.deep.equal(["stop"]);
      expect(errors.length).to.equal(1);
      expect(errors[0].check(ConnectionDone)).to.equal(ConnectionDone);
      req.write(bytes("ignored"));
      expect(() => req.finish()).to.throw(Error, /notifyFinish/);
    });

    it("ignores data after connectionLost", () => {
      const { channel, transport } = makeChannel({ requestFactory: DummyHTTPHandler });
      channel.connectionLost(new Failure(new ConnectionDone()));
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
      expect(transport.value().length).to.equal(0);
    });
  });

  describe("errors in process()", () => {
    it("a process() that throws is logged, answered with 500, and the connection closed", () => {
      class Broken extends Request {
        override process(): void {
          throw new Error("boom");
        }
      }
      const logs = captureLogEvents();
      try {
        const { channel, transport } = makeChannel({ requestFactory: Broken });
        channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n"));
        expect(transport.value().toString("latin1")).to.equal(
          "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 26\r\nConnection: close\r\n\r\n500 Internal Server Error\n",
        );
        expect(transport.disconnecting).to.equal(true);
        expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["boom"]);
      } finally {
        logs.stop();
      }
    });

    it("a process() that throws after writing closes the connection without a second response", () => {
      class HalfBroken extends Request {
        override process(): void {
          this.write(bytes("partial"));
          throw new Error("late boom");
        }
      }
      const logs = captureLogEvents();
      try {
        const { channel, transport } = makeChannel({ requestFactory: HalfBroken });
        channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
        const text = transport.value().toString("latin1");
        expect(text).to.equal("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n");
        expect(transport.disconnecting).to.equal(true);
      } finally {
        logs.stop();
      }
    });
  });

  describe("Date and Server headers", () => {
    it("adds Date from the reactor's clock and the Server version unless the response sets them", () => {
      const clock = new Clock();
      clock.advance(784111777);
      const { channel, transport } = makeChannel({ reactor: clock, sendDate: true, serverVersion: "TestServer/1", requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
      const req = channel.requests[0];
      req.setHeader("content-length", "0");
      req.finish();
      const text = transport.value().toString("latin1");
      expect(text).to.contain("\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
      expect(text).to.contain("\r\nServer: TestServer/1\r\n");
    });

    it("does not duplicate headers the response sets itself", () => {
      const { channel, transport } = makeChannel({ sendDate: true, serverVersion: "X", requestFactory: SilentRequest });
      channel.dataReceived(bytes("GET / HTTP/1.1\r\n\r\n"));
      const req = channel.requests[0];
      req.setHeader("date", "yesterday");
      req.setHeader("server", "mine");
      req.setHeader("content-length", "0");
      req.finish();
      const text = transport.value().toString("latin1");
      expect(text.match(/Date:/g)!.length).to.equal(1);
      expect(text.match(/Server:/g)!.length).to.equal(1);
      expect(text).to.contain("Server: mine\r\n");
    });
  });

  describe("Host (RFC 9112 3.2, 3.2.2), on real sockets", () => {
    const lo = loopback(); // first, so that its ports close while the logs are still captured
    captureLogsOfEachTest();

    /** Answers "<getRequestHostname()> <path> <Host header>". */
    class HostEcho extends Request {
      override process(): void {
        const body = Buffer.from(`${this.getRequestHostname()} ${this.path} ${this.getHeader("host")}`, "latin1");
        this.setHeader("content-length", String(body.length));
        this.write(body);
        this.finish();
      }
    }

    async function statusFor(request: string, options: { allowMissingHost?: boolean } = {}): Promise<{ status: string; body: string; closed: boolean }> {
      const port = lo.listenTCP(new HTTPFactory({ reactor: lo.reactor, requestFactory: HostEcho, ...options })).getHost().port;
      return exchange(lo, port, request);
    }

    it("an HTTP/1.1 request without Host is 400 and the connection closes", async () => {
      const r = await statusFor("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
      expect(r.status).to.equal("HTTP/1.1 400 Bad Request");
      expect(r.closed).to.equal(true);
      expect(r.body.match(/HTTP\/1\.1/g)!.length, "nothing after it is answered").to.equal(1);
    });

    it("two Host field lines are 400, whatever the version", async () => {
      expect((await statusFor("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")).status).to.equal("HTTP/1.1 400 Bad Request");
      expect((await statusFor("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n")).status).to.equal("HTTP/1.1 400 Bad Request");
    });

    it("an invalid Host is 400", async () => {
      for (const host of ["a b", "a/b", "user@a", "[::1", "a:b", "a;b=\"c\"", "\"a\""]) {
        const r = await statusFor(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        expect(r.status, host).to.equal("HTTP/1.1 400 Bad Request");
        expect(r.closed, host).to.equal(true);
      }
    });

    it("valid Hosts are answered: names, ports, IPv4, IPv6 literals, an empty value", async () => {
      for (const host of ["example.com", "example.com:8080", "127.0.0.1:80", "[::1]:8080", "[v1.x]", "xn--caf-dma.example", "a%41"]) {
        const r = await statusFor(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        expect(r.status, host).to.equal("HTTP/1.1 200 OK");
      }
      expect((await statusFor("GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n")).status, "empty").to.equal("HTTP/1.1 200 OK");
    });

    it("HTTP/1.0 without Host is answered", async () => {
      expect((await statusFor("GET / HTTP/1.0\r\n\r\n")).status).to.equal("HTTP/1.0 200 OK");
    });

    it("the absolute-form target's authority wins over Host, and its path is the path", async () => {
      const r = await statusFor("GET http://real.example:8080/a/b?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n");
      expect(r.status).to.equal("HTTP/1.1 200 OK");
      expect(r.body.split("\r\n\r\n")[1]).to.equal("real.example /a/b real.example:8080");
      const bare = await statusFor("GET HTTP://bare.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(bare.body.split("\r\n\r\n")[1]).to.equal("bare.example / bare.example");
    });

    it("an absolute-form target with userinfo or no host is 400", async () => {
      for (const target of ["http://user@a/", "http:///x", "http://:80/"]) {
        expect((await statusFor(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`)).status, target).to.equal("HTTP/1.1 400 Bad Request");
      }
    });

    it("Site's allowMissingHost option (off by default) accepts a Host-less HTTP/1.1 request", async () => {
      class Hello extends Resource {
        override isLeaf = true;
        render_GET(_request: IRequest): string {
          return "hello";
        }
      }
      const strict = lo.listenTCP(new Site(new Hello(), { reactor: lo.reactor })).getHost().port;
      expect((await exchange(lo, strict, "GET / HTTP/1.1\r\n\r\n")).status).to.equal("HTTP/1.1 400 Bad Request");
      const lenient = lo.listenTCP(new Site(new Hello(), { reactor: lo.reactor, allowMissingHost: true })).getHost().port;
      const r = await exchange(lo, lenient, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
      expect(r.status).to.equal("HTTP/1.1 200 OK");
      expect((await exchange(lo, lenient, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")).status, "two Hosts still").to.equal(
        "HTTP/1.1 400 Bad Request",
      );
    });
  });

  describe("half-close (IHalfCloseableProtocol), on real sockets with socket.end()", () => {
    const lo = loopback();
    captureLogsOfEachTest();

    const finished: string[] = [];
    const lostReasons: string[] = [];
    /** Answers "<uri> done" 50 ms after it arrives (on the spec's reactor), recording notifyFinish. */
    class LaterRequest extends Request {
      override process(): void {
        const uri = this.uri;
        this.notifyFinish().then(
          () => finished.push(uri),
          (e: Error) => lostReasons.push(`${uri}: ${e.message}`),
        );
        lo.reactor.callLater(0.05, () => {
          if (this.disconnected) return;
          const body = Buffer.from(`${uri} done\n`);
          this.setHeader("content-length", String(body.length));
          this.write(body);
          this.finish();
        });
      }
    }
    /** Streams 200 KiB through a push producer, as a file download would. */
    class StreamingRequest extends Request {
      override process(): void {
        const uri = this.uri;
        this.notifyFinish().then(() => finished.push(uri), (e: Error) => lostReasons.push(`${uri}: ${e.message}`));
        let left = 25;
        let paused = false;
        const produce = (): void => {
          while (!paused && left > 0 && !this.disconnected) {
            left--;
            this.write(Buffer.alloc(8192, 0x61));
          }
          if (left === 0 && !this.disconnected && this.producer !== null) {
            this.unregisterProducer();
            this.finish();
          }
        };
        this.registerProducer(
          {
            pauseProducing: () => void (paused = true),
            resumeProducing: () => {
              paused = false;
              lo.reactor.callLater(0, produce);
            },
            stopProducing: () => void (left = -1),
          },
          true,
        );
        lo.reactor.callLater(0.05, produce); // after the FIN, which comes with the request
      }
    }
    /** Starts its response at once, then says nothing more (a stream waiting for news). */
    class SilentStream extends Request {
      override process(): void {
        const uri = this.uri;
        this.notifyFinish().then(() => finished.push(uri), (e: Error) => lostReasons.push(`${uri}: ${e.message}`));
        this.write(Buffer.from("first line\n"));
      }
    }

    beforeEach(() => {
      finished.length = 0;
      lostReasons.length = 0;
    });

    function serve(requestFactory: typeof Request): number {
      return lo.listenTCP(new HTTPFactory({ reactor: lo.reactor, requestFactory })).getHost().port;
    }

    it("a request followed by the client's FIN is answered, its notifyFinish succeeds, then the server closes", async () => {
      const r = await exchange(lo, serve(LaterRequest), "GET /one HTTP/1.1\r\nHost: a\r\n\r\n", true);
      expect(r.status).to.equal("HTTP/1.1 200 OK");
      expect(r.body).to.match(/\r\n\r\n\/one done\n$/);
      expect(finished).to.deep.equal(["/one"]);
      expect(lostReasons).to.deep.equal([]);
    });

    it("pipelined requests before the FIN are all answered, in order", async () => {
      const r = await exchange(
        lo,
        serve(LaterRequest),
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
        true,
      );
      expect([...r.body.matchAll(/(\/\d) done/g)].map((m) => m[1])).to.deep.equal(["/1", "/2", "/3"]);
      expect(finished).to.deep.equal(["/1", "/2", "/3"]);
    });

    it("a response made by a producer is sent whole after the FIN", async () => {
      const r = await exchange(lo, serve(StreamingRequest), "GET /big HTTP/1.1\r\nHost: a\r\n\r\n", true);
      expect(r.status).to.equal("HTTP/1.1 200 OK");
      expect(dechunkLength(r.body)).to.equal(25 * 8192);
      expect(finished).to.deep.equal(["/big"]);
    });

    it("a body cut short by the FIN is answered 400", async () => {
      const r = await exchange(lo, serve(LaterRequest), "POST /cut HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", true);
      expect(r.status).to.equal("HTTP/1.1 400 Bad Request");
      const chunked = await exchange(lo, serve(LaterRequest), "POST /cut HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true);
      expect(chunked.status).to.equal("HTTP/1.1 400 Bad Request");
    });

    it("after an answered request, a body cut by the FIN is 400 after the first response", async () => {
      const r = await exchange(lo, serve(LaterRequest), "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nab", true);
      expect(r.body).to.match(/^HTTP\/1\.1 200 OK\r\n[^]*\/1 done\nHTTP\/1\.1 400 Bad Request\r\n/);
    });

    it("a FIN once the response has begun is the client leaving (as nginx closes upstream): notifyFinish errbacks", async () => {
      const port = serve(SilentStream);
      const s = await lo.connect(port, { allowHalfOpen: true });
      const started = new Promise<void>((resolve) => s.once("data", () => resolve()));
      s.write("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
      await within(started, 2, "the response to begin");
      s.end();
      await until(() => lostReasons.length > 0, 2, "notifyFinish to errback");
      expect(lostReasons[0]).to.match(/^\/stream: /);
      expect(finished).to.deep.equal([]);
    });

    it("halfClose: false takes the FIN as the client gone: notifyFinish errbacks at once, nothing is answered", async () => {
      const port = lo.listenTCP(new HTTPFactory({ reactor: lo.reactor, requestFactory: LaterRequest, halfClose: false })).getHost().port;
      const r = await exchange(lo, port, "GET /gone HTTP/1.1\r\nHost: a\r\n\r\n", true);
      expect(r.body).to.equal("");
      await until(() => lostReasons.length > 0, 2, "notifyFinish to errback");
      expect(lostReasons).to.deep.equal(["/gone: Connection was closed cleanly."]);
    });

    it("a head cut short by the FIN, or a FIN on an idle connection, closes without a response", async () => {
      expect((await exchange(lo, serve(LaterRequest), "GET /half HTTP/1.1\r\nHo", true)).body).to.equal("");
      expect((await exchange(lo, serve(LaterRequest), "", true)).body).to.equal("");
      expect(finished).to.deep.equal([]);
    });
  });

  describe("bodyTimeout, on a real socket and the real reactor", () => {
    const lo = loopback();
    captureLogsOfEachTest();

    it("a body trickled a byte every 50 ms gets 408 after bodyTimeout (0.3 s) and the connection closes", async () => {
      const port = lo.listenTCP(new Site(new Resource(), { reactor: lo.reactor, bodyTimeout: 0.3 })).getHost().port;
      const s = await lo.connect(port);
      let text = "";
      s.on("data", (d: Buffer) => (text += d.toString("latin1")));
      const closed = new Promise<void>((resolve) => s.on("close", () => resolve()));
      s.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
      const trickle = setInterval(() => s.writable && s.write("x"), 50);
      try {
        await within(closed, 5, "the server to answer 408 and close");
      } finally {
        clearInterval(trickle);
      }
      expect(text).to.match(/^HTTP\/1\.1 408 Request Time-out\r\n/);
    });
  });

  describe("slow readers, on real sockets: progress is bytes leaving the transport's buffer", () => {
    const lo = loopback();
    captureLogsOfEachTest();
    // Beyond what loopback's kernel buffers hold (4 MiB to send), so most of it waits in the transport.
    const SIZE = 12 * 1024 * 1024;
    const lost: string[] = [];
    beforeEach(() => (lost.length = 0));

    /** Writes SIZE bytes at once and finishes: the transport holds most of it after the request is done. */
    class AllAtOnce extends Request {
      override process(): void {
        this.setHeader("content-length", String(SIZE));
        this.write(Buffer.alloc(SIZE, 0x61));
        this.finish();
      }
    }
    /** Writes SIZE bytes from a push producer, finishing when resumed: the request is answered all along. */
    class ByProducer extends Request {
      override process(): void {
        this.notifyFinish().then(() => {}, (e: Error) => lost.push(e.message));
        this.setHeader("content-length", String(SIZE));
        let written = false;
        this.registerProducer(
          {
            pauseProducing: () => {},
            resumeProducing: () => {
              if (!written || this.disconnected || this.producer === null) return;
              this.unregisterProducer();
              this.finish();
            },
            stopProducing: () => {},
          },
          true,
        );
        written = true;
        this.write(Buffer.alloc(SIZE, 0x62));
      }
    }

    /** Read the response 64 KiB at a time, 10 ms apart (a few MB/s): slow and steady, for a few timeOuts. */
    async function readSlowly(port: number): Promise<{ bytes: number; seconds: number; reset: boolean }> {
      const s = await lo.connect(port);
      let bytes = 0;
      let reset = false;
      const started = Date.now();
      s.on("error", () => (reset = true));
      // A keep-alive connection: after the response, the idle timeout is what could end it.
      const done = later();
      s.on("data", (d: Buffer) => {
        bytes += d.length;
        if (bytes > SIZE) done.resolve();
        s.pause();
        setTimeout(() => s.resume(), 10);
      });
      s.on("close", () => done.resolve());
      s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      await within(done.promise, 30, "the response to be read to its end");
      return { bytes, seconds: (Date.now() - started) / 1000, reset };
    }

    for (const [name, requestFactory] of [["a response written at once", AllAtOnce], ["a response written under a producer", ByProducer]] as const) {
      it(`${name}, read slowly but steadily for longer than timeOut, is sent whole`, async function () {
        this.timeout(40000);
        // timeOut leaves room for the kernel: it reports room to write only once half its
        // 4 MiB buffer is free, so progress shows about every 2 MiB the client reads.
        const factory = new HTTPFactory({ reactor: lo.reactor, requestFactory, timeOut: 1, abortTimeout: 0.5 });
        const port = lo.listenTCP(factory).getHost().port;
        const r = await readSlowly(port);
        expect(r.reset, "the connection was not reset").to.equal(false);
        expect(r.bytes).to.be.greaterThan(SIZE);
        expect(r.seconds, "the read lasted longer than timeOut").to.be.greaterThan(1);
      });
    }

    it("a client that reads nothing is still timed out after timeOut, and aborted after abortTimeout", async () => {
      const factory = new HTTPFactory({ reactor: lo.reactor, requestFactory: ByProducer, timeOut: 0.2, abortTimeout: 0.2 });
      const port = lo.listenTCP(factory).getHost().port;
      const s = await lo.connect(port);
      s.pause(); // never reads
      s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      await until(() => lost.length > 0, 5, "the server to time out the connection and tell the request");
      expect(lost[0]).to.match(/aborted|lost|closed/i);
    });
  });
});

/**
 * Send `request` to 127.0.0.1:`port` (then a FIN if `end`), and collect what comes back until
 * the server closes (bounded: 5 s).
 */
export async function exchange(lo: Loopback, port: number, request: string | Buffer, end = false): Promise<{ status: string; body: string; closed: boolean }> {
  const s = await lo.connect(port, { allowHalfOpen: true });
  let text = "";
  s.on("data", (d: Buffer) => (text += d.toString("latin1")));
  // The server's FIN ('end'; the client is half-open so that it can send its own FIN first).
  const closed = new Promise<void>((resolve) => {
    s.on("end", () => resolve());
    s.on("close", () => resolve());
  });
  s.write(typeof request === "string" ? Buffer.from(request, "latin1") : request);
  if (end) s.end();
  await within(closed, 5, `the server to close after ${JSON.stringify(String(request).slice(0, 40))}`);
  return { status: text.split("\r\n", 1)[0], body: text, closed: true };
}

/** The length of a chunked body (the text after the head). */
function dechunkLength(response: string): number {
  let rest = response.slice(response.indexOf("\r\n\r\n") + 4);
  let n = 0;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return n;
    n += size;
    rest = rest.slice(eol + 2 + size + 2);
  }
}
