# Twisted's WSGIResource serving the hello world of bench/wsgi.ts, on 127.0.0.1 (an ephemeral
# port, printed on stdout). Started by bench/wsgi.ts with /usr/bin/python3 where Twisted is
# installed; not meant to be run by hand (but `python3 bench/wsgi_twisted.py` works).
import sys

from twisted.internet import reactor
from twisted.python import log
from twisted.web.server import Site
from twisted.web.wsgi import WSGIResource

BODY = b"Hello, world!\n"


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "14")])
    return [BODY]


site = Site(WSGIResource(reactor, reactor.getThreadPool(), hello))
site.noisy = False
site.log = lambda request: None
port = reactor.listenTCP(0, site, interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.run()
