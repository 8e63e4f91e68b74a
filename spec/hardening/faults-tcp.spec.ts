/**
 * Faults at the TCP level, on real loopback sockets (lib/internet/tcp.ts, abstract.ts): a
 * protocol that throws, a producer that throws, and a process out of file descriptors. Each
 * time the one connection is dropped and logged, and the server serves the next client.
 */

import { expect } from "chai";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConnectionLost } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes, IConsumer } from "../../lib/internet/interfaces.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { Factory, Protocol } from "../../lib/internet/protocol.js";
import { reactor } from "../../lib/internet/reactor.js";
import type { Port } from "../../lib/internet/tcp.js";
import { registerFaultyProducer } from "../support/producers.js";
import { until } from "../support/wait.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Echoes, except that it throws on "boom" (dataReceived) and on a connection numbered in `failMade`. */
class Fragile extends Protocol {
  static made = 0;
  static failMade = new Set<number>();
  static lost: Failure[] = [];

  override connectionMade(): void {
    Fragile.made++;
    if (Fragile.failMade.has(Fragile.made)) throw new Error("connectionMade exploded");
  }

  override dataReceived(data: Bytes): void {
    if (Buffer.from(data).toString() === "boom") throw new Error("dataReceived exploded");
    this.transport!.write(data);
  }

  override connectionLost(reason: Failure): void {
    Fragile.lost.push(reason);
  }
}

interface ClientResult {
  /** What the client received before the connection ended. */
  received: string;
  /** "close" (FIN), "reset" (ECONNRESET/EPIPE), or "timeout". */
  end: "close" | "reset" | "timeout";
}

/** Connect, send `message`, and read until the server closes, `expected` is seen, or 5 s pass. */
function client(port: number, message: string | Buffer, expected?: string, timeoutMs = 5000): Promise<ClientResult> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    let done = false;
    const finish = (end: ClientResult["end"]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, end });
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    socket.on("data", (d) => {
      received += d.toString("latin1");
      if (expected !== undefined && received.includes(expected)) finish("close");
    });
    socket.on("error", () => finish("reset"));
    socket.on("close", () => finish("close"));
    socket.write(message);
  });
}

