/**
 * Child processes, as twisted.internet.process.Process: what reactor.spawnProcess returns, on
 * node:child_process.
 *
 * Twisted's rules, and where Node differs:
 * - args[0] is the child's argv[0] (Twisted passes the list to execvpe as it is); the program
 *   run is `executable`, found on the PATH of the child's environment (or /usr/bin:/bin).
 *   An empty args runs the executable with argv[0] = executable.
 * - The environment is exactly `env`; none given is an empty environment, as Twisted on POSIX;
 *   `env: null` passes this process's environment on. (Node adds NODE_V8_COVERAGE to any
 *   environment when it is set, so coverage tools follow children.)
 * - childFDs maps each of the child's descriptors to "w" (the parent writes), "r" (the parent
 *   reads) or a descriptor of this process. Descriptors not named are /dev/null in the child
 *   where Twisted closes them.
 * - An executable that cannot be run (missing, not executable, a missing working directory)
 *   ends the protocol with ProcessSpawnError, a ProcessTerminated without an exit code, after
 *   makeConnection (Twisted's child exits with status 1 and a traceback on its stderr).
 * - A child that closes its standard input while it runs is noticed at the next write (EPIPE)
 *   or when it exits; Twisted polls the pipe.
 *
 * processExited comes when the child has exited; processEnded once it has and every pipe is
 * closed. The output pipes are a push producer (pauseProducing stops reading all of them, and
 * the child then blocks on a full pipe); standard input is a consumer whose producer is paused
 * while the pipe is full.
 */

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";
import type { ResourceTracker, ShutdownResource } from "./abstract.js";
import { ProcessDone, ProcessExitedAlready, ProcessSpawnError, ProcessTerminated } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IProcessProtocol,
  IProcessTransport,
  IPullProducer,
  IPushProducer,
  ProcessAddress,
  ProcessShutdownPolicy,
  ProcessSignal,
  SpawnProcessOptions,
} from "./interfaces.js";
import { Logger } from "./log.js";
import { PipeReader, PipeWriter } from "./pipes.js";

const log = new Logger("torsion.internet.process");

const PROCESS_ADDRESS: ProcessAddress = Object.freeze({ type: "Process" as const });

const DEFAULT_CHILD_FDS: Readonly<Record<number, "r" | "w" | number>> = Object.freeze({ 0: "w", 1: "r", 2: "r" });

const SHUTDOWN_POLICIES: readonly ProcessShutdownPolicy[] = ["leave", "terminate", "wait"];

/** The errors Node reports when a child could not be started (rather than a bad argument). */
function isSpawnFailure(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

/** The wait status of an exit, as POSIX encodes it: the exit code in the high byte, or the signal. */
function waitStatus(code: number | null, signal: number | null): number {
  return code !== null ? (code & 0xff) << 8 : (signal ?? 0) & 0x7f;
}

/** The signal number of a name ("TERM", "SIGTERM") or number; anything else raises, naming it. */
export function signalNumber(signal: ProcessSignal | string): number {
  if (typeof signal === "number") {
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) throw new RangeError(`not a signal number: ${signal}`);
    return signal;
  }
  if (typeof signal !== "string") throw new TypeError(`a signal must be a name or a number, not ${typeof signal}`);
  const name = signal.startsWith("SIG") ? signal : `SIG${signal}`;
  const n = (constants.signals as Record<string, number | undefined>)[name];
  if (n === undefined) throw new RangeError(`unknown signal: ${JSON.stringify(signal)}`);
  return n;
}

