import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Deferred } from "../../lib/internet/deferred.js";
import { connectProtocol, SSL4ClientEndpoint, SSL4ServerEndpoint, TCP4ClientEndpoint, TCP4ServerEndpoint, TCP6ClientEndpoint, TCP6ServerEndpoint, UNIXClientEndpoint, UNIXServerEndpoint } from "../../lib/internet/endpoints.js";
import { clientFromString, quoteStringArgument, serverFromString } from "../../lib/internet/endpoint-descriptions.js";
import {
  CancelledError,
  CannotListenError,
  ConnectError,
  ConnectingCancelledError,
  ConnectionRefusedError,
  EndpointDescriptionError,
  NoProtocol,
  UserError,
} from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import type {
  Bytes,
  IAddress,
  IClientFactory,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
  ITransport,
} from "../../lib/internet/interfaces.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { ClientFactory, Factory, Protocol } from "../../lib/internet/protocol.js";
import { reactor } from "../../lib/internet/reactor.js";
import {
  ipAddress,
  MemoryReactor,
  MemoryReactorClock,
  RaisingMemoryReactor,
  StringTransport,
  unixAddress,
} from "../../lib/internet/testing.js";
import { within } from "../support/wait.js";

const someAddress = ipAddress("127.0.0.1", 4321);

/** The result a Deferred has already fired with, or the Failure it has failed with. */
function resultOf<T>(d: Deferred<T>): { value?: T; failure?: Failure } {
  const seen: { value?: T; failure?: Failure } = {};
  d.addCallbacks(
    (value) => {
      seen.value = value;
      return value;
    },
    (failure) => {
      seen.failure = failure;
      return null as never;
    },
  );
  return seen;
}

/** A protocol recording what happens to it, as test_endpoints' TestProtocol. */
class TestProtocol extends Protocol {
  data: Bytes[] = [];
  connectionsLost: Failure[] = [];
  connectionMadeCalls = 0;
  override logPrefix(): string {
    return "A Test Protocol";
  }
  override connectionMade(): void {
    this.connectionMadeCalls++;
  }
  override dataReceived(data: Bytes): void {
    this.data.push(data);
  }
  override connectionLost(reason: Failure): void {
    this.connectionsLost.push(reason);
  }
}

/** A TestProtocol that is half-closeable (IHalfCloseableProtocol). */
class TestHalfCloseableProtocol extends TestProtocol {
  readLost = false;
  writeLost = false;
  readConnectionLost(): void {
    this.readLost = true;
  }
  writeConnectionLost(): void {
    this.writeLost = true;
  }
}

/** A TestProtocol that listens for TLS handshakes (IHandshakeListener). */
class TestHandshakeListener extends TestProtocol {
  handshakeCompletedCalls = 0;
  handshakeCompleted(): void {
    this.handshakeCompletedCalls++;
  }
}

class TestFactory extends ClientFactory {
  override protocol = TestProtocol;
  override noisy = false;
}

class NoneFactory extends ClientFactory {
  override noisy = false;
  override buildProtocol(_addr: IAddress): IProtocol | null {
    return null;
  }
}

/** Connect `factory` through a TCP client endpoint on a MemoryReactor; return what the reactor got. */
function wrapThroughEndpoint(factory: IProtocolFactory): { d: Deferred<IProtocol>; wf: IClientFactory; reactor: MemoryReactor } {
  const mreactor = new MemoryReactor();
  const d = new TCP4ClientEndpoint(mreactor, "127.0.0.1", 4321).connect(factory);
  return { d, wf: mreactor.tcpClients[0]![2], reactor: mreactor };
}

