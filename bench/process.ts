/**
 * Process pipe benchmark: bytes pushed through /bin/cat and read back, by torsion's
 * spawnProcess (a push producer on the child's stdin, outReceived counting), node's own
 * child_process streams (write()/'drain', 'data'), and Twisted's spawnProcess
 * (bench/process_twisted.py, where /usr/bin/python3 has Twisted). Each transfer runs in a fresh
 * child process of its own (this file with "worker <impl> <MiB>"), in interleaved rounds; the
 * medians and the ratios torsion/node and torsion/Twisted are printed.
 *
 * Then the back-pressure proof at full size: 1 GiB through /bin/cat with a consumer that pauses
 * the transport after every MiB (spec/fixtures/process-flood.ts), and the RSS it reached over
 * its idle RSS, once with V8's own GC and once with a full GC every 8 MiB (what the transfer
 * holds, without the read buffers V8 has not collected yet; the spec runs that at 256 MiB).
 *
 *     node build/bench/process.js [rounds] [MiB]      (default 5 rounds of 256 MiB)
 */

import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Bytes } from "../lib/internet/interfaces.js";
import { ProcessProtocol } from "../lib/internet/process-protocol.js";
import { reactor } from "../lib/internet/reactor.js";
import { BulkProducer, writeBulk } from "./support/bulk.js";
import { interleave } from "./support/rounds.js";
import { watchdog } from "./support/servers.js";
import { median, versusLine } from "./support/stats.js";

const CHUNK = Buffer.alloc(64 << 10, 0x61);
const PYTHON = "/usr/bin/python3";
const TWISTED_SCRIPT = fileURLToPath(new URL("../../bench/process_twisted.py", import.meta.url));
const FLOOD = fileURLToPath(new URL("../spec/fixtures/process-flood.js", import.meta.url));

type Impl = "torsion" | "node" | "twisted";

// ---------------------------------------------------------------------------
// Workers (child processes): one transfer, print its seconds and the CPU seconds it used

/** When the transfer started: wall time and this process's CPU time (start-up not counted). */
interface Start {
  wall: number;
  cpu: NodeJS.CpuUsage;
}

function started(): Start {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}

/** Print "<wall seconds> <CPU seconds this process used>" for a transfer begun at `start`. */
function report(start: Start): void {
  const cpu = process.cpuUsage(start.cpu);
  process.stdout.write(`${(performance.now() - start.wall) / 1000} ${(cpu.user + cpu.system) / 1e6}\n`);
}

function workTorsion(total: number): void {
  const start = started();
  class Cat extends ProcessProtocol {
    received = 0;
    override connectionMade(): void {
      const t = this.transport!;
      new BulkProducer(t, CHUNK, total, () => t.closeStdin()).start();
    }
    override outReceived(data: Bytes): void {
      this.received += data.length;
    }
    override processEnded(): void {
      if (this.received !== total) throw new Error(`received ${this.received} of ${total} bytes`);
      report(start);
    }
  }
  reactor.spawnProcess(new Cat(), "/bin/cat", ["cat"]);
}

function workNode(total: number): void {
  const start = started();
  const child = spawn("/bin/cat", [], { env: {}, stdio: ["pipe", "pipe", "inherit"] });
  let received = 0;
  child.stdout.on("data", (d: Buffer) => {
    received += d.length;
  });
  child.on("close", () => {
    if (received !== total) throw new Error(`received ${received} of ${total} bytes`);
    report(start);
  });
  writeBulk(child.stdin, CHUNK, total);
}

// ---------------------------------------------------------------------------
// The benchmark

function twistedAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ["-c", "import twisted.internet.process"], { stdio: "ignore" }).status === 0;
}

interface Transfer {
  /** MiB per second of wall time. */
  rate: number;
  /** MiB per CPU second of the worker (cat's own CPU not counted): what the pipe costs the program. */
  perCpu: number;
}

/** One transfer of `mib` MiB by `impl`, in a child process. */
function transfer(impl: Impl, mib: number): Promise<Transfer> {
  const [command, args] =
    impl === "twisted" ? [PYTHON, [TWISTED_SCRIPT, String(mib)]] : [process.execPath, [fileURLToPath(import.meta.url), "worker", impl, String(mib)]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      const [seconds, cpu] = out.trim().split(" ").map(Number);
      if (code !== 0 || !(seconds! > 0) || !(cpu! > 0)) reject(new Error(`${impl} worker failed (exit ${code}): ${out}`));
      else resolve({ rate: mib / seconds!, perCpu: mib / cpu! });
    });
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const mib = Number(process.argv[3] ?? 256);
  const dog = watchdog("bench/process", 300);
  const impls: Impl[] = twistedAvailable() ? ["torsion", "node", "twisted"] : ["torsion", "node"];
  if (!impls.includes("twisted")) console.log("bench/process: Twisted is not installed for /usr/bin/python3 (Debian: python3-twisted); comparing with node only");
  for (const impl of impls) await transfer(impl, 16); // warm-up (page cache, binaries), not counted
  const results = await interleave(impls, rounds, (impl) => transfer(impl, mib));
  const m = (impl: Impl): number => median(results[impl].map((r) => r.rate));
  const c = (impl: Impl): number => median(results[impl].map((r) => r.perCpu));
  console.log(`bench/process: ${rounds} interleaved rounds of ${mib} MiB through /bin/cat, 64 KiB writes, medians (each transfer in a fresh child process)`);
  const peers: Array<[Impl, string]> = [["node", "node child_process"]];
  if (impls.includes("twisted")) peers.push(["twisted", "Twisted spawnProcess"]);
  for (const [impl, name] of peers) {
    console.log(versusLine({ prefix: `${"pipe throughput".padEnd(26)} `, unit: "MiB/s", width: 6, ours: ["torsion", m("torsion")], theirs: [name, m(impl)] }));
  }
  // Wall time on a busy machine depends on when cat and the worker get a CPU; the worker's own
  // CPU per MiB is what the pipe costs the program, whatever the load.
  for (const [impl, name] of peers) {
    console.log(versusLine({ prefix: `${"MiB per CPU second".padEnd(26)} `, unit: "MiB/cpu-s", width: 6, ours: ["torsion", c("torsion")], theirs: [name, c(impl)] }));
  }

  const mb = (n: number): string => (n / (1 << 20)).toFixed(1);
  for (const [gcEvery, how] of [
    ["0", "V8's own GC"],
    ["8", "a full GC every 8 MiB"],
  ] as const) {
    const flood = spawnSync(process.execPath, ["--expose-gc", FLOOD, "1024", "64", gcEvery], { encoding: "utf8", timeout: 120_000 });
    if (flood.status !== 0) throw new Error(`the 1 GiB flood failed: ${flood.stderr}`);
    const r = JSON.parse(flood.stdout) as { received: number; seconds: number; idle: number; peak: number; pauses: number };
    console.log(
      `back-pressure: 1 GiB through /bin/cat, consumer pausing after every MiB (${r.pauses} pauses), ${how}: ` +
        `${r.seconds.toFixed(2)} s, RSS idle ${mb(r.idle)} MiB, peak ${mb(r.peak)} MiB, growth ${mb(r.peak - r.idle)} MiB (bound: 64)`,
    );
  }
  clearTimeout(dog);
}

if (process.argv[2] === "worker") {
  const total = Number(process.argv[4]) << 20;
  if (process.argv[3] === "torsion") workTorsion(total);
  else workNode(total);
} else {
  await main();
}
