// lib/internet/port-connector.ts: the bases of every stream port and connector (tcp, unix, ssl).
import { expect } from "chai";
import { TransportCounters } from "../../lib/internet/abstract.js";
import { ConnectError, ConnectionRefusedError, DNSLookupError, NoRouteError } from "../../lib/internet/error.js";
import { BaseConnector, BasePort, connectErrorFor } from "../../lib/internet/port-connector.js";
import { Port as TCPPort, Connector as TCPConnector } from "../../lib/internet/tcp.js";
import { Port as UNIXPort, Connector as UNIXConnector } from "../../lib/internet/unix.js";
import { Port as SSLPort, Connector as SSLConnector } from "../../lib/internet/ssl.js";
import { Clock } from "../../lib/internet/task.js";
import { ClientFactory, ServerFactory } from "../support/loopback.js";

const errno = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

describe("internet/port-connector", () => {
  it("connectErrorFor maps errno codes to Twisted's connect errors, keeping the cause", () => {
    const refused = connectErrorFor(errno("ECONNREFUSED"));
    expect(refused).to.be.instanceOf(ConnectionRefusedError);
    expect((refused as Error).cause).to.be.instanceOf(Error);
    expect(connectErrorFor(errno("ENOTFOUND"))).to.be.instanceOf(DNSLookupError);
    expect(connectErrorFor(errno("EAI_AGAIN"))).to.be.instanceOf(DNSLookupError);
    expect(connectErrorFor(errno("EHOSTUNREACH"))).to.be.instanceOf(NoRouteError);
    const other = connectErrorFor(errno("EPIPE"));
    expect(other).to.be.instanceOf(ConnectError).and.not.instanceOf(ConnectionRefusedError);
    expect(other.message).to.contain("EPIPE");
  });

  it("an AggregateError (happy eyeballs) is mapped by its first error's code", () => {
    const agg = new AggregateError([errno("ECONNREFUSED")], "all failed");
    expect(connectErrorFor(agg)).to.be.instanceOf(ConnectionRefusedError);
  });

  it("serves TCP, UNIX and TLS: their ports and connectors all stand on these bases", () => {
    for (const P of [TCPPort, UNIXPort, SSLPort]) expect(P.prototype).to.be.instanceOf(BasePort);
    for (const C of [TCPConnector, UNIXConnector, SSLConnector]) expect(C.prototype).to.be.instanceOf(BaseConnector);
  });

  it("a port and a connector own counters that add up to their reactor's; on a bare Clock they stand alone", () => {
    const reactorCounters = new TransportCounters();
    const clock = Object.assign(new Clock(), { counters: reactorCounters });
    const port = new TCPPort(0, new ServerFactory(), { interface: "127.0.0.1" }, clock);
    const connector = new TCPConnector("127.0.0.1", 1, new ClientFactory(), {}, clock);
    port.counters.count("openConnections");
    connector.counters.count("protocolErrors");
    expect([reactorCounters.openConnections, reactorCounters.protocolErrors]).to.deep.equal([1, 1]);
    const alone = new TCPPort(0, new ServerFactory(), {}, new Clock());
    alone.counters.count("openConnections");
    expect(alone.counters.openConnections).to.equal(1);
  });
});
