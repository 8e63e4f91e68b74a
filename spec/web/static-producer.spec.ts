import { expect } from "chai";
import { until, within } from "../support/wait.js";
import { open, type FileHandle } from "node:fs/promises";
import { StaticProducer, parseRangeHeader, rangeToOffsetAndSize, type BodyPart } from "../../lib/web/static-producer.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { makeFile, removeTempRoot } from "./static-helpers.js";

describe("twisted.web.static producers", () => {
  after(() => {
    removeTempRoot();
  });

  describe("StaticProducerTests", () => {
    async function producerFor(content: string, parts: BodyPart[] | null = null): Promise<[StaticProducer, DummyRequest, FileHandle]> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, parts ?? [{ prefix: null, offset: 0, size: content.length }]);
      return [producer, request, handle];
    }

    it("test_stopProducingClosesFile: stopProducing closes the file", async () => {
      const [producer, , handle] = await producerFor("foo");
      producer.stopProducing();
      await producer.whenClosed();
      expect(handle.fd).to.equal(-1);
      expect(producer.closed).to.equal(true);
    });

    it("test_stopProducingSetsRequestToNone: stopProducing drops the request", async () => {
      const [producer] = await producerFor("foo");
      producer.stopProducing();
      expect(producer.request).to.equal(null);
      await producer.whenClosed();
    });

    it("stopProducing during a read closes the file after the read, and writes nothing more", async () => {
      const [producer, request, handle] = await producerFor("abcdef");
      producer.bufferSize = 2;
      producer.start();
      producer.stopProducing();
      await within(producer.whenClosed(), 5, "the producer to close"); // after the read in flight
      await until(() => handle.fd === -1, 5, "the file handle to be closed");
      expect(request.written).to.have.length(0);
      expect(request.finished).to.equal(0);
    });

    it("pauseProducing stops reading after the chunk in flight; resumeProducing goes on", async () => {
      const [producer, request] = await producerFor("abcdef");
      producer.bufferSize = 2;
      producer.start();
      producer.pauseProducing();
      await until(() => request.written.length > 0, 5, "the chunk in flight");
      expect(request.written.map(String)).to.deep.equal(["ab"]);
      producer.resumeProducing();
      await request.notifyFinish();
      expect(request.written.map(String)).to.deep.equal(["ab", "cd", "ef"]);
    });

    it("is registered on the request as a streaming (push) producer", async () => {
      const [producer, request] = await producerFor("abc");
      producer.start();
      expect(request.producer).to.equal(producer);
      expect(request.streaming).to.equal(true);
      await request.notifyFinish();
      expect(request.producer).to.equal(null);
    });
  });

  describe("NoRangeStaticProducerTests", () => {
    async function run(content: string, bufferSize: number, parts?: BodyPart[]): Promise<[DummyRequest, FileHandle]> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, parts ?? [{ prefix: null, offset: 0, size: content.length }]);
      producer.bufferSize = bufferSize;
      const finished = request.notifyFinish();
      producer.start();
      await finished;
      await producer.whenClosed();
      return [request, handle];
    }

    it("test_resumeProducingProducesContent: the whole file is written", async () => {
      const [request] = await run("abcdef", 65536);
      expect(request.body.toString()).to.equal("abcdef");
    });

    it("test_resumeProducingBuffersOutput: it is written in bufferSize chunks", async () => {
      const [request] = await run("abcdef", 4);
      expect(request.written.map(String)).to.deep.equal(["abcd", "ef"]);
    });

    it("test_finishCalledWhenDone: the request is finished and the file closed at the end", async () => {
      const [request, handle] = await run("abcdef", 4);
      expect(request.finished).to.equal(1);
      expect(handle.fd).to.equal(-1);
    });
  });

  describe("SingleRangeStaticProducerTests", () => {
    async function run(content: string, offset: number, size: number, bufferSize: number): Promise<DummyRequest> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, [{ prefix: null, offset, size }]);
      producer.bufferSize = bufferSize;
      producer.start();
      await request.notifyFinish();
      return request;
    }

    it("test_resumeProducingProducesContent: the range is written", async () => {
      expect((await run("abcdef", 1, 3, 65536)).body.toString()).to.equal("bcd");
    });

    it("test_resumeProducingBuffersOutput: in bufferSize chunks", async () => {
      expect((await run("abcdefghijkl", 1, 5, 3)).written.map(String)).to.deep.equal(["bcd", "ef"]);
    });

    it("test_finishCalledWhenDone: the request is finished once", async () => {
      expect((await run("abcdef", 1, 1, 3)).finished).to.equal(1);
    });
  });

  describe("MultipleRangeStaticProducerTests", () => {
    async function run(content: string, parts: BodyPart[], bufferSize: number): Promise<DummyRequest> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, parts);
      producer.bufferSize = bufferSize;
      producer.start();
      await request.notifyFinish();
      return request;
    }
    const b = (s: string): Buffer => Buffer.from(s);

    it("test_resumeProducingProducesContent: boundaries and ranges in order", async () => {
      const request = await run("abcdef", [{ prefix: b("1"), offset: 1, size: 3 }, { prefix: b("2"), offset: 5, size: 1 }], 65536);
      expect(request.body.toString()).to.equal("1bcd2f");
    });

    it("test_resumeProducingBuffersOutput: each read is at most bufferSize bytes of file", async () => {
      const request = await run(
        "0123456789abcdef",
        [{ prefix: b("a"), offset: 2, size: 5 }, { prefix: b("b"), offset: 10, size: 6 }, { prefix: b("c"), offset: 0, size: 0 }],
        4,
      );
      expect(request.written.map(String)).to.deep.equal(["a2345", "6", "babcd", "ef", "c"]);
    });

    it("test_finishCalledWhenDone: finished once after the last part", async () => {
      const request = await run("abcdef", [{ prefix: b("a"), offset: 1, size: 3 }, { prefix: b("b"), offset: 0, size: 0 }], 2);
      expect(request.finished).to.equal(1);
    });
  });

  describe("RangeTests (parsing)", () => {
    it("test_invalidRanges: malformed Range values raise", () => {
      for (const bad of ["bytes", "unknown=1-2", "bytes=3", "bytes=-", "bytes=foo-", "bytes=-foo", "bytes=5-4"]) {
        expect(() => parseRangeHeader(bad), bad).to.throw(RangeError);
      }
    });

    it("test_rangeMissingStop: bytes=0- is [0, null]", () => {
      expect(parseRangeHeader("bytes=0-")).to.deep.equal([[0, null]]);
    });

    it("test_rangeMissingStart: bytes=-3 is [null, 3]", () => {
      expect(parseRangeHeader("bytes=-3")).to.deep.equal([[null, 3]]);
    });

    it("test_range: bytes=2-5 is [2, 5]", () => {
      expect(parseRangeHeader("bytes=2-5")).to.deep.equal([[2, 5]]);
    });

    it("test_rangeWithSpace: whitespace where allowed is ignored", () => {
      for (const v of [" bytes=1-2 ", "bytes =1-2 ", "bytes= 1-2", "bytes=1 -2", "bytes=1- 2", "bytes=1-2 "]) {
        expect(parseRangeHeader(v), v).to.deep.equal([[1, 2]]);
      }
    });

    it("test_nullRangeElements: empty elements are skipped", () => {
      expect(parseRangeHeader("bytes=1-2,\r\n, ,\t")).to.deep.equal([[1, 2]]);
    });

    it("test_multipleRanges: several ranges are all returned", () => {
      expect(parseRangeHeader("bytes=1-2,3-4")).to.deep.equal([
        [1, 2],
        [3, 4],
      ]);
    });

    it("a suffix range longer than the file is the whole file (Twisted gives a negative offset)", () => {
      expect(rangeToOffsetAndSize([null, 100], 64)).to.deep.equal([0, 64]);
      expect(rangeToOffsetAndSize([null, 0], 64)).to.deep.equal([0, 0]);
    });
  });
});
