# Twisted's side of bench/process.ts: push MiB (the first argument) through /bin/cat with
# reactor.spawnProcess, a push producer on the child's stdin (64 KiB writes while not paused),
# counting what comes back on stdout; prints the seconds the transfer took and the CPU seconds
# this process used. Run by
# bench/process.ts with /usr/bin/python3; `python3 bench/process_twisted.py 64` works by hand.
import sys
import time

from twisted.internet import reactor
from twisted.internet.protocol import ProcessProtocol
from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer

TOTAL = int(sys.argv[1]) << 20
CHUNK = b"a" * (64 << 10)


@implementer(IPushProducer)
class Cat(ProcessProtocol):
    def __init__(self):
        self.sent = 0
        self.received = 0
        self.paused = False
        self.start = time.perf_counter()
        self.cpu = time.process_time()

    def connectionMade(self):
        self.transport.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.sent < TOTAL:
            self.transport.write(CHUNK)
            self.sent += len(CHUNK)
        if self.sent >= TOTAL and self.transport is not None:
            self.transport.unregisterProducer()
            self.transport.closeStdin()

    def stopProducing(self):
        self.paused = True

    def outReceived(self, data):
        self.received += len(data)

    def processEnded(self, reason):
        seconds = time.perf_counter() - self.start
        if self.received != TOTAL:
            print("received %d of %d bytes" % (self.received, TOTAL), file=sys.stderr)
            sys.exit(1)
        print(seconds, time.process_time() - self.cpu, flush=True)
        reactor.stop()


reactor.callWhenRunning(reactor.spawnProcess, Cat(), "/bin/cat", ["cat"], env={})
reactor.run()