describe("WrappingFactoryTests", () => {
  it("test_doStart: doStart passes through to the wrapped factory", () => {
    const factory = new TestFactory();
    const { wf } = wrapThroughEndpoint(factory);
    wf.doStart();
    expect(factory.numPorts).to.equal(1);
  });

  it("test_doStop: doStop passes through to the wrapped factory", () => {
    const factory = new TestFactory();
    factory.numPorts = 3;
    const { wf } = wrapThroughEndpoint(factory);
    wf.doStop();
    expect(factory.numPorts).to.equal(2);
  });

  it("test_failedBuildProtocol: an error raised by buildProtocol errbacks the connect Deferred", () => {
    class BogusFactory extends ClientFactory {
      override buildProtocol(_addr: IAddress): IProtocol | null {
        throw new RangeError("My protocol is poorly defined.");
      }
    }
    const { d, wf } = wrapThroughEndpoint(new BogusFactory());
    wf.buildProtocol(someAddress);
    const { failure } = resultOf(d);
    expect(failure!.value).to.be.instanceOf(RangeError);
    expect(failure!.getErrorMessage()).to.equal("My protocol is poorly defined.");
  });

  it("test_buildNoneProtocol: buildProtocol returning null errbacks with NoProtocol", () => {
    const { d, wf } = wrapThroughEndpoint(new NoneFactory());
    wf.buildProtocol(someAddress);
    expect(resultOf(d).failure!.value).to.be.instanceOf(NoProtocol);
  });

  it("test_buildProtocolReturnsNone: the wrapping factory refuses the connection too", () => {
    const { d, wf } = wrapThroughEndpoint(new NoneFactory());
    expect(wf.buildProtocol(someAddress)).to.equal(null);
    resultOf(d); // consume the NoProtocol failure
  });

  it("test_logPrefixPassthrough: the wrapper's logPrefix is the wrapped protocol's", () => {
    const { wf } = wrapThroughEndpoint(new TestFactory());
    const wp = wf.buildProtocol(someAddress) as unknown as { logPrefix(): string };
    expect(wp.logPrefix()).to.equal("A Test Protocol");
  });

  it("test_logPrefixDefault: without logPrefix, the wrapped protocol's class name", () => {
    class NoLogPrefix implements IProtocol {
      makeConnection(_t: ITransport): void {}
      connectionMade(): void {}
      dataReceived(_d: Bytes): void {}
      connectionLost(_r: Failure): void {}
    }
    const factory = new TestFactory();
    (factory as Factory).protocol = NoLogPrefix;
    const { wf } = wrapThroughEndpoint(factory);
    const wp = wf.buildProtocol(someAddress) as unknown as { logPrefix(): string };
    expect(wp.logPrefix()).to.equal("NoLogPrefix");
  });

  it("test_wrappedProtocolDataReceived: data reaches the wrapped protocol", () => {
    const { d, wf } = wrapThroughEndpoint(new TestFactory());
    const p = wf.buildProtocol(someAddress)!;
    p.makeConnection(new StringTransport());
    const wrapped = resultOf(d).value as TestProtocol;
    p.dataReceived(Buffer.from("foo"));
    p.dataReceived(Buffer.from("bar"));
    expect(wrapped.data.map(String)).to.deep.equal(["foo", "bar"]);
  });

  it("test_wrappedProtocolTransport: the wrapped protocol gets the same transport", () => {
    const { d, wf } = wrapThroughEndpoint(new TestFactory());
    const p = wf.buildProtocol(someAddress)! as unknown as Protocol;
    const transport = new StringTransport();
    p.makeConnection(transport);
    expect(p.transport).to.equal(transport);
    const wrapped = resultOf(d).value as TestProtocol;
    expect(wrapped.transport).to.equal(transport);
    expect(wrapped.connectionMadeCalls).to.equal(1);
  });

  it("test_wrappedProtocolConnectionLost: connectionLost reaches the wrapped protocol", () => {
    const { d, wf } = wrapThroughEndpoint(new TestFactory());
    const p = wf.buildProtocol(someAddress)!;
    p.makeConnection(new StringTransport());
    const reason = new Failure(new Error("fail"));
    p.connectionLost(reason);
    expect((resultOf(d).value as TestProtocol).connectionsLost).to.deep.equal([reason]);
  });

  it("test_clientConnectionFailed: clientConnectionFailed errbacks with the very Failure given", () => {
    const { d, wf, reactor: mreactor } = wrapThroughEndpoint(new TestFactory());
    const expectedFailure = new Failure(new ConnectError("fail"));
    wf.clientConnectionFailed(mreactor.connectors[0]!, expectedFailure);
    expect(resultOf(d).failure).to.equal(expectedFailure);
  });

  it("test_wrappingProtocolHalfCloseable: the wrapper is half-closeable when the wrapped protocol is", () => {
    const factory = new TestFactory();
    (factory as Factory).protocol = TestHalfCloseableProtocol;
    const { wf } = wrapThroughEndpoint(factory);
    const p = wf.buildProtocol(someAddress) as unknown as Record<string, unknown>;
    expect(p.readConnectionLost).to.be.a("function");
    expect(p.writeConnectionLost).to.be.a("function");
  });

  it("test_wrappingProtocolNotHalfCloseable: ... and is not when it is not", () => {
    const { wf } = wrapThroughEndpoint(new TestFactory());
    const p = wf.buildProtocol(someAddress) as unknown as Record<string, unknown>;
    expect("readConnectionLost" in p).to.equal(false);
    expect("writeConnectionLost" in p).to.equal(false);
  });

  it("test_wrappedProtocolReadConnectionLost / WriteConnectionLost: half-close events pass through", () => {
    const factory = new TestFactory();
    (factory as Factory).protocol = TestHalfCloseableProtocol;
    const { d, wf } = wrapThroughEndpoint(factory);
    const p = wf.buildProtocol(someAddress) as unknown as TestHalfCloseableProtocol;
    p.makeConnection(new StringTransport());
    const wrapped = resultOf(d).value as TestHalfCloseableProtocol;
    p.readConnectionLost();
    expect([wrapped.readLost, wrapped.writeLost]).to.deep.equal([true, false]);
    p.writeConnectionLost();
    expect([wrapped.readLost, wrapped.writeLost]).to.deep.equal([true, true]);
  });

  it("test_wrappingProtocolHandshakeListener / NotHandshakeListener / HandshakeCompleted", () => {
    const plain = wrapThroughEndpoint(new TestFactory()).wf.buildProtocol(someAddress) as unknown as Record<string, unknown>;
    expect("handshakeCompleted" in plain).to.equal(false);

    const factory = new TestFactory();
    (factory as Factory).protocol = TestHandshakeListener;
    const { d, wf } = wrapThroughEndpoint(factory);
    const p = wf.buildProtocol(someAddress) as unknown as TestHandshakeListener;
    p.makeConnection(new StringTransport());
    p.handshakeCompleted();
    expect((resultOf(d).value as TestHandshakeListener).handshakeCompletedCalls).to.equal(1);
  });
});

