// lib/web/http-pull-to-push.ts: a pull producer driven as a push producer by a cooperative task.
import { expect } from "chai";
import type { IPullProducer } from "../../lib/internet/interfaces.js";
import { reactor } from "../../lib/internet/reactor.js";
import { Clock } from "../../lib/internet/task.js";
import { PullToPush } from "../../lib/web/http-pull-to-push.js";
import { DummyPullProducer } from "../support/producers.js";
import { later, within } from "../support/wait.js";

function resumes(producer: DummyPullProducer): number {
  return producer.events.filter((e) => e === "resume").length;
}

describe("web/http-pull-to-push", () => {
  it("calls nothing before startStreaming, then a bounded slice each tick of the reactor", () => {
    const clock = new Clock();
    const producer = new DummyPullProducer();
    const push = new PullToPush(producer, clock);
    clock.advance(1);
    expect(producer.events).to.deep.equal([]);
    push.startStreaming();
    clock.advance(0.01);
    const oneTick = resumes(producer);
    expect(oneTick).to.be.greaterThan(0).and.at.most(64);
    clock.advance(0.01);
    expect(resumes(producer)).to.equal(2 * oneTick);
  });

  it("pauseProducing stops the calls, resumeProducing starts them again (pause twice, one resume)", () => {
    const clock = new Clock();
    const producer = new DummyPullProducer();
    const push = new PullToPush(producer, clock);
    push.startStreaming();
    push.pauseProducing();
    push.pauseProducing();
    clock.advance(1);
    expect(resumes(producer)).to.equal(0);
    expect(push.running).to.equal(false);
    push.resumeProducing();
    clock.advance(0.01);
    expect(resumes(producer)).to.be.greaterThan(0);
  });

  it("a producer that pauses the wrapper from inside resumeProducing (a full transport) ends its slice at once", () => {
    const clock = new Clock();
    let push: PullToPush;
    let calls = 0;
    const producer: IPullProducer = {
      resumeProducing: () => {
        calls++;
        push.pauseProducing();
      },
      stopProducing: () => {},
    };
    push = new PullToPush(producer, clock);
    push.startStreaming();
    clock.advance(0.01);
    clock.advance(0.01);
    expect(calls).to.equal(1);
  });

  it("stopStreaming ends the calls without stopping the producer; stopProducing stops it once", () => {
    const clock = new Clock();
    const producer = new DummyPullProducer();
    const push = new PullToPush(producer, clock);
    push.startStreaming();
    push.stopStreaming();
    clock.advance(1);
    expect(producer.events).to.deep.equal([]);
    push.stopProducing();
    expect(producer.events).to.deep.equal([]); // already finished streaming: nothing to stop

    const other = new DummyPullProducer();
    const push2 = new PullToPush(other, clock);
    push2.startStreaming();
    push2.stopProducing();
    push2.stopProducing();
    expect(other.events).to.deep.equal(["stop"]);
  });

  it("on the real reactor, the producer is called until it unregisters itself", async () => {
    const done = later<number>();
    let calls = 0;
    let push: PullToPush;
    const producer: IPullProducer = {
      resumeProducing: () => {
        if (++calls === 200) {
          push.stopStreaming();
          done.resolve(calls);
        }
      },
      stopProducing: () => {},
    };
    push = new PullToPush(producer, reactor);
    push.startStreaming();
    expect(await within(done.promise, 5, "200 resumeProducing calls")).to.equal(200);
  });
});
