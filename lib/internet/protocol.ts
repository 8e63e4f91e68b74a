/**
 * Protocols and factories, as twisted.internet.protocol.
 *
 * Subclass Protocol and override the event methods; a Factory builds one Protocol per
 * connection and is what you hand to listenTCP/connectTCP (or to an endpoint).
 * ReconnectingClientFactory reconnects a client with an exponential back-off.
 */

import { ConnectionDone, NotConnectingError } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ITransport,
} from "./interfaces.js";
// The global reactor's home itself, not reactor.ts: the transports that reactor.ts imports import
// this module. A ReconnectingClientFactory asks for the reactor only when a connection it made
// failed, so a reactor is loaded (and its default registered) by then.
import { getReactor } from "./global-reactor.js";
import { Logger } from "./log.js";

/** The Failure a clean close delivers to connectionLost. */
export const connectionDone = new Failure(new ConnectionDone());

/**
 * The base class of protocols. `transport` is set by makeConnection; `factory` by the
 * factory that built it; `connected` is true between makeConnection and connectionLost.
 *
 * `F` is the factory's type, so a protocol reads its factory's state typed, as Twisted's
 * `self.factory.clients`: `class Chat extends Protocol<ChatFactory>` has
 * `this.factory!.clients`. (The factory sets it in buildProtocol; the type is the protocol's
 * promise about which factory builds it.)
 */
export class Protocol<F extends IProtocolFactory = IProtocolFactory> implements IProtocol {
  transport: ITransport | null = null;
  factory: F | null = null;
  connected = false;

  makeConnection(transport: ITransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** Called when the connection is up; override to send a greeting. */
  connectionMade(): void {}

  /** Called with bytes as they arrive, in any split. */
  dataReceived(_data: Bytes): void {}

  /** Called exactly once when the connection ends, with ConnectionDone or ConnectionLost. */
  connectionLost(_reason: Failure = connectionDone): void {
    this.connected = false;
  }

  /** The prefix of log messages about this protocol: its class name (ILoggingContext). */
  logPrefix(): string {
    return this.constructor.name;
  }
}

// One Logger per factory class, so a log line names the factory as Twisted's _loggerFor does.
const factoryLoggers = new Map<string, Logger>();
function loggerFor(instance: object): Logger {
  const name = instance.constructor.name;
  let logger = factoryLoggers.get(name);
  if (!logger) {
    logger = new Logger(`torsion.internet.protocol.${name}`);
    factoryLoggers.set(name, logger);
  }
  return logger;
}

/**
 * A factory of protocols, as twisted.internet.protocol.Factory. Set `protocol` to the class to
 * build (or use Factory.forProtocol); override buildProtocol for anything more.
 *
 * doStart/doStop count the ports (and connectors) using the factory, and call
 * startFactory/stopFactory only on the first start and the last stop. While `noisy` is true
 * (the default, as in Twisted) those two edges are logged at info level.
 */
export class Factory implements IProtocolFactory {
  protocol: (new () => IProtocol) | null = null;
  /** How many ports (or connectors) are using this factory right now. */
  numPorts = 0;
  /** Log "Starting factory"/"Stopping factory" on the first start and the last stop. */
  noisy = true;

  /**
   * Construct the factory with `args` and set its `protocol`, as Factory.forProtocol:
   * `EchoFactory.forProtocol(Echo)`, `MyFactory.forProtocol(Chat, room)`.
   */
  static forProtocol<F extends Factory, A extends unknown[]>(
    this: new (...args: A) => F,
    protocol: new () => IProtocol,
    ...args: A
  ): F {
    const factory = new this(...args);
    factory.protocol = protocol;
    return factory;
  }

  /** The prefix of log messages about this factory: its class name (ILoggingContext). */
  logPrefix(): string {
    return this.constructor.name;
  }

  /** Called by a port or connector when it starts using the factory; not for users. */
  doStart(): void {
    if (!this.numPorts) {
      if (this.noisy) loggerFor(this).info("Starting factory {factory}", { factory: this });
      this.startFactory();
    }
    this.numPorts++;
  }

  /** Called by a port or connector when it stops using the factory; not for users. */
  doStop(): void {
    // Twisted tolerates an unbalanced stop rather than failing an assertion: nothing to undo.
    if (this.numPorts === 0) return;
    this.numPorts--;
    if (!this.numPorts) {
      if (this.noisy) loggerFor(this).info("Stopping factory {factory}", { factory: this });
      this.stopFactory();
    }
  }

  /** Called before the first port starts using the factory: open databases, files... */
  startFactory(): void {}

  /** Called after the last port stops using the factory: close what startFactory opened. */
  stopFactory(): void {}