function checkOptions(executable: string, args: readonly string[], options: SpawnProcessOptions): void {
  if (typeof executable !== "string" || executable === "") {
    throw new TypeError(`spawnProcess: the executable must be a non-empty string, not ${JSON.stringify(executable)}`);
  }
  if (!Array.isArray(args)) throw new TypeError(`spawnProcess: args must be an array of strings, not ${typeof args}`);
  for (const a of args) {
    if (typeof a !== "string") throw new TypeError(`spawnProcess: every argument must be a string, not ${typeof a} (${String(a)})`);
    if (a.includes("\0")) throw new TypeError(`spawnProcess: an argument contains a NUL byte: ${JSON.stringify(a)}`);
  }
  const env = options.env;
  if (env !== undefined && env !== null) {
    if (typeof env !== "object") throw new TypeError(`spawnProcess: env must be an object of strings or null, not ${typeof env}`);
    for (const [k, v] of Object.entries(env)) {
      if (typeof v !== "string") throw new TypeError(`spawnProcess: env[${JSON.stringify(k)}] must be a string, not ${typeof v}`);
    }
  }
  for (const key of ["uid", "gid"] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new RangeError(`spawnProcess: ${key} must be a non-negative integer, not ${v}`);
  }
  for (const [fd, target] of Object.entries(options.childFDs ?? DEFAULT_CHILD_FDS)) {
    const n = Number(fd);
    if (!Number.isInteger(n) || n < 0 || n > 1023) throw new RangeError(`spawnProcess: childFDs has a bad descriptor: ${fd}`);
    if (target !== "r" && target !== "w" && !(Number.isInteger(target) && (target as number) >= 0)) {
      throw new TypeError(`spawnProcess: childFDs[${fd}] must be "r", "w" or a descriptor number, not ${JSON.stringify(target)}`);
    }
  }
  if (options.atShutdown !== undefined && !SHUTDOWN_POLICIES.includes(options.atShutdown)) {
    throw new RangeError(`spawnProcess: atShutdown must be one of ${SHUTDOWN_POLICIES.join(", ")}, not ${JSON.stringify(options.atShutdown)}`);
  }
  if (options.killAfter !== undefined && !(options.killAfter >= 0)) {
    throw new RangeError(`spawnProcess: killAfter must be a non-negative number of seconds, not ${options.killAfter}`);
  }
}

/** A running (or ended) child process: the IProcessTransport its protocol is given. */
export class Process implements IProcessTransport, ShutdownResource {
  /** The child's process id; null once it has exited, or if it never started. */
  pid: number | null = null;
  /** The wait status once the child has exited (-1 before, as Twisted's). */
  status = -1;
  /** The pipes still open, by the child's descriptor number. */
  readonly pipes = new Map<number, PipeReader | PipeWriter>();
  /** The protocol, until processEnded. */
  proto: IProcessProtocol | null;
  /** The node:child_process handle (null if spawning failed at once). */
  readonly child: ChildProcess | null = null;

  private exitReason: Error | null = null;
  private readonly atShutdown: ProcessShutdownPolicy;
  private readonly killAfter: number;
  private exitWaiters: Array<() => void> = [];
  private readonly executable: string;
  private readonly path: string | undefined;

  constructor(
    private readonly reactor: ResourceTracker,
    protocol: IProcessProtocol,
    executable: string,
    args: readonly string[] = [],
    options: SpawnProcessOptions = {},
  ) {
    if (protocol === null || typeof protocol !== "object" || typeof protocol.makeConnection !== "function") {
      throw new TypeError(`spawnProcess: the protocol must be a ProcessProtocol, not ${protocol === null ? "null" : typeof protocol}`);
    }
    checkOptions(executable, args, options);
    this.proto = protocol;
    this.executable = executable;
    this.path = options.path;
    this.atShutdown = options.atShutdown ?? "leave";
    this.killAfter = options.killAfter ?? 5;

    const childFDs = options.childFDs ?? DEFAULT_CHILD_FDS;
    const fds = Object.keys(childFDs).map(Number);
    const stdio: Array<"pipe" | "ignore" | number> = [];
    const size = Math.max(3, ...fds.map((fd) => fd + 1));
    for (let i = 0; i < size; i++) {
      const target = childFDs[i];
      stdio.push(target === undefined ? "ignore" : typeof target === "number" ? target : "pipe");
    }

    let spawnError: unknown = null;
    try {
      this.child = spawn(executable, args.slice(1), {
        argv0: args.length > 0 ? args[0] : executable,
        env: options.env === null ? process.env : { ...(options.env ?? {}) },
        cwd: options.path,
        uid: options.uid,
        gid: options.gid,
        stdio: stdio as StdioOptions,
        windowsHide: true,
      });
    } catch (err) {
      if (!isSpawnFailure(err)) throw err; // a bad argument, raised at once
      spawnError = err;
    }

    const child = this.child;
    if (child !== null) {
      this.pid = child.pid ?? null;
      for (const fd of fds) {
        const target = childFDs[fd];
        const stream = child.stdio[fd];
        if (stream == null) continue;
        if (target === "r") {
          this.pipes.set(
            fd,
            new PipeReader(
              stream as Readable,
              (data) => this.childDataReceived(fd, data),
              (error) => this.childConnectionLost(fd, error),
            ),
          );
        } else if (target === "w") {
          this.pipes.set(fd, new PipeWriter(stream as Writable, (error) => this.childConnectionLost(fd, error)));
        }
      }
      child.on("exit", (code, signal) => this.onExit(code, signal));
      // Node reports a child that could not be started (ENOENT, EACCES) as 'error', not 'exit'
      child.on("error", (err) => this.onError(err));
    }
    this.reactor._track?.(this);

    try {
      protocol.makeConnection(this);
    } catch (err) {
      log.failure("Unhandled error in {protocol}.makeConnection", err, { protocol: describe(protocol) });
    }
    if (spawnError !== null) {
      const err = spawnError;
      process.nextTick(() => this.onError(err as Error));
    }
  }

