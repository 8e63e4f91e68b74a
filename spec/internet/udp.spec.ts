// Tests of lib/internet/udp.ts with real datagrams on 127.0.0.1 (and ::1, and a multicast group
// on loopback where the machine allows it). Ports of twisted/test/test_udp.py (UDPTests,
// MulticastTests) and twisted/internet/test/test_udp.py (UDPPortTestsMixin,
// DatagramTransportTestsMixin), by name.

import { expect } from "chai";
import * as dgram from "node:dgram";
import * as os from "node:os";
import { DatagramProtocol } from "../../lib/internet/datagram-protocol.js";
import { CannotListenError, InvalidAddressError, MessageLengthError, MulticastJoinError } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import type { Bytes, UDPPeer } from "../../lib/internet/interfaces.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import type { MulticastPort, Port } from "../../lib/internet/udp.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { later, until, within } from "../support/wait.js";

/** Records what it is told (test_udp.py's Server/Mixin). */
class Recorder extends DatagramProtocol {
  started = 0;
  stopped = 0;
  refused = 0;
  readonly packets: Array<[string, UDPPeer]> = [];
  readonly startedOnce = later();
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  override startProtocol(): void {
    this.started++;
    this.startedOnce.resolve();
  }
  override stopProtocol(): void {
    this.stopped++;
  }
  override connectionRefused(): void {
    this.refused++;
  }
  override datagramReceived(datagram: Bytes, addr: UDPPeer): void {
    this.packets.push([Buffer.from(datagram).toString(), addr]);
    this.waiters = this.waiters.filter((w) => (this.packets.length >= w.n ? (w.resolve(), false) : true));
  }
  /** Resolves once `n` datagrams have arrived. */
  received(n: number): Promise<void> {
    if (this.packets.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

function hasIPv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === "::1"));
}