describe("hardening: TCP faults", () => {
  let port: Port | null = null;
  let logs: LogCapture;

  beforeEach(() => {
    logs = captureLogEvents();
    Fragile.made = 0;
    Fragile.failMade = new Set();
    Fragile.lost = [];
  });

  afterEach(async () => {
    if (port !== null) await port.stopListening();
    port = null;
    logs.stop();
  });

  function listen(factory: Factory): number {
    port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
    const address = port.getHost();
    if (address.type !== "TCP") throw new Error("not TCP");
    return address.port;
  }

  it("a protocol that throws in dataReceived is dropped and logged; the next client is served", async () => {
    const p = listen(Factory.forProtocol(Fragile));
    const bad = await client(p, "boom");
    expect(bad.end).not.to.equal("timeout");
    expect(bad.received).to.equal("");
    await until(() => Fragile.lost.length === 1, 5, "connectionLost of the dropped connection");
    expect(Fragile.lost[0].check(ConnectionLost)).to.equal(ConnectionLost);
    expect(port!.counters.protocolErrors).to.equal(1);
    expect(logs.failures().map((f) => f.getErrorMessage())).to.include("dataReceived exploded");
    const good = await client(p, "hello", "hello");
    expect(good).to.deep.equal({ received: "hello", end: "close" });
  });

  it("a protocol that throws in connectionMade is dropped and logged; the next client is served", async () => {
    Fragile.failMade = new Set([1]);
    const p = listen(Factory.forProtocol(Fragile));
    const bad = await client(p, "hello");
    expect(bad.end).not.to.equal("timeout");
    expect(bad.received).to.equal("");
    expect(logs.failures().map((f) => f.getErrorMessage())).to.include("connectionMade exploded");
    const good = await client(p, "again", "again");
    expect(good).to.deep.equal({ received: "again", end: "close" });
    await until(() => Fragile.lost.length === 2, 5, "both connections lost");
  });

  it("a buildProtocol that throws refuses that connection only, logged", async () => {
    let n = 0;
    const factory = new (class extends Factory {
      override buildProtocol() {
        if (++n === 1) throw new Error("buildProtocol exploded");
        return new Fragile();
      }
    })();
    const p = listen(factory);
    const bad = await client(p, "x");
    expect(bad.end).not.to.equal("timeout");
    expect(logs.failures().map((f) => f.getErrorMessage())).to.include("buildProtocol exploded");
    expect(await client(p, "y", "y")).to.deep.equal({ received: "y", end: "close" });
  });

  for (const streaming of [true, false]) {
    it(`a ${streaming ? "push" : "pull"} producer that throws in resumeProducing: logged, connection dropped, other connections unaffected`, async () => {
      const events: string[] = [];
      class Producing extends Protocol {
        override dataReceived(data: Bytes): void {
          // "produce" starts the faulty producer on this connection; anything else is echoed.
          if (Buffer.from(data).toString() !== "produce") {
            this.transport!.write(data);
            return;
          }
          registerFaultyProducer(this.transport as unknown as IConsumer, streaming, Buffer.alloc(256 * 1024, 0x61), "resumeProducing exploded", events);
        }
        override connectionLost(reason: Failure): void {
          Fragile.lost.push(reason);
        }
      }
      const p = listen(Factory.forProtocol(Producing));
      const other = net.connect(p, "127.0.0.1");
      await new Promise((r) => other.once("connect", r));
      const faulty = await client(p, "produce");
      expect(faulty.end).not.to.equal("timeout");
      await until(() => Fragile.lost.length >= 1, 5, "the faulty connection's connectionLost");
      expect(Fragile.lost[0].check(ConnectionLost)).to.equal(ConnectionLost);
      expect(logs.failures().map((f) => f.getErrorMessage())).to.include("resumeProducing exploded");
      expect(events.filter((e) => e === "resume").length, events.join(",")).to.equal(2);
      if (streaming) expect(events).to.include("pause");
      // The transport stops the producer it dropped (disconnect chain step 1), once.
      expect(events.filter((e) => e === "stop").length).to.equal(1);
      // The connection opened before the fault still works, and so does a new one.
      const echoed = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no echo on the other connection within 5 s")), 5000);
        other.on("data", (d) => {
          clearTimeout(timer);
          resolve(d.toString());
        });
        other.write("still here");
      });
      other.destroy();
      expect(echoed).to.equal("still here");
      expect(await client(p, "new", "new")).to.deep.equal({ received: "new", end: "close" });
    });
  }

  describe("a process out of file descriptors (EMFILE)", function () {
    this.timeout(20000);
    let child: ChildProcessWithoutNullStreams | null = null;
    let out = "";
    let err = "";

    afterEach(async () => {
      if (child !== null && child.exitCode === null) {
        const exited = new Promise((r) => child!.once("exit", r));
        child.stdin.write("exit\n");
        const timer = setTimeout(() => child?.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      child = null;
    });

    async function line(re: RegExp): Promise<RegExpExecArray> {
      let m: RegExpExecArray | null = null;
      await until(() => (m = re.exec(out)) !== null, 8, `the child to print ${re}`);
      out = out.slice(m!.index + m![0].length);
      return m!;
    }

    it("the port keeps listening while accept fails, and serves again once descriptors are free", async () => {
      const program = join(here, "emfile-server.js");
      // A low limit makes running out quick; the child then opens /dev/null until EMFILE.
      child = spawn("/bin/sh", ["-c", `ulimit -n 128 && exec "${process.execPath}" "${program}"`]);
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const p = Number((await line(/port (\d+)\n/))[1]);

      expect(await client(p, "before", "before")).to.deep.equal({ received: "before", end: "close" });
      // Wait until the child has closed that connection's descriptor, so none is free.
      for (;;) {
        child.stdin.write("stats\n");
        if ((await line(/stats (\d+) \d+ \w+\n/))[1] === "0") break;
      }
      child.stdin.write("fill\n");
      await line(/full \d+\n/);

      // Out of descriptors: libuv accepts and closes the connection (its EMFILE trick), so the
      // client is reset rather than left hanging in the backlog.
      const starved = await client(p, "starved", "starved");
      expect(starved.received).to.equal("");
      expect(starved.end).not.to.equal("timeout");

      child.stdin.write("stats\n");
      expect((await line(/stats \d+ \d+ (\w+)\n/))[1]).to.equal("listening");
      child.stdin.write("free\n");
      await line(/freed\n/);
      expect(await client(p, "after", "after")).to.deep.equal({ received: "after", end: "close" });
      expect(child.exitCode, `child exited; stderr:\n${err}`).to.equal(null);
    });
  });
});