// ---------------------------------------------------------------------------
// The endpoint test mixins of test_endpoints.py, run for each endpoint type

interface EndpointCase {
  name: string;
  createServerEndpoint(reactor: MemoryReactor | RaisingMemoryReactor, options?: object): IStreamServerEndpoint;
  createClientEndpoint(reactor: MemoryReactor | RaisingMemoryReactor, options?: object): IStreamClientEndpoint;
  /** The listen call recorded, as [address, options]. */
  expectedServers(reactor: MemoryReactor): Array<[unknown, object]>;
  /** The connect calls recorded, as [destination, factory, options]. */
  expectedClients(reactor: MemoryReactor): Array<[unknown, IClientFactory, object]>;
  completeConnection(reactor: MemoryReactor): { protocol: IProtocol; transport: StringTransport };
  defaultListen: [unknown, object];
  listenArgs: object;
  expectedListen: [unknown, object];
  expectedHost: IAddress;
  defaultConnect: [unknown, object];
  connectArgs: object;
  expectedConnect: [unknown, object];
  destination: IAddress;
}

const unixPath = join(tmpdir(), "torsion-endpoints-never-created.sock");

const endpointCases: EndpointCase[] = [
  {
    name: "TCP4EndpointsTests",
    createServerEndpoint: (r, o) => new TCP4ServerEndpoint(r, 0, o),
    createClientEndpoint: (r, o) => new TCP4ClientEndpoint(r, "localhost", 80, o),
    expectedServers: (r) => r.tcpServers.map(([port, , options]) => [port, options]),
    expectedClients: (r) => r.tcpClients.map(([host, port, factory, options]) => [`${host}:${port}`, factory, options]),
    completeConnection: (r) => r.completeTCPConnection(0),
    defaultListen: [0, { backlog: 50, interface: "" }],
    listenArgs: { backlog: 100, interface: "127.0.0.1" },
    expectedListen: [0, { backlog: 100, interface: "127.0.0.1" }],
    expectedHost: ipAddress("0.0.0.0", 0),
    defaultConnect: ["localhost:80", { timeout: 30, bindAddress: undefined }],
    connectArgs: { timeout: 10, bindAddress: { host: "localhost", port: 49595 } },
    expectedConnect: ["localhost:80", { timeout: 10, bindAddress: { host: "localhost", port: 49595 } }],
    destination: ipAddress("localhost", 80),
  },
  {
    name: "TCP6EndpointsTests",
    createServerEndpoint: (r, o) => new TCP6ServerEndpoint(r, 0, o),
    createClientEndpoint: (r, o) => new TCP6ClientEndpoint(r, "::1", 80, o),
    expectedServers: (r) => r.tcpServers.map(([port, , options]) => [port, options]),
    expectedClients: (r) => r.tcpClients.map(([host, port, factory, options]) => [`${host}:${port}`, factory, options]),
    completeConnection: (r) => r.completeTCPConnection(0),
    defaultListen: [0, { backlog: 50, interface: "::" }],
    listenArgs: { backlog: 100, interface: "::1" },
    expectedListen: [0, { backlog: 100, interface: "::1" }],
    expectedHost: ipAddress("::", 0),
    defaultConnect: ["::1:80", { timeout: 30, bindAddress: undefined }],
    connectArgs: { timeout: 10, bindAddress: { host: "localhost", port: 49595 } },
    expectedConnect: ["::1:80", { timeout: 10, bindAddress: { host: "localhost", port: 49595 } }],
    destination: ipAddress("::1", 80),
  },
  {
    name: "UNIXEndpointsTests",
    createServerEndpoint: (r, o) => new UNIXServerEndpoint(r, unixPath, o),
    createClientEndpoint: (r, o) => new UNIXClientEndpoint(r, unixPath, o),
    expectedServers: (r) => r.unixServers.map(([address, , options]) => [address, options]),
    expectedClients: (r) => r.unixClients.map(([address, factory, options]) => [address, factory, options]),
    completeConnection: (r) => r.completeUNIXConnection(0),
    defaultListen: [unixPath, { backlog: 50, mode: 0o666, wantPID: false }],
    listenArgs: { backlog: 100, mode: 0o600, wantPID: true },
    expectedListen: [unixPath, { backlog: 100, mode: 0o600, wantPID: true }],
    expectedHost: unixAddress(unixPath),
    defaultConnect: [unixPath, { timeout: 30 }],
    connectArgs: { timeout: 10, checkPID: true },
    expectedConnect: [unixPath, { timeout: 10, checkPID: true }],
    destination: unixAddress(unixPath),
  },
];

