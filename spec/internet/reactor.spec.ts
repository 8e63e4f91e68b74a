// Tests of lib/internet/reactor.ts: ports of twisted/test/test_internet.py (ThreePhaseEventTests,
// SystemEventTests, TimeTests, DelayedTests, CallFromThreadTests) and the reactor's life cycle.
// Each test that runs or stops a reactor uses its own NodeReactor.

import { expect } from "chai";
import { spawn } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { Deferred } from "../../lib/internet/deferred.js";
import { AlreadyCalled, AlreadyCancelled, ConnectionLost, ReactorAlreadyRunning, ReactorNotRestartable, ReactorNotRunning } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { IDelayedCall, IProtocolFactory, ITransport } from "../../lib/internet/interfaces.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { NodeReactor, reactor as globalReactor, ThreePhaseEvent } from "../../lib/internet/reactor.js";
import { within } from "../support/wait.js";

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("ThreePhaseEventTests", () => {
  let event: ThreePhaseEvent;
  const trigger = (_x: unknown): void => {};
  beforeEach(() => {
    event = new ThreePhaseEvent();
  });

  it("test_addInvalidPhase: an invalid phase raises", () => {
    expect(() => event.addTrigger("xxx" as "before", trigger, [1])).to.throw(TypeError);
  });

  for (const phase of ["before", "during", "after"] as const) {
    it(`test_add${phase[0].toUpperCase()}${phase.slice(1)}Trigger: a ${phase} trigger is kept in the ${phase} list`, () => {
      event.addTrigger(phase, trigger, [1]);
      expect(event[phase].map((t) => [t.callable, t.args])).to.deep.equal([[trigger, [1]]]);
    });
  }

  it("test_removeTrigger: a trigger can be removed before the event fires", () => {
    const t = event.addTrigger("before", trigger, [1]);
    event.removeTrigger("before", t);
    expect(event.before).to.deep.equal([]);
  });

  it("test_removeNonexistentTrigger / test_removeRemovedTrigger: removing an unknown trigger raises", () => {
    const t = event.addTrigger("before", trigger, [1]);
    event.removeTrigger("before", t);
    expect(() => event.removeTrigger("before", t)).to.throw(Error);
    expect(() => event.removeTrigger("during", { callable: trigger, args: [] })).to.throw(Error);
  });

  it("test_fireEvent: before, during and after triggers run in that order", () => {
    const events: string[] = [];
    event.addTrigger("after", (x: string) => events.push(x), ["first after"]);
    event.addTrigger("during", (x: string) => events.push(x), ["first during"]);
    event.addTrigger("before", (x: string) => events.push(x), ["first before"]);
    event.addTrigger("before", (x: string) => events.push(x), ["second before"]);
    event.addTrigger("during", (x: string) => events.push(x), ["second during"]);
    event.addTrigger("after", (x: string) => events.push(x), ["second after"]);
    event.fireEvent();
    expect(events).to.deep.equal(["first before", "second before", "first during", "second during", "first after", "second after"]);
  });

  it("test_asynchronousBefore: a Deferred from a before trigger delays during and after", () => {
    const events: string[] = [];
    const d = new Deferred<void>();
    event.addTrigger("before", () => d, []);
    event.addTrigger("during", () => events.push("during"), []);
    event.addTrigger("after", () => events.push("after"), []);
    event.fireEvent();
    expect(events).to.deep.equal([]);
    d.callback(undefined);
    expect(events).to.deep.equal(["during", "after"]);
  });

  it("test_beforeTriggerException / test_duringTriggerException: a raising trigger is logged and the others run", () => {
    const logs = captureLogEvents();
    try {
      const events: string[] = [];
      event.addTrigger("before", () => {
        throw new Error("before boom");
      }, []);
      event.addTrigger("before", () => events.push("before"), []);
      event.addTrigger("during", () => {
        throw new Error("during boom");
      }, []);
      event.addTrigger("during", () => events.push("during"), []);
      event.addTrigger("after", () => events.push("after"), []);
      event.fireEvent();
      expect(events).to.deep.equal(["before", "during", "after"]);
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["before boom", "during boom"]);
    } finally {
      logs.stop();
    }
  });

  it("test_synchronousRemoveAlreadyExecutedBefore: removing a before trigger that already ran is allowed", () => {
    const events: string[] = [];
    const id: { t?: ReturnType<ThreePhaseEvent["addTrigger"]> } = {};
    id.t = event.addTrigger("before", () => events.push("first"), []);
    event.addTrigger("before", () => event.removeTrigger("before", id.t!), []);
    event.addTrigger("during", () => events.push("during"), []);
    event.fireEvent();
    expect(events).to.deep.equal(["first", "during"]);
  });

  it("test_synchronousRemovePendingBefore / test_synchronousBeforeRemovesDuring: a before trigger can remove pending triggers", () => {
    const events: string[] = [];
    let pendingBefore: ReturnType<ThreePhaseEvent["addTrigger"]>;
    let during: ReturnType<ThreePhaseEvent["addTrigger"]>;
    event.addTrigger("before", () => {
      event.removeTrigger("before", pendingBefore);
      event.removeTrigger("during", during);
    }, []);
    pendingBefore = event.addTrigger("before", () => events.push("pending before"), []);
    during = event.addTrigger("during", () => events.push("during"), []);
    event.addTrigger("after", () => events.push("after"), []);
    event.fireEvent();
    expect(events).to.deep.equal(["after"]);
  });

  it("test_triggersRunOnce: triggers run once even if the event fires again", () => {
    const events: string[] = [];
    event.addTrigger("before", () => events.push("before"), []);
    event.addTrigger("during", () => events.push("during"), []);
    event.addTrigger("after", () => events.push("after"), []);
    event.fireEvent();
    event.fireEvent();
    expect(events).to.deep.equal(["before", "during", "after"]);
  });
});

