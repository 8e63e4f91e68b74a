/**
 * The peer servers of the benchmarks: each implementation serves from a child process of its
 * own, so the servers and the load do not share a CPU, and every child is stopped, by its pid,
 * however the run ends.
 *
 * The protocol is one line: a server listens on an ephemeral port of 127.0.0.1 and prints the
 * port on stdout (`listenTorsion`, `listenNode` and `announcePort` here; print(port) in the
 * Twisted scripts, bench/*_twisted.py). The benchmark (`withServers`) starts one server a side,
 * waits for that line (at most START_SECONDS), and at the end stops each child with SIGTERM,
 * then SIGKILL if it lingers. SIGTERM first: a server with workers of its own (node:cluster,
 * `torsion web --workers`) passes it on to them, where SIGKILL would leave them behind.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { fileURLToPath } from "node:url";
import type { IProtocolFactory, ListenTCPOptions } from "../../lib/internet/interfaces.js";
import { reactor } from "../../lib/internet/reactor.js";

// ---------------------------------------------------------------------------
// In the server (child process)

/** The line the benchmark waits for. */
export function announcePort(port: number): void {
  process.stdout.write(`${port}\n`);
}

/** Serve `factory` from torsion's reactor on an ephemeral port of 127.0.0.1, quietly, and announce the port. */
export function listenTorsion(factory: IProtocolFactory, options: Omit<ListenTCPOptions, "interface"> = {}): void {
  (factory as { noisy?: boolean }).noisy = false;
  const port = reactor.listenTCP(0, factory, { ...options, interface: "127.0.0.1" });
  void reactor.run();
  announcePort((port.getHost() as { port: number }).port);
}

/** Start a node:net (or node:http) server on an ephemeral port of 127.0.0.1 and announce the port. */
export function listenNode(server: Server): void {
  server.listen(0, "127.0.0.1", () => announcePort((server.address() as AddressInfo).port));
}

// ---------------------------------------------------------------------------
// In the benchmark (parent process)

export interface ServerSpec {
  /** Names the server in messages ("torsion", "node echo", ...). */
  readonly name: string;
  /** The program; default this Node.js (process.execPath). */
  readonly command?: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /**
   * The port, from all the server has printed on stdout so far, or undefined while it is not
   * ready yet. Default: the first line that is a number.
   */
  readonly ready?: (stdout: string) => number | undefined;
}

/** Seconds a server has to announce its port. */
const START_SECONDS = 20;

export interface PeerServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
}

const PORT_LINE = /^(\d+)\n/m;

function portLine(stdout: string): number | undefined {
  const m = PORT_LINE.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

/** Every child started and not yet stopped: the exit hook stops them all. */
const running = new Set<ChildProcess>();
let hooksInstalled = false;

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const child of running) if (alive(child)) child.kill("SIGTERM");
  });
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) process.once(signal, () => process.exit(code));
}

/**
 * Run `cleanUp` (synchronous: it runs in the 'exit' event) however the run ends: the end of
 * main(), an uncaught error, the watchdog, Ctrl-C or SIGTERM (which end it through exit, with
 * 130 and 143). Every server started here is stopped that way too.
 */
export function atExit(cleanUp: () => void): void {
  installHooks();
  process.on("exit", cleanUp);
}

/** A server that is this Node.js running `module` (an import.meta.url) with `args`. */
export function nodeServer(name: string, module: string, ...args: string[]): ServerSpec {
  return { name, args: [fileURLToPath(module), ...args] };
}

/** Start a server and wait until it has announced its port (at most START_SECONDS). */
function startServer(spec: ServerSpec): Promise<PeerServer> {
  installHooks();
  const ready = spec.ready ?? portLine;
  const child = spawn(spec.command ?? process.execPath, spec.args, { cwd: spec.cwd, stdio: ["ignore", "pipe", "inherit"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const fail = (why: string): void => {
      clearTimeout(timer);
      if (alive(child)) child.kill("SIGTERM");
      reject(new Error(`${spec.name} server ${why}`));
    };
    const timer = setTimeout(() => fail(`was not ready within ${START_SECONDS} s`), START_SECONDS * 1000);
    const onExit = (code: number | null, signal: string | null): void => fail(`exited (${code ?? signal}) before it was ready`);
    const onData = (d: string): void => {
      out += d;
      const port = ready(out);
      if (port === undefined) return;
      clearTimeout(timer);
      // The stream keeps flowing: what the server prints later is read and dropped, never blocks it.
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      resolve({ child, pid: child.pid!, port });
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.once("exit", onExit);
    child.on("error", (err) => fail(`failed: ${err.message}`));
  });
}

/** Whether `child` exits within `ms`. */
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (!alive(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM to the server's pid, SIGKILL after `graceSeconds`; resolves once it has exited. */
async function stopServer(server: PeerServer, graceSeconds = 15): Promise<void> {
  const { child } = server;
  child.kill("SIGTERM");
  if (!(await exited(child, graceSeconds * 1000))) {
    child.kill("SIGKILL");
    await exited(child, 5000);
  }
  running.delete(child);
}

/**
 * Start one server a side (one after the other), run `use` with them, and stop them all
 * (together, awaited) however `use` ends.
 */
export async function withServers<K extends string, T>(
  sides: readonly K[],
  spec: (side: K) => ServerSpec,
  use: (servers: Record<K, PeerServer>) => Promise<T>,
): Promise<T> {
  const servers = {} as Record<K, PeerServer>;
  try {
    for (const side of sides) servers[side] = await startServer(spec(side));
    return await use(servers);
  } finally {
    await Promise.all(Object.values<PeerServer>(servers).map((server) => stopServer(server)));
  }
}

/** withServers for one server. */
export function withServer<T>(spec: ServerSpec, use: (server: PeerServer) => Promise<T>): Promise<T> {
  return withServers(["server"], () => spec, ({ server }) => use(server));
}

/**
 * End the run after `seconds`, whatever it is waiting for (the exit hook then stops every
 * server). Returns the timer, for clearTimeout when the run ends in time; it does not keep the
 * process alive.
 */
export function watchdog(name: string, seconds: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    process.stderr.write(`${name}: watchdog: still running after ${seconds} s, stopping\n`);
    process.exit(2);
  }, seconds * 1000);
  timer.unref();
  return timer;
}

// ---------------------------------------------------------------------------
// Twisted as a peer

const PYTHON = "/usr/bin/python3";

/**
 * The server spec of a Twisted script in bench/ (run with /usr/bin/python3), or null when
 * Twisted is not installed there: `modules` (Python's `import` list, e.g. "twisted.web.wsgi")
 * must import.
 */
export async function twistedServer(script: string, modules: string, args: readonly string[] = []): Promise<ServerSpec | null> {
  const path = fileURLToPath(new URL(`../../../bench/${script}`, import.meta.url));
  if (!existsSync(PYTHON) || !existsSync(path)) return null;
  const probe = spawn(PYTHON, ["-c", `import ${modules}`], { stdio: "ignore" });
  const ok = await new Promise<boolean>((resolve) => {
    probe.on("exit", (code) => resolve(code === 0));
    probe.on("error", () => resolve(false));
  });
  return ok ? { name: "twisted", command: PYTHON, args: [path, ...args] } : null;
}
