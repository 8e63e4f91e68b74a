/**
 * twisted.internet.utils: run a program and get a Deferred of what it printed or how it ended.
 *
 * As Twisted's, `args` does not include the program's name (the executable is prepended as
 * argv[0]), the environment is empty unless `env` is given (null: this process's), and:
 * - getProcessOutput fires with stdout; a byte on stderr errbacks at once with
 *   UnexpectedErrorOutput (and closes the pipes), unless `errortoo` mixes stderr in.
 * - getProcessValue fires with the exit code (null when a signal ended the child).
 * - getProcessOutputAndValue fires with [out, err, exitCode]; a child killed by a signal
 *   errbacks with ProcessOutputAndSignal (out, err, signal).
 * Where Twisted's child would fail to exec and exit 1 with a traceback on stderr, the three
 * errback with ProcessSpawnError (the executable, and why it could not run).
 */

import { Deferred } from "./deferred.js";
import { ProcessOutputAndSignal, ProcessSpawnError, ProcessTerminated, UnexpectedErrorOutput } from "./error.js";
import type { Failure } from "./failure.js";
import type { Bytes, IReactorProcess } from "./interfaces.js";
import { ProcessProtocol } from "./process-protocol.js";
import { reactor as globalReactor } from "./reactor.js";

/** Options of the three functions: spawnProcess's env and path, and the reactor to use. */
export interface ProcessUtilsOptions {
  /** The child's whole environment; omitted: empty (Twisted's default); null: this process's. */
  env?: Readonly<Record<string, string>> | null;
  /** The working directory of the child. */
  path?: string;
  /** Default: the global reactor. */
  reactor?: IReactorProcess;
}

function run(proto: ProcessProtocol, executable: string, args: readonly string[], options: ProcessUtilsOptions): void {
  const reactor = options.reactor ?? globalReactor;
  const spawnOptions = { ...(options.env !== undefined ? { env: options.env } : {}), ...(options.path !== undefined ? { path: options.path } : {}) };
  reactor.spawnProcess(proto, executable, [executable, ...args], spawnOptions);
}

/** Turns a child's output into the result of a Deferred (Twisted's _BackRelay). */
class BackRelay extends ProcessProtocol {
  private readonly chunks: Buffer[] = [];
  private onProcessEnded: Deferred<unknown> | null = null;

  constructor(
    private deferred: Deferred<Buffer> | null,
    private readonly errortoo: boolean,
  ) {
    super();
  }

  override outReceived(data: Bytes): void {
    this.chunks.push(Buffer.from(data));
  }

  override errReceived(data: Bytes): void {
    if (this.errortoo) {
      this.chunks.push(Buffer.from(data));
      return;
    }
    const d = this.deferred;
    if (d === null) return;
    this.deferred = null;
    this.onProcessEnded = new Deferred<unknown>();
    d.errback(new UnexpectedErrorOutput(data, this.onProcessEnded));
    this.transport!.loseConnection();
  }

  override processEnded(reason: Failure): void {
    const d = this.deferred;
    if (d !== null) {
      this.deferred = null;
      if (reason.check(ProcessSpawnError)) d.errback(reason);
      else d.callback(Buffer.concat(this.chunks));
    } else if (this.onProcessEnded !== null) {
      this.onProcessEnded.errback(reason);
    }
  }
}

/**
 * Run `executable` with `args` and fire with what it wrote on stdout (a Buffer). Output on
 * stderr errbacks with UnexpectedErrorOutput, unless `errortoo` puts it in the result.
 */
export function getProcessOutput(
  executable: string,
  args: readonly string[] = [],
  options: ProcessUtilsOptions & { errortoo?: boolean } = {},
): Deferred<Buffer> {
  const d = new Deferred<Buffer>();
  run(new BackRelay(d, options.errortoo ?? false), executable, args, options);
  return d;
}

/** Fires with the exit code (Twisted's _ValueGetter). */
class ValueGetter extends ProcessProtocol {
  constructor(private readonly deferred: Deferred<number | null>) {
    super();
  }

  override processEnded(reason: Failure): void {
    if (reason.check(ProcessSpawnError)) this.deferred.errback(reason);
    else this.deferred.callback((reason.value as ProcessTerminated).exitCode);
  }
}

/** Run `executable` with `args` and fire with its exit code (null if a signal ended it). */
export function getProcessValue(executable: string, args: readonly string[] = [], options: ProcessUtilsOptions = {}): Deferred<number | null> {
  const d = new Deferred<number | null>();
  run(new ValueGetter(d), executable, args, options);
  return d;
}

/** Fires with stdout, stderr and the exit code (Twisted's _EverythingGetter). */
class EverythingGetter extends ProcessProtocol {
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];

  constructor(
    private readonly deferred: Deferred<[Buffer, Buffer, number]>,
    private readonly stdinBytes: Bytes | undefined,
  ) {
    super();
  }

  override connectionMade(): void {
    if (this.stdinBytes !== undefined) {
      this.transport!.writeToChild(0, this.stdinBytes);
      this.transport!.closeStdin();
    }
  }

  override outReceived(data: Bytes): void {
    this.out.push(Buffer.from(data));
  }

  override errReceived(data: Bytes): void {
    this.err.push(Buffer.from(data));
  }

  override processEnded(reason: Failure): void {
    if (reason.check(ProcessSpawnError)) {
      this.deferred.errback(reason);
      return;
    }
    const e = reason.value as ProcessTerminated;
    const out = Buffer.concat(this.out);
    const err = Buffer.concat(this.err);
    if (e.signal) this.deferred.errback(new ProcessOutputAndSignal(out, err, e.signal));
    else this.deferred.callback([out, err, e.exitCode ?? 0]);
  }
}

/**
 * Run `executable` with `args` (writing `stdinBytes` to its stdin, then closing it, when given)
 * and fire with [stdout, stderr, exitCode]; a signal errbacks with ProcessOutputAndSignal.
 */
export function getProcessOutputAndValue(
  executable: string,
  args: readonly string[] = [],
  options: ProcessUtilsOptions & { stdinBytes?: Bytes } = {},
): Deferred<[Buffer, Buffer, number]> {
  if (options.stdinBytes !== undefined && !(options.stdinBytes instanceof Uint8Array)) {
    throw new TypeError(`stdinBytes must be bytes (a Uint8Array), not ${typeof options.stdinBytes}`);
  }
  const d = new Deferred<[Buffer, Buffer, number]>();
  run(new EverythingGetter(d, options.stdinBytes), executable, args, options);
  return d;
}