for (const c of endpointCases) {
  describe(c.name, () => {
    it("test_endpointConnectSuccess: connect fires with the protocol once connected", () => {
      const mreactor = new MemoryReactor();
      const d = c.createClientEndpoint(mreactor).connect(new TestFactory());
      const seen = resultOf(d);
      expect(seen.value).to.equal(undefined);
      const { transport } = c.completeConnection(mreactor);
      expect(seen.value).to.be.instanceOf(TestProtocol);
      expect((seen.value as TestProtocol).transport).to.equal(transport);
      const clients = c.expectedClients(mreactor);
      expect(clients).to.have.length(1);
      expect([clients[0]![0], clients[0]![2]]).to.deep.equal(c.defaultConnect);
    });

    it("test_endpointConnectFailure: a connect error errbacks the Deferred with it", () => {
      const expectedError = new ConnectError("Connection Failed");
      const mreactor = new RaisingMemoryReactor(new Error("unused"), expectedError);
      const d = c.createClientEndpoint(mreactor).connect(new TestFactory());
      expect(resultOf(d).failure!.value).to.equal(expectedError);
    });

    it("test_endpointConnectingCancelled: cancel() errbacks with ConnectingCancelledError and stops connecting", () => {
      const mreactor = new MemoryReactor();
      const d = c.createClientEndpoint(mreactor).connect(new TestFactory());
      const seen = resultOf(d);
      d.cancel();
      // The connector then reports the abandoned attempt, as a real one does.
      const [, attemptFactory] = c.expectedClients(mreactor)[0]!;
      attemptFactory.clientConnectionFailed(mreactor.connectors[0]!, new Failure(new UserError()));
      expect(seen.failure!.value).to.be.instanceOf(ConnectingCancelledError);
      expect((seen.failure!.value as ConnectingCancelledError).address).to.deep.equal(c.destination);
      expect(mreactor.connectors[0]!.stoppedConnecting).to.equal(true);
    });

    it("test_endpointConnectNonDefaultArgs: connect passes its options to the reactor", () => {
      const mreactor = new MemoryReactor();
      c.createClientEndpoint(mreactor, c.connectArgs).connect(new TestFactory());
      const clients = c.expectedClients(mreactor);
      expect(clients).to.have.length(1);
      expect([clients[0]![0], clients[0]![2]]).to.deep.equal(c.expectedConnect);
    });

    it("test_endpointListenSuccess: listen fires with the port", () => {
      const mreactor = new MemoryReactor();
      const factory = new TestFactory();
      const seen = resultOf(c.createServerEndpoint(mreactor).listen(factory));
      expect(seen.value!.getHost()).to.deep.equal(c.expectedHost);
      expect(c.expectedServers(mreactor)).to.deep.equal([c.defaultListen]);
    });

    it("test_endpointListenFailure: a listen error errbacks the Deferred with it", () => {
      const exception = new CannotListenError("", 80, new Error("in use"));
      const mreactor = new RaisingMemoryReactor(exception);
      const seen = resultOf(c.createServerEndpoint(mreactor).listen(new TestFactory()));
      expect(seen.failure!.value).to.equal(exception);
    });

    it("test_endpointListenNonDefaultArgs: listen passes its options to the reactor", () => {
      const mreactor = new MemoryReactor();
      c.createServerEndpoint(mreactor, c.listenArgs).listen(new TestFactory());
      expect(c.expectedServers(mreactor)).to.deep.equal([c.expectedListen]);
    });
  });
}

describe("client endpoint timeouts", () => {
  it("addTimeout on a connect Deferred stops connecting and fails with ConnectingCancelledError", () => {
    const mreactor = new MemoryReactorClock();
    const d = new TCP4ClientEndpoint(mreactor, "example.com", 80).connect(new TestFactory());
    d.addTimeout(5, mreactor);
    const seen = resultOf(d);
    mreactor.advance(4.9);
    expect(seen.failure).to.equal(undefined);
    mreactor.advance(0.1);
    expect(seen.failure!.value).to.be.instanceOf(ConnectingCancelledError);
    expect(mreactor.connectors[0]!.stoppedConnecting).to.equal(true);
  });
});

describe("TCP6EndpointNameResolutionTests", () => {
  class ResolvingEndpoint extends TCP6ClientEndpoint {
    readonly lookups: Array<[string, Deferred<string>]> = [];
    protected override nameResolution(host: string): Deferred<string> {
      const d = new Deferred<string>();
      this.lookups.push([host, d]);
      return d;
    }
  }

  it("test_endpointConnectSuccess: a host name is resolved to IPv6 before connecting", () => {
    const mreactor = new MemoryReactor();
    const ep = new ResolvingEndpoint(mreactor, "ipv6.example.com", 80);
    const seen = resultOf(ep.connect(new TestFactory()));
    expect(ep.lookups.map(([host]) => host)).to.deep.equal(["ipv6.example.com"]);
    expect(mreactor.tcpClients).to.have.length(0);
    ep.lookups[0]![1].callback("::1");
    expect(mreactor.tcpClients.map(([host, port]) => [host, port])).to.deep.equal([["::1", 80]]);
    mreactor.completeTCPConnection(0);
    expect(seen.value).to.be.instanceOf(TestProtocol);
  });

  it("cancelling during name resolution never connects", () => {
    const mreactor = new MemoryReactor();
    const ep = new ResolvingEndpoint(mreactor, "ipv6.example.com", 80);
    const d = ep.connect(new TestFactory());
    const seen = resultOf(d);
    d.cancel();
    ep.lookups[0]![1].callback("::1");
    expect(seen.failure!.value).to.be.instanceOf(CancelledError);
    expect(mreactor.tcpClients).to.have.length(0);
  });
});

