"""
An echo server and its client in one program, with a Deferred for each reply and a watchdog on
it: the Twisted half of the side-by-side port in docs/coming-from-twisted.md (the torsion half is
examples/echo-watchdog.ts; both print the same lines).

    /usr/bin/python3 examples/echo-watchdog.py
"""
from twisted.internet import defer, endpoints, protocol, task
from twisted.protocols.basic import LineReceiver


class Echo(LineReceiver):
    """Echoes each line, except those starting with "hush": the watchdog has something to catch."""

    def lineReceived(self, line):
        if not line.startswith(b"hush"):
            self.sendLine(line)


class EchoClient(LineReceiver):
    """Sends a line per ask(); each reply fires the oldest waiting Deferred."""

    def __init__(self):
        self.waiting = []

    def ask(self, line):
        # The canceller forgets the Deferred, so a late reply cannot fire it.
        d = defer.Deferred(lambda cancelled: self.waiting.remove(cancelled))
        self.waiting.append(d)
        self.sendLine(line.encode())
        return d

    def lineReceived(self, line):
        if self.waiting:
            self.waiting.pop(0).callback(line.decode())


def watchdog(clock, d, seconds):
    """The watchdog: cancel d unless it fires within seconds (Deferred.addTimeout does the same)."""
    timer = clock.callLater(seconds, d.cancel)

    # Either way it ends, the timer goes; the result (or the failure) passes on unchanged.
    def stop(result):
        if timer.active():
            timer.cancel()
        return result

    d.addBoth(stop)
    return d


async def main(reactor):
    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1")
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    client = await endpoints.connectProtocol(endpoint, EchoClient())
    print(f"reply: {await watchdog(reactor, client.ask('hello'), 5)}")
    try:
        await watchdog(reactor, client.ask("hush"), 0.5)
    except defer.CancelledError as err:
        print(f'no reply to "hush" within 0.5 s: {type(err).__name__}')
    client.transport.loseConnection()
    await port.stopListening()
    print("done")


# Run the reactor until main() is done, then exit with its status.
task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
