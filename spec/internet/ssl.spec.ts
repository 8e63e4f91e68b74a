// Tests of lib/internet/ssl.ts (context factories, listenSSL/connectSSL), startTLS on TCP
// connections (tcp.ts, tls-socket.ts) and the ssl:/tls: endpoints, on 127.0.0.1.
// Ports of twisted/test/test_ssl.py and twisted/internet/test/test_tls.py where they apply.
//
// Certificates: spec/fixtures/tls/ holds a TEST-ONLY CA and a server certificate for
// localhost/127.0.0.1 and a client certificate it signed (see its README.md), so these specs
// need no openssl command.

import { expect } from "chai";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { FileDescriptor } from "../../lib/internet/abstract.js";
import type { Server } from "../../lib/internet/tcp.js";
import { clientFromString, quoteStringArgument, serverFromString } from "../../lib/internet/endpoint-descriptions.js";
import {
  ConnectionAborted,
  ConnectionClosed,
  ConnectionDone,
  ConnectionLost,
  TLSError,
} from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type {
  Bytes,
  IProtocol,
  IProtocolFactory,
  ISSLTransport,
  ITLSClientContextFactory,
  ITLSServerContextFactory,
  ITLSTransport,
  ITransport,
} from "../../lib/internet/interfaces.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import {
  Certificate,
  CertificateOptions,
  ClientContextFactory,
  DefaultOpenSSLContextFactory,
  optionsForClientTLS,
  PrivateCertificate,
} from "../../lib/internet/ssl.js";
import { Resource } from "../../lib/web/resource.js";
import { Site } from "../../lib/web/server.js";
import type { IRequest } from "../../lib/web/iweb.js";
import { ClientFactory, loopback, pushToSlowReader, Recorder, ServerFactory } from "../support/loopback.js";
import { PumpingProducer } from "../support/producers.js";
import { later, within } from "../support/wait.js";

const TLS_DIR = fileURLToPath(new URL("../../../spec/fixtures/tls/", import.meta.url));
const fixture = (name: string): string => join(TLS_DIR, name);
const CA_PEM = readFileSync(fixture("ca.pem"));
const CA = Certificate.loadPEM(CA_PEM);

type TLSTransport = FileDescriptor & ITLSTransport & ISSLTransport;

/** A Recorder told of the TLS handshake too (IHandshakeListener). */
class TLSRecorder extends Recorder {
  declare transport: TLSTransport;
  readonly handshake = later();

  handshakeCompleted(): void {
    this.events.push("handshakeCompleted");
    this.handshake.resolve();
  }
}

class Echo extends TLSRecorder {
  override dataReceived(d: Bytes): void {
    super.dataReceived(d);
    this.transport.write(d);
  }
}

/** A line protocol for the STARTTLS specs (a small LineReceiver with a raw mode). */
class LineProtocol implements IProtocol {
  transport!: TLSTransport;
  lines: string[] = [];
  rawdata = Buffer.alloc(0);
  readonly lost = later<Failure>();
  private buffer = "";
  private raw = false;

  makeConnection(t: ITransport): void {
    this.transport = t as TLSTransport;
    this.connectionMade();
  }
  connectionMade(): void {}
  sendLine(line: string): void {
    this.transport.write(Buffer.from(line + "\r\n"));
  }
  setRawMode(): void {
    this.raw = true;
  }
  dataReceived(data: Bytes): void {
    if (this.raw) {
      this.rawDataReceived(Buffer.from(data));
      return;
    }
    this.buffer += Buffer.from(data).toString("latin1");
    let i: number;
    while (!this.raw && (i = this.buffer.indexOf("\r\n")) >= 0) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.lineReceived(line);
    }
    if (this.raw && this.buffer) {
      const rest = Buffer.from(this.buffer, "latin1");
      this.buffer = "";
      this.rawDataReceived(rest);
    }
  }
  lineReceived(line: string): void {
    this.lines.push(line);
  }
  rawDataReceived(data: Buffer): void {
    this.rawdata = Buffer.concat([this.rawdata, data]);
  }
  connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

const PRETEXT = ["first line", "last thing before tls starts", "STARTTLS"];
const POSTTEXT = ["first thing after tls started", "last thing ever"];

/** test_ssl.py's UnintelligentProtocol: sends PRETEXT, and on READY starts TLS and sends POSTTEXT. */
class UnintelligentProtocol extends LineProtocol {
  constructor(private readonly tlsServerSide: boolean) {
    super();
  }
  override connectionMade(): void {
    for (const l of PRETEXT) this.sendLine(l);
  }
  override lineReceived(line: string): void {
    super.lineReceived(line);
    if (line === "READY") {
      const ctx = this.tlsServerSide ? serverOptions() : new ClientContextFactory();
      this.transport.startTLS(ctx, { server: this.tlsServerSide });
      for (const l of POSTTEXT) this.sendLine(l);
      this.transport.loseConnection();
    }
  }
}