  // --- what the pipes report -----------------------------------------------------------

  private childDataReceived(fd: number, data: Buffer): void {
    const proto = this.proto;
    if (proto === null) return;
    try {
      proto.childDataReceived(fd, data);
    } catch (err) {
      // as Twisted: the reader whose delivery raised is closed, the process goes on
      log.failure("Unhandled error in {protocol}.childDataReceived; closing the pipe", err, { protocol: describe(proto) });
      this.closeChildFD(fd);
    }
  }

  private childConnectionLost(fd: number, _error: Error | null): void {
    this.pipes.delete(fd);
    const proto = this.proto;
    if (proto !== null) {
      try {
        proto.childConnectionLost(fd);
      } catch (err) {
        log.failure("Unhandled error in {protocol}.childConnectionLost", err, { protocol: describe(proto) });
      }
    }
    this.maybeCallProcessEnded();
  }

  private onExit(code: number | null, signalName: NodeJS.Signals | null): void {
    const signal = signalName === null ? null : (constants.signals[signalName] ?? null);
    this.status = waitStatus(code, signal);
    this.processExited(code === 0 ? new ProcessDone(this.status) : new ProcessTerminated(code, signal, this.status));
  }

  private onError(err: Error): void {
    if (this.exitReason !== null) {
      log.failure("Error from child process {pid}", err, { pid: String(this.pid) });
      return;
    }
    const code = (err as NodeJS.ErrnoException).code ?? "ERROR";
    // the pipes of a child that never ran: nothing will come through them
    for (const pipe of [...this.pipes.values()]) {
      if (pipe instanceof PipeReader) pipe.close();
      else pipe.abort();
    }
    this.processExited(new ProcessSpawnError(this.executable, code, err, this.path));
  }

  private processExited(reason: Error): void {
    if (this.exitReason !== null) return;
    this.exitReason = reason;
    this.pid = null;
    const proto = this.proto;
    if (proto !== null) {
      try {
        proto.processExited(new Failure(reason));
      } catch (err) {
        log.failure("unexpected error in processExited", err);
      }
    }
    for (const w of this.exitWaiters.splice(0)) w();
    this.maybeCallProcessEnded();
  }

  /** processEnded once the child has exited and every pipe is closed, as Twisted's. */
  private maybeCallProcessEnded(): void {
    if (this.pipes.size > 0 || this.exitReason === null) return;
    const proto = this.proto;
    if (proto === null) return;
    this.proto = null;
    this.reactor._untrack?.(this);
    try {
      proto.processEnded(new Failure(this.exitReason));
    } catch (err) {
      log.failure("unexpected error in processEnded", err);
    }
  }

  // --- IProcessTransport ---------------------------------------------------------------

  /** Write to the child's standard input; ignored when it has none (or it is closed), as Twisted's. */
  write(data: Bytes): void {
    const pipe = this.pipes.get(0);
    if (pipe instanceof PipeWriter) pipe.write(data);
    else if (!(data instanceof Uint8Array)) throw new TypeError(`Data must be bytes (a Uint8Array), not ${typeof data}`);
  }

  writeSequence(data: Iterable<Bytes>): void {
    const pipe = this.pipes.get(0);
    if (pipe instanceof PipeWriter) pipe.writeSequence(data);
  }

  /** Write to the child's descriptor `childFD`; RangeError when there is no pipe the parent writes there. */
  writeToChild(childFD: number, data: Bytes): void {
    const pipe = this.pipes.get(childFD);
    if (!(pipe instanceof PipeWriter)) throw new RangeError(`writeToChild: no pipe to write to the child's descriptor ${childFD}`);
    pipe.write(data);
  }

