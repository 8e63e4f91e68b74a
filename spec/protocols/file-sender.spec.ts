import { expect } from "chai";
import { existsSync, mkdtempSync, openSync, closeSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Deferred } from "../../lib/internet/deferred.js";
import { ConnectionAborted } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes } from "../../lib/internet/interfaces.js";
import { connectedServerAndClient } from "../../lib/internet/iosim.js";
import { Protocol } from "../../lib/internet/protocol.js";
import { AccumulatingProtocol, StringTransport } from "../../lib/internet/testing.js";
import { FileSender, FileTransferStopped } from "../../lib/protocols/file-sender.js";

/** Resolve when `d` fires (its result or Failure), or reject after `ms` with a clear message. */
function settled<T>(d: Deferred<T>, ms = 2000): Promise<T | Failure> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Deferred did not fire within ${ms} ms`)), ms);
    d.addBoth((r: T | Failure) => {
      clearTimeout(timer);
      resolve(r);
      return null;
    });
  });
}

/** A StringTransport that can be awaited for its n-th write. */
class WatchedTransport extends StringTransport {
  writes: Buffer[] = [];
  private waiters: Array<() => void> = [];
  override write(data: Bytes): void {
    super.write(data);
    this.writes.push(Buffer.from(data));
    for (const w of this.waiters.splice(0)) w();
  }
  async untilWrites(n: number, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.writes.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} writes, got ${this.writes.length} within ${ms} ms`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} writes, got ${this.writes.length} within ${ms} ms`)), left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/**
 * How many of this process's file descriptors are open on `file`, where /proc tells it (null
 * elsewhere). Counting only the file's own descriptors keeps the check true while other
 * sockets and files of the test process open and close around it.
 */
function fdsOpenOn(file: string): number | null {
  if (!existsSync("/proc/self/fd")) return null;
  const real = realpathSync(file);
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === real) count++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return count;
}

describe("FileSenderTests", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "torsion-filesender-"));
    path = join(dir, "source");
    writeFileSync(path, "Test content");
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("test_interface: is a producer (resumeProducing, pauseProducing, stopProducing)", () => {
    const sender = new FileSender();
    for (const m of ["resumeProducing", "pauseProducing", "stopProducing", "beginFileTransfer"]) {
      expect(typeof (sender as unknown as Record<string, unknown>)[m], m).to.equal("function");
    }
  });

  it("test_producerRegistered: registers itself with the consumer as a pull producer", async () => {
    const consumer = new StringTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer);
    expect(consumer.producer).to.equal(sender);
    expect(consumer.streaming).to.equal(false);
    sender.stopProducing();
    await settled(d);
  });

  it("test_transfer: sends the file and fires with the last byte sent", async () => {
    const consumer = new WatchedTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer);
    sender.resumeProducing();
    await consumer.untilWrites(1);
    // The transfer finishes only after a read at the end of the file.
    sender.resumeProducing();
    const result = await settled(d);
    expect(consumer.producer).to.equal(null);
    expect(Buffer.from(result as Buffer).toString()).to.equal("t");
    expect(consumer.value().toString()).to.equal("Test content");
  });

  it("test_transferMultipleChunks: reads at most CHUNK_SIZE per resumeProducing", async () => {
    const consumer = new WatchedTransport();
    const sender = new FileSender();
    sender.CHUNK_SIZE = 4;
    const d = sender.beginFileTransfer(path, consumer);
    sender.resumeProducing();
    await consumer.untilWrites(1);
    expect(consumer.value().toString()).to.equal("Test");
    sender.resumeProducing();
    await consumer.untilWrites(2);
    expect(consumer.value().toString()).to.equal("Test con");
    sender.resumeProducing();
    await consumer.untilWrites(3);
    expect(consumer.value().toString()).to.equal("Test content");
    expect(d.called).to.equal(false);
    sender.resumeProducing();
    const result = await settled(d);
    expect(Buffer.from(result as Buffer).toString()).to.equal("t");
  });

  it("test_transferWithTransform: passes each chunk through transform", async () => {
    const swapcase = (chunk: Buffer): Buffer =>
      Buffer.from([...chunk.toString()].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""));
    const consumer = new WatchedTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer, swapcase);
    sender.resumeProducing();
    await consumer.untilWrites(1);
    sender.resumeProducing();
    const result = await settled(d);
    expect(Buffer.from(result as Buffer).toString()).to.equal("T");
    expect(consumer.value().toString()).to.equal("tEST CONTENT");
  });

  it("test_abortedTransfer: stopProducing fails the Deferred", async () => {
    const consumer = new StringTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer);
    sender.stopProducing();
    const failure = (await settled(d)) as Failure;
    expect(failure.check(FileTransferStopped)).to.equal(FileTransferStopped);
    expect(failure.getErrorMessage()).to.equal("Consumer asked us to stop producing");
  });

  it("answers a resumeProducing that arrives during a read once that read is done, in order", async () => {
    const consumer = new WatchedTransport();
    const sender = new FileSender();
    sender.CHUNK_SIZE = 4;
    const d = sender.beginFileTransfer(path, consumer);
    sender.resumeProducing();
    sender.resumeProducing();
    await consumer.untilWrites(2);
    expect(consumer.writes.map(String)).to.deep.equal(["Test", " con"]);
    sender.stopProducing();
    await settled(d);
  });

  it("closes the file it opened when the transfer completes", async () => {
    const before = fdsOpenOn(path);
    const consumer = new WatchedTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer);
    sender.resumeProducing();
    await consumer.untilWrites(1);
    if (before !== null) expect(fdsOpenOn(path)).to.equal(1);
    sender.resumeProducing();
    await settled(d);
    if (before !== null) expect(fdsOpenOn(path)).to.equal(0);
  });

  it("releases the file it opened when stopped in the middle of a read", async () => {
    const before = fdsOpenOn(path);
    const consumer = new StringTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer);
    sender.resumeProducing();
    sender.stopProducing();
    await settled(d);
    await sender.whenReleased();
    if (before !== null) expect(fdsOpenOn(path)).to.equal(0);
    expect(consumer.value().length).to.equal(0);
  });

  it("reads an open FileHandle from its position and leaves it open", async () => {
    const handle = await open(path, "r");
    try {
      await handle.read(Buffer.alloc(5), 0, 5, null);
      const consumer = new WatchedTransport();
      const sender = new FileSender();
      const d = sender.beginFileTransfer(handle, consumer);
      sender.resumeProducing();
      await consumer.untilWrites(1);
      sender.resumeProducing();
      await settled(d);
      expect(consumer.value().toString()).to.equal("content");
      expect((await handle.stat()).size).to.equal(12);
    } finally {
      await handle.close();
    }
  });

  it("reads a file descriptor and leaves it open", async () => {
    const fd = openSync(path, "r");
    try {
      const consumer = new WatchedTransport();
      const sender = new FileSender();
      const d = sender.beginFileTransfer(fd, consumer);
      sender.resumeProducing();
      await consumer.untilWrites(1);
      sender.resumeProducing();
      await settled(d);
      expect(consumer.value().toString()).to.equal("Test content");
    } finally {
      closeSync(fd);
    }
  });

  it("releases the file when stopped while it is still being opened", async () => {
    const before = fdsOpenOn(path);
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, new StringTransport());
    sender.stopProducing();
    await settled(d);
    await sender.whenReleased();
    if (before !== null) expect(fdsOpenOn(path)).to.equal(0);
  });

  it("fails the Deferred and unregisters when the file cannot be opened", async () => {
    const consumer = new StringTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(join(dir, "missing"), consumer);
    sender.resumeProducing();
    const failure = (await settled(d)) as Failure;
    expect((failure.value as NodeJS.ErrnoException).code).to.equal("ENOENT");
    expect(consumer.producer).to.equal(null);
  });

  it("fires with an empty last byte for an empty file", async () => {
    writeFileSync(path, "");
    const consumer = new StringTransport();
    const sender = new FileSender();
    const d = sender.beginFileTransfer(path, consumer);
    sender.resumeProducing();
    const result = await settled(d);
    expect(Buffer.from(result as Buffer).length).to.equal(0);
    expect(consumer.producer).to.equal(null);
  });
});

/** A server protocol that sends `path` to each client with FileSender, then closes. */
class SendFile extends Protocol {
  result: Deferred<Buffer> | null = null;
  outcome: Buffer | Failure | null = null;
  constructor(readonly path: string) {
    super();
  }
  override connectionMade(): void {
    const sender = new FileSender();
    this.result = sender.beginFileTransfer(this.path, this.transport as unknown as StringTransport);
    this.result.addBoth((r: Buffer | Failure) => {
      this.outcome = r;
      this.transport!.loseConnection();
      return null;
    });
  }
}

describe("FileSender over iosim", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "torsion-filesender-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends a file of several chunks to the peer, then the connection closes", async () => {
    const path = join(dir, "big");
    const content = Buffer.alloc(3 * 2 ** 14 + 123);
    for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;
    writeFileSync(path, content);
    const [client, server, pump] = connectedServerAndClient(() => new SendFile(path), AccumulatingProtocol);
    await pump.flushUntil(() => client.closed);
    expect(client.data.equals(content)).to.equal(true);
    expect(server.outcome).to.be.instanceOf(Buffer);
  });

  it("stops the FileSender when the client aborts the connection", async () => {
    const path = join(dir, "big");
    writeFileSync(path, Buffer.alloc(10 * 2 ** 14, 1));
    const [client, server, pump] = connectedServerAndClient(() => new SendFile(path), AccumulatingProtocol, {
      greet: false,
    });
    client.transport!.loseConnection();
    (client.transport as unknown as { abortConnection(): void }).abortConnection();
    await pump.flushUntil(() => server.outcome !== null);
    const failure = server.outcome as Failure;
    expect(failure.check(FileTransferStopped)).to.equal(FileTransferStopped);
    expect(client.closedReason!.check(ConnectionAborted)).to.equal(ConnectionAborted);
  });
});
