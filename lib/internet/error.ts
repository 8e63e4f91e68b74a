/**
 * Error classes, as twisted.internet.error and the errors of twisted.internet.defer.
 *
 * Every error a torsion API raises or errbacks with is a class here, so callers can
 * `failure.trap(ConnectionDone)` or `err instanceof TimeoutError`.
 */

import type { Deferred } from "./deferred.js";

/**
 * The base of torsion's errors; sets `name` to the subclass name so logs say what it is, and
 * `code` to the class's stable code.
 */
export class TorsionError extends Error {
  /**
   * The stable identifier of this kind of failure, as Node's `ERR_*` and undici's `UND_ERR_*`:
   * a program branches on it, never on the message. Each class has its own, and keeps it when
   * the class is renamed.
   */
  static readonly code: string = "TORSION_ERR";
  /** This error's stable identifier (its class's `code`); carried across threads. */
  readonly code: string;

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = (new.target as typeof TorsionError).code;
  }
}

// --- Deferred ----------------------------------------------------------------

/** A Deferred was fired (callback or errback) a second time. */
export class AlreadyCalledError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_DEFERRED_ALREADY_CALLED";
}

/** A Deferred was cancelled and its canceller did not fire it with something else. */
export class CancelledError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_CANCELLED";
}

/** One of the Deferreds in a DeferredList/gatherResults failed with fireOnOneErrback. */
export class FirstError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_FIRST";
  constructor(
    readonly subFailure: import("./failure.js").Failure,
    readonly index: number,
  ) {
    super(`FirstError[#${index}, ${subFailure.getErrorMessage()}]`);
  }
}

/** A DeferredQueue has no room for another object or another waiter. */
export class QueueOverflow extends TorsionError {
  static override readonly code: string = "TORSION_ERR_QUEUE_OVERFLOW";
}

/** A DeferredQueue was asked for an object while it already has as many waiters as allowed. */
export class QueueUnderflow extends TorsionError {
  static override readonly code: string = "TORSION_ERR_QUEUE_UNDERFLOW";
}

/** A generator passed to inlineCallbacks yielded something that is not a Deferred/Promise/value it can wait on. */
export class NotACoroutineError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_NOT_A_COROUTINE";
}

// --- Scheduling ------------------------------------------------------------

/** A DelayedCall that already ran was cancelled, reset or delayed. */
export class AlreadyCalled extends TorsionError {
  static override readonly code: string = "TORSION_ERR_ALREADY_CALLED";
  constructor(message = "Tried to cancel an already-called event.") {
    super(message);
  }
}

/** A DelayedCall that was already cancelled was cancelled, reset or delayed. */
export class AlreadyCancelled extends TorsionError {
  static override readonly code: string = "TORSION_ERR_ALREADY_CANCELLED";
  constructor(message = "Tried to cancel an already-cancelled event.") {
    super(message);
  }
}

/** A Cooperator or CooperativeTask was used after it finished. */
export class SchedulerStopped extends TorsionError {
  static override readonly code: string = "TORSION_ERR_SCHEDULER_STOPPED";
}

/** A CooperativeTask was stopped, paused or resumed after it finished. */
export class TaskDone extends TorsionError {
  static override readonly code: string = "TORSION_ERR_TASK_DONE";
}
/** A CooperativeTask was stopped with stop(). */
export class TaskStopped extends TaskDone {
  static override readonly code: string = "TORSION_ERR_TASK_STOPPED";
}
/** A CooperativeTask was stopped because its iterator raised. */
export class TaskFailed extends TaskDone {
  static override readonly code: string = "TORSION_ERR_TASK_FAILED";
}
/** A CooperativeTask was used after it finished without error. */
export class TaskFinished extends TaskDone {
  static override readonly code: string = "TORSION_ERR_TASK_FINISHED";
}
/** resume() on a task that was not paused. */
export class NotPaused extends TorsionError {
  static override readonly code: string = "TORSION_ERR_NOT_PAUSED";
}

