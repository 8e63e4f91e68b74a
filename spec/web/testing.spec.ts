import { expect } from "chai";
import { Deferred } from "../../lib/internet/defer.js";
import { ConnectionDone } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import type { IPushProducer } from "../../lib/internet/interfaces.js";
import type { IRequest, RenderResult } from "../../lib/web/iweb.js";
import { Resource } from "../../lib/web/resource.js";
import { NOT_DONE_YET } from "../../lib/web/iweb.js";
import { DummyRequest, render, renderBody } from "../../lib/web/testing.js";

describe("twisted.web.test.requesthelper", () => {
  describe("DummyRequestTests", () => {
    it("test_getClientAddressWithoutClient: null when no client was given", () => {
      expect(new DummyRequest([]).getClientAddress()).to.equal(null);
    });

    it("test_getClientAddress: the client given to the constructor", () => {
      const client = { type: "TCP", family: "IPv4", host: "10.0.0.1", port: 12345 } as const;
      expect(new DummyRequest([], client).getClientAddress()).to.equal(client);
    });
  });

  describe("DummyRequest (torsion)", () => {
    it("records written chunks, the code, headers and finish count", () => {
      const request = new DummyRequest(["a"]);
      request.setResponseCode(201);
      request.setHeader("x-a", "1");
      request.write(Buffer.from("ab"));
      request.write(Buffer.from("c"));
      request.finish();
      expect(request.written.map(String)).to.deep.equal(["ab", "c"]);
      expect(request.body.toString()).to.equal("abc");
      expect(request.responseCode).to.equal(201);
      expect(request.responseHeaders.getRawHeaders("x-a")).to.deep.equal(["1"]);
      expect(request.finished).to.equal(1);
    });

    it("write() of a string is a TypeError; setResponseCode after a write is an error", () => {
      const request = new DummyRequest([]);
      expect(() => request.write("x" as unknown as Buffer)).to.throw(TypeError);
      request.write(Buffer.from("x"));
      expect(() => request.setResponseCode(500)).to.throw(Error);
    });

    it("notifyFinish fires on finish, and at once afterwards", async () => {
      const request = new DummyRequest([]);
      const fired: string[] = [];
      request.notifyFinish().addCallback(() => void fired.push("first"));
      request.finish();
      await request.notifyFinish();
      expect(fired).to.deep.equal(["first"]);
    });

    it("processingFailed errbacks notifyFinish and records the failure", () => {
      const request = new DummyRequest([]);
      const seen: Failure[] = [];
      request.notifyFinish().addErrback((f: Failure) => void seen.push(f));
      const reason = new Failure(new Error("bad"));
      request.processingFailed(reason);
      expect(seen).to.deep.equal([reason]);
      expect(request.failures).to.deep.equal([reason]);
    });

    it("connectionLost stops the producer, errbacks notifyFinish with ConnectionDone, then ignores writes", () => {
      const request = new DummyRequest([]);
      let stopped = 0;
      const producer: IPushProducer = { pauseProducing() {}, resumeProducing() {}, stopProducing: () => void stopped++ };
      request.registerProducer(producer, true);
      const seen: Failure[] = [];
      request.notifyFinish().addErrback((f: Failure) => void seen.push(f));
      request.connectionLost();
      expect(stopped).to.equal(1);
      expect(seen[0].check(ConnectionDone)).to.equal(ConnectionDone);
      request.write(Buffer.from("late"));
      expect(request.written).to.have.length(0);
      expect(() => request.finish()).to.throw(/notifyFinish/);
      const again: IPushProducer = { pauseProducing() {}, resumeProducing() {}, stopProducing: () => void stopped++ };
      request.registerProducer(again, true);
      expect(stopped).to.equal(2);
    });

    it("drives a pull producer until it unregisters", async () => {
      const request = new DummyRequest([]);
      let n = 0;
      request.registerProducer(
        {
          resumeProducing() {
            request.write(Buffer.from(String(++n)));
            if (n === 3) {
              request.unregisterProducer();
              request.finish();
            }
          },
          stopProducing() {},
        },
        false,
      );
      await request.notifyFinish();
      expect(request.body.toString()).to.equal("123");
    });

    it("a pull producer that throws fails the request (notifyFinish errbacks) and is called no more", async () => {
      const request = new DummyRequest([]);
      let calls = 0;
      request.registerProducer(
        {
          resumeProducing() {
            if (++calls === 2) throw new Error("pull exploded");
          },
          stopProducing() {},
        },
        false,
      );
      const failure = await request.notifyFinish().then(
        () => null,
        (err: Error) => err,
      );
      expect(failure?.message).to.equal("pull exploded");
      expect(request.failures.length).to.equal(1);
      expect(calls).to.equal(2);
    });

    it("setLastModified and setETag answer CACHED as a real request does", () => {
      const request = new DummyRequest([]);
      request.requestHeaders.setRawHeaders("if-none-match", ['"t"']);
      expect(request.setETag('"t"')).to.not.equal(null);
      expect(request.responseCode).to.equal(304);
    });

    it("prePathURL and URLPath reflect setHost and prepath", () => {
      const request = new DummyRequest([]);
      request.setHost("example.com", 8080);
      request.prepath = ["a b", "c"];
      expect(request.prePathURL()).to.equal("http://example.com:8080/a%20b/c");
      expect(request.URLPath().pathname).to.equal("/a%20b/c");
    });
  });

  describe("render / renderBody", () => {
    class Later extends Resource {
      d = new Deferred<void>();
      render_GET(request: IRequest): RenderResult {
        this.d.addCallback(() => {
          request.write(Buffer.from("later"));
          request.finish();
        });
        return NOT_DONE_YET;
      }
    }

    it("render writes and finishes a string or bytes result at once", async () => {
      class Now extends Resource {
        render_GET(): RenderResult {
          return "now";
        }
      }
      const request = new DummyRequest([]);
      await render(new Now(), request);
      expect(request.body.toString()).to.equal("now");
      expect(request.finished).to.equal(1);
    });

    it("renderBody waits for a NOT_DONE_YET resource to finish", async () => {
      const resource = new Later();
      const request = new DummyRequest([]);
      const body = renderBody(resource, request);
      resource.d.callback(undefined);
      expect((await body).toString()).to.equal("later");
    });

    it("render waits for a promise result", async () => {
      class Async extends Resource {
        async render_GET(): Promise<string> {
          return "async";
        }
      }
      expect((await renderBody(new Async(), new DummyRequest([]))).toString()).to.equal("async");
    });
  });
});