/** test_ssl.py's LineCollector: on STARTTLS answers READY, then starts TLS (doTLS) or goes raw. */
class LineCollector extends LineProtocol {
  constructor(
    private readonly doTLS: boolean,
    private readonly fillBuffer: boolean,
    private readonly tlsServerSide: boolean,
  ) {
    super();
  }
  override lineReceived(line: string): void {
    super.lineReceived(line);
    if (line === "STARTTLS") {
      if (this.fillBuffer) for (let i = 0; i < 500; i++) this.sendLine("X".repeat(1000));
      this.sendLine("READY");
      if (this.doTLS) {
        const ctx = this.tlsServerSide ? serverOptions() : new ClientContextFactory();
        this.transport.startTLS(ctx, { server: this.tlsServerSide });
      } else {
        this.setRawMode();
      }
    }
  }
  override rawDataReceived(data: Buffer): void {
    super.rawDataReceived(data);
    this.transport.loseConnection();
  }
}

function serverOptions(init: { acceptableProtocols?: string[] } = {}): DefaultOpenSSLContextFactory {
  return new DefaultOpenSSLContextFactory(fixture("server-key.pem"), fixture("server.pem"), init);
}

function trustingClient(hostname = "localhost"): ITLSClientContextFactory {
  return optionsForClientTLS(hostname, { trustRoot: CA });
}