  /** Close the pipe of `childFD` (a writer after what is pending is flushed); a closed one is left alone. */
  closeChildFD(childFD: number): void {
    const pipe = this.pipes.get(childFD);
    if (pipe instanceof PipeWriter) pipe.loseConnection();
    else if (pipe instanceof PipeReader) pipe.close();
  }

  closeStdin(): void {
    this.closeChildFD(0);
  }

  closeStdout(): void {
    this.closeChildFD(1);
  }

  closeStderr(): void {
    this.closeChildFD(2);
  }

  /** Close standard input, error and output (Twisted's order). */
  loseConnection(): void {
    this.closeStdin();
    this.closeStderr();
    this.closeStdout();
  }

  /** Register a producer for standard input; with none (or closed), it is stopped at once. */
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    const pipe = this.pipes.get(0);
    if (pipe instanceof PipeWriter) pipe.registerProducer(producer, streaming);
    else producer.stopProducing();
  }

  unregisterProducer(): void {
    const pipe = this.pipes.get(0);
    if (pipe instanceof PipeWriter) pipe.unregisterProducer();
  }

  /** Stop reading every output pipe until resumeProducing(). */
  pauseProducing(): void {
    for (const pipe of this.pipes.values()) if (pipe instanceof PipeReader) pipe.pause();
  }

  resumeProducing(): void {
    for (const pipe of [...this.pipes.values()]) if (pipe instanceof PipeReader) pipe.resume();
  }

  /** As a producer, stopping means closing every pipe (the child sees EOF and EPIPE). */
  stopProducing(): void {
    this.loseConnection();
  }

  /**
   * Send the child a signal: "TERM", "KILL", "INT", "HUP" (any name of os.constants.signals,
   * with or without SIG) or a number. ProcessExitedAlready once the child has exited.
   */
  signalProcess(signal: ProcessSignal): void {
    const n = signalNumber(signal);
    if (this.pid === null) throw new ProcessExitedAlready();
    try {
      process.kill(this.pid, n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") throw new ProcessExitedAlready();
      throw err;
    }
  }

  getHost(): ProcessAddress {
    return PROCESS_ADDRESS;
  }

  getPeer(): ProcessAddress {
    return PROCESS_ADDRESS;
  }

  // --- reactor shutdown ----------------------------------------------------------------

  /** The reactor is shutting down: do what atShutdown says (see ProcessShutdownPolicy). */
  closeForShutdown(): PromiseLike<unknown> | void {
    if (this.exitReason !== null) {
      this.abortPipes();
      return;
    }
    const pid = this.pid;
    if (this.atShutdown === "leave") {
      log.info("Reactor shutdown: leaving child process {pid} ({executable}) running, its pipes closed", {
        pid: String(pid),
        executable: this.executable,
      });
      this.abortPipes();
      this.child?.unref();
      return;
    }
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    if (this.atShutdown === "terminate") {
      log.info("Reactor shutdown: terminating child process {pid} ({executable})", { pid: String(pid), executable: this.executable });
      this.trySignal("TERM");
      const timer = setTimeout(() => this.trySignal("KILL"), this.killAfter * 1000);
      void exited.then(() => clearTimeout(timer));
    } else {
      log.info("Reactor shutdown: waiting for child process {pid} ({executable}) to exit", { pid: String(pid), executable: this.executable });
    }
    return exited;
  }

  private trySignal(signal: ProcessSignal): void {
    try {
      this.signalProcess(signal);
    } catch (err) {
      if (!(err instanceof ProcessExitedAlready)) log.failure("Could not signal child process {pid}", err, { pid: String(this.pid) });
    }
  }

  private abortPipes(): void {
    for (const pipe of [...this.pipes.values()]) {
      if (pipe instanceof PipeReader) pipe.close();
      else pipe.abort();
    }
  }

  toString(): string {
    return `<Process pid=${this.pid} status=${this.status}>`;
  }
}

function describe(o: unknown): string {
  return (o as object)?.constructor?.name ?? String(o);
}

/**
 * Start `executable` with `args` (args[0] is its argv[0]) and connect `processProtocol` to it:
 * the body of reactor.spawnProcess (see the module comment for the rules).
 */
export function spawnProcess(
  reactor: ResourceTracker,
  processProtocol: IProcessProtocol,
  executable: string,
  args: readonly string[] = [],
  options: SpawnProcessOptions = {},
): Process {
  return new Process(reactor, processProtocol, executable, args, options);
}
