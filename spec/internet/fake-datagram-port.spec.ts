// Tests of lib/internet/fake-datagram-port.ts and the UDP records of MemoryReactor (its listenUDP
// and listenMulticast), which hand it out.

import { expect } from "chai";
import { DatagramProtocol } from "../../lib/internet/datagram-protocol.js";
import { MemoryReactor } from "../../lib/internet/memory-reactor.js";

class Recorder extends DatagramProtocol {}

describe("MemoryReactor UDP", () => {
  it("records listenUDP and listenMulticast calls with their defaults; the fake port records writes", () => {
    const r = new MemoryReactor();
    const proto = new Recorder();
    const p = r.listenUDP(1234, proto);
    r.listenMulticast(5353, proto, { interface: "::", listenMultiple: true });
    expect(r.udpServers.map(([port, pr, options]) => [port, pr, options])).to.deep.equal([
      [1234, proto, { interface: "", maxPacketSize: 8192 }],
      [5353, proto, { interface: "::", maxPacketSize: 8192, listenMultiple: true }],
    ]);
    expect(p.getHost()).to.deep.equal({ type: "UDP", family: "IPv4", host: "0.0.0.0", port: 1234 });
    expect(r.udpServers[1]![3].getHost().family).to.equal("IPv6");
    p.write(Buffer.from("x"), ["10.0.0.1", 53]);
    expect(p.written).to.deep.equal([[Buffer.from("x"), ["10.0.0.1", 53]]]);
  });

  it("the fake port records connect, groups and options, and a protocol can be started on it", () => {
    const r = new MemoryReactor();
    const proto = new Recorder();
    const p = r.listenMulticast(0, proto);
    proto.makeConnection(p);
    expect(proto.transport).to.equal(p);
    p.connect("10.0.0.2", 53);
    expect(p.connectedTo).to.deep.equal(["10.0.0.2", 53]);
    void p.joinGroup("225.0.0.1");
    expect([...p.groups]).to.deep.equal(["225.0.0.1"]);
    p.setTTL(4);
    p.setLoopbackMode(false);
    p.setBroadcastAllowed(true);
    expect([p.getTTL(), p.getLoopbackMode(), p.getBroadcastAllowed()]).to.deep.equal([4, false, true]);
    p.writeSequence([Buffer.from("a"), Buffer.from("b")]);
    expect(p.written).to.deep.equal([[Buffer.from("ab"), null]]);
    void p.stopListening();
    expect(p.listening).to.equal(false);
  });
});
