# The Autobahn|Python (on Twisted) peer of bench/websocket.ts: an echo WebSocket server on an
# ephemeral port of 127.0.0.1, announcing the port on stdout. Run with /usr/bin/python3.
import sys

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor


class Echo(WebSocketServerProtocol):
    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


factory = WebSocketServerFactory()
factory.protocol = Echo
# Autobahn's defaults check UTF-8 and mask as torsion does; no size limit beyond the bench's 1 MiB.
factory.setProtocolOptions(maxMessagePayloadSize=0, maxFramePayloadSize=0)
port = reactor.listenTCP(0, factory, interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
