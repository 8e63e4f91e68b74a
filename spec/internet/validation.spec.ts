// Tests of lib/internet/validation.ts, through the reactor calls that use it: a wrong port,
// interface, host, address or delay throws at once (TypeError for the wrong kind of value,
// RangeError out of range), and the message names the call and the value. Before, node:net bound
// a random port for NaN, wrapped 70000 to 4464 and -1 to 65535, and took 1.5 for port 1.

import { expect } from "chai";
import { EndpointDescriptionError } from "../../lib/internet/error.js";
import { TCP4ServerEndpoint } from "../../lib/internet/endpoints.js";
import { serverFromString } from "../../lib/internet/endpoint-descriptions.js";
import type { IClientFactory, IProtocolFactory, ITLSClientContextFactory, ITLSServerContextFactory } from "../../lib/internet/interfaces.js";
import { ClientFactory, Factory, Protocol } from "../../lib/internet/protocol.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { within } from "../support/wait.js";

const factory: IProtocolFactory = Factory.forProtocol(Protocol);
const clientFactory: IClientFactory = ClientFactory.forProtocol(Protocol);
const noServerTLS = null as unknown as ITLSServerContextFactory;
const noClientTLS = null as unknown as ITLSClientContextFactory;

/** The error `f` throws (failing the test if it throws none). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, none was thrown");
}

const badPorts: Array<[unknown, typeof TypeError | typeof RangeError, string]> = [
  [70000, RangeError, "not 70000"],
  [-1, RangeError, "not -1"],
  [1.5, RangeError, "not 1.5"],
  [NaN, RangeError, "not NaN"],
  [Infinity, RangeError, "not Infinity"],
  ["8080x", TypeError, 'not "8080x" (a string)'],
  ["8080", TypeError, 'not "8080" (a string)'],
  [undefined, TypeError, "not undefined"],
];

describe("argument validation of the reactor's calls", () => {
  captureLogsOfEachTest(); // the factory of the one good port says it starts and stops
  let reactor: NodeReactor;
  beforeEach(() => {
    reactor = new NodeReactor();
  });
  afterEach(() => {
    // Nothing may have been opened: every call below throws before binding or connecting.
    expect(reactor.openResources).to.equal(0);
  });

  for (const [port, kind, shown] of badPorts) {
    it(`listenTCP / listenSSL / connectTCP / connectSSL refuse the port ${String(shown)} with a ${kind.name}`, () => {
      const calls: Array<[string, () => unknown]> = [
        ["listenTCP", () => reactor.listenTCP(port as number, factory, { interface: "127.0.0.1" })],
        ["listenSSL", () => reactor.listenSSL(port as number, factory, noServerTLS, { interface: "127.0.0.1" })],
        ["connectTCP", () => reactor.connectTCP("127.0.0.1", port as number, clientFactory)],
        ["connectSSL", () => reactor.connectSSL("127.0.0.1", port as number, clientFactory, noClientTLS)],
      ];
      for (const [call, f] of calls) {
        const err = thrown(f);
        expect(err, call).to.be.instanceOf(kind);
        expect(err.message).to.equal(`${call}: port must be an integer from 0 to 65535, ${shown}`);
      }
    });
  }

  it("listenTCP refuses an interface that is not a string, and a bad backlog", () => {
    const err = thrown(() => reactor.listenTCP(0, factory, { interface: 127 as unknown as string }));
    expect(err).to.be.instanceOf(TypeError);
    expect(err.message).to.equal("listenTCP: interface must be a string, not 127");
    const backlog = thrown(() => reactor.listenTCP(0, factory, { backlog: -5 }));
    expect(backlog).to.be.instanceOf(RangeError);
    expect(backlog.message).to.equal("listenTCP: backlog must be an integer >= 0, not -5");
  });

  it("connectTCP refuses a host that is not a string or is empty, a bad timeout and a bad bindAddress port", () => {
    const host = thrown(() => reactor.connectTCP(undefined as unknown as string, 80, clientFactory));
    expect(host).to.be.instanceOf(TypeError);
    expect(host.message).to.equal("connectTCP: host must be a string, not undefined");
    const empty = thrown(() => reactor.connectTCP("", 80, clientFactory));
    expect(empty).to.be.instanceOf(RangeError);
    expect(empty.message).to.equal("connectTCP: host must not be empty");
    const timeout = thrown(() => reactor.connectTCP("127.0.0.1", 80, clientFactory, { timeout: -1 }));
    expect(timeout).to.be.instanceOf(RangeError);
    expect(timeout.message).to.equal("connectTCP: timeout must be a finite number of seconds >= 0, not -1");
    const bind = thrown(() => reactor.connectTCP("127.0.0.1", 80, clientFactory, { bindAddress: { host: "127.0.0.1", port: 99999 } }));
    expect(bind).to.be.instanceOf(RangeError);
    expect(bind.message).to.equal("connectTCP: bindAddress.port must be an integer from 0 to 65535, not 99999");
  });

  it("listenUNIX / connectUNIX refuse an address that is not a string", () => {
    for (const call of ["listenUNIX", "connectUNIX"] as const) {
      const err = thrown(() =>
        call === "listenUNIX" ? reactor.listenUNIX(8080 as unknown as string, factory) : reactor.connectUNIX(8080 as unknown as string, clientFactory),
      );
      expect(err, call).to.be.instanceOf(TypeError);
      expect(err.message).to.equal(`${call}: address must be a string, not 8080`);
    }
  });

  it("callLater refuses a delay that is not a finite number >= 0", () => {
    const cases: Array<[unknown, typeof TypeError, string]> = [
      ["5", TypeError, 'callLater: delay must be a number of seconds, not "5"'],
      [-1, RangeError, "callLater: delay must be a finite number of seconds >= 0, not -1"],
      [NaN, RangeError, "callLater: delay must be a finite number of seconds >= 0, not NaN"],
      [Infinity, RangeError, "callLater: delay must be a finite number of seconds >= 0, not Infinity"],
    ];
    for (const [delay, kind, message] of cases) {
      const err = thrown(() => reactor.callLater(delay as number, () => {}));
      expect(err).to.be.instanceOf(kind);
      expect(err.message).to.equal(message);
    }
    expect(reactor.getDelayedCalls()).to.deep.equal([]);
  });

  it("a good port still listens: listenTCP(0) on 127.0.0.1", async () => {
    const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
    expect(port.getHost().port).to.be.greaterThan(0);
    await within(Promise.resolve(port.stopListening()), 5, "the port to close");
  });
});

describe("argument validation in endpoints", () => {
  it("an endpoint description with a bad port is refused, naming it", () => {
    const reactor = new NodeReactor();
    for (const port of ["70000", "-1", "1.5", "8080x"]) {
      const err = thrown(() => serverFromString(reactor, `tcp:${port}:interface=127.0.0.1`));
      expect(err).to.be.instanceOf(EndpointDescriptionError);
      expect(err.message).to.equal(`Invalid endpoint description 'tcp:${port}:interface=127.0.0.1': port must be an integer from 0 to 65535, not '${port}'`);
    }
  });

  it("an endpoint made with a bad port fails its listen() Deferred with the reactor's RangeError", async () => {
    const reactor = new NodeReactor();
    const endpoint = new TCP4ServerEndpoint(reactor, 70000, { interface: "127.0.0.1" });
    const err = await within(
      new Promise<unknown>((resolve) => endpoint.listen(factory).addCallbacks(() => resolve(null), (f) => resolve(f.value))),
      5,
      "listen() to fail",
    );
    expect(err).to.be.instanceOf(RangeError);
    expect((err as Error).message).to.equal("listenTCP: port must be an integer from 0 to 65535, not 70000");
  });
});