describe("SystemEventTests", () => {
  let r: NodeReactor;
  beforeEach(() => {
    r = new NodeReactor();
  });

  for (const phase of ["before", "during", "after"] as const) {
    it(`test_${phase}Phase: a ${phase} trigger runs when the event fires`, () => {
      const events: string[] = [];
      r.addSystemEventTrigger(phase, "test", (x: string) => events.push(x), "ran");
      r.fireSystemEvent("test");
      expect(events).to.deep.equal(["ran"]);
    });
  }

  it("test_unknownPhase: an unknown phase raises", () => {
    expect(() => r.addSystemEventTrigger("xxx" as "before", "test", () => {})).to.throw(TypeError);
  });

  it("test_beforePreceedsDuring / test_duringPreceedsAfter: phases run in order regardless of the order added", () => {
    const events: string[] = [];
    r.addSystemEventTrigger("after", "test", () => events.push("after"));
    r.addSystemEventTrigger("during", "test", () => events.push("during"));
    r.addSystemEventTrigger("before", "test", () => events.push("before"));
    r.fireSystemEvent("test");
    expect(events).to.deep.equal(["before", "during", "after"]);
  });

  it("test_beforeReturnsDeferred: a before trigger's Deferred delays the during phase", () => {
    const d = new Deferred<void>();
    const events: string[] = [];
    r.addSystemEventTrigger("before", "test", () => d);
    r.addSystemEventTrigger("during", "test", () => events.push("during"));
    r.fireSystemEvent("test");
    expect(events).to.deep.equal([]);
    d.callback(undefined);
    expect(events).to.deep.equal(["during"]);
  });

  it("test_multipleBeforeReturnDeferred: during waits for every before Deferred", () => {
    const d1 = new Deferred<void>();
    const d2 = new Deferred<void>();
    const events: string[] = [];
    r.addSystemEventTrigger("before", "test", () => d1);
    r.addSystemEventTrigger("before", "test", () => d2);
    r.addSystemEventTrigger("during", "test", () => events.push("during"));
    r.fireSystemEvent("test");
    d1.callback(undefined);
    expect(events).to.deep.equal([]);
    d2.callback(undefined);
    expect(events).to.deep.equal(["during"]);
  });

  it("test_subsequentBeforeTriggerFiresPriorBeforeDeferred: a before trigger may fire an earlier one's Deferred", () => {
    const d1 = new Deferred<void>();
    const d2 = new Deferred<void>();
    const events: string[] = [];
    r.addSystemEventTrigger("before", "test", () => d1);
    r.addSystemEventTrigger("before", "test", () => d1.callback(undefined));
    r.addSystemEventTrigger("before", "test", () => {
      events.push("before");
      return d2;
    });
    r.addSystemEventTrigger("during", "test", () => events.push("during"));
    r.fireSystemEvent("test");
    expect(events).to.deep.equal(["before"]);
    d2.callback(undefined);
    expect(events).to.deep.equal(["before", "during"]);
  });

  it("a during trigger's Deferred (or Promise) delays the after phase (a torsion extension)", async () => {
    let resolve!: () => void;
    const p = new Promise<void>((res) => (resolve = res));
    const events: string[] = [];
    r.addSystemEventTrigger("during", "test", () => p);
    r.addSystemEventTrigger("after", "test", () => events.push("after"));
    r.fireSystemEvent("test");
    await tick();
    expect(events).to.deep.equal([]);
    resolve();
    await p;
    await tick();
    expect(events).to.deep.equal(["after"]);
  });

  it("test_removeSystemEventTrigger: a removed trigger does not run", () => {
    const events: string[] = [];
    const id = r.addSystemEventTrigger("during", "test", () => events.push("removed"));
    r.addSystemEventTrigger("during", "test", () => events.push("kept"));
    r.removeSystemEventTrigger(id);
    r.fireSystemEvent("test");
    expect(events).to.deep.equal(["kept"]);
  });

  it("test_removeNonExistentSystemEventTrigger: removing an unknown or invalid trigger ID raises", () => {
    const id = r.addSystemEventTrigger("during", "test", () => {});
    r.removeSystemEventTrigger(id);
    expect(() => r.removeSystemEventTrigger(id)).to.throw(Error);
    expect(() => r.removeSystemEventTrigger(null)).to.throw(Error);
    expect(() => r.removeSystemEventTrigger({ eventType: "nope", phase: "during", trigger: {} })).to.throw(Error);
  });

  it("test_interactionBetweenDifferentEvents: triggers of one event do not run for another", () => {
    const events: string[] = [];
    r.addSystemEventTrigger("during", "first", () => events.push("first"));
    r.addSystemEventTrigger("during", "second", () => events.push("second"));
    r.fireSystemEvent("first");
    expect(events).to.deep.equal(["first"]);
    r.fireSystemEvent("second");
    expect(events).to.deep.equal(["first", "second"]);
  });
});

