/**
 * wrapClientTLS, as twisted.internet.endpoints.wrapClientTLS: TLS over any stream client
 * endpoint whose transport can start TLS (TCP, HostnameEndpoint, UNIX). The protocol is
 * connected as soon as the wrapped endpoint is, before the handshake; what it writes is sent
 * once the handshake is done, and a failed handshake or verification (a certificate for another
 * name, an unknown CA) reaches its connectionLost as a TLSError. With optionsForClientTLS
 * (verification on by default) this is how Twisted's Agent and `tls:` descriptions connect.
 */

import type { Deferred } from "./deferred.js";
import type { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IProtocol,
  IProtocolFactory,
  IStreamClientEndpoint,
  ITLSClientContextFactory,
  ITLSTransport,
  ITransport,
} from "./interfaces.js";

/** Starts TLS on the transport, then hands everything to the application's protocol. */
class TLSStartingProtocol implements IProtocol {
  constructor(
    readonly wrappedProtocol: IProtocol,
    private readonly creator: ITLSClientContextFactory,
  ) {}

  makeConnection(transport: ITransport): void {
    const tlsTransport = transport as Partial<ITLSTransport>;
    if (typeof tlsTransport.startTLS !== "function") {
      throw new TypeError(`wrapClientTLS: the wrapped endpoint's transport (${transport.constructor.name}) cannot start TLS`);
    }
    tlsTransport.startTLS(this.creator, { server: false });
    this.wrappedProtocol.makeConnection(transport);
  }

  connectionMade(): void {}

  dataReceived(data: Bytes): void {
    this.wrappedProtocol.dataReceived(data);
  }

  connectionLost(reason: Failure): void {
    this.wrappedProtocol.connectionLost(reason);
  }

  /** The transport calls this on the protocol it holds (this one): pass it on. */
  handshakeCompleted(): void {
    const p = this.wrappedProtocol as { handshakeCompleted?: () => void };
    if (typeof p.handshakeCompleted === "function") p.handshakeCompleted();
  }
}

class TLSStartingFactory implements IProtocolFactory {
  constructor(
    private readonly wrappedFactory: IProtocolFactory,
    private readonly creator: ITLSClientContextFactory,
  ) {}

  buildProtocol(addr: IAddress): IProtocol | null {
    const p = this.wrappedFactory.buildProtocol(addr);
    return p === null ? null : new TLSStartingProtocol(p, this.creator);
  }

  doStart(): void {
    this.wrappedFactory.doStart();
  }

  doStop(): void {
    this.wrappedFactory.doStop();
  }
}

/** A client endpoint that runs TLS (made with `connectionCreator`) over `wrappedEndpoint`'s connections. */
export class TLSWrapperClientEndpoint implements IStreamClientEndpoint {
  constructor(
    readonly connectionCreator: ITLSClientContextFactory,
    readonly wrappedEndpoint: IStreamClientEndpoint,
  ) {
    if (typeof connectionCreator?.clientConnectionForTLS !== "function") {
      throw new TypeError("wrapClientTLS: connectionCreator must be a client TLS context factory (optionsForClientTLS(...))");
    }
  }

  /** Fires with the application's protocol once the wrapped endpoint is connected (TLS under way). */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    return this.wrappedEndpoint
      .connect(new TLSStartingFactory(factory, this.connectionCreator))
      .addCallback((p) => (p as TLSStartingProtocol).wrappedProtocol);
  }
}

/** TLS over `wrappedEndpoint`, as Twisted's wrapClientTLS(connectionCreator, wrappedEndpoint). */
export function wrapClientTLS(connectionCreator: ITLSClientContextFactory, wrappedEndpoint: IStreamClientEndpoint): TLSWrapperClientEndpoint {
  return new TLSWrapperClientEndpoint(connectionCreator, wrappedEndpoint);
}
