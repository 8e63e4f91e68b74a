import { expect } from "chai";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TLSError } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import { HostnameEndpoint } from "../../lib/internet/hostname-endpoint.js";
import type { Bytes, IProtocol, ITransport } from "../../lib/internet/interfaces.js";
import { Factory, Protocol } from "../../lib/internet/protocol.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { StaticResolver } from "../../lib/internet/resolver.js";
import { DefaultOpenSSLContextFactory, optionsForClientTLS } from "../../lib/internet/ssl.js";
import { wrapClientTLS } from "../../lib/internet/wrap-client-tls.js";
import { later, within } from "../support/wait.js";

const fixture = (name: string): string => fileURLToPath(new URL(`../../../spec/fixtures/tls/${name}`, import.meta.url));

class Echo extends Protocol {
  override dataReceived(data: Bytes): void {
    this.transport!.write(data);
  }
}

class Client implements IProtocol {
  transport: ITransport | null = null;
  readonly echoed = later<string>();
  readonly lost = later<Failure>();
  handshakes = 0;
  makeConnection(t: ITransport): void {
    this.transport = t;
    this.connectionMade();
  }
  connectionMade(): void {
    this.transport!.write(Buffer.from("ping"));
  }
  handshakeCompleted(): void {
    this.handshakes++;
  }
  dataReceived(data: Bytes): void {
    this.echoed.resolve(Buffer.from(data).toString());
  }
  connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

describe("wrapClientTLS (twisted.internet.test.test_endpoints WrapClientTLSParserTests, on loopback)", () => {
  it("TLS over a HostnameEndpoint: what the protocol wrote before the handshake goes out encrypted; a wrong name is a TLSError", async () => {
    const reactor = new NodeReactor();
    reactor.installNameResolver(new StaticResolver({ localhost: ["127.0.0.1"], "wrong.example": ["127.0.0.1"] }));
    const factory = Factory.forProtocol(Echo);
    factory.noisy = false;
    const port = reactor.listenSSL(0, factory, new DefaultOpenSSLContextFactory(fixture("server-key.pem"), fixture("server.pem")), { interface: "127.0.0.1" });
    const portNumber = (port.getHost() as { port: number }).port;
    const trustRoot = readFileSync(fixture("ca.pem"));
    const clients = (): Factory => {
      const f = new Factory();
      f.noisy = false;
      f.buildProtocol = () => new Client() as never;
      return f;
    };
    try {
      const good = (await within(
        wrapClientTLS(optionsForClientTLS("localhost", { trustRoot }), new HostnameEndpoint(reactor, "localhost", portNumber)).connect(clients()),
        5,
        "the TLS connection",
      )) as unknown as Client;
      expect(await within(good.echoed.promise, 5, "the echo")).to.equal("ping");
      expect(good.handshakes).to.equal(1);
      good.transport!.loseConnection();
      const bad = (await within(
        wrapClientTLS(optionsForClientTLS("wrong.example", { trustRoot }), new HostnameEndpoint(reactor, "wrong.example", portNumber)).connect(clients()),
        5,
        "the TCP connection",
      )) as unknown as Client;
      const reason = await within(bad.lost.promise, 5, "the verification failure");
      expect(reason.value).to.be.instanceOf(TLSError);
    } finally {
      await port.stopListening();
    }
  });

  it("a connectionCreator that is not a client TLS factory throws at once", () => {
    expect(() => wrapClientTLS({} as never, new HostnameEndpoint(new NodeReactor(), "localhost", 1))).to.throw(TypeError);
  });
});
