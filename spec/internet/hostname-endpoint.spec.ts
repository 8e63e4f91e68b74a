import { expect } from "chai";
import { ConnectingCancelledError, ConnectionRefusedError, DNSLookupError, TimeoutError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { clientFromString } from "../../lib/internet/endpoint-descriptions.js";
import { HostnameEndpoint } from "../../lib/internet/hostname-endpoint.js";
import { MemoryReactorClock } from "../../lib/internet/memory-reactor.js";
import { Factory, Protocol } from "../../lib/internet/protocol.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { StaticResolver } from "../../lib/internet/resolver.js";
import { TCP4ClientEndpoint } from "../../lib/internet/endpoints.js";
import { TLSWrapperClientEndpoint } from "../../lib/internet/wrap-client-tls.js";
import { within } from "../support/wait.js";
import { failureResultOf as failureOf, successResultOf as resultOf } from "../support/deferred-helpers.js";

function reactorResolving(table: Record<string, string[]>): MemoryReactorClock {
  const reactor = new MemoryReactorClock();
  reactor.installNameResolver(new StaticResolver(table));
  return reactor;
}

const factory = (): Factory => {
  const f = Factory.forProtocol(Protocol);
  f.noisy = false;
  return f;
};

describe("HostnameEndpoint (twisted.internet.test.test_endpoints HostnameEndpoint*Tests)", () => {
  it("test_endpointConnectSuccess: resolves through the reactor's resolver and fires with the protocol", () => {
    const reactor = reactorResolving({ "example.com": ["1.2.3.4"] });
    const d = new HostnameEndpoint(reactor, "example.com", 80).connect(factory());
    expect(reactor.tcpClients.map((c) => [c[0], c[1]])).to.deep.equal([["1.2.3.4", 80]]);
    const { protocol } = reactor.completeTCPConnection(0);
    expect(resultOf(d)).to.equal((protocol as unknown as { wrappedProtocol: unknown }).wrappedProtocol);
  });

  it("test_endpointConnectFailure: the only address refusing fails the Deferred with that error", () => {
    const reactor = reactorResolving({ "example.com": ["1.2.3.4"] });
    const d = new HostnameEndpoint(reactor, "example.com", 80).connect(factory());
    reactor.tcpClients[0][2].clientConnectionFailed(reactor.connectors[0], new Failure(new ConnectionRefusedError()));
    expect(failureOf(d).value).to.be.instanceOf(ConnectionRefusedError);
  });

  it("test_failure (GAIFailure): a name with no address fails with DNSLookupError naming it", () => {
    const reactor = reactorResolving({});
    const d = new HostnameEndpoint(reactor, "nowhere.invalid", 80).connect(factory());
    const f = failureOf(d);
    expect(f.value).to.be.instanceOf(DNSLookupError);
    expect(f.getErrorMessage()).to.contain("nowhere.invalid");
    expect(reactor.tcpClients).to.have.length(0);
  });

  it("test_IPv4IsFaster / staggered attempts: the next address is tried attemptDelay later, alternating families", () => {
    const reactor = reactorResolving({ "example.com": ["::1", "::2", "1.1.1.1", "1.1.1.2"] });
    new HostnameEndpoint(reactor, "example.com", 80).connect(factory());
    expect(reactor.tcpClients.map((c) => c[0])).to.deep.equal(["::1"]);
    reactor.advance(0.3);
    expect(reactor.tcpClients.map((c) => c[0])).to.deep.equal(["::1", "1.1.1.1"]);
    reactor.advance(0.3);
    expect(reactor.tcpClients.map((c) => c[0])).to.deep.equal(["::1", "1.1.1.1", "::2"]);
  });

  it("test_otherConnectionsCancelled: the first connection made wins and the others stop connecting", () => {
    const reactor = reactorResolving({ "example.com": ["::1", "1.1.1.1", "1.1.1.2"] });
    const d = new HostnameEndpoint(reactor, "example.com", 80).connect(factory());
    reactor.advance(0.3);
    reactor.completeTCPConnection(1);
    expect(d.called).to.equal(true);
    expect(reactor.connectors[0].stoppedConnecting).to.equal(true);
    reactor.advance(5);
    expect(reactor.tcpClients).to.have.length(2);
    expect(reactor.getDelayedCalls().filter((c) => c.active())).to.have.length(0);
  });

  it("a failed attempt starts the next one at once (RFC 8305 section 5)", () => {
    const reactor = reactorResolving({ "example.com": ["1.1.1.1", "1.1.1.2"] });
    new HostnameEndpoint(reactor, "example.com", 80).connect(factory());
    reactor.tcpClients[0][2].clientConnectionFailed(reactor.connectors[0], new Failure(new ConnectionRefusedError()));
    expect(reactor.tcpClients.map((c) => c[0])).to.deep.equal(["1.1.1.1", "1.1.1.2"]);
  });

  it("test_endpointConnectingCancelled: cancelling stops every attempt and timer, with ConnectingCancelledError", () => {
    const reactor = reactorResolving({ "example.com": ["1.1.1.1", "1.1.1.2"] });
    const d = new HostnameEndpoint(reactor, "example.com", 80).connect(factory());
    d.cancel();
    expect(failureOf(d).value).to.be.instanceOf(ConnectingCancelledError);
    expect(reactor.connectors[0].stoppedConnecting).to.equal(true);
    reactor.advance(1);
    expect(reactor.tcpClients).to.have.length(1);
    expect(reactor.getDelayedCalls().filter((c) => c.active())).to.have.length(0);
  });

  it("connect timeout: nothing connecting within `timeout` fails with TimeoutError and abandons the attempts", () => {
    const reactor = reactorResolving({ "example.com": ["1.1.1.1"] });
    const d = new HostnameEndpoint(reactor, "example.com", 80, { timeout: 5 }).connect(factory());
    reactor.advance(5);
    expect(failureOf(d).value).to.be.instanceOf(TimeoutError);
    expect(reactor.connectors[0].stoppedConnecting).to.equal(true);
  });

  it("test_hostIPv6Address / an address literal is not looked up; [::1] is ::1", () => {
    const resolver = new StaticResolver({});
    const reactor = new MemoryReactorClock();
    reactor.installNameResolver(resolver);
    new HostnameEndpoint(reactor, "[::1]", 80).connect(factory());
    expect(reactor.tcpClients[0][0]).to.equal("::1");
  });

  it("test_idnaHostname: a non-ASCII name is resolved in its IDNA form", () => {
    const resolver = new StaticResolver({ "xn--bcher-kva.example": ["1.2.3.4"] });
    const reactor = new MemoryReactorClock();
    reactor.installNameResolver(resolver);
    new HostnameEndpoint(reactor, "bücher.example", 80).connect(factory());
    expect(resolver.requests).to.deep.equal(["xn--bcher-kva.example"]);
    expect(reactor.tcpClients[0][0]).to.equal("1.2.3.4");
  });

  it("a bad port or host throws at once, naming the value", () => {
    const reactor = new MemoryReactorClock();
    expect(() => new HostnameEndpoint(reactor, "example.com", 70000)).to.throw(RangeError, /70000/);
    expect(() => new HostnameEndpoint(reactor, "example.com", "80" as unknown as number)).to.throw(TypeError, /"80"/);
    expect(() => new HostnameEndpoint(reactor, "", 80)).to.throw(TypeError);
  });

  it("clientFromString tcp:NAME:PORT is a HostnameEndpoint; tcp:ADDRESS:PORT stays a TCP4ClientEndpoint; tls:NAME wraps TLS", () => {
    const reactor = new MemoryReactorClock();
    expect(clientFromString(reactor, "tcp:example.com:80")).to.be.instanceOf(HostnameEndpoint);
    expect(clientFromString(reactor, "tcp:127.0.0.1:80")).to.be.instanceOf(TCP4ClientEndpoint);
    expect(clientFromString(reactor, "tls:example.com:443")).to.be.instanceOf(TLSWrapperClientEndpoint);
  });

  describe("on the real reactor", () => {
    it("connects to localhost (resolved by getaddrinfo) and a refused port fails with ConnectionRefusedError", async () => {
      const reactor = new NodeReactor();
      const port = reactor.listenTCP(0, factory(), { interface: "127.0.0.1" });
      try {
        const portNumber = (port.getHost() as { port: number }).port;
        const p = await within(new HostnameEndpoint(reactor, "localhost", portNumber).connect(factory()), 5, "connecting to localhost");
        (p as Protocol).transport!.loseConnection();
        await port.stopListening();
        const err = await within(
          new HostnameEndpoint(reactor, "localhost", portNumber).connect(factory()).then(
            () => null,
            (e: unknown) => e,
          ),
          5,
          "the refused attempt",
        );
        expect(err).to.be.instanceOf(ConnectionRefusedError);
      } finally {
        await port.stopListening();
      }
    });

    it("reactor.resolve(name) gives the first address; installNameResolver returns the previous resolver", async () => {
      const reactor = new NodeReactor();
      expect(await within(reactor.resolve("localhost"), 5, "resolving localhost")).to.match(/^(127\.0\.0\.1|::1)$/);
      const previous = reactor.installNameResolver(new StaticResolver({ "db.internal": ["10.0.0.7"] }));
      expect(previous.constructor.name).to.equal("GAIResolver");
      expect(await reactor.resolve("db.internal")).to.equal("10.0.0.7");
      const err = await reactor.resolve("other").then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(DNSLookupError);
    });
  });
});
