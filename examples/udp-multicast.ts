/**
 * Multicast UDP: a server joins the group 228.0.0.5 and answers every datagram sent to it; a
 * client sends one to the group (Twisted's udp howto, "Multicast UDP"). On loopback here, so it
 * runs on a machine without a network.
 *
 *     node build/examples/udp-multicast.js
 */
import { type Bytes, DatagramProtocol, type IMulticastTransport, reactor, type UDPPeer } from "torsion";

const GROUP = "228.0.0.5";

class MulticastPingPong extends DatagramProtocol {
  override startProtocol(): void {
    const t = this.transport as IMulticastTransport;
    t.setTTL(1); // this network only
    t.joinGroup(GROUP, "127.0.0.1").addErrback((f) => {
      console.log(`cannot join ${GROUP} here: ${f.getErrorMessage()}`);
      reactor.stop();
    });
  }

  override datagramReceived(datagram: Bytes, addr: UDPPeer): void {
    const text = Buffer.from(datagram).toString();
    console.log(`server received ${JSON.stringify(text)} from ${addr[0]}:${addr[1]}`);
    if (text === "Client: Ping") this.transport!.write(Buffer.from("Server: Pong"), addr);
  }
}

class MulticastPingClient extends DatagramProtocol {
  constructor(private readonly port: number) {
    super();
  }

  override startProtocol(): void {
    const t = this.transport as IMulticastTransport;
    void t.setOutgoingInterface("127.0.0.1");
    t.write(Buffer.from("Client: Ping"), [GROUP, this.port]);
  }

  override datagramReceived(datagram: Bytes): void {
    console.log(`client received ${JSON.stringify(Buffer.from(datagram).toString())}`);
    reactor.stop();
  }
}

// listenMultiple lets several programs on this host share the group's port.
const server = reactor.listenMulticast(0, new MulticastPingPong(), { listenMultiple: true });
reactor.listenMulticast(0, new MulticastPingClient(server.getHost().port));
await reactor.run();
