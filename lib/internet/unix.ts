/**
 * UNIX stream sockets, as twisted.internet.unix: the same transport, port and connector as TCP
 * (tcp.ts), with UNIXAddress addresses, a socket file mode, and Twisted's PID lock file
 * (wantPID / checkPID) to tell a live server's socket from a stale one.
 */

import { unixAddress } from "./address.js";
import * as fs from "node:fs";
import * as net from "node:net";
import { FileDescriptor, type ResourceTracker, type TransportCounters } from "./abstract.js";
import { BadFileError, CannotListenError } from "./error.js";
import type { ConnectUNIXOptions, IClientFactory, IProtocolFactory, ListenUNIXOptions, UNIXAddress } from "./interfaces.js";
import { Logger } from "./log.js";
import { BaseConnector, type ConnectionOwner, BasePort, type TransportReactor } from "./port-connector.js";
import type { Failure } from "./failure.js";

const log = new Logger("torsion.internet.unix");

// ---------------------------------------------------------------------------
// Lock files (twisted.python.lockfile.FilesystemLock)

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}

/**
 * A lock held by a live process: a symlink whose target is the holder's PID, created
 * atomically. A lock whose process is gone is stale, and taken over (`clean` is then false).
 */
export class FilesystemLock {
  locked = false;
  /** False when lock() had to remove a stale lock left by a dead process. */
  clean = true;

  constructor(readonly name: string) {}

  lock(): boolean {
    let clean = true;
    for (;;) {
      try {
        fs.symlinkSync(String(process.pid), this.name);
        this.locked = true;
        this.clean = clean;
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        let pid: number;
        try {
          pid = Number(fs.readlinkSync(this.name));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
          throw e;
        }
        if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return false;
        try {
          fs.rmSync(this.name, { force: true });
        } catch {
          return false;
        }
        clean = false;
      }
    }
  }

  unlock(): void {
    if (!this.locked) return;
    const pid = Number(fs.readlinkSync(this.name));
    if (pid !== process.pid) throw new Error(`Lock ${this.name} is held by ${pid}, not by this process`);
    fs.rmSync(this.name, { force: true });
    this.locked = false;
  }
}

/** True if a live process holds the lock `name` (twisted.python.lockfile.isLocked). */
export function isLocked(name: string): boolean {
  try {
    const pid = Number(fs.readlinkSync(name));
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Transports

/** A connection over a UNIX socket (unix.Server / unix.Client). */
export class UNIXConnection extends FileDescriptor {
  constructor(
    socket: net.Socket,
    reactor: ResourceTracker,
    private readonly host: UNIXAddress,
    private readonly peer: UNIXAddress,
    private readonly onLost: (reason: Failure) => void,
    counters?: TransportCounters,
  ) {
    super(socket, reactor, counters);
  }

  getHost(): UNIXAddress {
    return this.host;
  }

  getPeer(): UNIXAddress {
    return this.peer;
  }

  protected override connectionLost(reason: Failure): void {
    if (this.disconnected) return;
    super.connectionLost(reason);
    this.onLost(reason);
  }
}

// ---------------------------------------------------------------------------
// Listening

/**
 * A listening UNIX socket (unix.Port). The socket file gets `mode` (default 0o666). With
 * wantPID, a lock file `<address>.lock` holding this process's PID is taken first, and a socket
 * file left by a dead server is removed; a live server's lock makes listening fail.
 */
export class Port extends BasePort {
  private readonly mode: number;
  private readonly wantPID: boolean;
  private lockFile: FilesystemLock | null = null;

  constructor(
    readonly address: string,
    factory: IProtocolFactory,
    options: ListenUNIXOptions,
    reactor: TransportReactor,
  ) {
    super(0, factory, { backlog: options.backlog }, reactor);
    this.mode = options.mode ?? 0o666;
    this.wantPID = options.wantPID ?? false;
  }

  override startListening(): void {
    if (this.wantPID) {
      const lock = new FilesystemLock(`${this.address}.lock`);
      if (!lock.lock()) throw new CannotListenError("", this.address, new Error("Cannot acquire lock"));
      this.lockFile = lock;
      if (!lock.clean) {
        // the previous owner died without removing its socket file
        fs.rmSync(this.address, { force: true });
      }
    }
    try {
      super.startListening();
    } catch (err) {
      this.releaseLock();
      if (err instanceof CannotListenError) throw new CannotListenError("", this.address, err.socketError);
      throw err;
    }
    if (!this.address.startsWith("\0")) {
      try {
        fs.chmodSync(this.address, this.mode);
      } catch (err) {
        log.failure("Could not set the mode of {address}", err, { address: this.address });
      }
    }
  }

  protected override bind(server: net.Server): void {
    server.listen({ path: this.address, backlog: this.backlog });
  }

  protected override portDescription(): string {
    return this.address;
  }

  protected override peerAddress(): UNIXAddress {
    return unixAddress(null);
  }

  protected override makeTransport(socket: net.Socket): FileDescriptor {
    const owner: ConnectionOwner = this;
    return new UNIXConnection(
      socket,
      this.reactor,
      unixAddress(this.address),
      unixAddress(null),
      () => owner.connectionClosed(),
      this.counters,
    );
  }

  protected override portClosed(): void {
    // libuv unlinks the socket file when the listening handle closes
    this.releaseLock();
    super.portClosed();
  }

  private releaseLock(): void {
    try {
      this.lockFile?.unlock();
    } catch (err) {
      log.failure("Could not release the lock of {address}", err, { address: this.address });
    }
    this.lockFile = null;
  }

  override getHost(): UNIXAddress {
    return unixAddress(this.address);
  }

  override toString(): string {
    return `<${this.factory.constructor.name} on ${this.address}>`;
  }
}

// ---------------------------------------------------------------------------
// Connecting

/** A UNIX socket connection attempt (unix.Connector). */
export class Connector extends BaseConnector {
  private readonly checkPID: boolean;

  constructor(
    readonly address: string,
    factory: IClientFactory,
    options: ConnectUNIXOptions & { checkPID?: boolean },
    reactor: TransportReactor,
  ) {
    super(factory, options.timeout, reactor);
    this.checkPID = options.checkPID ?? false;
  }

  protected startConnecting(socket: net.Socket): void {
    if (this.checkPID && !isLocked(`${this.address}.lock`)) {
      // as Twisted's unix.Client: no live server holds the lock, so do not even try
      throw new BadFileError(`No live server holds ${this.address}.lock`);
    }
    socket.connect({ path: this.address });
  }

  protected makeTransport(socket: net.Socket): FileDescriptor {
    return new UNIXConnection(
      socket,
      this.reactor,
      unixAddress(null),
      unixAddress(this.address),
      (reason) => this.connectionLost(reason),
      this.counters,
    );
  }

  getDestination(): UNIXAddress {
    return unixAddress(this.address);
  }

  override toString(): string {
    return `<Connector instance: ${this.address}>`;
  }
}
