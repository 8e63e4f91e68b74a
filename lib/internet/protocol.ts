/**
 * Protocols and factories, as twisted.internet.protocol.
 *
 * Subclass Protocol and override the event methods; a Factory builds one Protocol per
 * connection and is what you hand to listenTCP/connectTCP.
 */

import { ConnectionDone } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IClientFactory,
  IConnector,
  IProtocol,
  IProtocolFactory,
  ITransport,
} from "./interfaces.js";
import { Logger } from "./log.js";

/** The Failure a clean close delivers to connectionLost. */
export const connectionDone = new Failure(new ConnectionDone());

/**
 * The base class of protocols. `transport` is set by makeConnection; `factory` by the
 * factory that built it; `connected` is true between makeConnection and connectionLost.
 */
export class Protocol implements IProtocol {
  transport: ITransport | null = null;
  factory: IProtocolFactory | null = null;
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

  /** Log a message with this protocol's class name as the namespace. */
  logPrefix(): string {
    return this.constructor.name;
  }
}

/**
 * A factory of protocols, as twisted.internet.protocol.Factory. Set `protocol` to the class to
 * build (or use Factory.forProtocol); override buildProtocol for anything more.
 * doStart/doStop count the ports using the factory, and call startFactory/stopFactory only on
 * the first start and the last stop.
 */
export class Factory implements IProtocolFactory {
  protocol: (new () => IProtocol) | null = null;
  /** How many ports (or connectors) are using this factory right now. */
  numPorts = 0;
  protected readonly log = new Logger("torsion.internet.protocol");

  /** A factory whose buildProtocol makes `protocol`, with `props` assigned onto the factory. */
  static forProtocol<F extends Factory>(
    this: new () => F,
    protocol: new () => IProtocol,
    props?: Partial<F>,
  ): F {
    const factory = new this();
    factory.protocol = protocol;
    if (props) Object.assign(factory, props);
    return factory;
  }

  doStart(): void {
    if (!this.numPorts) this.startFactory();
    this.numPorts++;
  }

  doStop(): void {
    if (this.numPorts === 0) return; // stopped more often than started: nothing to undo
    this.numPorts--;
    if (!this.numPorts) this.stopFactory();
  }

  /** Called before the first port starts using the factory. */
  startFactory(): void {}

  /** Called after the last port stops using the factory. */
  stopFactory(): void {}

  buildProtocol(_addr: IAddress): IProtocol | null {
    if (!this.protocol) throw new TypeError(`${this.constructor.name}.protocol is not set and buildProtocol is not overridden`);
    const p = new this.protocol();
    (p as { factory?: unknown }).factory = this;
    return p;
  }
}

/** A Factory for servers. */
export class ServerFactory extends Factory {}

/** A Factory for clients, told about the progress of its connector. */
export class ClientFactory extends Factory implements IClientFactory {
  startedConnecting(_connector: IConnector): void {}
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}
