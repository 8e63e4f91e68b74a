import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDelayedCall, IPullProducer, IPushProducer } from "../../../lib/internet/interfaces.js";
import { Cooperator } from "../../../lib/internet/task.js";
import { FileBodyProducer } from "../../../lib/web/client/body-producers.js";
import { UNKNOWN_LENGTH } from "../../../lib/web/client/iclient.js";
import { assertNoResult, failureResultOf, successResultOf } from "../../support/deferred-helpers.js";

/** A Cooperator whose ticks run only when the test says (test_agent.py's _scheduled list). */
function manualCooperator(): { cooperator: Cooperator; tick: () => void } {
  const scheduled: Array<() => void> = [];
  const cooperator = new Cooperator({
    scheduler: (f) => {
      scheduled.push(f);
      return { cancel() {}, active: () => true, getTime: () => 0, reset() {}, delay() {} } as IDelayedCall;
    },
    terminationPredicateFactory: () => () => true, // one step a tick
  });
  return { cooperator, tick: () => scheduled.shift()?.() };
}

class FileConsumer {
  readonly written: Buffer[] = [];
  write(data: Uint8Array): void {
    this.written.push(Buffer.from(data));
  }
  registerProducer(_p: IPushProducer | IPullProducer, _s: boolean): void {}
  unregisterProducer(): void {}
  get value(): string {
    return Buffer.concat(this.written).toString();
  }
}

describe("FileBodyProducer (twisted.web.test.test_agent FileBodyProducerTests)", () => {
  it("test_knownLength / test_unknownLength: bytes have a length; a source without one is UNKNOWN_LENGTH", () => {
    expect(new FileBodyProducer(Buffer.from("hello")).length).to.equal(5);
    expect(new FileBodyProducer({ read: () => new Uint8Array(0) }).length).to.equal(UNKNOWN_LENGTH);
  });

  it("test_startProducing: the input is written a readSize at a time, one block per tick, then the Deferred fires", () => {
    const { cooperator, tick } = manualCooperator();
    const producer = new FileBodyProducer(Buffer.from("hello, world"), { cooperator, readSize: 5 });
    const consumer = new FileConsumer();
    const d = producer.startProducing(consumer as never);
    for (let i = 0; i < 3; i++) tick();
    expect(consumer.written.map(String)).to.deep.equal(["hello", ", wor", "ld"]);
    assertNoResult(d);
    tick();
    successResultOf(d);
  });

  it("test_inputClosedAtEOF / a file: read from the path, closed at the end", () => {
    const dir = mkdtempSync(join(tmpdir(), "torsion-fbp-"));
    try {
      const path = join(dir, "body");
      writeFileSync(path, "file contents");
      const { cooperator, tick } = manualCooperator();
      const producer = FileBodyProducer.fromPath(path, { cooperator });
      expect(producer.length).to.equal(13);
      const consumer = new FileConsumer();
      const d = producer.startProducing(consumer as never);
      tick();
      tick();
      successResultOf(d);
      expect(consumer.value).to.equal("file contents");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("test_failedReadWhileProducing: a read that throws fails the Deferred", () => {
    const { cooperator, tick } = manualCooperator();
    const producer = new FileBodyProducer({ read: () => { throw new Error("disk on fire"); } }, { cooperator });
    const d = producer.startProducing(new FileConsumer() as never);
    tick();
    expect(failureResultOf(d).getErrorMessage()).to.equal("disk on fire");
  });

  it("test_stopProducing: stopped, it writes nothing more and its Deferred never fires", () => {
    const { cooperator, tick } = manualCooperator();
    let closed = 0;
    const producer = new FileBodyProducer({ read: () => Buffer.from("x"), close: () => closed++ }, { cooperator });
    const consumer = new FileConsumer();
    const d = producer.startProducing(consumer as never);
    tick();
    producer.stopProducing();
    tick();
    expect(consumer.written).to.have.length(1);
    expect(closed).to.be.at.least(1);
    assertNoResult(d);
  });

  it("test_pauseProducing / test_resumeProducing: paused, nothing is read; resumed, it goes on", () => {
    const { cooperator, tick } = manualCooperator();
    const producer = new FileBodyProducer(Buffer.from("abcdef"), { cooperator, readSize: 2 });
    const consumer = new FileConsumer();
    producer.startProducing(consumer as never);
    tick();
    producer.pauseProducing();
    tick();
    tick();
    expect(consumer.value).to.equal("ab");
    producer.resumeProducing();
    tick();
    expect(consumer.value).to.equal("abcd");
  });

  it("test_multipleStop: stopProducing twice is harmless", () => {
    const producer = new FileBodyProducer(Buffer.from("x"), { cooperator: manualCooperator().cooperator });
    producer.startProducing(new FileConsumer() as never);
    producer.stopProducing();
    producer.stopProducing();
  });

  it("a bad input or readSize throws at once", () => {
    expect(() => new FileBodyProducer("text" as never)).to.throw(TypeError);
    expect(() => new FileBodyProducer(Buffer.from("x"), { readSize: 0 })).to.throw(RangeError);
  });
});
