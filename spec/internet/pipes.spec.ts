// Tests of lib/internet/pipes.ts over in-memory streams (PassThrough): what PipeReader delivers
// while paused and once resumed, and PipeWriter's producers. process.spec.ts and stdio.spec.ts
// show the same on real pipes.

import { expect } from "chai";
import { PassThrough, Writable } from "node:stream";
import type { IPushProducer } from "../../lib/internet/interfaces.js";
import { PipeReader, PipeWriter } from "../../lib/internet/pipes.js";
import { DummyProducer } from "../support/producers.js";
import { later, within } from "../support/wait.js";

describe("PipeReader", () => {
  it("delivers chunks, and its end once, with null for a clean end", async () => {
    const s = new PassThrough();
    const got: string[] = [];
    const ended = later<Error | null>();
    new PipeReader(s, (d) => got.push(d.toString()), (e) => ended.resolve(e));
    s.write("one");
    s.end("two");
    expect(await within(ended.promise, 2, "the end")).to.equal(null);
    expect(got.join("")).to.equal("onetwo");
  });

  it("holds back what a stream resumed behind its back brings while paused, and the end after it", async () => {
    const s = new PassThrough();
    const got: string[] = [];
    const events: string[] = [];
    const r = new PipeReader(s, (d) => got.push(d.toString()), () => events.push("ended"));
    r.pause();
    s.resume(); // what child_process does to an exited child's pipes
    s.end("while paused");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got).to.deep.equal([]);
    expect(events).to.deep.equal([]);
    r.resume();
    expect(got).to.deep.equal(["while paused"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).to.deep.equal(["ended"]);
  });

  it("close() ends it at once, and reports it", async () => {
    const s = new PassThrough();
    const ended = later<Error | null>();
    const r = new PipeReader(s, () => {}, (e) => ended.resolve(e));
    r.close();
    await within(ended.promise, 2, "the end");
    expect(r.lost).to.equal(true);
  });
});

/** A Writable that takes one chunk and holds the rest until release(). */
function slowSink(): { sink: Writable; release: () => void; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  let pending: (() => void) | null = null;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      pending = cb;
    },
  });
  return {
    sink,
    chunks,
    release: () => {
      const cb = pending;
      pending = null;
      cb?.();
    },
  };
}

describe("PipeWriter", () => {
  it("write() of a string raises TypeError; a second producer raises Error", () => {
    const w = new PipeWriter(new PassThrough(), () => {});
    expect(() => w.write("text" as never)).to.throw(TypeError, /bytes/);
    w.registerProducer(new DummyProducer(), true);
    expect(() => w.registerProducer(new DummyProducer(), true)).to.throw(Error, /never unregistered/);
  });

  it("pauses a streaming producer when the stream is full and resumes it on drain", async () => {
    const { sink, release } = slowSink();
    const w = new PipeWriter(sink, () => {});
    const p = new DummyProducer();
    w.registerProducer(p, true);
    w.write(Buffer.alloc(2048));
    expect(p.events).to.deep.equal(["pause"]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(p.events).to.deep.equal(["pause", "resume"]);
  });

  it("loseConnection waits for the producer to unregister; the end stops a producer still registered", async () => {
    const s = new PassThrough();
    const ended = later<Error | null>();
    const w = new PipeWriter(s, (e) => ended.resolve(e));
    const p = new DummyProducer();
    w.registerProducer(p, true);
    w.loseConnection();
    expect(s.writableEnded).to.equal(false);
    w.unregisterProducer();
    expect(s.writableEnded).to.equal(true);
    s.resume();
    expect(await within(ended.promise, 2, "the end")).to.equal(null);

    const s2 = new PassThrough();
    const w2 = new PipeWriter(s2, () => {});
    const p2: IPushProducer & { events: string[] } = new DummyProducer();
    w2.registerProducer(p2, true);
    w2.abort();
    await new Promise((resolve) => setImmediate(resolve));
    expect(p2.events).to.deep.equal(["stop"]);
    const late = new DummyProducer();
    w2.registerProducer(late, true);
    expect(late.events).to.deep.equal(["stop"]);
  });

  it("an error on the stream (EPIPE: the reader went away) ends it with that error", async () => {
    const s = new PassThrough();
    const ended = later<Error | null>();
    new PipeWriter(s, (e) => ended.resolve(e));
    s.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect((await within(ended.promise, 2, "the end"))?.message).to.equal("write EPIPE");
  });
});