describe("udp", () => {
  const logs = captureLogsOfEachTest();
  let reactor: NodeReactor;
  const ports: Port[] = [];

  beforeEach(() => {
    reactor = new NodeReactor();
  });
  afterEach(async () => {
    for (const p of ports.splice(0)) await within(p.stopListening(), 2, "the port to close");
  });

  function listen(protocol: DatagramProtocol, iface = "127.0.0.1", port = 0, maxPacketSize?: number): Port {
    const p = reactor.listenUDP(port, protocol, { interface: iface, ...(maxPacketSize ? { maxPacketSize } : {}) });
    ports.push(p);
    return p;
  }

  describe("UDPTests", () => {
    it("test_oldAddress / test_getHost: getHost() is the UDP address bound, with the port the system picked", () => {
      const p = listen(new Recorder());
      const a = p.getHost();
      expect(a.type).to.equal("UDP");
      expect(a.family).to.equal("IPv4");
      expect(a.host).to.equal("127.0.0.1");
      expect(a.port).to.be.above(0);
    });

    it("test_startStop: startProtocol on listen, stopProtocol once the port is stopped", async () => {
      const server = new Recorder();
      const p = reactor.listenUDP(0, server, { interface: "127.0.0.1" });
      expect([server.started, server.stopped]).to.deep.equal([1, 0]);
      await within(p.stopListening(), 2, "stopListening");
      expect([server.started, server.stopped]).to.deep.equal([1, 1]);
      expect(server.transport).to.equal(null);
    });

    it("test_stopProtocolScheduling: stopProtocol does not run inside stopListening()", async () => {
      const server = new Recorder();
      const p = reactor.listenUDP(0, server, { interface: "127.0.0.1" });
      const d = p.stopListening();
      expect(server.stopped).to.equal(0);
      await within(d, 2, "stopListening");
      expect(server.stopped).to.equal(1);
    });

    it("a startProtocol that raises is logged; the port is still returned, open", async () => {
      const p = listen(
        new (class extends Recorder {
          override startProtocol(): void {
            throw new Error("startProtocol is broken");
          }
        })(),
      );
      expect(p.connected).to.equal(true);
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["startProtocol is broken"]);
    });

    it("test_rebind: a stopped port's number can be bound again", async () => {
      const first = reactor.listenUDP(0, new Recorder(), { interface: "127.0.0.1" });
      const port = first.getHost().port;
      await within(first.stopListening(), 2, "stopListening");
      const again = listen(new Recorder(), "127.0.0.1", port);
      expect(again.getHost().port).to.equal(port);
    });

    it("test_bindError: a port in use raises CannotListenError from listenUDP itself", () => {
      const p = listen(new Recorder());
      const port = p.getHost().port;
      const second = new Recorder();
      expect(() => reactor.listenUDP(port, second, { interface: "127.0.0.1" }))
        .to.throw(CannotListenError)
        .with.property("message")
        .that.contains("EADDRINUSE");
      expect(second.started).to.equal(0);
    });

    it("port validation: an integer 0-65535, else RangeError naming the value", () => {
      for (const bad of [70000, -1, 1.5, "53" as unknown as number, NaN]) {
        expect(() => reactor.listenUDP(bad, new Recorder()), String(bad)).to.throw(RangeError, String(typeof bad === "string" ? '"53"' : bad));
      }
      const p = listen(new Recorder());
      expect(() => p.write(Buffer.from("x"), ["127.0.0.1", 70000])).to.throw(RangeError, /70000/);
      expect(() => p.connect("127.0.0.1", -5)).to.throw(RangeError, /-5/);
    });

    it("test_sendPackets: datagrams both ways, unconnected and connected, with the senders' addresses", async () => {
      const server = new Recorder();
      const serverPort = listen(server);
      const client = new Recorder();
      const clientPort = listen(client);
      const s = serverPort.getHost().port;
      const c = clientPort.getHost().port;
      clientPort.write(Buffer.from("hello"), ["127.0.0.1", s]);
      clientPort.writeSequence([Buffer.from("a"), Buffer.from("b"), Buffer.from("c")], ["127.0.0.1", s]);
      await within(server.received(2), 5, "two datagrams");
      expect(server.packets).to.deep.equal([
        ["hello", ["127.0.0.1", c]],
        ["abc", ["127.0.0.1", c]],
      ]);
      clientPort.connect("127.0.0.1", s);
      clientPort.write(Buffer.from("connected"));
      await within(server.received(3), 5, "the connected datagram");
      serverPort.write(Buffer.from("back"), ["127.0.0.1", c]);
      await within(client.received(1), 5, "the answer");
      expect(client.packets).to.deep.equal([["back", ["127.0.0.1", s]]]);
    });

    it("test_connectionRefused: a connected port told ECONNREFUSED calls connectionRefused", async () => {
      // a port bound and closed again: nothing listens there
      const gone = reactor.listenUDP(0, new Recorder(), { interface: "127.0.0.1" });
      const port = gone.getHost().port;
      await within(gone.stopListening(), 2, "the port to close");
      const client = new Recorder();
      const p = listen(client);
      p.connect("127.0.0.1", port);
      const sender = setInterval(() => p.write(Buffer.from("anyone?")), 10);
      try {
        await until(() => client.refused > 0, 5, "connectionRefused");
      } finally {
        clearInterval(sender);
      }
    });

    it("test_badConnect: connect() to a host name raises InvalidAddressError; a second connect() raises", () => {
      const p = listen(new Recorder());
      expect(() => p.connect("localhost", 80)).to.throw(InvalidAddressError, /localhost/);
      p.connect("127.0.0.1", 80);
      expect(() => p.connect("127.0.0.1", 81)).to.throw(Error, /already connected/);
    });

    it("test_datagramReceivedError: an exception from datagramReceived is logged and the port goes on", async () => {
      const server = new (class extends Recorder {
        override datagramReceived(datagram: Bytes, addr: UDPPeer): void {
          super.datagramReceived(datagram, addr);
          if (Buffer.from(datagram).toString().startsWith("bad")) throw new Error("bad datagram");
        }
      })();
      const sp = listen(server);
      const cp = listen(new Recorder());
      const to: UDPPeer = ["127.0.0.1", sp.getHost().port];
      for (const m of ["bad 1", "good 1", "bad 2", "good 2"]) cp.write(Buffer.from(m), to);
      await within(server.received(4), 5, "four datagrams");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["bad datagram", "bad datagram"]);
    });

    it("test_NoWarningOnBroadcast / test_allowBroadcast: setBroadcastAllowed sets SO_BROADCAST; a broadcast send then works", async () => {
      const p = listen(new Recorder(), "");
      expect(p.getBroadcastAllowed()).to.equal(false);
      p.setBroadcastAllowed(true);
      expect(p.getBroadcastAllowed()).to.equal(true);
      p.write(Buffer.from("to all"), ["255.255.255.255", p.getHost().port]);
      p.setBroadcastAllowed(false);
      expect(p.getBroadcastAllowed()).to.equal(false);
      expect(logs.failures()).to.deep.equal([]);
    });
  });

  describe("faults", () => {
    it("a datagram over maxPacketSize is cut to maxPacketSize bytes, as Twisted's recvfrom", async () => {
      const server = new Recorder();
      const sp = listen(server, "127.0.0.1", 0, 16);
      const cp = listen(new Recorder());
      cp.write(Buffer.from("0123456789abcdefTHE REST IS CUT"), ["127.0.0.1", sp.getHost().port]);
      cp.write(Buffer.from("short"), ["127.0.0.1", sp.getHost().port]);
      await within(server.received(2), 5, "the datagrams");
      expect(server.packets.map((x) => x[0])).to.deep.equal(["0123456789abcdef", "short"]);
    });

    it("a datagram longer than IP can carry raises MessageLengthError at once; bad maxPacketSize raises RangeError", () => {
      const p = listen(new Recorder());
      expect(() => p.write(Buffer.alloc(65508), ["127.0.0.1", 9])).to.throw(MessageLengthError, /65508/);
      expect(() => reactor.listenUDP(0, new Recorder(), { maxPacketSize: 0 })).to.throw(RangeError, /0/);
    });

    it("write() of a string raises TypeError; without an address on an unconnected port, TypeError", () => {
      const p = listen(new Recorder());
      expect(() => p.write("text" as unknown as Bytes, ["127.0.0.1", 9])).to.throw(TypeError, /bytes/);
      expect(() => p.write(Buffer.from("x"))).to.throw(TypeError, /address/);
    });
  });

  describe("UDPPortTestsMixin", () => {
    it("test_interface: the port is bound to the interface given", () => {
      expect(listen(new Recorder(), "127.0.0.1").getHost().host).to.equal("127.0.0.1");
    });

    it("test_invalidInterface: an interface that is not an IP address raises InvalidAddressError", () => {
      expect(() => reactor.listenUDP(0, new Recorder(), { interface: "example.com" })).to.throw(InvalidAddressError, /example\.com/);
    });

    it("test_str / test_repr: names the protocol and the port", async () => {
      const p = reactor.listenUDP(0, new Recorder(), { interface: "127.0.0.1" });
      expect(String(p)).to.equal(`<Recorder on ${p.getHost().port}>`);
      await within(p.stopListening(), 2, "stopListening");
      expect(String(p)).to.equal("<Recorder not connected>");
    });

    it("test_writingToHostnameRaisesInvalidAddressError: write() to a host name raises", () => {
      const p = listen(new Recorder());
      expect(() => p.write(Buffer.from("x"), ["example.invalid", 80])).to.throw(InvalidAddressError, /hostnames/);
    });

    it("test_writingToIPv6OnIPv4RaisesInvalidAddressError", () => {
      const p = listen(new Recorder());
      expect(() => p.write(Buffer.from("x"), ["::1", 80])).to.throw(InvalidAddressError, /IPv4/);
    });

    it("test_connectingToHostnameRaisesInvalidAddressError", () => {
      const p = listen(new Recorder());
      expect(() => p.connect("example.invalid", 80)).to.throw(InvalidAddressError);
    });

    describe("IPv6", function () {
      before(function () {
        if (!hasIPv6Loopback()) {
          console.log("      (skipped: this machine has no ::1)");
          this.skip();
        }
      });

      it("test_getHostIPv6: a port on ::1 is an IPv6 UDP address", () => {
        const a = listen(new Recorder(), "::1").getHost();
        expect([a.type, a.family, a.host]).to.deep.equal(["UDP", "IPv6", "::1"]);
      });

      it("test_writeToIPv6Interface / test_connectedWriteToIPv6Interface: datagrams between two IPv6 ports", async () => {
        const server = new Recorder();
        const sp = listen(server, "::1");
        const cp = listen(new Recorder(), "::1");
        cp.write(Buffer.from("spam"), ["::1", sp.getHost().port]);
        cp.connect("::1", sp.getHost().port);
        cp.write(Buffer.from("eggs"));
        await within(server.received(2), 5, "the datagrams");
        expect(server.packets).to.deep.equal([
          ["spam", ["::1", cp.getHost().port]],
          ["eggs", ["::1", cp.getHost().port]],
        ]);
      });

      it("test_writingToIPv4OnIPv6RaisesInvalidAddressError", () => {
        const p = listen(new Recorder(), "::1");
        expect(() => p.write(Buffer.from("x"), ["127.0.0.1", 80])).to.throw(InvalidAddressError, /IPv6/);
      });
    });
  });

  describe("MulticastTests", function () {
    const group = "225.0.0.250";
    let server: Recorder;
    let client: Recorder;
    let serverPort: MulticastPort;
    let clientPort: MulticastPort;

    beforeEach(async function () {
      server = new Recorder();
      client = new Recorder();
      serverPort = reactor.listenMulticast(0, server, { interface: "0.0.0.0" });
      clientPort = reactor.listenMulticast(0, client, { interface: "0.0.0.0" });
      ports.push(serverPort, clientPort);
      const joined = await within(
        serverPort.joinGroup(group, "127.0.0.1").then(
          () => true,
          () => false,
        ),
        2,
        "joinGroup",
      );
      if (!joined) {
        console.log("      (skipped: this machine does not allow joining a multicast group on loopback)");
        this.skip();
      }
      clientPort.setOutgoingInterface("127.0.0.1");
    });

    it("test_loopback: with loopback mode on, the sender's own host receives the group's datagrams", async () => {
      expect(serverPort.getLoopbackMode()).to.equal(true);
      serverPort.setLoopbackMode(true);
      clientPort.write(Buffer.from("hello"), [group, serverPort.getHost().port]);
      await within(server.received(1), 5, "the multicast datagram");
      expect(server.packets[0]![0]).to.equal("hello");
    });

    it("test_interface: setOutgoingInterface / getOutgoingInterface", async () => {
      expect(serverPort.getOutgoingInterface()).to.equal("0.0.0.0");
      await within(serverPort.setOutgoingInterface("127.0.0.1"), 2, "setOutgoingInterface");
      expect(serverPort.getOutgoingInterface()).to.equal("127.0.0.1");
    });

    it("test_joinLeave: after leaveGroup the port receives the group's datagrams no more", async () => {
      clientPort.write(Buffer.from("in"), [group, serverPort.getHost().port]);
      await within(server.received(1), 5, "a datagram while joined");
      await within(serverPort.leaveGroup(group, "127.0.0.1"), 2, "leaveGroup");
      clientPort.write(Buffer.from("out"), [group, serverPort.getHost().port]);
      // unicast to the same port shows the socket still reads, and the group datagram did not come first
      clientPort.write(Buffer.from("unicast"), ["127.0.0.1", serverPort.getHost().port]);
      await within(server.received(2), 5, "the unicast datagram");
      expect(server.packets.map((x) => x[0])).to.deep.equal(["in", "unicast"]);
    });

    it("test_joinFailure: joining something that is not a multicast group fails with MulticastJoinError", async () => {
      const f = await new Promise<Failure>((resolve) => serverPort.joinGroup("127.0.0.1").addErrback((e) => resolve(e)));
      expect(f.value).to.be.instanceOf(MulticastJoinError);
    });

    it("test_multicast: setTTL/getTTL, and a datagram to the group reaches the member", async () => {
      expect(clientPort.getTTL()).to.equal(1);
      clientPort.setTTL(2);
      expect(clientPort.getTTL()).to.equal(2);
      expect(() => clientPort.setTTL(256)).to.throw(RangeError, /256/);
      clientPort.write(Buffer.from("group"), [group, serverPort.getHost().port]);
      await within(server.received(1), 5, "the multicast datagram");
    });

    it("test_multiListen: with listenMultiple, two ports share a port number and both receive the group's datagrams", async () => {
      const a = new Recorder();
      const b = new Recorder();
      const pa = reactor.listenMulticast(0, a, { interface: "0.0.0.0", listenMultiple: true });
      ports.push(pa);
      const pb = reactor.listenMulticast(pa.getHost().port, b, { interface: "0.0.0.0", listenMultiple: true });
      ports.push(pb);
      await within(pa.joinGroup(group, "127.0.0.1"), 2, "join a");
      await within(pb.joinGroup(group, "127.0.0.1"), 2, "join b");
      clientPort.write(Buffer.from("both"), [group, pa.getHost().port]);
      await within(Promise.all([a.received(1), b.received(1)]), 5, "both to receive");
    });
  });

  it("node:dgram peers interoperate (a node:dgram client, a torsion server)", async () => {
    const server = new Recorder();
    const sp = listen(server);
    const sock = dgram.createSocket("udp4");
    try {
      await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
      sock.send("from node", sp.getHost().port, "127.0.0.1");
      await within(server.received(1), 5, "the datagram");
      expect(server.packets[0]).to.deep.equal(["from node", ["127.0.0.1", sock.address().port]]);
    } finally {
      sock.close();
    }
  });
});