// ---------------------------------------------------------------------------
// Description strings

/** What serverFromString(description) asks of a reactor when listening: [kind, address, options]. */
function listenedWith(description: string): [string, unknown, object] {
  const mreactor = new MemoryReactor();
  serverFromString(mreactor, description).listen(new TestFactory());
  if (mreactor.tcpServers.length) {
    const [port, , options] = mreactor.tcpServers[0]!;
    return ["TCP", port, options];
  }
  const [address, , options] = mreactor.unixServers[0]!;
  return ["UNIX", address, options];
}

/** What clientFromString(description) asks of a reactor when connecting: [kind, destination, options]. */
function connectedWith(description: string): [string, unknown, object] {
  const mreactor = new MemoryReactor();
  clientFromString(mreactor, description).connect(new TestFactory());
  if (mreactor.tcpClients.length) {
    const [host, port, , options] = mreactor.tcpClients[0]!;
    return ["TCP", [host, port], options];
  }
  const [address, , options] = mreactor.unixClients[0]!;
  return ["UNIX", address, options];
}

describe("ParserTests", () => {
  it("test_simpleTCP: 'tcp:80' is TCP port 80 on every interface, backlog 50", () => {
    expect(listenedWith("tcp:80")).to.deep.equal(["TCP", 80, { interface: "", backlog: 50 }]);
  });

  it("test_interfaceTCP: interface= is the address to bind", () => {
    expect(listenedWith("tcp:80:interface=127.0.0.1")).to.deep.equal(["TCP", 80, { interface: "127.0.0.1", backlog: 50 }]);
  });

  it("test_backlogTCP: backlog= is an integer", () => {
    expect(listenedWith("tcp:80:backlog=6")).to.deep.equal(["TCP", 80, { interface: "", backlog: 6 }]);
  });

  it("test_simpleUNIX: 'unix:PATH' has mode 0o666, backlog 50 and a lock file", () => {
    expect(listenedWith("unix:/var/run/finger")).to.deep.equal([
      "UNIX",
      "/var/run/finger",
      { mode: 0o666, backlog: 50, wantPID: true },
    ]);
  });

  it("test_modeUNIX: mode= is octal", () => {
    expect(listenedWith("unix:/var/run/finger:mode=0660")).to.deep.equal([
      "UNIX",
      "/var/run/finger",
      { mode: 0o660, backlog: 50, wantPID: true },
    ]);
  });

  it("test_wantPIDUNIX: lockfile=0 turns the lock file off", () => {
    expect(listenedWith("unix:/var/run/finger:lockfile=0")).to.deep.equal([
      "UNIX",
      "/var/run/finger",
      { mode: 0o666, backlog: 50, wantPID: false },
    ]);
  });

  it("test_escape: a backslash escapes colons, equals signs and backslashes", () => {
    expect(listenedWith("unix:foo\\:bar\\=baz\\:qux\\\\")).to.deep.equal([
      "UNIX",
      "foo:bar=baz:qux\\",
      { mode: 0o666, backlog: 50, wantPID: true },
    ]);
  });

  it("test_quoteStringArgument: quoteStringArgument escapes backslashes and colons", () => {
    expect(quoteStringArgument("some : stuff \\")).to.equal("some \\: stuff \\\\");
  });

  it("test_impliedEscape: '=' inside a value needs no escape", () => {
    expect(listenedWith("unix:address=foo=bar")).to.deep.equal(["UNIX", "foo=bar", { mode: 0o666, backlog: 50, wantPID: true }]);
  });

  it("test_unknownType: an unknown type raises EndpointDescriptionError", () => {
    expect(() => serverFromString(new MemoryReactor(), "bogus-type:nothing")).to.throw(EndpointDescriptionError);
  });

  it("quoteStringArgument also escapes '=', so a quoted path round-trips as a positional argument", () => {
    expect(quoteStringArgument("a=b")).to.equal("a\\=b");
    const path = "C:\\odd:dir=x\\sock";
    expect(listenedWith(`unix:${quoteStringArgument(path)}`)[1]).to.equal(path);
  });

  it("positional arguments follow Twisted's parameter order (tcp: port, interface, backlog)", () => {
    expect(listenedWith("tcp:80:127.0.0.1:7")).to.deep.equal(["TCP", 80, { interface: "127.0.0.1", backlog: 7 }]);
    expect(listenedWith("tcp:port=81")).to.deep.equal(["TCP", 81, { interface: "", backlog: 50 }]);
  });

  it("the type is case-insensitive", () => {
    expect(listenedWith("TCP:80")[0]).to.equal("TCP");
    expect(connectedWith("Unix:/tmp/x")[0]).to.equal("UNIX");
  });

  const invalid: Array<[string, RegExp]> = [
    ["tcp", /'port' is required/],
    ["tcp:", /port must be an integer from 0 to 65535, not ''/],
    ["tcp:http", /port must be an integer from 0 to 65535, not 'http'/],
    ["tcp:65536", /port must be an integer/],
    ["tcp:-1", /port must be an integer/],
    ["tcp:80:backlog=many", /backlog must be a non-negative integer, not 'many'/],
    ["tcp:80:bogus=1", /unknown parameter 'bogus'; known parameters: port, interface, backlog/],
    ["tcp:80:port=81", /'port' is given twice/],
    ["tcp:80:127.0.0.1:5:extra", /too many positional arguments \(4\)/],
    ["unix:/tmp/x:mode=999", /mode must be an octal number/],
    ["unix:/tmp/x:lockfile=yes", /lockfile must be 0 or 1/],
    ["unix:/tmp/x\\", /ends with a lone backslash/],
  ];
  for (const [description, message] of invalid) {
    it(`rejects '${description}' with a clear EndpointDescriptionError`, () => {
      expect(() => serverFromString(new MemoryReactor(), description))
        .to.throw(EndpointDescriptionError, message)
        .with.property("message")
        .that.contains(`'${description}'`);
    });
  }
});

