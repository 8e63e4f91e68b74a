import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectionDone, ConnectionLost } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { IPushProducer } from "../../lib/internet/interfaces.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport, ipAddress, unixAddress } from "../../lib/internet/testing.js";
import { HTTPChannel } from "../../lib/web/http-channel.js";
import { HTTPFactory, combinedLogFormatter, escapeForLog } from "../../lib/web/http-factory.js";
import { Request } from "../../lib/web/http-request.js";
import { bytes, DummyHTTPHandler } from "./http-test-helpers.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { loopback } from "../support/loopback.js";
import { later, until, within } from "../support/wait.js";

function requestFor(transport: StringTransport, setup: (r: Request) => void): Request {
  const channel = new HTTPChannel({ reactor: new Clock() });
  channel.makeConnection(transport);
  const r = new Request(channel);
  setup(r);
  return r;
}

describe("twisted.web.http HTTPFactory", () => {
  // Factories log "Starting factory"/"Stopping factory": keep that out of the test output.
  captureLogsOfEachTest();

  describe("combinedLogFormatter", () => {
    it("formats a request in the combined log format", () => {
      const r = requestFor(new StringTransport({ peerAddress: ipAddress("1.2.3.4", 5) }), (req) => {
        req.method = "GET";
        req.uri = "/dummy";
        req.clientproto = "HTTP/1.0";
        req.code = 123;
        req.sentLength = 1234;
        req.requestHeaders.setRawHeaders("referer", ["http://malicious/"]);
        req.requestHeaders.setRawHeaders("user-agent", ['Malicious "Web" Evil']);
      });
      expect(combinedLogFormatter("[13/Feb/2009:23:31:30 +0000]", r)).to.equal(
        '"1.2.3.4" - - [13/Feb/2009:23:31:30 +0000] "GET /dummy HTTP/1.0" 123 1234 "http://malicious/" "Malicious \\"Web\\" Evil"',
      );
    });

    it("uses - for a non-TCP client, a missing length, referer and agent", () => {
      const r = requestFor(new StringTransport({ peerAddress: unixAddress("/sock") }), (req) => {
        req.method = "GET";
        req.uri = "/";
        req.clientproto = "HTTP/1.1";
      });
      expect(combinedLogFormatter("[t]", r)).to.equal('"-" - - [t] "GET / HTTP/1.1" 200 - "-" "-"');
    });

    it("escapeForLog escapes quotes, backslashes and non-printable bytes", () => {
      expect(escapeForLog('a"b\\c\n\x00\xe9')).to.equal('a\\"b\\\\c\\n\\x00\\xe9');
    });
  });

  describe("options", () => {
    it("passes its timeOut, limits and requestFactory to the channels it builds", () => {
      const factory = new HTTPFactory({ reactor: new Clock(), timeout: 5, maxHeaders: 3, requestFactory: DummyHTTPHandler });
      const channel = factory.buildProtocol(null);
      expect(channel.timeOut).to.equal(5);
      expect(channel.parser.limits.maxHeaders).to.equal(3);
      expect(channel.requestFactory).to.equal(DummyHTTPHandler);
      expect(channel.factory).to.equal(factory);
    });

    it("writes the access log to logPath, and closes it on stopFactory", async () => {
      const dir = mkdtempSync(join(tmpdir(), "torsion-http-"));
      try {
        const path = join(dir, "access.log");
        const factory = new HTTPFactory({ reactor: new Clock(), logPath: path, requestFactory: DummyHTTPHandler });
        factory.doStart();
        const channel = factory.buildProtocol(null);
        channel.makeConnection(new StringTransport());
        channel.dataReceived(bytes("GET /logged HTTP/1.1\r\nHost: a\r\nUser-Agent: spec\r\n\r\n"));
        const stream = factory.logFile as NodeJS.WritableStream;
        factory.doStop();
        await within(new Promise((resolve) => stream.on("finish", resolve)), 2, "the log to close");
        expect(readFileSync(path, "utf8")).to.equal(
          '"192.168.1.1" - - [01/Jan/1970:00:00:00 +0000] "GET /logged HTTP/1.1" 200 13 "-" "spec"\n',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("on real sockets", () => {
    const lo = loopback();

    function listen(factory: HTTPFactory): number {
      return lo.listenTCP(factory).getHost().port;
    }

    it("answers node:http's client, with keep-alive", async () => {
      const port = listen(new HTTPFactory({ reactor: lo.reactor, requestFactory: DummyHTTPHandler }));
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const get = (path: string) =>
          within(
            new Promise<{ body: string; socket: unknown }>((resolve, reject) => {
              http
                .get({ host: "127.0.0.1", port, path, agent }, (res) => {
                  let body = "";
                  res.setEncoding("latin1");
                  res.on("data", (c) => (body += c));
                  res.on("end", () => resolve({ body, socket: res.socket }));
                })
                .on("error", reject);
            }),
            2,
            `GET ${path}`,
          );
        const a = await get("/a");
        const b = await get("/b");
        expect(a.body).to.equal("'''\nNone\n'''\n");
        expect(b.body).to.equal("'''\nNone\n'''\n");
        expect(a.socket).to.equal(b.socket);
      } finally {
        agent.destroy();
      }
    });

    it("answers pipelined requests in order", async () => {
      const port = listen(new HTTPFactory({ reactor: lo.reactor, requestFactory: DummyHTTPHandler }));
      const s = await lo.connect(port);
      let got = "";
      const done = new Promise<void>((resolve) => {
        s.on("data", (d) => {
          got += d.toString("latin1");
          if ((got.match(/'''\n/g) ?? []).length === 6) resolve();
        });
      });
      s.write("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
      await within(done, 2, "three responses");
      const uris = [...got.matchAll(/Request: (\S+)/g)].map((m) => m[1]);
      expect(uris).to.deep.equal(["/1", "/2", "/3"]);
    });

    it("a client that closes mid-response stops the producer, errbacks notifyFinish, and leaves no timer", async () => {
      let request: Request | null = null;
      const reasons: Failure[] = [];
      let stops = 0;
      let writes = 0;
      const stopped = later();
      const started = later();

      class Streaming implements IPushProducer {
        private paused = false;
        private timer: NodeJS.Timeout | null = null;
        constructor(private readonly req: Request) {}
        start(): void {
          this.timer = setInterval(() => {
            if (!this.paused) {
              this.req.write(Buffer.alloc(1024, 0x78));
              writes++;
              if (writes === 3) started.resolve();
            }
          }, 2);
        }
        pauseProducing(): void {
          this.paused = true;
        }
        resumeProducing(): void {
          this.paused = false;
        }
        stopProducing(): void {
          stops++;
          if (this.timer) clearInterval(this.timer);
          stopped.resolve();
        }
      }
      class StreamingRequest extends Request {
        override process(): void {
          request = this;
          this.notifyFinish().addErrback((f) => {
            reasons.push(f);
          });
          const producer = new Streaming(this);
          this.registerProducer(producer, true);
          producer.start();
        }
      }
      const port = listen(new HTTPFactory({ reactor: lo.reactor, requestFactory: StreamingRequest }));
      const s = await lo.connect(port);
      s.on("data", () => {});
      s.write("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
      await within(started.promise, 2, "the response to start");
      s.destroy();
      await within(stopped.promise, 2, "the producer to be stopped");
      await until(() => reasons.length > 0, 2, "notifyFinish to errback");
      expect(stops).to.equal(1);
      expect(reasons.length).to.equal(1);
      expect(reasons[0].check(ConnectionDone, ConnectionLost)).to.not.equal(null);
      const before = writes;
      request!.write(Buffer.from("ignored"));
      expect(writes).to.equal(before);
      expect(() => request!.finish()).to.throw(Error, /notifyFinish/);
      expect(lo.reactor.getDelayedCalls()).to.deep.equal([]);
    });

    it("a client that resets the connection while a request is processed errbacks notifyFinish", async () => {
      // A FIN alone is a half-close, answered (see HTTPChannel's half-close specs); a reset is the client gone.
      const reasons: Failure[] = [];
      const lost = later();
      const received = later();
      class Slow extends Request {
        override process(): void {
          received.resolve();
          this.notifyFinish().addErrback((f) => {
            reasons.push(f);
            lost.resolve();
          });
        }
      }
      const port = listen(new HTTPFactory({ reactor: lo.reactor, requestFactory: Slow }));
      const s = await lo.connect(port);
      s.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
      await within(received.promise, 2, "the request to be processed");
      s.resetAndDestroy();
      await within(lost.promise, 2, "notifyFinish to errback after the client's reset");
      expect(reasons[0].check(ConnectionDone, ConnectionLost)).to.not.equal(null);
      expect(lo.reactor.getDelayedCalls()).to.deep.equal([]);
    });

    it("a malformed request gets 400 and the connection is closed", async () => {
      {
        const port = listen(new HTTPFactory({ reactor: lo.reactor, requestFactory: DummyHTTPHandler }));
        const s = await lo.connect(port);
        let got = "";
        s.on("data", (d) => (got += d.toString("latin1")));
        const closed = new Promise<void>((resolve) => s.on("close", () => resolve()));
        s.write("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        await within(closed, 2, "the server to close the connection");
        expect(got).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
      }
    });
  });
});