  /**
   * Build the protocol for a connection from `addr`: a new `this.protocol` whose `factory` is
   * this factory. Returning null refuses the connection.
   */
  buildProtocol(_addr: IAddress): IProtocol | null {
    if (!this.protocol) {
      throw new TypeError(`${this.constructor.name}.protocol is not set and buildProtocol is not overridden`);
    }
    const p = new this.protocol();
    (p as { factory?: unknown }).factory = this;
    return p;
  }

  /** As Python's repr in Twisted's log lines: `<EchoFactory>`. */
  toString(): string {
    return `<${this.constructor.name}>`;
  }
}

/** A Factory usable only for servers. */
export class ServerFactory extends Factory {}

/** A Factory for clients, told about the progress of its connector. */
export class ClientFactory extends Factory implements IClientFactory {
  /** A connection attempt started; `connector.stopConnecting()` may abandon it. */
  startedConnecting(_connector: IConnector): void {}
  /** The attempt failed; `connector.connect()` would try again. */
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}
  /** An established connection was lost; `connector.connect()` would reconnect. */
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}

/** A sample of the normal distribution (Box-Muller), as Python's random.normalvariate. */
function normalVariate(mu: number, sigma: number): number {
  const u1 = 1 - Math.random(); // (0, 1]: log(0) would be -Infinity
  const u2 = Math.random();
  return mu + sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

const reconnectLog = new Logger("torsion.internet.protocol.ReconnectingClientFactory");

/**
 * A client factory that reconnects with an exponential back-off, as
 * twisted.internet.protocol.ReconnectingClientFactory.
 *
 * Each failed or lost connection schedules `connector.connect()` after `delay` seconds on
 * `clock`; the delay grows by `factor` (with `jitter`, a relative standard deviation, to keep
 * many clients from reconnecting in step) up to `maxDelay`. Call resetDelay() once a
 * connection works (typically from buildProtocol or the protocol's connectionMade), and
 * stopTrying() to give up for good.
 */
export class ReconnectingClientFactory extends ClientFactory {
  /** The longest wait between attempts, in seconds. */
  maxDelay = 3600;
  /** The delay resetDelay() goes back to; the first retry waits about initialDelay * factor. */
  initialDelay = 1.0;
  /** How much the delay grows at each attempt (e, as in Twisted). */
  factor = Math.E;
  /** The standard deviation of the delay, as a fraction of it. 0 makes delays exact. */
  jitter = 0.119626565582;
  /** The delay before the next attempt, in seconds. */
  delay = this.initialDelay;
  /** Consecutive failed attempts since the last resetDelay(). */
  retries = 0;
  /** Give up after this many consecutive retries; null (the default) never gives up. */
  maxRetries: number | null = null;
  /** False once stopTrying() is called: no further attempt is made. */
  continueTrying = true;
  /** The connector of the last failed or lost connection. */
  connector: IConnector | null = null;
  /** The clock that schedules attempts; null uses the global reactor. */
  clock: IReactorTime | null = null;

  private callID: IDelayedCall | null = null;

  override clientConnectionFailed(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  override clientConnectionLost(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /** Have `connector` (by default the last one seen) connect again after a suitable delay. */
  retry(connector?: IConnector): void {
    if (!this.continueTrying) {
      if (this.noisy) reconnectLog.info("Abandoning {connector} on explicit request", { connector: String(connector ?? this.connector) });
      return;
    }
    const target = connector ?? this.connector;
    if (!target) throw new Error("no connector to retry");

    this.retries++;
    if (this.maxRetries !== null && this.retries > this.maxRetries) {
      if (this.noisy) {
        reconnectLog.info("Abandoning {connector} after {retries} retries.", {
          connector: String(target),
          retries: this.retries,
        });
      }
      return;
    }

    this.delay = Math.min(this.delay * this.factor, this.maxDelay);
    if (this.jitter) this.delay = normalVariate(this.delay, this.delay * this.jitter);
    if (this.noisy) {
      reconnectLog.info("{connector} will retry in {delay} seconds", {
        connector: String(target),
        delay: Math.trunc(this.delay),
      });
    }

    this.clock ??= getReactor();
    this.schedule(this.clock, target);
  }

  private schedule(clock: IReactorTime, connector: IConnector): void {
    this.callID = clock.callLater(this.delay, () => {
      this.callID = null;
      connector.connect();
    });
  }

  /** Put a stop to any reconnection in progress, and to all future ones. */
  stopTrying(): void {
    if (this.callID) {
      this.callID.cancel();
      this.callID = null;
    }
    this.continueTrying = false;
    if (this.connector) {
      try {
        this.connector.stopConnecting();
      } catch (err) {
        // An established connection is not "connecting": nothing to stop.
        if (!(err instanceof NotConnectingError)) throw err;
      }
    }
  }

  /** Call after a successful connection: the next failure starts the back-off afresh. */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this.callID = null;
    this.continueTrying = true;
  }
}
