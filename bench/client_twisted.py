# Twisted's Agent as a client for bench/client.ts: run with /usr/bin/python3 where Twisted is
# installed. Modes:
#   hello URL CONCURRENCY SECONDS   keep-alive GETs from CONCURRENCY lanes on one pooled Agent
#                                   for SECONDS; prints "RESULT <requests per second>"
#   download URL                    one GET of a large body, counted; prints "RESULT <MiB/s>"
import sys
import time

from twisted.internet import defer, reactor
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, HTTPConnectionPool, readBody

mode, url = sys.argv[1], sys.argv[2].encode()
concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 1
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0

pool = HTTPConnectionPool(reactor)
pool.maxPersistentPerHost = concurrency
agent = Agent(reactor, pool=pool)


class Counter(Protocol):
    def __init__(self, done):
        self.count = 0
        self.done = done

    def dataReceived(self, data):
        self.count += len(data)

    def connectionLost(self, reason):
        self.done.callback(self.count)


@defer.inlineCallbacks
def lane(deadline, counts):
    while time.monotonic() < deadline:
        response = yield agent.request(b"GET", url)
        yield readBody(response)
        counts[0] += 1


@defer.inlineCallbacks
def main():
    if mode == "hello":
        yield defer.gatherResults([lane(time.monotonic() + 0.3, [0]) for _ in range(concurrency)])  # warm-up
        counts = [0]
        start = time.monotonic()
        yield defer.gatherResults([lane(start + seconds, counts) for _ in range(concurrency)])
        print("RESULT", counts[0] / (time.monotonic() - start), flush=True)
    else:
        start = time.monotonic()
        response = yield agent.request(b"GET", url)
        done = defer.Deferred()
        response.deliverBody(Counter(done))
        count = yield done
        print("RESULT", count / (time.monotonic() - start) / 2**20, flush=True)
    yield pool.closeCachedConnections()


def run():
    d = main()
    d.addErrback(lambda f: f.printTraceback())
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