describe("TimeTests", () => {
  const r = globalReactor;

  it("test_seconds: seconds() is epoch-scale and never goes back", () => {
    const a = r.seconds();
    const b = r.seconds();
    expect(Math.abs(a - Date.now() / 1000)).to.be.lessThan(60);
    expect(b).to.be.at.least(a);
  });

  it("test_callLaterUsesReactorSecondsInDelayedCall: getTime() is seconds() plus the delay", () => {
    const before = r.seconds();
    const call = r.callLater(5, () => {});
    try {
      expect(call.getTime()).to.be.at.least(before + 5);
      expect(call.getTime()).to.be.at.most(r.seconds() + 5);
    } finally {
      call.cancel();
    }
  });

  it("test_callLater: the function runs with its arguments", async () => {
    const got = await within(new Promise((resolve) => r.callLater(0.001, (a: number, b: string) => resolve([a, b]), 1, "two")), 2, "the call");
    expect(got).to.deep.equal([1, "two"]);
  });

  it("test_callLaterReset: a call reset later runs later, and one reset sooner runs sooner", async () => {
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      const a = r.callLater(0.01, () => order.push("a"));
      const b = r.callLater(0.3, () => {
        order.push("b");
        resolve();
      });
      a.reset(0.05);
      b.reset(0.02);
      expect(a.getTime()).to.be.greaterThan(b.getTime());
    });
    await within(done, 2, "b");
    await within(new Promise((res) => setTimeout(res, 60)), 2, "a");
    expect(order).to.deep.equal(["b", "a"]);
  });

  it("delay() postpones a call", async () => {
    const order: string[] = [];
    const a = r.callLater(0.005, () => order.push("a"));
    a.delay(0.03);
    await new Promise((res) => r.callLater(0.015, () => res(order.push("b"))));
    await within(new Promise((res) => setTimeout(res, 40)), 2, "a");
    expect(order).to.deep.equal(["b", "a"]);
  });

  it("test_cancelDelayedCall / test_cancelCancelledDelayedCall: a cancelled call does not run; cancelling twice raises", async () => {
    let ran = false;
    const call = r.callLater(0, () => (ran = true));
    call.cancel();
    expect(call.active()).to.equal(false);
    expect(() => call.cancel()).to.throw(AlreadyCancelled);
    await new Promise((res) => setTimeout(res, 10));
    expect(ran).to.equal(false);
  });

  it("test_cancelCalledDelayedCallSynchronous: cancelling a call from inside itself raises AlreadyCalled", async () => {
    const err = await within(
      new Promise<unknown>((resolve) => {
        const call: { cancel(): void } = r.callLater(0, (): void => {
          try {
            call.cancel();
            resolve(null);
          } catch (e) {
            resolve(e);
          }
        });
      }),
      2,
      "the call",
    );
    expect(err).to.be.instanceOf(AlreadyCalled);
  });

  it("a call that throws is logged and later calls still run", async () => {
    const logs = captureLogEvents();
    try {
      r.callLater(0, () => {
        throw new Error("timed boom");
      });
      await within(new Promise<void>((res) => r.callLater(0.005, () => res())), 2, "the next call");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["timed boom"]);
    } finally {
      logs.stop();
    }
  });
});

