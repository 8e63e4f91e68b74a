import { expect } from "chai";
import { StreamServerEndpointService } from "../../lib/application/internet.js";
import { service } from "../../lib/application/strports.js";
import { TCP4ServerEndpoint, UNIXServerEndpoint } from "../../lib/internet/endpoints.js";
import { MemoryReactor } from "../../lib/internet/memory-reactor.js";
import { Factory } from "../../lib/internet/protocol.js";
import { getReactor } from "../../lib/internet/reactor.js";

describe("application/strports", () => {
  it("test_service: service(description, factory) is a StreamServerEndpointService on the described endpoint", () => {
    const reactor = new MemoryReactor();
    const factory = new Factory();
    const svc = service("tcp:8080:interface=127.0.0.1", factory, reactor);
    expect(svc).to.be.instanceOf(StreamServerEndpointService);
    expect(svc.endpoint).to.be.instanceOf(TCP4ServerEndpoint);
    expect(svc.factory).to.equal(factory);
    expect(svc.raiseSynchronously).to.equal(true);
    svc.startService();
    expect(reactor.tcpServers.map(([port, f, options]) => [port, f, options.interface])).to.deep.equal([[8080, factory, "127.0.0.1"]]);
  });

  it("a unix: description makes a UNIX server endpoint", () => {
    const reactor = new MemoryReactor();
    const svc = service("unix:/tmp/torsion-strports.sock", new Factory(), reactor);
    expect(svc.endpoint).to.be.instanceOf(UNIXServerEndpoint);
  });

  it("test_serviceDefaultReactor: without a reactor, the endpoint is on the global reactor", () => {
    const svc = service("tcp:80", new Factory());
    expect((svc.endpoint as unknown as { reactor: unknown }).reactor).to.equal(getReactor());
  });

  it("a bad description throws at once, before anything starts", () => {
    expect(() => service("bogus:1", new Factory(), new MemoryReactor())).to.throw(/bogus/);
  });
});
