import { expect } from "chai";
import { Worker } from "node:worker_threads";
import { Deferred } from "../../lib/internet/deferred.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { BridgeHost, type BridgeHandler } from "../../lib/internet/thread-bridge.js";
import { HANG } from "../fixtures/thread-helpers.js";
import { within } from "../support/wait.js";

interface Outcome {
  ok: boolean;
  value?: unknown;
  name?: string;
  message?: string;
}

/** A bare worker (spec/fixtures/bridge-worker.js) on a channel answered by `handler`. */
class BridgeWorker {
  readonly host: BridgeHost;
  readonly worker: Worker;

  constructor(handler: BridgeHandler) {
    this.host = new BridgeHost(handler);
    this.worker = new Worker(new URL("../fixtures/bridge-worker.js", import.meta.url), {
      workerData: { bridge: this.host.init },
      transferList: [...this.host.transfer],
    });
  }

  /** Have the worker call (or post) `name(...args)`; what it got. */
  order(name: string, args: unknown[] = [], options: { timeout?: number; post?: boolean; transferBytes?: number } = {}): Promise<Outcome> {
    return within(
      new Promise<Outcome>((resolve) => {
        this.worker.once("message", resolve);
        this.worker.postMessage({ name, args, ...options });
      }),
      HANG,
      `the worker's call to ${name}`,
    );
  }

  async end(): Promise<void> {
    this.host.close();
    await this.worker.terminate();
  }
}

describe("the thread bridge", () => {
  const workers: BridgeWorker[] = [];
  function bridgeWorker(handler: BridgeHandler): BridgeWorker {
    const w = new BridgeWorker(handler);
    workers.push(w);
    return w;
  }
  afterEach(async () => {
    await within(Promise.all(workers.splice(0).map((w) => w.end())), HANG, "the workers to end");
  });

  it("blocks the worker until the handler's answer, a value or a Promise settled later", async () => {
    const seen: unknown[] = [];
    const w = bridgeWorker((name, args, post) => {
      seen.push([name, args, post]);
      if (name === "later") return new Promise((resolve) => setTimeout(() => resolve("settled"), 20));
      return (args[0] as number) * 10;
    });
    expect(await w.order("times10", [4])).to.deep.equal({ ok: true, value: 40 });
    expect(await w.order("later")).to.deep.equal({ ok: true, value: "settled" });
    expect(seen).to.deep.equal([
      ["times10", [4], false],
      ["later", [], false],
    ]);
  });

  it("delivers posted calls in order, before a later blocking call, and logs their errors", async () => {
    const logs = captureLogEvents();
    try {
      const seen: string[] = [];
      const w = bridgeWorker((name, _args, post) => {
        seen.push(`${name}:${post}`);
        if (name === "bad") throw new RangeError("posted call failed");
        return "ok";
      });
      await w.order("a", [], { post: true });
      await w.order("bad", [], { post: true });
      expect(await w.order("c")).to.deep.equal({ ok: true, value: "ok" });
      expect(seen).to.deep.equal(["a:true", "bad:true", "c:false"]);
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["posted call failed"]);
    } finally {
      logs.stop();
    }
  });

  it("moves the buffers a call's transfer list names instead of copying them", async () => {
    let received: Uint8Array | undefined;
    const w = bridgeWorker((_name, args) => {
      received = args[0] as Uint8Array;
      return null;
    });
    // The worker reports its own buffer's length after the call: 0 once moved.
    expect(await w.order("bytes", [], { transferBytes: 4 })).to.deep.equal({ ok: true, value: 0 });
    expect([...received!]).to.deep.equal([7, 7, 7, 7]);
  });

  it("gives up with TimeoutError after the call's timeout, and a late answer does not reach the next call", async () => {
    const slow = new Deferred<string>();
    const w = bridgeWorker((name) => (name === "slow" ? slow : "fast"));
    expect(await w.order("slow", [], { timeout: 0.05 })).to.include({ ok: false, name: "TimeoutError" });
    slow.callback("late");
    await new Promise((resolve) => setImmediate(resolve));
    expect(await w.order("fast")).to.deep.equal({ ok: true, value: "fast" });
  });

  it("wakes a waiting worker with WorkerDied when the main side closes the channel", async () => {
    let called!: () => void;
    const arrived = new Promise<void>((resolve) => (called = resolve));
    const w = bridgeWorker(() => {
      called();
      return new Deferred();
    });
    const waiting = w.order("hang");
    await within(arrived, HANG, "the call to arrive");
    w.host.close();
    expect(await waiting).to.include({ ok: false, name: "WorkerDied" });
    expect(await w.order("after")).to.include({ ok: false, name: "WorkerDied" });
  });
});