describe("DelayedTests", () => {
  const r = globalReactor;

  it("testGetDelayedCalls: pending calls are listed until they run or are cancelled", async () => {
    const a = r.callLater(10, () => {});
    const b = r.callLater(0, () => {});
    expect(r.getDelayedCalls()).to.include.members([a, b]);
    a.cancel();
    await new Promise((res) => setTimeout(res, 5));
    expect(r.getDelayedCalls()).to.not.include(a);
    expect(r.getDelayedCalls()).to.not.include(b);
  });

  it("test_active: active() is true until the call runs", async () => {
    const seen: boolean[] = [];
    const call: IDelayedCall = r.callLater(0, (): void => void seen.push(call.active()));
    expect(call.active()).to.equal(true);
    await new Promise((res) => setTimeout(res, 5));
    expect(seen).to.deep.equal([false]);
    expect(call.active()).to.equal(false);
  });
});

describe("CallFromThreadTests", () => {
  it("test_threadsAreRunInScheduledOrder / test_lotsOfThreadsAreScheduledCorrectly: calls run on a later turn, in order", async () => {
    const r = new NodeReactor();
    const order: number[] = [];
    for (let i = 0; i < 100; i++) r.callFromThread((n: number) => order.push(n), i);
    expect(order).to.deep.equal([]);
    await within(new Promise<void>((res) => r.callFromThread(() => res())), 2, "the calls");
    expect(order).to.deep.equal([...Array(100).keys()]);
  });
});

