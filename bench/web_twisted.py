# Twisted's Site serving the hello world and the static file of bench/web.ts, on 127.0.0.1 (an
# ephemeral port, printed on stdout): /hello is a leaf Resource, /big is twisted.web.static.File
# for the path given as the first argument. Started by bench/web.ts with /usr/bin/python3 where
# Twisted is installed; `python3 bench/web_twisted.py /some/file` works by hand too.
import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import File

BODY = b"Hello, world!\n"


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return BODY


root = Resource()
root.putChild(b"hello", Hello())
root.putChild(b"big", File(sys.argv[1], defaultType="application/octet-stream"))
site = Site(root)
site.noisy = False
site.log = lambda request: None
port = reactor.listenTCP(0, site, interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