// --- Connections -----------------------------------------------------------

/** The base of the errors a connection ends with. */
export class ConnectionClosed extends TorsionError {
  static override readonly code: string = "TORSION_ERR_CONNECTION_CLOSED";
}

/** The connection was closed cleanly (a FIN, or loseConnection). */
export class ConnectionDone extends ConnectionClosed {
  static override readonly code: string = "TORSION_ERR_CONNECTION_DONE";
  constructor(message = "Connection was closed cleanly.") {
    super(message);
  }
}

/** The connection was lost in a non-clean fashion (reset, error, abort). */
export class ConnectionLost extends ConnectionClosed {
  static override readonly code: string = "TORSION_ERR_CONNECTION_LOST";
  constructor(message = "Connection to the other side was lost in a non-clean fashion.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The connection was aborted with abortConnection(). A kind of ConnectionLost. */
export class ConnectionAborted extends ConnectionLost {
  static override readonly code: string = "TORSION_ERR_CONNECTION_ABORTED";
  constructor(message = "Connection was aborted locally using abortConnection.") {
    super(message);
  }
}

/** An outgoing connection could not be made. */
export class ConnectError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_CONNECT";
  constructor(message = "An error occurred while connecting.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The peer refused the connection (ECONNREFUSED). */
export class ConnectionRefusedError extends ConnectError {
  static override readonly code: string = "TORSION_ERR_CONNECTION_REFUSED";
  constructor(message = "Connection was refused by other side.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The host name could not be resolved. */
export class DNSLookupError extends ConnectError {
  static override readonly code: string = "TORSION_ERR_DNS_LOOKUP";
}

/** No route to the host (EHOSTUNREACH/ENETUNREACH). */
export class NoRouteError extends ConnectError {
  static override readonly code: string = "TORSION_ERR_NO_ROUTE";
}

/** The user cancelled the connection attempt (stopConnecting). */
export class UserError extends ConnectError {
  static override readonly code: string = "TORSION_ERR_USER";
  constructor(message = "User aborted connection.") {
    super(message);
  }
}

/** An operation did not complete in time (connect timeout, Deferred.addTimeout). */
export class TimeoutError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_TIMEOUT";
  constructor(message = "User timeout caused connection failure.") {
    super(message);
  }
}

/** The common reasons a bind fails, in words a developer acts on (the errno code follows). */
const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: "address already in use: another process is listening there (stop it, or choose another port; port 0 picks a free one)",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "no such address on this machine",
};

/** A port could not be bound (EADDRINUSE, EACCES, ...). */
export class CannotListenError extends TorsionError {
  /** Node's error (non-enumerable, so printing this error shows one clear line, not its nested dump). */
  declare readonly socketError: unknown;

  static override readonly code: string = "TORSION_ERR_CANNOT_LISTEN";
  constructor(
    readonly iface: string,
    readonly port: number | string,
    socketError: unknown,
  ) {
    const code = (socketError as { code?: unknown } | null)?.code;
    const known = typeof code === "string" ? LISTEN_FAILURES[code] : undefined;
    const reason = known !== undefined ? `${known} (${code})` : ((socketError as Error)?.message ?? String(socketError));
    super(`Couldn't listen on ${iface || "any"}:${port}: ${reason}.`);
    Object.defineProperty(this, "socketError", { value: socketError, enumerable: false });
  }
}

/** A port that was not listening was told to stop. */
export class NotListeningError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_NOT_LISTENING";
}

/** The reactor was asked to stop while not running, or run twice. */
export class ReactorNotRunning extends TorsionError {
  static override readonly code: string = "TORSION_ERR_REACTOR_NOT_RUNNING";
}
export class ReactorAlreadyRunning extends TorsionError {
  static override readonly code: string = "TORSION_ERR_REACTOR_ALREADY_RUNNING";
}
/** The reactor cannot be started again once stopped. */
export class ReactorNotRestartable extends TorsionError {
  static override readonly code: string = "TORSION_ERR_REACTOR_NOT_RESTARTABLE";
}
/** installReactor() was called once a global reactor was already installed (or built). */
export class ReactorAlreadyInstalledError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_REACTOR_ALREADY_INSTALLED";
}

/**
 * End a program run by react() with this exit status (Python's SystemExit, which Twisted's
 * react honours): `throw new SystemExit(3)` from main, or fail its Deferred with it.
 */
export class SystemExit extends TorsionError {
  static override readonly code: string = "TORSION_ERR_SYSTEM_EXIT";
  /** The exit status (Python's SystemExit.code; `code` is the stable error code, as on every torsion error). */
  constructor(readonly status: number = 0) {
    super(`exit status ${status}`);
  }
}

/** A worker thread died while running a task, or the pool was stopped with work queued. */
export class WorkerDied extends TorsionError {
  static override readonly code: string = "TORSION_ERR_WORKER_DIED";
}

/** An endpoint description string could not be parsed. */
export class EndpointDescriptionError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_ENDPOINT_DESCRIPTION";
}

