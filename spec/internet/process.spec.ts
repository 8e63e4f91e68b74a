// Tests of lib/internet/process.ts with real children: /bin/cat,
// /bin/sh -c and this Node.js. Ports of twisted/test/test_process.py (ProcessProtocolTests,
// (ProcessTests, PosixProcessBase, ClosingPipesTests; ProcessProtocolTests are in process-protocol.spec.ts) and twisted/internet/test/test_process.py
// (ProcessTestsBuilder), by name.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  ProcessDone,
  ProcessExitedAlready,
  ProcessSpawnError,
  ProcessTerminated,
} from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes, IProcessTransport, IPushProducer, SpawnProcessOptions } from "../../lib/internet/interfaces.js";
import type { Process } from "../../lib/internet/process.js";
import { ProcessProtocol } from "../../lib/internet/process-protocol.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { later, until, within } from "../support/wait.js";

const node = process.execPath;

/** A process protocol that records everything it is told, in order (test_process.py's TestProcessProtocol). */
class Recorder extends ProcessProtocol {
  readonly events: string[] = [];
  readonly data = new Map<number, Buffer[]>();
  readonly exited = later<Failure>();
  readonly ended = later<Failure>();

  override connectionMade(): void {
    this.events.push("connectionMade");
  }
  override childDataReceived(fd: number, data: Bytes): void {
    const list = this.data.get(fd) ?? [];
    list.push(Buffer.from(data));
    this.data.set(fd, list);
    super.childDataReceived(fd, data);
  }
  override childConnectionLost(fd: number): void {
    this.events.push(`childConnectionLost(${fd})`);
    super.childConnectionLost(fd);
  }
  override processExited(reason: Failure): void {
    this.events.push("processExited");
    this.exited.resolve(reason);
  }
  override processEnded(reason: Failure): void {
    this.events.push("processEnded");
    this.ended.resolve(reason);
  }
  /** What the child wrote on `fd`, as a string. */
  text(fd = 1): string {
    return Buffer.concat(this.data.get(fd) ?? []).toString();
  }
}

