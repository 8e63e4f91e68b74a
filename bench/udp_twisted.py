# Twisted's side of bench/udp.ts: a DatagramProtocol echoing every datagram to its sender, on an
# ephemeral UDP port of 127.0.0.1 (printed on stdout). Started by bench/udp.ts with
# /usr/bin/python3 where Twisted is installed.
from twisted.internet import reactor
from twisted.internet.protocol import DatagramProtocol


class Echo(DatagramProtocol):
    noisy = False

    def datagramReceived(self, data, addr):
        self.transport.write(data, addr)


port = reactor.listenUDP(0, Echo(), interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
