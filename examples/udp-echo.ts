/**
 * UDP with a DatagramProtocol: an echo server, and a client on a connected port that sends it
 * three datagrams (Twisted's udp howto, "DatagramProtocol" and "Connected UDP").
 *
 *     node build/examples/udp-echo.js
 */
import { type Bytes, DatagramProtocol, reactor, type UDPPeer } from "torsion";

class Echo extends DatagramProtocol {
  override datagramReceived(datagram: Bytes, [host, port]: UDPPeer): void {
    console.log(`server received ${JSON.stringify(Buffer.from(datagram).toString())} from ${host}:${port}`);
    this.transport!.write(datagram, [host, port]);
  }
}

class Client extends DatagramProtocol {
  private answers = 0;

  constructor(private readonly serverPort: number) {
    super();
  }

  override startProtocol(): void {
    // A connected port sends without an address and hears only from its peer.
    this.transport!.connect("127.0.0.1", this.serverPort);
    for (const word of ["one", "two", "three"]) this.transport!.write(Buffer.from(word));
  }

  override datagramReceived(datagram: Bytes): void {
    console.log(`client received ${JSON.stringify(Buffer.from(datagram).toString())}`);
    if (++this.answers === 3) reactor.stop();
  }

  override connectionRefused(): void {
    console.log("no one is listening there");
    reactor.stop();
  }
}

// Port 0 picks a free port; listenUDP has bound it when it returns.
const server = reactor.listenUDP(0, new Echo(), { interface: "127.0.0.1" });
reactor.listenUDP(0, new Client(server.getHost().port), { interface: "127.0.0.1" });
await reactor.run();
