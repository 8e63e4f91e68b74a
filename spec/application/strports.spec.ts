import { expect } from "chai";
import { StreamServerEndpointService } from "../../lib/application/internet.js";
import { service } from "../../lib/application/strports.js";
import { TCP4ServerEndpoint, UNIXServerEndpoint } from "../../lib/internet/endpoints.js";
import { MemoryReactor } from "../../lib/internet/memory-reactor.js";
import { Factory } from "../../lib/internet/protocol.js";

describe("application/strports", () => {
  it("test_service: service(description, factory) is a StreamServerEndpointService on the described endpoint", () => {
    const reactor = new MemoryReactor();
    const factory = new Factory();
    const svc = service("tcp:8080:interface=127.0.0.1", factory, reactor);
    expect(svc).to.be.instanceOf(StreamServerEndpointService);
    expect(svc.endpoint).to.be.instanceOf(TCP4ServerEndpoint);
    expect(svc.factory).to.equal(factory);
    svc.startService();
    expect(reactor.tcpServers.map(([port, f, options]) => [port, f, options.interface])).to.deep.equal([[8080, factory, "127.0.0.1"]]);
  });

  it("test_serviceUNIX: a unix: description listens on the socket path", () => {
    const reactor = new MemoryReactor();
    const svc = service("unix:/tmp/torsion-strports.sock", new Factory(), reactor);
    expect(svc.endpoint).to.be.instanceOf(UNIXServerEndpoint);
  });

  it("a bad description throws at once, before anything starts", () => {
    expect(() => service("bogus:1", new Factory(), new MemoryReactor())).to.throw(/bogus/);
  });
});
