// Tests of lib/internet/stdio.ts: StandardIO in a child Node.js (spec/fixtures/stdio-program.ts)
// driven through spawnProcess. Ports of twisted/test/test_stdio.py's StandardInputOutputTests.

import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes } from "../../lib/internet/interfaces.js";
import type { PipeReader } from "../../lib/internet/pipes.js";
import { ProcessProtocol } from "../../lib/internet/process-protocol.js";
import { reactor } from "../../lib/internet/reactor.js";
import { later, until, within } from "../support/wait.js";

const program = fileURLToPath(new URL("../fixtures/stdio-program.js", import.meta.url));

/** The parent side: records the child's stdout and stderr (test_stdio's StandardIOTestProcessProtocol). */
class Parent extends ProcessProtocol {
  readonly out: Buffer[] = [];
  readonly err: Buffer[] = [];
  readonly ended = later<Failure>();
  override outReceived(data: Bytes): void {
    this.out.push(Buffer.from(data));
  }
  override errReceived(data: Bytes): void {
    this.err.push(Buffer.from(data));
  }
  override processEnded(reason: Failure): void {
    this.ended.resolve(reason);
  }
  get stdout(): Buffer {
    return Buffer.concat(this.out);
  }
  get stderr(): string {
    return Buffer.concat(this.err).toString();
  }
}

function spawnChild(mode: string, ...args: string[]): { parent: Parent; process: ReturnType<typeof reactor.spawnProcess> } {
  const parent = new Parent();
  const process_ = reactor.spawnProcess(parent, process.execPath, [process.execPath, program, mode, ...args], { env: null });
  return { parent, process: process_ };
}

async function ended(parent: Parent): Promise<void> {
  const reason = await within(parent.ended.promise, 20, "the child to end");
  expect(reason.value.constructor.name, parent.stderr).to.equal("ProcessDone");
}

describe("StandardInputOutputTests", () => {
  it("test_loseConnection: the child's loseConnection ends its connection cleanly and it exits", async () => {
    const { parent } = spawnChild("loseConnection");
    await ended(parent);
    expect(parent.stderr).to.equal("connectionLost:ConnectionDone");
  });

  it("test_readConnectionLost: EOF on stdin reaches a half-closeable protocol's readConnectionLost; it can still write", async () => {
    const { parent, process: p } = spawnChild("halfClose");
    p.closeStdin();
    await ended(parent);
    expect(parent.stdout.toString()).to.equal("readConnectionLost");
  });

  it("EOF on stdin ends the connection of a protocol that does not half-close (ConnectionDone)", async () => {
    const { parent, process: p } = spawnChild("consumer");
    p.write(Buffer.from("echo me"));
    p.closeStdin();
    await ended(parent);
    expect(parent.stdout.toString()).to.equal("echo me");
    expect(parent.stderr).to.equal("connectionLost:ConnectionDone");
  });

  it("test_lastWriteReceived: a large write followed by loseConnection arrives whole", async () => {
    const size = 4 << 20;
    const { parent } = spawnChild("lastWrite", String(size));
    await ended(parent);
    expect(parent.stdout.length).to.equal(size);
  });

  it("test_hostAndPeer: getHost() and getPeer() are PipeAddresses", async () => {
    const { parent } = spawnChild("hostAndPeer");
    await ended(parent);
    expect(JSON.parse(parent.stdout.toString())).to.deep.equal([{ type: "Pipe" }, { type: "Pipe" }]);
  });

  it("test_write: write() goes to stdout", async () => {
    const { parent } = spawnChild("write");
    await ended(parent);
    expect(parent.stdout.toString()).to.equal("ok!");
  });

  it("test_writeSequence: writeSequence() goes to stdout in order", async () => {
    const { parent } = spawnChild("writeSequence");
    await ended(parent);
    expect(parent.stdout.toString()).to.equal("ok!");
  });

  it("test_producer: a producer on stdout is paused while the parent does not read, and everything arrives", async () => {
    const total = 16 << 20;
    const { parent, process: p } = spawnChild("producer", String(total));
    // stop reading the child's stdout only (pauseProducing would stop its stderr too, where it says it paused)
    const stdout = p.pipes.get(1) as PipeReader;
    stdout.pause();
    // the child fills the pipe (64 KiB) and its socket's buffer, then must pause its producer
    await until(() => parent.stderr.includes("paused\n"), 10, "the child's producer to be paused");
    expect(parent.stdout.length).to.be.below(total);
    stdout.resume();
    await ended(parent);
    expect(parent.stdout.length).to.equal(total);
    const pauses = Number(/pauses=(\d+)/.exec(parent.stderr)?.[1]);
    expect(pauses, parent.stderr).to.be.above(0);
  });

  it("test_normalFileStandardOut: stdout redirected to a regular file is written through process.stdout", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-stdio-"));
    const file = path.join(dir, "out");
    const fd = fs.openSync(file, "w");
    try {
      const parent = new Parent();
      reactor.spawnProcess(parent, process.execPath, [process.execPath, program, "lastWrite", String(1 << 20)], {
        env: null,
        childFDs: { 0: "w", 1: fd, 2: "r" },
      });
      await ended(parent);
      expect(fs.statSync(file).size).to.equal(1 << 20);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("test_consumer: StandardIO registered as its own producer echoes 4 MiB back intact", async () => {
    const data = Buffer.alloc(4 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const { parent, process: p } = spawnChild("consumer");
    p.write(data);
    p.closeStdin();
    await ended(parent);
    expect(parent.stdout.equals(data)).to.equal(true);
  });
});