describe("process", () => {
  const logs = captureLogsOfEachTest();
  let reactor: NodeReactor;
  const started: Process[] = [];

  beforeEach(() => {
    reactor = new NodeReactor();
  });

  afterEach(() => {
    // a test that failed half-way leaves no child behind
    for (const p of started.splice(0)) {
      if (p.pid !== null) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  });

  function spawn(proto: ProcessProtocol, executable: string, args: string[], options: SpawnProcessOptions = {}): Process {
    const p = reactor.spawnProcess(proto, executable, args, options);
    started.push(p);
    return p;
  }

  /** Run `program` with this Node.js, with our PATH so nothing surprising is missing. */
  function spawnNode(proto: ProcessProtocol, program: string, extra: string[] = [], options: SpawnProcessOptions = {}): Process {
    return spawn(proto, node, [node, "-e", program, ...extra], { env: null, ...options });
  }

  describe("ProcessTestsBuilder", () => {
    it("test_processTransportInterface: spawnProcess returns an IProcessTransport at once, with the child's pid", async () => {
      const p = new Recorder();
      const t: IProcessTransport = spawnNode(p, "");
      expect(t.pid).to.be.a("number").and.above(0);
      expect(p.transport).to.equal(t);
      expect(p.events).to.deep.equal(["connectionMade"]);
      expect(t.getHost()).to.deep.equal({ type: "Process" });
      expect(t.getPeer()).to.deep.equal({ type: "Process" });
      (await within(p.ended.promise, 10, "the child to end")).trap(ProcessDone);
      expect(t.pid).to.equal(null);
    });

    const echoLine = ["sh", "-c", 'read line; printf "%s\\n" "$line"'];
    const writes: Array<[string, (t: IProcessTransport, data: Buffer) => void]> = [
      ["test_write: write() sends bytes to the child's stdin", (t, d) => t.write(d)],
      ["test_writeSequence: writeSequence() sends the list to the child's stdin", (t, d) => t.writeSequence([d.subarray(0, 5), d.subarray(5)])],
      ["test_writeToChild: writeToChild(0, data) writes to the child's descriptor 0", (t, d) => t.writeToChild(0, d)],
    ];
    for (const [name, write] of writes) {
      it(name, async () => {
        const p = new Recorder();
        const t = spawn(p, "/bin/sh", echoLine);
        write(t, Buffer.from("hello, world\n"));
        await within(p.ended.promise, 10, "the child to end");
        expect(p.text()).to.equal("hello, world\n");
      });
    }

    it("test_writeToChildBadFileDescriptor: writeToChild to a descriptor with no pipe raises RangeError naming it", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sh", echoLine);
      expect(() => t.writeToChild(13, Buffer.from("x"))).to.throw(RangeError, /13/);
      expect(() => t.writeToChild(1, Buffer.from("x"))).to.throw(RangeError, /descriptor 1/); // a pipe the parent reads
      t.write(Buffer.from("done\n"));
      await within(p.ended.promise, 10, "the child to end");
    });

    it("write() of a string raises TypeError (bytes only, as Twisted)", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/cat", ["cat"]);
      expect(() => t.write("text" as unknown as Bytes)).to.throw(TypeError, /bytes/);
      t.closeStdin();
      await within(p.ended.promise, 10, "the child to end");
    });

    it("test_processExitedWithSignal: a child killed by SIGTERM: ProcessTerminated with signal 15, no exit code", async () => {
      const p = new (class extends Recorder {
        override childDataReceived(fd: number, data: Bytes): void {
          super.childDataReceived(fd, data);
          this.transport!.signalProcess("TERM");
        }
      })();
      spawnNode(p, "process.stdout.write('x'); process.stdin.resume()");
      const reason = await within(p.exited.promise, 10, "the child to exit");
      const err = reason.trap(ProcessTerminated) && (reason.value as ProcessTerminated);
      expect(err.signal).to.equal(os.constants.signals.SIGTERM);
      expect(err.exitCode).to.equal(null);
      expect(err.status).to.equal(os.constants.signals.SIGTERM);
      expect(err.message).to.equal("process ended by signal 15");
      await within(p.ended.promise, 10, "the child to end");
    });

    it("test_errorDuringExec: a missing executable ends the protocol with ProcessSpawnError (a ProcessTerminated), no unhandled 'error'", async () => {
      const p = new Recorder();
      const t = spawn(p, "/no/such/program", ["program"]);
      expect(p.events).to.deep.equal(["connectionMade"]);
      expect(t.pid).to.equal(null);
      const reason = await within(p.ended.promise, 10, "processEnded");
      expect(reason.check(ProcessTerminated)).to.equal(ProcessTerminated);
      const err = reason.value as ProcessSpawnError;
      expect(err).to.be.instanceOf(ProcessSpawnError);
      expect(err.errno).to.equal("ENOENT");
      expect(err.exitCode).to.equal(null);
      expect(err.message).to.contain("/no/such/program").and.contain("ENOENT");
      expect(p.events[0]).to.equal("connectionMade");
      expect(p.events.slice(-1)).to.deep.equal(["processEnded"]);
      expect(p.events.filter((e) => e.startsWith("childConnectionLost")).sort()).to.deep.equal([
        "childConnectionLost(0)",
        "childConnectionLost(1)",
        "childConnectionLost(2)",
      ]);
      expect(() => t.signalProcess("TERM")).to.throw(ProcessExitedAlready);
    });

    it("test_errorDuringExec: a file that is not executable: ProcessSpawnError EACCES; a missing working directory names it", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-process-"));
      const file = path.join(dir, "not-executable");
      fs.writeFileSync(file, "echo never\n", { mode: 0o644 });
      const p = new Recorder();
      try {
        spawn(p, file, ["not-executable"]);
        const err = (await within(p.ended.promise, 10, "processEnded")).value as ProcessSpawnError;
        expect(err.errno).to.equal("EACCES");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const q = new Recorder();
      spawn(q, "/bin/cat", ["cat"], { path: "/no/such/dir" });
      const err2 = (await within(q.ended.promise, 10, "processEnded")).value as ProcessSpawnError;
      expect(err2).to.be.instanceOf(ProcessSpawnError);
      expect(err2.message).to.contain("/no/such/dir");
    });

    it("bad arguments raise at once, naming the value", () => {
      const p = new Recorder();
      expect(() => reactor.spawnProcess(p, "", [])).to.throw(TypeError, /executable/);
      expect(() => reactor.spawnProcess(p, "/bin/cat", [1 as unknown as string])).to.throw(TypeError, /number/);
      expect(() => reactor.spawnProcess(p, "/bin/cat", ["cat"], { env: { A: 1 as unknown as string } })).to.throw(TypeError, /env\["A"\]/);
      expect(() => reactor.spawnProcess(p, "/bin/cat", ["cat"], { childFDs: { 0: "x" as "r" } })).to.throw(TypeError, /childFDs\[0\]/);
      expect(() => reactor.spawnProcess(p, "/bin/cat", ["cat"], { uid: -1 })).to.throw(RangeError, /-1/);
      expect(() => reactor.spawnProcess(p, "/bin/cat", ["cat"], { atShutdown: "never" as "leave" })).to.throw(RangeError, /never/);
      expect(p.events).to.deep.equal([]);
    });

    it("test_childConnectionLost: closeStdin() is childConnectionLost(0); stdout and stderr follow when the child exits", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/cat", ["cat"]);
      const lost0 = later();
      const orig = p.inConnectionLost.bind(p);
      p.inConnectionLost = () => {
        orig();
        lost0.resolve();
      };
      t.closeStdin();
      await within(lost0.promise, 10, "childConnectionLost(0)");
      await within(p.ended.promise, 10, "the child to end");
      // cat may exit (processExited) before Node reports the closed pipe: only the set and the last call are sure
      expect(p.events.filter((e) => e.startsWith("childConnectionLost")).sort()).to.deep.equal([
        "childConnectionLost(0)",
        "childConnectionLost(1)",
        "childConnectionLost(2)",
      ]);
      expect(p.events.at(-1)).to.equal("processEnded");
    });

    it("test_processEnded: processEnded comes last, once the child has exited and every pipe is closed, with ProcessDone", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sh", ["sh", "-c", "echo out; echo err >&2"]);
      const reason = await within(p.ended.promise, 10, "the child to end");
      reason.trap(ProcessDone);
      expect((reason.value as ProcessDone).exitCode).to.equal(0);
      expect(p.events.at(-1)).to.equal("processEnded");
      expect(p.events.filter((e) => e === "processExited")).to.have.length(1);
      expect(t.pipes.size).to.equal(0);
      expect(p.text(1)).to.equal("out\n");
      expect(p.text(2)).to.equal("err\n");
    });

    it("test_processExited: processExited comes while a grandchild still holds the pipes; processEnded once it is gone", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "sleep 30 & echo $!; exit 0"]);
      await within(p.exited.promise, 10, "the child to exit");
      await until(() => /\d+\n/.test(p.text()), 10, "the grandchild's pid");
      expect(p.events).to.not.include("processEnded");
      expect(p.events).to.not.include("childConnectionLost(1)");
      process.kill(Number(p.text().trim()), "SIGKILL"); // the grandchild we started
      (await within(p.ended.promise, 10, "processEnded")).trap(ProcessDone);
      expect(p.events.indexOf("processExited")).to.be.below(p.events.indexOf("childConnectionLost(1)"));
    });

    it("test_shebang: a script with #! runs through its interpreter", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-process-"));
      try {
        const script = path.join(dir, "script");
        fs.writeFileSync(script, "#!/bin/sh\necho shebang works\n", { mode: 0o755 });
        const p = new Recorder();
        spawn(p, script, [script]);
        (await within(p.ended.promise, 10, "the script to end")).trap(ProcessDone);
        expect(p.text()).to.equal("shebang works\n");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("test_pauseAndResumeProducing: nothing is delivered while paused; everything once resumed", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/cat", ["cat"]);
      t.pauseProducing();
      t.write(Buffer.from("while paused\n"));
      t.closeStdin();
      await within(p.exited.promise, 10, "cat to exit");
      // cat has written and exited; Node even resumes the pipes of an exited child itself
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(p.text()).to.equal("");
      expect(p.events).to.not.include("processEnded");
      t.resumeProducing();
      await within(p.ended.promise, 10, "processEnded");
      expect(p.text()).to.equal("while paused\n");
    });

    it("test_processCommandLineArguments: arguments reach the child verbatim, args[0] is its argv[0]", async () => {
      const args = ["an argv0", "", "with space", "quote'd \"too\"", "back\\slash", "$HOME", "*", "é ünïcode", "-e"];
      const p = new Recorder();
      spawn(p, node, [args[0]!, "-e", "process.stdout.write(JSON.stringify([process.argv0, ...process.argv.slice(1)]))", ...args.slice(1)], { env: null });
      await within(p.ended.promise, 10, "the child to end");
      expect(JSON.parse(p.text())).to.deep.equal(args);
    });

    it("test_openFileDescriptors: childFDs maps descriptor 3 to a pipe the parent reads, 0 to one of ours", async () => {
      const p = new Recorder();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-process-"));
      const file = path.join(dir, "input");
      fs.writeFileSync(file, "from a file\n");
      const fd = fs.openSync(file, "r");
      try {
        spawn(p, "/bin/sh", ["sh", "-c", "cat >&3; echo out"], { childFDs: { 0: fd, 1: "r", 3: "r" } });
        (await within(p.ended.promise, 10, "the child to end")).trap(ProcessDone);
        expect(p.text(3)).to.equal("from a file\n");
        expect(p.text(1)).to.equal("out\n");
        expect(p.events).to.include("childConnectionLost(3)");
        expect(p.events).to.not.include("childConnectionLost(0)"); // descriptor 0 was ours, not a pipe
      } finally {
        fs.closeSync(fd);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("test_spawnProcessEarlyIsReaped: a child with no pipes, started before run(), still ends", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "exit 3"], { childFDs: {} });
      const reason = await within(p.ended.promise, 10, "the child to end");
      expect((reason.value as ProcessTerminated).exitCode).to.equal(3);
      expect(p.events).to.deep.equal(["connectionMade", "processExited", "processEnded"]);
    });

    it("an exception in childDataReceived is logged and closes that pipe only; the child goes on", async () => {
      const p = new (class extends Recorder {
        override childDataReceived(fd: number, data: Bytes): void {
          super.childDataReceived(fd, data);
          if (fd === 2) throw new Error("stderr handler is broken");
        }
      })();
      const t = spawn(p, "/bin/sh", ["sh", "-c", "echo oops >&2; read x; echo still here"]);
      await until(() => p.events.includes("childConnectionLost(2)"), 10, "stderr to be closed");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.include("stderr handler is broken");
      t.write(Buffer.from("\n"));
      (await within(p.ended.promise, 10, "the child to end")).trap(ProcessDone);
      expect(p.text(1)).to.equal("still here\n");
    });

    it("test_changeUID / test_changeGID: uid and gid run the child as that user and group (as root)", async function () {
      if (process.getuid?.() !== 0) {
        console.log("      (skipped: changing the child's user needs root)");
        this.skip();
      }
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "id -u; id -g"], { uid: 65534, gid: 65534, env: { PATH: "/usr/bin:/bin" } });
      (await within(p.ended.promise, 10, "the child to end")).trap(ProcessDone);
      expect(p.text()).to.equal("65534\n65534\n");
    });

    it("test_processExitedRaises: a processExited that raises is logged; processEnded still comes", async () => {
      const p = new (class extends Recorder {
        override processExited(reason: Failure): void {
          super.processExited(reason);
          throw new Error("processExited is broken");
        }
      })();
      spawn(p, "/bin/sh", ["sh", "-c", "exit 0"]);
      await within(p.ended.promise, 10, "processEnded");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.include("processExited is broken");
    });
  });

  describe("environment", () => {
    const printEnv = ["sh", "-c", "env"];

    it("env omitted: the child's environment is empty, as Twisted's on POSIX (Node's default would inherit)", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", printEnv);
      await within(p.ended.promise, 10, "the child to end");
      const names = p.text().split("\n").filter(Boolean).map((l) => l.split("=")[0]);
      // a shell sets PWD (and maybe SHLVL, _) itself; Node always passes NODE_V8_COVERAGE on
      // when it is set (under c8); nothing else of ours comes through
      expect(names.filter((n) => !["PWD", "SHLVL", "_", "OLDPWD", "NODE_V8_COVERAGE"].includes(n!))).to.deep.equal([]);
    });

    it("env given: it is the whole environment", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", printEnv, { env: { TORSION_A: "one", TORSION_B: "two=2 and spaces" } });
      await within(p.ended.promise, 10, "the child to end");
      expect(p.text()).to.contain("TORSION_A=one\n").and.contain("TORSION_B=two=2 and spaces\n");
      expect(p.text()).to.not.contain("HOME=");
    });

    it("env null: this process's environment is passed on (Twisted's env=None)", async () => {
      process.env.TORSION_SPEC_MARK = "inherited";
      try {
        const p = new Recorder();
        spawn(p, "/bin/sh", printEnv, { env: null });
        await within(p.ended.promise, 10, "the child to end");
        expect(p.text()).to.contain("TORSION_SPEC_MARK=inherited\n");
      } finally {
        delete process.env.TORSION_SPEC_MARK;
      }
    });

    it("path: the child runs in that working directory", async () => {
      const p = new Recorder();
      const dir = fs.realpathSync(os.tmpdir());
      spawn(p, "/bin/sh", ["sh", "-c", "pwd"], { path: dir });
      await within(p.ended.promise, 10, "the child to end");
      expect(p.text()).to.equal(`${dir}\n`);
    });
  });

  describe("ProcessTests", () => {
    it("test_process: stdout, stderr and the exit code of a child", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "echo abcd; echo 1234 >&2; exit 23"]);
      const reason = await within(p.ended.promise, 10, "the child to end");
      const err = reason.value as ProcessTerminated;
      expect(err).to.be.instanceOf(ProcessTerminated);
      expect([err.exitCode, err.signal, err.status]).to.deep.equal([23, null, 23 << 8]);
      expect(err.message).to.equal("process ended with exit code 23");
      expect([p.text(1), p.text(2)]).to.deep.equal(["abcd\n", "1234\n"]);
    });

    it("test_manyProcesses: eight children at once each end with their own output", async () => {
      const ps = Array.from({ length: 8 }, () => new Recorder());
      ps.forEach((p, i) => spawn(p, "/bin/sh", ["sh", "-c", `echo child ${i}`]));
      await within(Promise.all(ps.map((p) => p.ended.promise)), 20, "every child to end");
      expect(ps.map((p) => p.text())).to.deep.equal(ps.map((_, i) => `child ${i}\n`));
    });

    it("test_echo: 4 MiB through /bin/cat come back intact", async () => {
      const data = Buffer.alloc(4 << 20);
      for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
      const p = new Recorder();
      const t = spawn(p, "/bin/cat", ["cat"]);
      t.write(data);
      t.closeStdin();
      (await within(p.ended.promise, 20, "cat to end")).trap(ProcessDone);
      expect(Buffer.concat(p.data.get(1)!).equals(data)).to.equal(true);
    });
  });

  describe("PosixProcessBase", () => {
    it("test_normalTermination: exit status 0 is ProcessDone", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "true"]);
      const reason = await within(p.ended.promise, 10, "the child to end");
      expect(reason.value).to.be.instanceOf(ProcessDone);
      expect((reason.value as ProcessDone).status).to.equal(0);
    });

    it("test_abnormalTermination: exit status 1 is ProcessTerminated(exitCode 1)", async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "false"]);
      const err = (await within(p.ended.promise, 10, "the child to end")).value as ProcessTerminated;
      expect(err).to.be.instanceOf(ProcessTerminated);
      expect(err.exitCode).to.equal(1);
      expect(err.signal).to.equal(null);
    });

    for (const name of ["HUP", "INT", "KILL", "TERM"] as const) {
      it(`test_signal${name}: signalProcess("${name}") ends the child with ProcessTerminated(signal ${name})`, async () => {
        const p = new Recorder();
        const t = spawn(p, "/bin/sleep", ["sleep", "30"]);
        t.signalProcess(name);
        const err = (await within(p.ended.promise, 10, "the child to end")).value as ProcessTerminated;
        expect(err).to.be.instanceOf(ProcessTerminated);
        expect(err.signal).to.equal(os.constants.signals[`SIG${name}`]);
        expect(err.exitCode).to.equal(null);
      });
    }

    it("signalProcess takes a number too, and rejects an unknown name naming it", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sleep", ["sleep", "30"]);
      expect(() => t.signalProcess("NOPE" as "TERM")).to.throw(RangeError, /NOPE/);
      t.signalProcess(9);
      const err = (await within(p.ended.promise, 10, "the child to end")).value as ProcessTerminated;
      expect(err.signal).to.equal(9);
    });

    it("test_killExited: signalProcess on a child that has exited raises ProcessExitedAlready", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sh", ["sh", "-c", "exit 0"]);
      await within(p.exited.promise, 10, "the child to exit");
      expect(() => t.signalProcess("TERM")).to.throw(ProcessExitedAlready);
      expect(() => t.signalProcess("KILL")).to.throw(ProcessExitedAlready);
    });

    it("test_errorInProcessEnded: a processEnded that raises is logged, the reactor goes on", async () => {
      const raised = later();
      const p = new (class extends Recorder {
        override processEnded(reason: Failure): void {
          super.processEnded(reason);
          raised.resolve();
          throw new Error("processEnded is broken");
        }
      })();
      spawn(p, "/bin/sh", ["sh", "-c", "exit 0"]);
      await within(raised.promise, 10, "processEnded");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.include("processEnded is broken");
      const q = new Recorder();
      spawn(q, "/bin/sh", ["sh", "-c", "exit 0"]);
      (await within(q.ended.promise, 10, "the next child")).trap(ProcessDone);
    });
  });

  describe("ClosingPipesTests", () => {
    it("test_stdout: a child whose stdout the parent closed gets EPIPE when it writes", async () => {
      const p = new Recorder();
      const t = spawnNode(
        p,
        "process.stdin.once('data', () => { process.stdout.on('error', (e) => { process.stderr.write(e.code); process.exit(7) }); process.stdout.write('x'.repeat(1 << 16)) })",
      );
      t.closeStdout();
      await until(() => p.events.includes("childConnectionLost(1)"), 10, "stdout to be closed");
      t.write(Buffer.from("go\n"));
      const err = (await within(p.ended.promise, 10, "the child to end")).value as ProcessTerminated;
      expect(err.exitCode).to.equal(7);
      expect(p.text(2)).to.equal("EPIPE");
    });

    it("a child that closes its stdout early but keeps running: outConnectionLost while it runs, processEnded when it exits", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sh", ["sh", "-c", "echo before; exec 1>&-; echo still running >&2; read x; exit 4"]);
      await until(() => p.events.includes("childConnectionLost(1)") && p.text(2) === "still running\n", 10, "stdout closed by the child");
      expect(p.events).to.not.include("processExited");
      expect(t.pid).to.be.a("number");
      expect(p.text(1)).to.equal("before\n");
      t.write(Buffer.from("\n"));
      const err = (await within(p.ended.promise, 10, "the child to end")).value as ProcessTerminated;
      expect(err.exitCode).to.equal(4);
    });
  });

  describe("back-pressure", () => {
    it("a child that never reads its stdin pauses the stdin producer; its end stops the producer", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sleep", ["sleep", "30"]);
      const events: string[] = [];
      const paused = later();
      let running = true;
      const producer: IPushProducer = {
        pauseProducing: () => {
          running = false;
          events.push("pause");
          paused.resolve();
        },
        resumeProducing: () => {
          running = true;
          events.push("resume");
        },
        stopProducing: () => {
          running = false;
          events.push("stop");
        },
      };
      t.registerProducer(producer, true);
      let written = 0;
      const chunk = Buffer.alloc(16 << 10);
      // a pipe holds 64 KiB on Linux: the producer must be paused long before 16 MiB
      while (running && written < 16 << 20) {
        t.write(chunk);
        written += chunk.length;
      }
      await within(paused.promise, 5, "the producer to be paused");
      expect(written).to.be.below(1 << 20);
      t.signalProcess("KILL");
      await within(p.ended.promise, 10, "the child to end");
      expect(events).to.deep.equal(["pause", "stop"]);
    });

    it("a pull producer on stdin is asked for a chunk each time the pipe takes the last one", async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/cat", ["cat"]);
      let chunks = 0;
      t.registerProducer(
        {
          resumeProducing: () => {
            if (++chunks > 20) {
              t.unregisterProducer();
              t.closeStdin();
              return;
            }
            t.write(Buffer.from(`chunk ${chunks}\n`));
          },
          stopProducing: () => {},
        },
        false,
      );
      await within(p.ended.promise, 10, "cat to end");
      expect(p.text().split("\n").filter(Boolean)).to.have.length(20);
    });

    it("256 MiB (bench/process does 1 GiB) through /bin/cat with a consumer that pauses keeps RSS within 64 MiB of idle (in a child process)", function () {
      this.timeout(60_000);
      const fixture = fileURLToPath(new URL("../fixtures/process-flood.js", import.meta.url));
      // a GC every 8 MiB: the bound is then about what the transfer holds, not when V8 frees the
      // buffers Node read into (bench/process shows both)
      const run = spawnSync(node, ["--expose-gc", fixture, "256", "64", "8"], { encoding: "utf8", timeout: 50_000 });
      expect(run.status, run.stderr).to.equal(0);
      const r = JSON.parse(run.stdout) as { received: number; idle: number; peak: number; pauses: number };
      expect(r.received).to.equal(256 << 20);
      expect(r.pauses).to.be.above(100);
      expect(r.peak - r.idle).to.be.below(64 << 20);
    });
  });

  describe("reactor shutdown", () => {
    it('atShutdown "leave" (the default, as Twisted): the pipes are closed, the child left running and logged', async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/sleep", ["sleep", "30"]);
      const pid = t.pid!;
      const run = reactor.run();
      reactor.callWhenRunning(() => reactor.stop());
      await within(run, 10, "the reactor to stop");
      await until(() => p.events.filter((e) => e.startsWith("childConnectionLost")).length === 3, 10, "the three pipes to be closed");
      expect(() => process.kill(pid, 0)).to.not.throw(); // still running
      expect(logs.messages().join("\n")).to.contain(`leaving child process ${pid}`);
      process.kill(pid, "SIGKILL");
      await within(p.ended.promise, 10, "the child to end");
    });

    it('atShutdown "terminate": SIGTERM, and shutdown waits for the child to exit', async () => {
      const p = new Recorder();
      spawn(p, "/bin/sleep", ["sleep", "30"], { atShutdown: "terminate" });
      const run = reactor.run();
      reactor.callWhenRunning(() => reactor.stop());
      await within(run, 10, "the reactor to stop");
      expect(p.events).to.include("processExited");
      const err = (await within(p.exited.promise, 1, "processExited")).value as ProcessTerminated;
      expect(err.signal).to.equal(os.constants.signals.SIGTERM);
    });

    it('atShutdown "terminate": a child that ignores SIGTERM is killed after killAfter seconds', async () => {
      const p = new Recorder();
      spawn(p, "/bin/sh", ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"], { atShutdown: "terminate", killAfter: 0.2 });
      await until(() => p.text() === "ready\n", 10, "the child to install its trap");
      const run = reactor.run();
      reactor.callWhenRunning(() => reactor.stop());
      await within(run, 10, "the reactor to stop");
      const err = (await within(p.exited.promise, 1, "processExited")).value as ProcessTerminated;
      expect(err.signal).to.equal(os.constants.signals.SIGKILL);
    });

    it('atShutdown "wait": shutdown waits for the child to exit by itself', async () => {
      const p = new Recorder();
      const t = spawn(p, "/bin/cat", ["cat"], { atShutdown: "wait" });
      const run = reactor.run();
      reactor.callWhenRunning(() => {
        reactor.stop();
        reactor.callLater(0.05, () => t.closeStdin()); // cat exits on EOF
      });
      await within(run, 10, "the reactor to stop");
      expect(p.events).to.include("processExited");
    });
  });
});
