/**
 * Error classes, as twisted.internet.error and the errors of twisted.internet.defer.
 *
 * Every error a torsion API raises or errbacks with is a class here, so callers can
 * `failure.trap(ConnectionDone)` or `err instanceof TimeoutError`.
 */

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

/** A port could not be bound (EADDRINUSE, EACCES, ...). */
export class CannotListenError extends TorsionError {
  static override readonly code: string = "TORSION_ERR_CANNOT_LISTEN";
  constructor(
    readonly iface: string,
    readonly port: number | string,
    readonly socketError: unknown,
  ) {
    super(`Couldn't listen on ${iface || "any"}:${port}: ${(socketError as Error)?.message ?? socketError}.`);
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
