// wsgi.input (lib/web/wsgi/input.ts): ports of Twisted's InputStreamTestMixin, run against the
// two ways a body reaches the worker: whole with the task (InputStreamBytesIOTests) and read
// from the main side piece by piece (InputStreamTemporaryFileTests: here a fetcher that hands
// out at most two bytes a call, so every boundary is crossed). End to end through a worker:
// "InputStreamTests (end to end)" in wsgi.spec.ts.

import { expect } from "chai";
import { InputStream } from "../../../lib/web/wsgi/input.js";

type Factory = (body: string) => InputStream;

const inline: Factory = (body) => {
  const bytes = Buffer.from(body, "latin1");
  return new InputStream(bytes.length, new Uint8Array(bytes), null);
};

const fetched: Factory = (body) => {
  const bytes = Buffer.from(body, "latin1");
  return new InputStream(bytes.length, null, (offset, size) => bytes.subarray(offset, offset + Math.min(size, 2)));
};

const text = (b: Buffer): string => b.toString("latin1");

function inputStreamTests(name: string, make: Factory): void {
  describe(name, () => {
    it("test_readAll: read() returns the whole stream", () => {
      expect(text(make("some bytes are here").read())).to.equal("some bytes are here");
    });

    it("test_readSome: read(3) returns 3 bytes", () => {
      expect(text(make("hello, world.").read(3))).to.equal("hel");
    });

    it("test_readMoreThan: read(n) past the end returns what there is", () => {
      const bytes = "some bytes are here";
      expect(text(make(bytes).read(bytes.length + 3))).to.equal(bytes);
    });

    it("test_readTwice: a second read continues after the first", () => {
      const input = make("some bytes, hello");
      input.read(3);
      expect(text(input.read())).to.equal("e bytes, hello");
    });

    it("test_readNone: read(null) returns everything", () => {
      expect(text(make("the entire stream").read(null))).to.equal("the entire stream");
    });

    it("test_readNegative: read(-1) returns everything", () => {
      expect(text(make("all of the input").read(-1))).to.equal("all of the input");
    });

    it("test_readline: readline() returns one line", () => {
      expect(text(make("hello\nworld").readline())).to.equal("hello\n");
    });

    it("test_readlineSome: readline(3) returns at most 3 bytes", () => {
      expect(text(make("goodbye\nworld").readline(3))).to.equal("goo");
    });

    it("test_readlineMoreThan: readline(n) longer than the line returns the line", () => {
      expect(text(make("some lines\nof text").readline(20))).to.equal("some lines\n");
    });

    it("test_readlineTwice: a second readline returns the next line", () => {
      const input = make("first line\nsecond line\nlast line");
      input.readline();
      expect(text(input.readline())).to.equal("second line\n");
    });

    it("test_readlineNone: readline(null) returns one line", () => {
      expect(text(make("this is one line\nthis is another line").readline(null))).to.equal("this is one line\n");
    });

    it("test_readlineNegative: readline(-1) returns one line", () => {
      expect(text(make("input stream line one\nline two").readline(-1))).to.equal("input stream line one\n");
    });

    it("test_readlines: readlines() returns every line", () => {
      expect(make("alice\nbob\ncarol").readlines().map(text)).to.deep.equal(["alice\n", "bob\n", "carol"]);
    });

    it("test_readlinesSome: readlines(5) returns lines until about 5 bytes", () => {
      expect(make("123\n456\n789\n0").readlines(5).map(text).slice(0, 2)).to.deep.equal(["123\n", "456\n"]);
    });

    it("test_readlinesMoreThan: readlines(n) past the end returns every line", () => {
      expect(make("one potato\ntwo potato\nthree potato").readlines(100).map(text)).to.deep.equal([
        "one potato\n",
        "two potato\n",
        "three potato",
      ]);
    });

    it("test_readlinesAfterRead: readlines() continues after a read", () => {
      const input = make("hello\nworld\nfoo");
      input.read(7);
      expect(input.readlines().map(text)).to.deep.equal(["orld\n", "foo"]);
    });

    it("test_readlinesNone: readlines(null) returns every line", () => {
      expect(make("one fish\ntwo fish\n").readlines(null).map(text)).to.deep.equal(["one fish\n", "two fish\n"]);
    });

    it("test_readlinesNegative: readlines(-1) returns every line", () => {
      expect(make("red fish\nblue fish\n").readlines(-1).map(text)).to.deep.equal(["red fish\n", "blue fish\n"]);
    });

    it("test_iterable: iterating yields the lines", () => {
      expect([...make("green eggs\nand ham\n")].map(text)).to.deep.equal(["green eggs\n", "and ham\n"]);
    });

    it("test_iterableAfterRead: iterating continues after a read", () => {
      const input = make("green eggs\nand ham\n");
      input.read(3);
      expect([...input].map(text)).to.deep.equal(["en eggs\n", "and ham\n"]);
    });

    it("returns empty bytes at the end, and from an empty body", () => {
      const input = make("ab");
      input.read();
      expect(input.read().length).to.equal(0);
      expect(input.readline().length).to.equal(0);
      expect(make("").read(5).length).to.equal(0);
      expect(make("").readlines()).to.deep.equal([]);
    });

    it("refuses a size that is not a number", () => {
      expect(() => make("abc").read("2" as never)).to.throw(TypeError, "a size must be a number");
    });
  });
}

inputStreamTests("InputStreamBytesIOTests", inline);
inputStreamTests("InputStreamTemporaryFileTests", fetched);

describe("InputStream", () => {
  it("asks the main side for whole blocks, not byte by byte", () => {
    const body = Buffer.alloc(200_000, 120);
    const asked: number[] = [];
    const input = new InputStream(body.length, null, (offset, size) => {
      asked.push(size);
      return body.subarray(offset, offset + size);
    });
    expect(input.read(10).length).to.equal(10);
    expect(input.read().length).to.equal(199_990);
    expect(asked[0]).to.equal(64 * 1024);
    expect(asked.length).to.be.at.most(3);
  });

  it("treats an empty answer from the main side as the end of the body", () => {
    const input = new InputStream(100, null, () => new Uint8Array(0));
    expect(input.read().length).to.equal(0);
  });
});