describe("ssl (TLS over TCP)", function () {
  this.timeout(20000);
  const lo = loopback();
  let transports: FileDescriptor[];
  let dirs: string[];

  beforeEach(() => {
    transports = [];
    dirs = [];
  });

  afterEach(() => {
    for (const t of transports) if (!t.disconnected) t.abortConnection();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function listen(factory: IProtocolFactory, ctx: ITLSServerContextFactory = serverOptions()): number {
    const port = lo.reactor.listenSSL(0, factory, ctx, { interface: "127.0.0.1" });
    lo.ports.push(port);
    return (port.getHost() as { port: number }).port;
  }

  /** listenSSL with `server`, connectSSL with `client`; resolves once both are connected. */
  async function pair<S extends TLSRecorder, C extends TLSRecorder>(
    server: S,
    client: C,
    clientCtx: ITLSClientContextFactory = trustingClient(),
    serverCtx: ITLSServerContextFactory = serverOptions(),
  ): Promise<{ server: S; client: C }> {
    const portNumber = listen(
      new ServerFactory(() => server),
      serverCtx,
    );
    lo.reactor.connectSSL("127.0.0.1", portNumber, new ClientFactory(() => client), clientCtx);
    await within(client.made.promise, 5, "the client to connect");
    await within(server.made.promise, 5, "the server to accept");
    transports.push(server.transport, client.transport);
    return { server, client };
  }

  // -------------------------------------------------------------------------------------
  describe("listenSSL and connectSSL", () => {
    it("carries an echo round trip, with the handshake reported, then closes cleanly (ConnectionDone both sides)", async () => {
      const { server, client } = await pair(new Echo(), new TLSRecorder());
      client.transport.write(Buffer.from("hello, TLS"));
      await within(client.receivedAtLeast(10), 5, "the echo");
      expect(client.received.toString()).to.equal("hello, TLS");
      expect(client.events.slice(0, 2)).to.deep.equal(["connectionMade", "handshakeCompleted"]);
      expect(server.events.slice(0, 2)).to.deep.equal(["connectionMade", "handshakeCompleted"]);
      client.transport.loseConnection();
      const [c, s] = await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to close");
      expect(c.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(s.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(client.reasons).to.have.length(1);
      expect(server.reasons).to.have.length(1);
    });

    it("says it is secure, and tells the peer certificate, TLS version and ALPN protocol", async () => {
      const clientCtx = optionsForClientTLS("localhost", { trustRoot: CA, acceptableProtocols: ["http/1.1"] });
      const { server, client } = await pair(
        new TLSRecorder(),
        new TLSRecorder(),
        clientCtx,
        serverOptions({ acceptableProtocols: ["h2", "http/1.1"] }),
      );
      await within(Promise.all([client.handshake.promise, server.handshake.promise]), 5, "the handshakes");
      expect(client.transport.isSecure()).to.equal(true);
      expect(server.transport.isSecure()).to.equal(true);
      expect(client.transport.getPeerCertificate()?.subject.CN).to.equal("localhost");
      expect(server.transport.getPeerCertificate()).to.equal(null); // no client certificate
      expect(client.transport.negotiatedProtocol).to.equal("http/1.1");
      expect(server.transport.negotiatedProtocol).to.equal("http/1.1");
      expect(client.transport.getProtocolVersion()).to.equal("TLSv1.3");
      expect(client.transport.getPeer()).to.deep.include({ type: "TCP", host: "127.0.0.1" });
    });

    it("a plain TCP transport is not secure and has no peer certificate", async () => {
      const server = new TLSRecorder();
      const port = lo.listenTCP(new ServerFactory(() => server));
      const client = new TLSRecorder();
      lo.reactor.connectTCP("127.0.0.1", (port.getHost() as { port: number }).port, new ClientFactory(() => client));
      await within(client.made.promise, 5, "the client to connect");
      transports.push(client.transport);
      expect(client.transport.isSecure()).to.equal(false);
      expect(client.transport.getPeerCertificate()).to.equal(null);
      expect(client.transport.negotiatedProtocol).to.equal(null);
    });

    it("hostname verification failure: the client's connectionLost gets a TLSError naming the mismatch", async () => {
      const { client } = await pair(new TLSRecorder(), new TLSRecorder(), trustingClient("example.com"));
      client.transport.write(Buffer.from("never sent in the clear"));
      const reason = await within(client.lost.promise, 5, "the client to give up");
      expect(reason.check(TLSError)).to.equal(TLSError);
      expect(reason.check(ConnectionLost)).to.equal(ConnectionLost);
      expect((reason.value as TLSError).code).to.equal("ERR_TLS_CERT_ALTNAME_INVALID");
      expect(reason.getErrorMessage()).to.match(/example\.com.*is not in the cert's altnames: DNS:localhost/);
      expect(client.events).to.not.include("handshakeCompleted");
    });

    it("verifies an IP address against the certificate's IP subjectAltName", async () => {
      const { client } = await pair(new TLSRecorder(), new TLSRecorder(), trustingClient("127.0.0.1"));
      await within(client.handshake.promise, 5, "the handshake");
      expect(client.transport.getPeerCertificate()?.subjectaltname).to.include("IP Address:127.0.0.1");
    });

    it("test_badContext: a context factory that raises makes listenSSL and connectSSL raise the same error", () => {
      const broken = {
        serverConnectionForTLS(): never {
          throw new Error("This context is broken.");
        },
        clientConnectionForTLS(): never {
          throw new Error("This context is broken.");
        },
      };
      expect(() => lo.reactor.listenSSL(0, new ServerFactory(() => new TLSRecorder()), broken)).to.throw("This context is broken.");
      expect(() => lo.reactor.connectSSL("127.0.0.1", 1234, new ClientFactory(() => new TLSRecorder()), broken)).to.throw(
        "This context is broken.",
      );
      expect(lo.reactor.openResources).to.equal(0);
    });

    it("a client-only context factory cannot listen: listenSSL raises a TypeError saying so", () => {
      expect(() => lo.reactor.listenSSL(0, new ServerFactory(() => new TLSRecorder()), new ClientContextFactory() as never)).to.throw(
        TypeError,
        /cannot make server-side TLS connections/,
      );
    });
  });

  // -------------------------------------------------------------------------------------
  describe("BufferingTests", () => {
    it("test_openSSLBuffering: a line written in connectionMade, before the handshake, reaches the client", async () => {
      class SingleLineServerProtocol extends TLSRecorder {
        peerCertAtConnect: unknown = "unset";
        override connectionMade(): void {
          super.connectionMade();
          this.transport.write(Buffer.from("+OK <some crap>\r\n"));
          this.peerCertAtConnect = this.transport.getPeerCertificate();
        }
      }
      const server = new SingleLineServerProtocol();
      const client = new TLSRecorder();
      await pair(server, client, new ClientContextFactory(), new DefaultOpenSSLContextFactory(fixture("server-key.pem"), fixture("server.pem")));
      await within(client.receivedAtLeast(17), 5, "the line");
      expect(client.received.toString()).to.equal("+OK <some crap>\r\n");
      expect(server.peerCertAtConnect).to.equal(null);
    });
  });

  // -------------------------------------------------------------------------------------
  describe("ConnectionLostTests", () => {
    it("testImmediateDisconnect: a client that closes as soon as the handshake is done gets connectionLost", async () => {
      class ImmediatelyDisconnectingProtocol extends TLSRecorder {
        override handshakeCompleted(): void {
          super.handshakeCompleted();
          this.transport.loseConnection();
        }
      }
      const { client, server } = await pair(new TLSRecorder(), new ImmediatelyDisconnectingProtocol());
      const reason = await within(client.lost.promise, 5, "the client's connectionLost");
      expect(reason.check(ConnectionDone)).to.equal(ConnectionDone);
      await within(server.lost.promise, 5, "the server's connectionLost");
    });

    it("test_bothSidesLoseConnection: both sides closing after the handshake both get ConnectionDone, once", async () => {
      class CloseAfterHandshake extends TLSRecorder {
        override handshakeCompleted(): void {
          super.handshakeCompleted();
          this.transport.loseConnection();
        }
      }
      const { client, server } = await pair(new CloseAfterHandshake(), new CloseAfterHandshake());
      const [c, s] = await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to close");
      expect(c.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(s.check(ConnectionDone)).to.equal(ConnectionDone);
      await new Promise((r) => setTimeout(r, 20)); // a second connectionLost would have come by now
      expect(client.reasons).to.have.length(1);
      expect(server.reasons).to.have.length(1);
    });

    it("testFailedVerify: a server the client's trust roots do not vouch for: TLSError on the client, connectionLost on the server", async () => {
      // the platform's roots do not include the test CA
      const { client, server } = await pair(new TLSRecorder(), new TLSRecorder(), optionsForClientTLS("localhost"));
      const [c, s] = await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to give up");
      expect(c.check(TLSError)).to.equal(TLSError);
      expect((c.value as TLSError).code).to.equal("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      // the client drops the connection without an alert in TLS 1.3 (it verifies after the
      // handshake), so the server sees an ordinary close
      expect(s.check(ConnectionClosed)).to.equal(ConnectionClosed);
      expect(client.events).to.not.include("handshakeCompleted");
    });
  });

  // -------------------------------------------------------------------------------------
  describe("DefaultOpenSSLContextFactoryTests", () => {
    it("test_method: a server context negotiates TLS 1.3, and TLS 1.2 with a client that stops there", async () => {
      const a = await pair(new TLSRecorder(), new TLSRecorder(), new ClientContextFactory());
      await within(a.client.handshake.promise, 5, "the TLS 1.3 handshake");
      expect(a.client.transport.getProtocolVersion()).to.equal("TLSv1.3");
      const tls12 = new CertificateOptions({ trustRoot: CA, lowerMaximumSecurityTo: "TLSv1.2" });
      const b = await pair(new TLSRecorder(), new TLSRecorder(), tls12);
      await within(b.client.handshake.promise, 5, "the TLS 1.2 handshake");
      expect(b.client.transport.getProtocolVersion()).to.equal("TLSv1.2");
      expect(b.server.transport.getProtocolVersion()).to.equal("TLSv1.2");
    });

    it("test_missingCertificateFile: a certificate file that does not exist raises from the constructor", () => {
      expect(() => new DefaultOpenSSLContextFactory(fixture("server-key.pem"), fixture("nonexistent.pem"))).to.throw(
        /ENOENT.*nonexistent\.pem/,
      );
    });

    it("test_missingPrivateKeyFile: a private key file that does not exist raises from the constructor", () => {
      expect(() => new DefaultOpenSSLContextFactory(fixture("nonexistent-key.pem"), fixture("server.pem"))).to.throw(
        /ENOENT.*nonexistent-key\.pem/,
      );
    });

    it("a key that does not match the certificate raises from the constructor", () => {
      expect(() => new DefaultOpenSSLContextFactory(fixture("client-key.pem"), fixture("server.pem"))).to.throw(
        /key values mismatch/,
      );
    });
  });

  describe("ClientContextFactoryTests", () => {
    it("test_method: the client context negotiates TLS 1.3, and TLS 1.2 with a server that stops there", async () => {
      const tls12Server = new CertificateOptions({
        privateKey: readFileSync(fixture("server-key.pem")),
        certificate: readFileSync(fixture("server.pem")),
        lowerMaximumSecurityTo: "TLSv1.2",
      });
      const { client } = await pair(new TLSRecorder(), new TLSRecorder(), new ClientContextFactory(), tls12Server);
      await within(client.handshake.promise, 5, "the handshake");
      expect(client.transport.getProtocolVersion()).to.equal("TLSv1.2");
    });
  });

  // -------------------------------------------------------------------------------------
  describe("client certificates", () => {
    const serverCert = (): PrivateCertificate =>
      PrivateCertificate.fromCertificateAndKeyPair(readFileSync(fixture("server.pem")), readFileSync(fixture("server-key.pem")));
    const clientCert = (): PrivateCertificate =>
      PrivateCertificate.fromCertificateAndKeyPair(readFileSync(fixture("client.pem")), readFileSync(fixture("client-key.pem")));

    it("a server made with PrivateCertificate.options(ca) sees the certificate of a client that presents one", async () => {
      const clientCtx = optionsForClientTLS("localhost", { trustRoot: CA, clientCertificate: clientCert() });
      const { server } = await pair(new Echo(), new TLSRecorder(), clientCtx, serverCert().options(CA));
      await within(server.handshake.promise, 5, "the server's handshake");
      expect(server.transport.getPeerCertificate()?.subject.CN).to.equal("torsion test client");
    });

    it("such a server drops a client without a certificate: a TLSError on the server, a close on the client", async () => {
      const { server, client } = await pair(new TLSRecorder(), new TLSRecorder(), trustingClient(), serverCert().options(CA));
      const [c, s] = await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to give up");
      expect(s.check(TLSError)).to.equal(TLSError);
      expect(s.getErrorMessage()).to.match(/peer did not return a certificate/);
      // in TLS 1.3 the client's handshake is done before the server has seen its (missing)
      // certificate: it learns of the refusal from the server's alert, or just the close
      expect(c.check(ConnectionClosed)).to.equal(ConnectionClosed);
      expect(server.events).to.not.include("handshakeCompleted");
    });

    it("and drops a client whose certificate its CAs did not sign", async () => {
      // the server trusts only a CA that did not sign the client's certificate
      const other = serverCert().options(Certificate.loadPEM(readFileSync(fixture("server.pem"))));
      const clientCtx = optionsForClientTLS("localhost", { trustRoot: CA, clientCertificate: clientCert() });
      const { server } = await pair(new TLSRecorder(), new TLSRecorder(), clientCtx, other);
      const s = await within(server.lost.promise, 5, "the server to give up");
      expect(s.check(TLSError)).to.equal(TLSError);
      expect(server.events).to.not.include("handshakeCompleted");
    });
  });

  // -------------------------------------------------------------------------------------
  describe("flow control and the disconnect chain over TLS", () => {
    it("a push producer writing 64 MiB to a slow reader is paused, and the buffer stays within bufferSize plus one chunk", async () => {
      const TOTAL = 64 << 20;
      const CHUNK = 64 << 10;
      const chunk = Buffer.alloc(CHUNK, 0x61);
      const server = new TLSRecorder();
      const portNumber = listen(new ServerFactory(() => server));
      const peer = tls.connect({ host: "127.0.0.1", port: portNumber, ca: CA_PEM, servername: "localhost" });
      peer.on("error", () => {});
      peer.pause();
      lo.sockets.push(peer);
      await within(server.made.promise, 5, "the server to accept");
      const t = server.transport;
      transports.push(t);
      const { received, pauses, maxBuffered } = await pushToSlowReader(t, peer, TOTAL, chunk);
      expect(received).to.equal(TOTAL);
      expect(pauses).to.be.greaterThan(0);
      expect(maxBuffered).to.be.at.most(t.bufferSize + CHUNK);
      expect((await within(server.lost.promise, 5, "connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("killing the client mid-transfer stops the producer once, then connectionLost(ConnectionLost) once", async () => {
      const server = new TLSRecorder();
      const order: string[] = [];
      const origLost = server.connectionLost.bind(server);
      server.connectionLost = (r) => {
        order.push("connectionLost");
        origLost(r);
      };
      const portNumber = listen(new ServerFactory(() => server));
      const tcp = await lo.connect(portNumber);
      const peer = tls.connect({ socket: tcp, ca: CA_PEM, servername: "localhost" });
      peer.on("error", () => {});
      lo.sockets.push(peer);
      await within(new Promise((r) => peer.once("secureConnect", r)), 5, "the client handshake");
      peer.pause();
      const pump = new PumpingProducer(server.transport, order);
      try {
        await within(pump.pausedOnce.promise, 5, "the producer to be paused");
        tcp.resetAndDestroy(); // the client dies: a RST, and no TLS close_notify
        const reason = await within(server.lost.promise, 5, "connectionLost");
        expect(reason.check(ConnectionLost)).to.equal(ConnectionLost);
        expect(reason.check(ConnectionDone)).to.equal(null);
      } finally {
        pump.end();
      }
      await new Promise((r) => setTimeout(r, 20));
      expect(order).to.deep.equal(["stopProducing", "connectionLost"]);
      expect(pump.stops).to.equal(1);
      expect(server.reasons).to.have.length(1);
      expect((server.transport as unknown as Server).port.counters.producersStopped).to.equal(1);
    });

    it("loseConnection waits for the pending data and for the producer to unregister", async () => {
      const { server, client } = await pair(new TLSRecorder(), new TLSRecorder());
      const producer = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
      server.transport.registerProducer(producer, true);
      server.transport.write(Buffer.alloc(1 << 20, 0x7a));
      server.transport.loseConnection();
      server.transport.write(Buffer.from("still the producer's"));
      await new Promise((r) => setTimeout(r, 50));
      expect(server.reasons).to.have.length(0); // the producer is still registered
      server.transport.unregisterProducer();
      const reason = await within(client.lost.promise, 5, "the client to see the close");
      expect(reason.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(client.received.length).to.equal((1 << 20) + "still the producer's".length);
    });

    it("half-close: loseWriteConnection sends close_notify, the peer still answers, and both halves are reported", async () => {
      class HalfCloseable extends TLSRecorder {
        readConnectionLost(): void {
          this.events.push("readConnectionLost");
          this.transport.write(Buffer.from("answer after your close_notify"));
          this.transport.loseConnection();
        }
        writeConnectionLost(): void {
          this.events.push("writeConnectionLost");
        }
      }
      class Client extends TLSRecorder {
        writeConnectionLost(): void {
          this.events.push("writeConnectionLost");
        }
        readConnectionLost(): void {
          this.events.push("readConnectionLost");
          this.transport.loseConnection();
        }
      }
      const { server, client } = await pair(new HalfCloseable(), new Client());
      client.transport.write(Buffer.from("request"));
      client.transport.loseWriteConnection();
      await within(client.receivedAtLeast(30), 5, "the answer after the half-close");
      expect(client.received.toString()).to.equal("answer after your close_notify");
      await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to close");
      expect(server.received.toString()).to.equal("request");
      expect(server.events).to.include("readConnectionLost");
      expect(client.events).to.include.members(["writeConnectionLost", "readConnectionLost"]);
      expect(client.reasons[0]!.check(ConnectionDone)).to.equal(ConnectionDone);
    });
  });

  // -------------------------------------------------------------------------------------
  describe("AbortSSLConnectionTests", () => {
    it("test_fullWriteBuffer: a client aborting with a full write buffer: ConnectionAborted here, ConnectionLost there", async () => {
      const { server, client } = await pair(new TLSRecorder(), new TLSRecorder());
      server.transport.pauseProducing(); // the server stops reading: the client's buffer fills
      await within(client.handshake.promise, 5, "the handshake");
      for (let i = 0; i < 64 && client.transport.writableLength < 4 << 20; i++) client.transport.write(Buffer.alloc(1 << 20));
      expect(client.transport.writableLength).to.be.greaterThan(0);
      client.transport.abortConnection();
      const c = await within(client.lost.promise, 5, "the client's connectionLost");
      // a paused transport reads nothing, so it learns of the reset when it reads again
      server.transport.resumeProducing();
      const s = await within(server.lost.promise, 5, "the server's connectionLost");
      expect(c.check(ConnectionAborted)).to.equal(ConnectionAborted);
      // Twisted's server sees ConnectionLost; a Linux socket that was not being read reports
      // the reset as an end of file once read again (plain node:net sockets too), so here the
      // server sees a close, once
      expect(s.check(ConnectionClosed)).to.equal(ConnectionClosed);
      expect(server.reasons).to.have.length(1);
    });

    it("test_clientAbortsConnectionTwice: a second abortConnection does nothing", async () => {
      const { server, client } = await pair(new TLSRecorder(), new TLSRecorder());
      await within(client.handshake.promise, 5, "the handshake");
      client.transport.abortConnection();
      client.transport.abortConnection();
      await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to close");
      expect(client.reasons).to.have.length(1);
      expect(client.reasons[0]!.check(ConnectionAborted)).to.equal(ConnectionAborted);
    });

    it("test_clientAbortsConnectionThenLosesConnection: loseConnection after abortConnection does nothing", async () => {
      const { server, client } = await pair(new TLSRecorder(), new TLSRecorder());
      await within(client.handshake.promise, 5, "the handshake");
      client.transport.abortConnection();
      client.transport.loseConnection();
      await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to close");
      expect(client.reasons).to.have.length(1);
      expect(client.reasons[0]!.check(ConnectionAborted)).to.equal(ConnectionAborted);
    });

    it("test_dataReceivedThrows: a protocol raising in dataReceived is logged and its connection dropped (ConnectionLost)", async () => {
      class Raising extends TLSRecorder {
        override dataReceived(): void {
          throw new Error("dataReceived exploded");
        }
      }
      const capture = captureLogEvents();
      try {
        const { server, client } = await pair(new Raising(), new TLSRecorder());
        client.transport.write(Buffer.from("boom"));
        const s = await within(server.lost.promise, 5, "the server to drop the connection");
        expect(s.check(ConnectionLost)).to.equal(ConnectionLost);
        expect(s.getErrorMessage()).to.match(/dataReceived raised dataReceived exploded/);
        await within(client.lost.promise, 5, "the client to see it");
        expect(capture.failures().some((f) => /dataReceived exploded/.test(f.getErrorMessage()))).to.equal(true);
      } finally {
        capture.stop();
      }
    });
  });

  // -------------------------------------------------------------------------------------
  describe("TLSTests (startTLS)", () => {
    async function runTest(
      clientProto: LineProtocol,
      serverProto: LineProtocol,
    ): Promise<void> {
      const port = lo.listenTCP(new ServerFactory(() => serverProto));
      lo.reactor.connectTCP("127.0.0.1", (port.getHost() as { port: number }).port, new ClientFactory(() => clientProto));
      await within(Promise.all([clientProto.lost.promise, serverProto.lost.promise]), 5, "both connections to close");
    }

    for (const fillBuffer of [false, true]) {
      const cls = fillBuffer ? "SpammyTLSTests" : "TLSTests";
      describe(cls, () => {
        it(`test_TLS: lines sent before startTLS arrive in the clear, lines after it encrypted${fillBuffer ? ", with 500 KB pending" : ""}`, async () => {
          const server = new LineCollector(true, fillBuffer, true);
          await runTest(new UnintelligentProtocol(false), server);
          expect(server.lines).to.deep.equal([...PRETEXT, ...POSTTEXT]);
        });

        it(`test_unTLS: a server that does not start TLS receives the client's TLS bytes as raw data${fillBuffer ? ", with 500 KB pending" : ""}`, async () => {
          const server = new LineCollector(false, fillBuffer, true);
          await runTest(new UnintelligentProtocol(false), server);
          expect(server.lines).to.deep.equal(PRETEXT);
          expect(server.rawdata.length).to.be.greaterThan(0);
          expect(server.rawdata[0]).to.equal(0x16); // a TLS handshake record: the ClientHello
        });

        it(`test_backwardsTLS: the TCP client can be the TLS server${fillBuffer ? ", with 500 KB pending" : ""}`, async () => {
          const client = new LineCollector(true, fillBuffer, true);
          await runTest(client, new UnintelligentProtocol(false));
          expect(client.lines).to.deep.equal([...PRETEXT, ...POSTTEXT]);
        });
      });
    }

    it("startTLS keeps the protocol object, makes the transport secure, and tells the protocol of the handshake", async () => {
      const server = new TLSRecorder();
      const port = lo.listenTCP(new ServerFactory(() => server));
      const client = new TLSRecorder();
      lo.reactor.connectTCP("127.0.0.1", (port.getHost() as { port: number }).port, new ClientFactory(() => client));
      await within(Promise.all([client.made.promise, server.made.promise]), 5, "the connection");
      transports.push(client.transport, server.transport);
      const transportBefore = server.transport;
      expect(server.transport.isSecure()).to.equal(false);
      server.transport.startTLS(serverOptions());
      client.transport.startTLS(trustingClient());
      expect(server.transport.isSecure()).to.equal(true);
      expect(() => server.transport.startTLS(serverOptions())).to.throw(/already started/);
      await within(Promise.all([client.handshake.promise, server.handshake.promise]), 5, "the handshakes");
      client.transport.write(Buffer.from("secret"));
      await within(server.receivedAtLeast(6), 5, "the data");
      expect(server.received.toString()).to.equal("secret");
      expect(server.transport).to.equal(transportBefore);
      expect(client.transport.getPeerCertificate()?.subject.CN).to.equal("localhost");
    });

    it("startTLS with pre-TLS bytes still buffered sends them in the clear first, then the encrypted ones", async () => {
      const server = new TLSRecorder();
      const port = lo.listenTCP(new ServerFactory(() => server));
      const peer = net.connect({ port: (port.getHost() as { port: number }).port, host: "127.0.0.1" });
      peer.on("error", () => {});
      peer.pause(); // nobody reads: the clear bytes stay buffered in the server's transport
      lo.sockets.push(peer);
      await within(server.made.promise, 5, "the server to accept");
      transports.push(server.transport);
      const CLEAR = 8 << 20;
      server.transport.write(Buffer.alloc(CLEAR, 0x63));
      server.transport.startTLS(serverOptions());
      server.transport.write(Buffer.from("after startTLS"));
      expect(server.transport.writableLength).to.be.greaterThan(0);
      // read exactly the clear bytes, then start TLS on the same socket
      let clear = 0;
      await within(
        new Promise<void>((resolve) => {
          const onReadable = (): void => {
            let chunk: Buffer | null;
            while (clear < CLEAR && (chunk = peer.read(Math.min(CLEAR - clear, 65536)) as Buffer | null) !== null) {
              if (chunk.some((b) => b !== 0x63)) throw new Error("a non-clear byte before the end of the clear bytes");
              clear += chunk.length;
            }
            if (clear === CLEAR) {
              peer.removeListener("readable", onReadable);
              resolve();
            }
          };
          peer.on("readable", onReadable);
          onReadable();
        }),
        10,
        "the clear bytes",
      );
      const secure = tls.connect({ socket: peer, ca: CA_PEM, servername: "localhost" });
      secure.on("error", () => {});
      const text = await within(
        new Promise<string>((resolve) => secure.once("data", (d: Buffer) => resolve(d.toString()))),
        5,
        "the encrypted bytes",
      );
      expect(text).to.equal("after startTLS");
      secure.destroy();
    });

    it("test_disconnectAfterWriteAfterStartTLS: loseConnection right after a write on a startTLS connection closes both sides", async () => {
      class ShortProtocol extends TLSRecorder {
        constructor(private readonly ctx: ITLSServerContextFactory | ITLSClientContextFactory) {
          super();
        }
        override connectionMade(): void {
          super.connectionMade();
          this.transport.startTLS(this.ctx);
          this.transport.write(Buffer.from("x"));
        }
        override dataReceived(d: Bytes): void {
          super.dataReceived(d);
          this.transport.write(Buffer.from("y"));
          this.transport.loseConnection();
        }
      }
      const server = new ShortProtocol(serverOptions());
      const client = new ShortProtocol(trustingClient());
      const port = lo.listenTCP(new ServerFactory(() => server));
      lo.reactor.connectTCP("127.0.0.1", (port.getHost() as { port: number }).port, new ClientFactory(() => client));
      const [c, s] = await within(Promise.all([client.lost.promise, server.lost.promise]), 5, "both sides to close");
      expect(c.check(ConnectionClosed)).to.equal(ConnectionClosed);
      expect(s.check(ConnectionClosed)).to.equal(ConnectionClosed);
    });
  });

  // -------------------------------------------------------------------------------------
  describe("ssl: and tls: endpoints", () => {
    function caDir(): string {
      const dir = mkdtempSync(join(tmpdir(), "torsion-ca-"));
      dirs.push(dir);
      copyFileSync(fixture("ca.pem"), join(dir, "ca.pem"));
      return dir;
    }

    async function listenFromString(description: string, server: TLSRecorder): Promise<number> {
      const port = await within(serverFromString(lo.reactor, description).listen(new ServerFactory(() => server)), 5, "listen");
      lo.ports.push(port);
      return (port.getHost() as { port: number }).port;
    }

    const q = quoteStringArgument;
    const SERVER = `privateKey=${q(fixture("server-key.pem"))}:certKey=${q(fixture("server.pem"))}:interface=127.0.0.1`;

    it("serverFromString ssl: and clientFromString tls: carry an echo round trip, verifying the server's name", async () => {
      const server = new Echo();
      const portNumber = await listenFromString(`ssl:0:${SERVER}`, server);
      const client = new TLSRecorder();
      const endpoint = clientFromString(lo.reactor, `tls:localhost:${portNumber}:trustRoots=${q(caDir())}:timeout=5`);
      const proto = await within(endpoint.connect(new ServerFactory(() => client)), 5, "connect");
      expect(proto).to.equal(client);
      transports.push(client.transport);
      client.transport.write(Buffer.from("ping"));
      await within(client.receivedAtLeast(4), 5, "the echo");
      expect(client.received.toString()).to.equal("ping");
      expect(client.events).to.include("handshakeCompleted"); // passed through the endpoint's wrapper
      expect(client.transport.isSecure()).to.equal(true);
      client.transport.loseConnection();
      expect((await within(client.lost.promise, 5, "the close")).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("clientFromString ssl: with caCertsDir and hostname verifies; with a client certificate the server sees it", async () => {
      const server = new Echo();
      const serverDesc = `ssl:0:${SERVER}`;
      const portNumber = await listenFromString(serverDesc, server);
      const client = new TLSRecorder();
      const endpoint = clientFromString(
        lo.reactor,
        `ssl:127.0.0.1:${portNumber}:caCertsDir=${q(caDir())}:hostname=localhost:certKey=${q(fixture("client.pem"))}:privateKey=${q(fixture("client-key.pem"))}`,
      );
      await within(endpoint.connect(new ServerFactory(() => client)), 5, "connect");
      transports.push(client.transport);
      await within(client.handshake.promise, 5, "the handshake");
      expect(client.transport.getPeerCertificate()?.subject.CN).to.equal("localhost");
    });

    it("clientFromString tls: to a server that is not the host named fails with a TLSError in connectionLost", async () => {
      const portNumber = await listenFromString(`ssl:0:${SERVER}`, new TLSRecorder());
      const client = new TLSRecorder();
      // (tls:example.com would connect to example.com itself; ssl: with hostname= connects to
      // 127.0.0.1 and verifies the name example.com)
      const ep = clientFromString(lo.reactor, `ssl:127.0.0.1:${portNumber}:caCertsDir=${q(caDir())}:hostname=example.com`);
      await within(ep.connect(new ServerFactory(() => client)), 5, "connect");
      const reason = await within(client.lost.promise, 5, "the client to give up");
      expect(reason.check(TLSError)).to.equal(TLSError);
      expect((reason.value as TLSError).code).to.equal("ERR_TLS_CERT_ALTNAME_INVALID");
    });

    it("an ssl: server with extraCertChain sends the chain after its certificate", async () => {
      const portNumber = await listenFromString(`ssl:0:${SERVER}:extraCertChain=${q(fixture("ca.pem"))}`, new TLSRecorder());
      const client = new TLSRecorder();
      lo.reactor.connectSSL("127.0.0.1", portNumber, new ClientFactory(() => client), new ClientContextFactory());
      await within(client.handshake.promise, 5, "the handshake");
      transports.push(client.transport);
      // no trust store is involved (ClientContextFactory): the issuer can only come from the wire
      const chain = (client.transport.socket as tls.TLSSocket).getPeerCertificate(true);
      expect(chain.issuerCertificate?.subject.CN).to.equal("torsion TEST-ONLY CA");
    });

    it("an ssl: server whose key file is missing is refused with a clear EndpointDescriptionError", () => {
      expect(() => serverFromString(lo.reactor, `ssl:0:privateKey=${q(fixture("missing.pem"))}`)).to.throw(
        /cannot read the privateKey file .*missing\.pem/,
      );
      expect(() => serverFromString(lo.reactor, `ssl:0:${SERVER}:sslmethod=SSLv3_METHOD`)).to.throw(/sslmethod must be one of/);
      expect(() => clientFromString(lo.reactor, `tls:localhost:443:endpoint=tcp\\:localhost\\:443`)).to.throw(/not supported/);
    });
  });

  // -------------------------------------------------------------------------------------
  describe("the web layer over TLS", () => {
    it("Request.isSecure() is true for a request that came over listenSSL", async () => {
      class Secure extends Resource {
        override isLeaf = true;
        render_GET(request: IRequest): Uint8Array {
          return Buffer.from(`secure=${request.isSecure()} url=${(request as unknown as { prePathURL(): string }).prePathURL()}`);
        }
      }
      const site = new Site(new Secure());
      site.noisy = false;
      const port = lo.reactor.listenSSL(0, site, serverOptions(), { interface: "127.0.0.1" });
      lo.ports.push(port);
      const portNumber = (port.getHost() as { port: number }).port;
      const body = await within(
        new Promise<string>((resolve, reject) => {
          const req = https.get(
            { host: "127.0.0.1", port: portNumber, path: "/", ca: CA_PEM, servername: "localhost", agent: false },
            (res) => {
              let text = "";
              res.on("data", (d: Buffer) => (text += d.toString()));
              res.on("end", () => resolve(text));
            },
          );
          req.on("error", reject);
        }),
        5,
        "the HTTPS response",
      );
      expect(body).to.match(/^secure=true url=https:\/\//);
    });
  });
});