/** A connector that was not connecting was told to stopConnecting(). */
export class NotConnectingError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_NOT_CONNECTING";
  constructor(message = "The Connector was not connecting when it was asked to stop connecting.") {
    super(message);
  }
}

/** A client factory's buildProtocol returned null instead of a protocol. */
export class NoProtocol extends ConnectError {
  static override readonly code: string = "TORSION_ERR_NO_PROTOCOL";
  constructor(message = "Protocol factory returned null instead of a Protocol.") {
    super(message);
  }
}

/**
 * A connection attempt made through an endpoint was cancelled (its Deferred's cancel()).
 * `address` is where it was connecting to.
 */
export class ConnectingCancelledError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_CONNECTING_CANCELLED";
  constructor(readonly address: import("./interfaces.js").IAddress) {
    super(`Connecting to ${describeAddress(address)} was cancelled.`);
  }
}

function describeAddress(address: import("./interfaces.js").IAddress): string {
  if (!address) return "an unknown address";
  if (address.type === "UNIX") return address.name ?? "an unnamed UNIX socket";
  return address.family === "IPv6" ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** A UNIX socket path is not usable: connectUNIX with checkPID found no live server lock. */
export class BadFileError extends ConnectError {
  static override readonly code: string = "TORSION_ERR_BAD_FILE";
  constructor(message = "File used for UNIX socket is no good.") {
    super(message);
  }
}

/**
 * TLS ended the connection: a failed handshake, a certificate the trust roots do not vouch
 * for, a host name the certificate does not match, an alert from the peer. A kind of
 * ConnectionLost (connectionLost only ever gets ConnectionDone or ConnectionLost), as Twisted
 * reports OpenSSL.SSL.Error there. `code` is Node's or OpenSSL's code for it
 * (ERR_TLS_CERT_ALTNAME_INVALID, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_SSL_...), themselves
 * stable codes, or TORSION_ERR_TLS when there is none.
 */
export class TLSError extends ConnectionLost {
  static override readonly code: string = "TORSION_ERR_TLS";
  override readonly code: string;

  constructor(message = "TLS error.", options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? TLSError.code;
  }
}

// --- Processes -------------------------------------------------------------

/**
 * A child process exited with status 0, as twisted.internet.error.ProcessDone: the reason
 * processEnded gets for a child that ended well. A kind of ConnectionDone.
 */
export class ProcessDone extends ConnectionDone {
  static override readonly code: string = "TORSION_ERR_PROCESS_DONE";
  readonly exitCode = 0;
  readonly signal = null;

  /** `status` is the raw wait status (0 here). */
  constructor(readonly status: number = 0) {
    super("process finished with exit code 0");
  }
}

/**
 * A child process exited with a non-zero status or was killed by a signal, as
 * twisted.internet.error.ProcessTerminated. `exitCode` is null when a signal ended it,
 * `signal` (its number, as Twisted's) null when it exited; `status` is the wait status
 * (exitCode << 8, or the signal number), as os.WIFEXITED and friends read it.
 */
export class ProcessTerminated extends ConnectionLost {
  static override readonly code: string = "TORSION_ERR_PROCESS_TERMINATED";
  constructor(
    readonly exitCode: number | null = null,
    readonly signal: number | null = null,
    readonly status: number | null = null,
    message?: string,
  ) {
    let s = message;
    if (s === undefined) {
      s = "process ended";
      if (exitCode !== null) s += ` with exit code ${exitCode}`;
      if (signal !== null) s += ` by signal ${signal}`;
    }
    super(s);
  }
}

/**
 * The child could not be started at all: the executable does not exist, is not executable, the
 * working directory is missing. Twisted reports this as ProcessTerminated(exitCode=1) with a
 * traceback on the child's stderr; torsion says why, and is still a ProcessTerminated (with
 * no exit code: the program never ran). `errno` is the system's code (ENOENT, EACCES, ...).
 */
export class ProcessSpawnError extends ProcessTerminated {
  static override readonly code: string = "TORSION_ERR_PROCESS_SPAWN";
  constructor(
    readonly executable: string,
    readonly errno: string,
    cause: unknown,
    readonly path?: string,
  ) {
    const where = path === undefined ? "" : ` in ${path}`;
    super(null, null, null, `Couldn't run ${executable}${where}: ${errno} (${(cause as Error)?.message ?? String(cause)})`);
  }
}

/** The process has already exited: it can no longer be signalled, as ProcessExitedAlready. */
export class ProcessExitedAlready extends TorsionError {
  static override readonly code: string = "TORSION_ERR_PROCESS_EXITED_ALREADY";
  constructor(message = "The process has already exited.") {
    super(message);
  }
}

/**
 * getProcessOutput saw the child write to stderr (without errortoo), as Twisted's
 * _UnexpectedErrorOutput (an IOError there): `processEnded` fires when the child has ended.
 */
export class UnexpectedErrorOutput extends TorsionError {
  static override readonly code: string = "TORSION_ERR_UNEXPECTED_ERROR_OUTPUT";
  constructor(
    readonly text: Uint8Array,
    readonly processEnded: Deferred<unknown>,
  ) {
    super(`got stderr: ${JSON.stringify(Buffer.from(text).toString("latin1"))}`);
  }
}

/**
 * getProcessOutputAndValue's child was killed by a signal: what it wrote until then and the
 * signal, as the (out, err, signalNum) Twisted errbacks with.
 */
export class ProcessOutputAndSignal extends TorsionError {
  static override readonly code: string = "TORSION_ERR_PROCESS_OUTPUT_AND_SIGNAL";
  constructor(
    readonly out: Buffer,
    readonly err: Buffer,
    readonly signal: number,
  ) {
    super(`process ended by signal ${signal}`);
  }
}

// --- UDP -------------------------------------------------------------------

/**
 * An address that is not an IP literal where one is needed, or of the other family than the
 * port's (an IPv6 address on an IPv4 port), as twisted.internet.error.InvalidAddressError.
 * UDP takes IP addresses only: resolve names first.
 */
export class InvalidAddressError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_INVALID_ADDRESS";
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`Invalid address ${JSON.stringify(address)}: ${reason}`);
  }
}

/** A datagram too long to send (over 65,507 bytes on IPv4, 65,527 on IPv6), as MessageLengthError. */
export class MessageLengthError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_MESSAGE_LENGTH";
  constructor(message = "Message is too long to send.") {
    super(message);
  }
}

/** joinGroup could not join the multicast group, as twisted.internet.error.MulticastJoinError. */
export class MulticastJoinError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_MULTICAST_JOIN";
}