describe("ServerStringTests", () => {
  it("test_tcp: a tcp: description makes a TCP4ServerEndpoint with its values", () => {
    const mreactor = new MemoryReactor();
    const server = serverFromString(mreactor, "tcp:1234:backlog=12:interface=10.0.0.1");
    expect(server).to.be.instanceOf(TCP4ServerEndpoint);
    server.listen(new TestFactory());
    expect(mreactor.tcpServers.map(([port, , options]) => [port, options])).to.deep.equal([
      [1234, { backlog: 12, interface: "10.0.0.1" }],
    ]);
  });

  it("test_ssl: an ssl: description makes an SSL4ServerEndpoint (TLS endpoints are tested in ssl.spec.ts)", () => {
    const tlsDir = fileURLToPath(new URL("../../../spec/fixtures/tls/", import.meta.url));
    const key = quoteStringArgument(join(tlsDir, "server-key.pem"));
    const cert = quoteStringArgument(join(tlsDir, "server.pem"));
    const server = serverFromString(
      new MemoryReactor(),
      `ssl:1234:backlog=12:privateKey=${key}:certKey=${cert}:sslmethod=TLSv1_2_METHOD:interface=10.0.0.1`,
    );
    expect(server).to.be.instanceOf(SSL4ServerEndpoint);
    expect(() => serverFromString(new MemoryReactor(), "ssl:443:privateKey=/nonexistent/key.pem"))
      .to.throw(EndpointDescriptionError, /cannot read the privateKey file '\/nonexistent\/key.pem'/);
  });

  it("test_sslWithDefaults / test_ssl: an ssl: endpoint listens through listenSSL, recorded as sslServers", async () => {
    const tlsDir = fileURLToPath(new URL("../../../spec/fixtures/tls/", import.meta.url));
    const key = quoteStringArgument(join(tlsDir, "server-key.pem"));
    const cert = quoteStringArgument(join(tlsDir, "server.pem"));
    const mreactor = new MemoryReactor();
    const factory = new TestFactory();
    await serverFromString(mreactor, `ssl:1234:backlog=12:privateKey=${key}:certKey=${cert}:interface=10.0.0.1`).listen(factory);
    expect(mreactor.sslServers).to.have.length(1);
    const [port, recordedFactory, contextFactory, options] = mreactor.sslServers[0]!;
    expect([port, options]).to.deep.equal([1234, { backlog: 12, interface: "10.0.0.1" }]);
    expect(recordedFactory).to.equal(factory);
    expect(contextFactory).to.not.equal(undefined);
    expect(mreactor.tcpServers).to.have.length(0);
  });

  it("test_unix: a unix: description makes a UNIXServerEndpoint with its values", () => {
    const mreactor = new MemoryReactor();
    const endpoint = serverFromString(mreactor, "unix:/var/foo/bar:backlog=7:mode=0123:lockfile=1");
    expect(endpoint).to.be.instanceOf(UNIXServerEndpoint);
    endpoint.listen(new TestFactory());
    expect(mreactor.unixServers.map(([address, , options]) => [address, options])).to.deep.equal([
      ["/var/foo/bar", { backlog: 7, mode: 0o123, wantPID: true }],
    ]);
  });

  it("test_unknownType: an unknown type names the type", () => {
    expect(() => serverFromString(new MemoryReactor(), "ftl:andromeda/carcosa/hali/2387"))
      .to.throw(EndpointDescriptionError)
      .with.property("message")
      .that.matches(/^Unknown endpoint type: 'ftl'/);
  });
});

