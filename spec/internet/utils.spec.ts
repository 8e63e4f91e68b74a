// Tests of lib/internet/utils.ts with real children. Ports of twisted/test/test_iutils.py's
// ProcessUtilsTests, by name.

import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import { ProcessOutputAndSignal, ProcessSpawnError, UnexpectedErrorOutput } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { getProcessOutput, getProcessOutputAndValue, getProcessValue } from "../../lib/internet/utils.js";
import { within } from "../support/wait.js";

const node = process.execPath;

/** The Failure a Deferred fails with (the spec fails if it succeeds). */
async function failureOf(d: PromiseLike<unknown>): Promise<Failure> {
  try {
    await within(d, 10, "the Deferred to fire");
  } catch (err) {
    return Failure.from(err);
  }
  throw new Error("the Deferred succeeded");
}

describe("ProcessUtilsTests", () => {
  it("test_output: getProcessOutput fires with what the child wrote on stdout", async () => {
    const out = await within(getProcessOutput("/bin/sh", ["-c", "printf hello; printf ' world'"]), 10, "the output");
    expect(out.toString()).to.equal("hello world");
  });

  it("test_outputWithErrorIgnored: output on stderr errbacks with UnexpectedErrorOutput, whose processEnded fires later", async () => {
    const f = await failureOf(getProcessOutput("/bin/sh", ["-c", "echo some output; echo error >&2; exec cat"]));
    const err = f.value as UnexpectedErrorOutput;
    expect(err).to.be.instanceOf(UnexpectedErrorOutput);
    expect(err.message).to.contain("error");
    // the pipes were closed, so cat sees EOF and the child ends
    const ended = await failureOf(err.processEnded);
    expect(ended.value.constructor.name).to.be.oneOf(["ProcessDone", "ProcessTerminated"]);
  });

  it("test_outputWithErrorCollected: with errortoo, stderr is part of the output", async () => {
    const out = await within(getProcessOutput("/bin/sh", ["-c", "printf foo; printf bar >&2"], { errortoo: true }), 10, "the output");
    expect(out.toString().split("").sort().join("")).to.equal("abfoor".split("").sort().join(""));
  });

  it("test_value: getProcessValue fires with the exit code", async () => {
    expect(await within(getProcessValue("/bin/sh", ["-c", "exit 1"]), 10, "the value")).to.equal(1);
    expect(await within(getProcessValue("/bin/sh", ["-c", "exit 0"]), 10, "the value")).to.equal(0);
  });

  it("test_outputAndValue: getProcessOutputAndValue fires with [out, err, code]", async () => {
    const [out, err, code] = await within(getProcessOutputAndValue("/bin/sh", ["-c", "printf hello; printf goodbye >&2; exit 1"]), 10, "the result");
    expect([out.toString(), err.toString(), code]).to.deep.equal(["hello", "goodbye", 1]);
  });

  it("test_outputSignal: a child killed by a signal errbacks with ProcessOutputAndSignal (out, err, signal)", async () => {
    const f = await failureOf(getProcessOutputAndValue("/bin/sh", ["-c", "printf 'stdout bytes'; printf 'stderr bytes' >&2; kill -TERM $$"]));
    const e = f.value as ProcessOutputAndSignal;
    expect(e).to.be.instanceOf(ProcessOutputAndSignal);
    expect([e.out.toString(), e.err.toString(), e.signal]).to.deep.equal(["stdout bytes", "stderr bytes", os.constants.signals.SIGTERM]);
  });

  it("test_getProcessOutputPath / test_getProcessValuePath / test_getProcessOutputAndValuePath: path is the working directory", async () => {
    const dir = fs.realpathSync(os.tmpdir());
    expect((await within(getProcessOutput("/bin/sh", ["-c", "pwd"], { path: dir }), 10, "pwd")).toString()).to.equal(`${dir}\n`);
    expect(await within(getProcessValue("/bin/sh", ["-c", `test "$(pwd)" = "${dir}"`], { path: dir }), 10, "the value")).to.equal(0);
    const [out] = await within(getProcessOutputAndValue("/bin/sh", ["-c", "pwd"], { path: dir }), 10, "pwd");
    expect(out.toString()).to.equal(`${dir}\n`);
  });

  it("test_getProcessOutputDefaultPath: without path the child runs in this process's directory", async () => {
    expect((await within(getProcessOutput("/bin/sh", ["-c", "pwd"]), 10, "pwd")).toString()).to.equal(`${fs.realpathSync(process.cwd())}\n`);
  });

  it("test_get_processOutputAndValueStdin: stdinBytes is written to the child's stdin, which is then closed", async () => {
    const [out, , code] = await within(getProcessOutputAndValue("/bin/cat", [], { stdinBytes: Buffer.from("from stdin") }), 10, "cat");
    expect([out.toString(), code]).to.deep.equal(["from stdin", 0]);
  });

  it("env: empty by default, as Twisted; given, it is the whole environment", async () => {
    expect((await within(getProcessOutput(node, ["-e", "process.stdout.write(String(process.env.HOME))"]), 10, "env")).toString()).to.equal("undefined");
    expect((await within(getProcessOutput(node, ["-e", "process.stdout.write(process.env.X)"], { env: { X: "set" } }), 10, "env")).toString()).to.equal("set");
  });

  it("a missing executable errbacks all three with ProcessSpawnError", async () => {
    for (const d of [getProcessOutput("/no/such"), getProcessValue("/no/such"), getProcessOutputAndValue("/no/such")]) {
      const f = await failureOf(d);
      expect(f.value).to.be.instanceOf(ProcessSpawnError);
      expect(f.getErrorMessage()).to.contain("/no/such");
    }
  });
});
