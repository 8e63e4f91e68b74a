// react(main): twisted.internet.task.react's tests (ReactTests, ReactCoroutineFunctionTests),
// over Twisted's own fake reactor, and the real global reactor in a child process.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Deferred, fail, succeed } from "../../lib/internet/defer.js";
import { ReactorNotRunning, SystemExit } from "../../lib/internet/error.js";
import type { SystemEventPhase } from "../../lib/internet/interfaces.js";
import { Clock } from "../../lib/internet/task.js";
import { react } from "../../lib/internet/react.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { within } from "../support/wait.js";

type Call = [(...args: any[]) => unknown, unknown[]];

/**
 * Twisted's _FakeReactor: time is a Clock; run() runs the startup calls, then advances the
 * clock to each next call until stop(), then runs the shutdown triggers. Between steps it lets
 * Promise callbacks run, so an async main can finish.
 */
class FakeReactor {
  private running = false;
  private readonly clock = new Clock();
  private whenRunning: Call[] | null = [];
  private shutdownTriggers: { before: Call[]; during: Call[] } | null = { before: [], during: [] };

  seconds(): number {
    return this.clock.seconds();
  }

  callLater<A extends unknown[]>(delay: number, f: (...args: A) => unknown, ...args: A) {
    return this.clock.callLater(delay, f, ...args);
  }

  callWhenRunning<A extends unknown[]>(f: (...args: A) => unknown, ...args: A): undefined {
    if (this.whenRunning === null) f(...args);
    else this.whenRunning.push([f, args]);
    return undefined;
  }

  addSystemEventTrigger<A extends unknown[]>(phase: SystemEventPhase, event: string, f: (...args: A) => unknown, ...args: A): never {
    expect(event).to.equal("shutdown");
    expect(phase === "before" || phase === "during").to.equal(true);
    this.shutdownTriggers![phase as "before" | "during"].push([f, args]);
    return undefined as never;
  }

  async run(): Promise<void> {
    this.running = true;
    const whenRunning = this.whenRunning!;
    this.whenRunning = null;
    for (const [f, args] of whenRunning) f(...args);
    await settle();
    while (this.running) {
      const calls = this.clock.getDelayedCalls();
      if (calls.length === 0) throw new Error("Nothing left to do");
      this.clock.advance(calls[0].getTime() - this.clock.seconds());
      await settle();
    }
    const triggers = this.shutdownTriggers!;
    this.shutdownTriggers = null;
    for (const [f, args] of [...triggers.before, ...triggers.during]) f(...args);
    await settle();
  }

  stop(): void {
    if (!this.running) throw new ReactorNotRunning();
    this.running = false;
  }
}