describe("TCP6ServerEndpointPluginTests", () => {
  it("test_stringDescription: a tcp6: description makes a TCP6ServerEndpoint", () => {
    const mreactor = new MemoryReactor();
    const ep = serverFromString(mreactor, "tcp6:8080:backlog=12:interface=\\:\\:1");
    expect(ep).to.be.instanceOf(TCP6ServerEndpoint);
    ep.listen(new TestFactory());
    expect(mreactor.tcpServers.map(([port, , options]) => [port, options])).to.deep.equal([
      [8080, { backlog: 12, interface: "::1" }],
    ]);
  });

  it("listens on '::' by default", () => {
    expect(listenedWith("tcp6:8080")).to.deep.equal(["TCP", 8080, { backlog: 50, interface: "::" }]);
  });
});

describe("ClientStringTests", () => {
  const tcpSeven = ["TCP", ["example.com", 1234], { timeout: 7, bindAddress: { host: "10.0.0.2", port: 0 } }];

  it("test_tcp: a tcp: description with keywords makes a TCP4ClientEndpoint", () => {
    const description = "tcp:host=example.com:port=1234:timeout=7:bindAddress=10.0.0.2";
    expect(clientFromString(new MemoryReactor(), description)).to.be.instanceOf(TCP4ClientEndpoint);
    expect(connectedWith(description)).to.deep.equal(tcpSeven);
  });

  it("test_tcpPositionalArgs: host and port may be positional", () => {
    expect(connectedWith("tcp:example.com:1234:timeout=7:bindAddress=10.0.0.2")).to.deep.equal(tcpSeven);
  });

  it("test_tcpHostPositionalArg: host positional, port keyword", () => {
    expect(connectedWith("tcp:example.com:port=1234:timeout=7:bindAddress=10.0.0.2")).to.deep.equal(tcpSeven);
  });

  it("test_tcpPortPositionalArg: host keyword, port positional", () => {
    expect(connectedWith("tcp:host=example.com:1234:timeout=7:bindAddress=10.0.0.2")).to.deep.equal(tcpSeven);
  });

  it("test_tcpDefaults: timeout defaults to 30 and bindAddress to none", () => {
    expect(connectedWith("tcp:host=example.com:port=1234")).to.deep.equal([
      "TCP",
      ["example.com", 1234],
      { timeout: 30, bindAddress: undefined },
    ]);
  });

  it("test_unix: a unix: description with keywords makes a UNIXClientEndpoint", () => {
    const description = "unix:path=/var/foo/bar:lockfile=1:timeout=9";
    expect(clientFromString(new MemoryReactor(), description)).to.be.instanceOf(UNIXClientEndpoint);
    expect(connectedWith(description)).to.deep.equal(["UNIX", "/var/foo/bar", { timeout: 9, checkPID: true }]);
  });

  it("test_unixDefaults: timeout defaults to 30 and no lock file check", () => {
    expect(connectedWith("unix:path=/var/foo/bar")).to.deep.equal(["UNIX", "/var/foo/bar", { timeout: 30 }]);
  });

  it("test_unixPathPositionalArg: the path may be positional", () => {
    expect(connectedWith("unix:/var/foo/bar:lockfile=1:timeout=9")).to.deep.equal([
      "UNIX",
      "/var/foo/bar",
      { timeout: 9, checkPID: true },
    ]);
  });

  it("test_unknownType: an unknown type names the type", () => {
    expect(() => clientFromString(new MemoryReactor(), "ftl:andromeda/carcosa/hali/2387"))
      .to.throw(EndpointDescriptionError)
      .with.property("message")
      .that.matches(/^Unknown endpoint type: 'ftl'/);
  });

  it("ssl: and tls: descriptions make SSL4ClientEndpoints (TLS endpoints are tested in ssl.spec.ts)", () => {
    for (const description of ["ssl:example.com:443", "tls:example.com:443"]) {
      expect(clientFromString(new MemoryReactor(), description)).to.be.instanceOf(SSL4ClientEndpoint);
    }
  });

  it("accepts a timeout in fractions of a second", () => {
    expect(connectedWith("tcp:example.com:80:timeout=2.5")[2]).to.deep.include({ timeout: 2.5 });
  });

  const invalid: Array<[string, RegExp]> = [
    ["tcp:example.com", /'port' is required/],
    ["tcp:port=80", /'host' is required/],
    ["tcp:example.com:80:host=other", /'host' is given twice/],
    ["tcp:example.com:80:timeout=soon", /timeout must be a number of seconds, not 'soon'/],
    ["tcp:example.com:80:interface=x", /unknown parameter 'interface'/],
    ["unix:timeout=3", /'path' is required/],
  ];
  for (const [description, message] of invalid) {
    it(`rejects '${description}' with a clear EndpointDescriptionError`, () => {
      expect(() => clientFromString(new MemoryReactor(), description)).to.throw(EndpointDescriptionError, message);
    });
  }
});