describe("NodeReactor run and stop", () => {
  it("stop() on a reactor that is not running raises ReactorNotRunning", () => {
    expect(() => new NodeReactor().stop()).to.throw(ReactorNotRunning);
  });

  it("run() fires startup, callWhenRunning runs once running, stop() fires shutdown, and run() settles after it", async () => {
    const r = new NodeReactor();
    const events: string[] = [];
    r.addSystemEventTrigger("before", "startup", () => events.push(`before startup running=${r.running}`));
    r.callWhenRunning(() => events.push(`callWhenRunning running=${r.running}`));
    r.addSystemEventTrigger("before", "shutdown", () => {
      events.push(`before shutdown running=${r.running}`);
      const d = new Deferred<void>();
      setTimeout(() => d.callback(undefined), 10);
      return d;
    });
    r.addSystemEventTrigger("after", "shutdown", () => events.push(`after shutdown running=${r.running}`));
    const ran = r.run();
    expect(r.running).to.equal(true);
    r.callWhenRunning(() => events.push("callWhenRunning while running"));
    r.stop();
    expect(() => r.stop()).to.throw(ReactorNotRunning);
    await within(ran, 2, "run() to settle");
    expect(events).to.deep.equal([
      "before startup running=false",
      "callWhenRunning running=true",
      "callWhenRunning while running",
      "before shutdown running=true",
      "after shutdown running=false",
    ]);
    expect(r.running).to.equal(false);
  });

  it("crash() stops at once: run() settles without the shutdown event, and the reactor cannot run again", async () => {
    const reactor = new NodeReactor();
    const seen: string[] = [];
    reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("shutdown"));
    reactor.callWhenRunning(() => {
      seen.push("running");
      reactor.crash();
    });
    await within(reactor.run(), 5, "run() to settle after crash()");
    expect(seen).to.deep.equal(["running"]);
    expect(reactor.running).to.equal(false);
    let err: unknown;
    await reactor.run().catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ReactorNotRestartable);
  });

  it("run() twice raises ReactorAlreadyRunning; after a stop, ReactorNotRestartable", async () => {
    const r = new NodeReactor();
    const ran = r.run();
    let err: unknown;
    await r.run().catch((e) => (err = e));
    expect(err).to.be.instanceOf(ReactorAlreadyRunning);
    r.stop();
    await within(ran, 2, "run() to settle");
    err = undefined;
    await r.run().catch((e) => (err = e));
    expect(err).to.be.instanceOf(ReactorNotRestartable);
  });

  it("listening ports are closed and connections lost at shutdown", async () => {
    const r = new NodeReactor();
    const lost: Failure[] = [];
    let stopped = 0;
    const factory: IProtocolFactory = {
      buildProtocol: () => ({
        makeConnection(_t: ITransport) {},
        connectionMade() {},
        dataReceived() {},
        connectionLost: (reason: Failure) => lost.push(reason),
      }),
      doStart() {},
      doStop: () => void stopped++,
    };
    const port = r.listenTCP(0, factory, { interface: "127.0.0.1" });
    const portNumber = port.getHost().port;
    const client = net.connect({ port: portNumber, host: "127.0.0.1" });
    client.on("error", () => {});
    const clientClosed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    await within(new Promise((res) => client.once("connect", res)), 2, "connect");
    await within(
      (async () => {
        while (r.openResources < 2) await tick();
      })(),
      2,
      "the server to accept",
    );
    const ran = r.run();
    r.stop();
    await within(ran, 2, "run() to settle");
    expect(stopped).to.equal(1);
    expect(lost).to.have.length(1);
    expect(lost[0].check(ConnectionLost)).to.equal(ConnectionLost);
    expect(r.openResources).to.equal(0);
    await within(clientClosed, 2, "the client to see the close");
    // the port is free again
    const again = net.createServer().listen(portNumber, "127.0.0.1");
    await within(new Promise((res, rej) => again.once("listening", res).once("error", rej)), 2, "rebinding the port");
    again.close();
  });

  const reactorModule = fileURLToPath(new URL("../../lib/internet/reactor.js", import.meta.url));
  const echoServer = fileURLToPath(new URL("../../examples/echo-server.js", import.meta.url));

  function runNode(args: string[], opts: { onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      const killer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`child did not exit within 8 s; stdout: ${stdout}; stderr: ${stderr}`));
      }, 8000);
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        opts.onStdout?.(stdout, child);
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("exit", (code) => {
        clearTimeout(killer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it("a program that never calls run() exits when its pending calls are done", async function () {
    this.timeout(10000);
    const script = `import { reactor } from ${JSON.stringify(reactorModule)};
      reactor.callLater(0.05, () => console.log("called"));`;
    const { code, stdout } = await runNode(["--input-type=module", "-e", script]);
    expect(code).to.equal(0);
    expect(stdout).to.equal("called\n");
  });

  it("after stop(), calls still pending do not keep the process alive", async function () {
    this.timeout(10000);
    const script = `import { reactor } from ${JSON.stringify(reactorModule)};
      reactor.callLater(60, () => console.log("never"));
      reactor.callWhenRunning(() => reactor.stop());
      await reactor.run();
      console.log("stopped");`;
    // runNode fails the test if the child is still alive after 8 s (the pending call is 60 s away)
    const { code, stdout } = await runNode(["--input-type=module", "-e", script]);
    expect(code).to.equal(0);
    expect(stdout).to.equal("stopped\n");
  });

  it("SIGINT stops a running reactor cleanly (examples/echo-server.js)", async function () {
    this.timeout(10000);
    let signalled = false;
    const { code, stdout } = await runNode([echoServer, "0"], {
      onStdout(text, child) {
        if (!signalled && /listening on \d+/.test(text)) {
          signalled = true;
          child.kill("SIGINT");
        }
      },
    });
    expect(stdout).to.match(/echo server listening on \d+\necho server stopped\n/);
    expect(code).to.equal(0);
  });
});