/** Let queued Promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

class ExpectedException extends Error {}

describe("ReactTests", () => {
  const logs = captureLogsOfEachTest();
  let savedExitCode: typeof process.exitCode;
  beforeEach(() => {
    savedExitCode = process.exitCode;
  });
  afterEach(() => {
    process.exitCode = savedExitCode;
  });

  /** The exit status react gives, which it also sets as process.exitCode. */
  async function exitCode(main: (r: FakeReactor, ...argv: any[]) => unknown, r: FakeReactor, argv: unknown[] = []): Promise<number> {
    const code = await within(react(main as never, argv, r), 5, "react to return");
    expect(process.exitCode).to.equal(code);
    return code;
  }

  function loggedErrors(type: new (...args: any[]) => Error): number {
    return logs.failures().filter((f) => f.value instanceof type).length;
  }

  // The same tests with a main that returns a Deferred and with an async function, as Twisted
  // has ReactTests and ReactCoroutineFunctionTests.
  for (const [flavour, wrap] of [
    ["a Deferred", <T>(d: () => Deferred<T>) => d],
    ["a Promise (an async function)", <T>(d: () => Deferred<T>) => async () => await d()],
  ] as const) {
    describe(`main returning ${flavour}`, () => {
      it("test_runsUntilAsyncCallback: runs the reactor until main's result is called back, then stops it", async () => {
        const timePassed: boolean[] = [];
        const r = new FakeReactor();
        const main = (reactor: FakeReactor) =>
          wrap(() => {
            const finished = new Deferred<void>();
            reactor.callLater(1, () => timePassed.push(true));
            reactor.callLater(2, () => finished.callback(undefined));
            return finished;
          })();
        expect(await exitCode(main, r)).to.equal(0);
        expect(timePassed).to.deep.equal([true]);
        expect(r.seconds()).to.equal(2);
      });

      it("test_runsUntilSyncCallback: returns at once when main's result has already fired", async () => {
        const r = new FakeReactor();
        expect(await exitCode(() => wrap(() => succeed(undefined))(), r)).to.equal(0);
        expect(r.seconds()).to.equal(0);
      });

      it("test_runsUntilAsyncErrback: an errback stops the reactor, logs the error and exits 1", async () => {
        const r = new FakeReactor();
        const main = (reactor: FakeReactor) =>
          wrap(() => {
            const finished = new Deferred<void>();
            reactor.callLater(1, () => finished.errback(new ExpectedException()));
            return finished;
          })();
        expect(await exitCode(main, r)).to.equal(1);
        expect(loggedErrors(ExpectedException)).to.equal(1);
      });

      it("test_runsUntilSyncErrback: a result that already failed exits 1 at once, logged", async () => {
        const r = new FakeReactor();
        expect(await exitCode(() => wrap(() => fail(new ExpectedException()))(), r)).to.equal(1);
        expect(r.seconds()).to.equal(0);
        expect(loggedErrors(ExpectedException)).to.equal(1);
      });

      it("test_singleStopCallback: does not stop a reactor already stopped when main's result fires", async () => {
        const r = new FakeReactor();
        const main = (reactor: FakeReactor) =>
          wrap(() => {
            reactor.callLater(1, () => reactor.stop());
            const finished = new Deferred<void>();
            reactor.addSystemEventTrigger("during", "shutdown", () => finished.callback(undefined));
            return finished;
          })();
        expect(await exitCode(main, r)).to.equal(0);
        expect(r.seconds()).to.equal(1);
      });

      it("test_singleStopErrback: the same when main's result fails during shutdown: exit 1, logged", async () => {
        const r = new FakeReactor();
        const main = (reactor: FakeReactor) =>
          wrap(() => {
            reactor.callLater(1, () => reactor.stop());
            const finished = new Deferred<void>();
            reactor.addSystemEventTrigger("during", "shutdown", () => finished.errback(new ExpectedException()));
            return finished;
          })();
        expect(await exitCode(main, r)).to.equal(1);
        expect(r.seconds()).to.equal(1);
        expect(loggedErrors(ExpectedException)).to.equal(1);
      });

      it("test_arguments: passes argv's elements to main after the reactor", async () => {
        const args: unknown[] = [];
        const main = (_r: FakeReactor, x: number, y: number, z: number) =>
          wrap(() => {
            args.push(x, y, z);
            return succeed(undefined);
          })();
        expect(await exitCode(main, new FakeReactor(), [1, 2, 3])).to.equal(0);
        expect(args).to.deep.equal([1, 2, 3]);
      });

      it("test_exitWithDefinedCode: a SystemExit failure gives its code", async () => {
        expect(await exitCode(() => wrap(() => fail(new SystemExit(23)))(), new FakeReactor())).to.equal(23);
        expect(logs.failures()).to.deep.equal([]);
      });

      it("test_synchronousStop: the reactor stopped just before main's result fires", async () => {
        const main = (reactor: FakeReactor) =>
          wrap(() => {
            const d = new Deferred<void>();
            reactor.callWhenRunning(() => {
              reactor.stop();
              d.callback(undefined);
            });
            return d;
          })();
        expect(await exitCode(main, new FakeReactor())).to.equal(0);
      });

      it("test_asynchronousStop: the reactor stopped while main's result never fires", async () => {
        const main = (reactor: FakeReactor) =>
          wrap(() => {
            reactor.callLater(1, () => reactor.stop());
            return new Deferred<void>();
          })();
        expect(await exitCode(main, new FakeReactor())).to.equal(0);
      });
    });
  }

  it("a main that throws at once is a failure like any other: logged, exit 1", async () => {
    const main = () => {
      throw new ExpectedException("at once");
    };
    expect(await exitCode(main, new FakeReactor())).to.equal(1);
    expect(loggedErrors(ExpectedException)).to.equal(1);
  });

  it("a main that returns a plain value succeeds: exit 0", async () => {
    expect(await exitCode(() => "done", new FakeReactor())).to.equal(0);
  });
});

describe("react with the global reactor (in a child process)", () => {
  const node = process.execPath;
  const task = new URL("../../lib/internet/task.js", import.meta.url).href;

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return within(
      new Promise((resolve, reject) => {
        const child = spawn(node, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
        child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      }),
      20,
      `node ${args.join(" ")}`,
    );
  }

  it("test_defaultReactor: runs the global reactor; examples/scheduling and examples/deferreds end with status 0", async () => {
    for (const example of ["scheduling", "deferreds"]) {
      const { code, stdout } = await run([fileURLToPath(new URL(`../../examples/${example}.js`, import.meta.url))]);
      expect(code, `${example}: ${stdout}`).to.equal(0);
      expect(stdout).to.match(example === "scheduling" ? /deferLater: 2 \+ 3 = 5/ : /Promise from a callback: later/);
    }
  });

  it("a failing main ends the process with status 1 and the error logged; SystemExit with its code", async () => {
    const failing = await run([
      "--input-type=module",
      "-e",
      `import { react } from ${JSON.stringify(task)}; await react(async (reactor) => { await new Promise((r) => reactor.callLater(0.01, r)); throw new Error("boom in main"); });`,
    ]);
    expect(failing.code).to.equal(1);
    expect(failing.stderr).to.contain("main function encountered error").and.to.contain("boom in main");
    const exiting = await run([
      "--input-type=module",
      "-e",
      `import { react } from ${JSON.stringify(task)}; import { SystemExit } from ${JSON.stringify(task.replace("task.js", "error.js"))}; await react(() => { throw new SystemExit(3); });`,
    ]);
    expect([exiting.code, exiting.stderr]).to.deep.equal([3, ""]);
  });
});