describe("ConnectProtocolTests", () => {
  it("test_connectProtocolCreatesFactory: the endpoint connects with a factory building the given protocol", () => {
    const mreactor = new MemoryReactor();
    const endpoint = new TCP4ClientEndpoint(mreactor, "127.0.0.1", 0);
    const theProtocol = new TestProtocol();
    const seen = resultOf(connectProtocol(endpoint, theProtocol));
    expect(mreactor.tcpClients).to.have.length(1);
    const { transport } = mreactor.completeTCPConnection(0);
    expect(seen.value).to.equal(theProtocol);
    expect(theProtocol.transport).to.equal(transport);
  });

  it("test_connectProtocolReturnsConnectResult: connectProtocol returns what connect() returns", () => {
    const result = new Deferred<IProtocol>();
    const endpoint: IStreamClientEndpoint = { connect: () => result };
    expect(connectProtocol(endpoint, new TestProtocol())).to.equal(result);
  });
});

// ---------------------------------------------------------------------------
// Real sockets, on the global reactor

class Echo extends Protocol {
  override dataReceived(data: Bytes): void {
    this.transport!.write(data);
  }
}

/** Sends a greeting and fires `answer` with what comes back (the whole of it, once the peer closes). */
class Greeter extends Protocol {
  readonly answer = new Deferred<string>();
  private received: Buffer[] = [];
  constructor(private readonly greeting: string) {
    super();
  }
  override connectionMade(): void {
    this.transport!.write(Buffer.from(this.greeting));
  }
  override dataReceived(data: Bytes): void {
    this.received.push(Buffer.from(data));
    if (Buffer.concat(this.received).length >= this.greeting.length) {
      this.answer.callback(Buffer.concat(this.received).toString());
      this.transport!.loseConnection();
    }
  }
}

describe("endpoints on real sockets", () => {
  let logs: LogCapture;
  const ports: IListeningPort[] = [];
  const protocols: Protocol[] = [];
  let dir: string | null = null;

  beforeEach(() => {
    logs = captureLogEvents();
  });

  afterEach(async () => {
    for (const p of protocols.splice(0)) p.transport?.loseConnection();
    await within(Promise.all(ports.splice(0).map((p) => p.stopListening().asPromise())), 5, "the ports to close");
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
    logs.stop();
  });

  async function roundTrip(serverDescription: string, clientDescription: (port: IListeningPort) => string): Promise<string> {
    const port = await within(serverFromString(reactor, serverDescription).listen(Factory.forProtocol(Echo)), 5, "listen");
    ports.push(port);
    const greeter = new Greeter("hello, endpoint");
    protocols.push(greeter);
    await within(connectProtocol(clientFromString(reactor, clientDescription(port)), greeter), 5, "the connection");
    return within(greeter.answer, 5, "the echo");
  }

  it("serverFromString and clientFromString carry a message over TCP on 127.0.0.1", async () => {
    const answer = await roundTrip("tcp:0:interface=127.0.0.1", (port) => {
      const host = port.getHost();
      return `tcp:127.0.0.1:${host.type === "TCP" ? host.port : -1}`;
    });
    expect(answer).to.equal("hello, endpoint");
  });

  it("serverFromString and clientFromString carry a message over a UNIX socket", async () => {
    dir = mkdtempSync(join(tmpdir(), "torsion-endpoints-"));
    const path = quoteStringArgument(join(dir, "echo.sock"));
    // The server keeps a lock file (lockfile=1, the default), which the client checks first.
    const answer = await roundTrip(`unix:${path}`, () => `unix:${path}:lockfile=1`);
    expect(answer).to.equal("hello, endpoint");
  });

  it("listen fails with CannotListenError when the port is taken", async () => {
    const first = await within(serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Factory.forProtocol(Echo)), 5, "listen");
    ports.push(first);
    const host = first.getHost();
    const taken = host.type === "TCP" ? host.port : -1;
    const d = serverFromString(reactor, `tcp:${taken}:interface=127.0.0.1`).listen(Factory.forProtocol(Echo));
    const err = await within(d, 5, "the listen failure").then(
      (port) => {
        ports.push(port);
        throw new Error("listened on a port in use");
      },
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(CannotListenError);
  });

  it("connect fails with ConnectionRefusedError when nothing listens", async () => {
    const port = await within(serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Factory.forProtocol(Echo)), 5, "listen");
    const host = port.getHost();
    await within(port.stopListening(), 5, "the port to close");
    const d = clientFromString(reactor, `tcp:127.0.0.1:${host.type === "TCP" ? host.port : -1}`).connect(new TestFactory());
    const err = await within(d, 5, "the connection failure").then(
      () => new Error("connected to a closed port"),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConnectionRefusedError);
  });

  it("cancelling connect() abandons the attempt with ConnectingCancelledError", async () => {
    const port = await within(serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Factory.forProtocol(Echo)), 5, "listen");
    ports.push(port);
    const host = port.getHost();
    const d = clientFromString(reactor, `tcp:127.0.0.1:${host.type === "TCP" ? host.port : -1}`).connect(new TestFactory());
    d.cancel();
    const err = await within(d, 5, "the cancellation").then(
      () => new Error("connected although cancelled"),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConnectingCancelledError);
    expect((err as ConnectingCancelledError).address).to.deep.include({ host: "127.0.0.1" });
  });
});
