# Twisted's ReverseProxyResource in front of the upstream of bench/proxy.ts: run with
# /usr/bin/python3 where Twisted is installed, the upstream's port as the argument; listens on an
# ephemeral port of 127.0.0.1 and prints it.
import sys

from twisted.internet import reactor
from twisted.web.proxy import ReverseProxyResource
from twisted.web.server import Site

site = Site(ReverseProxyResource("127.0.0.1", int(sys.argv[1]), b""))
site.noisy = False
site.log = lambda request: None
port = reactor.listenTCP(0, site, interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
