"""
Twisted's side of bench/reactor.ts: one measurement of one case on Twisted's default reactor,
printed as one JSON line on stdout. Run with /usr/bin/python3 (python3-twisted).

    python3 bench/reactor_twisted.py chain 10000
    python3 bench/reactor_twisted.py random 100000
    python3 bench/reactor_twisted.py looping 10000 3

chain: seconds for N chained callLater(0). random: seconds from scheduling N calls with random
delays in [0, 50 ms) and cancelling every other one until the rest have fired. looping: N
LoopingCalls at 1 s run for the given seconds; CPU microseconds per tick.
"""

import json
import random
import sys
import time

from twisted.internet import reactor, task


def chain(n):
    state = {"left": n}

    def step():
        state["left"] -= 1
        if state["left"] == 0:
            state["end"] = time.perf_counter()
            reactor.stop()
        else:
            reactor.callLater(0, step)

    def begin():
        state["start"] = time.perf_counter()
        reactor.callLater(0, step)

    reactor.callWhenRunning(begin)
    reactor.run()
    return {"seconds": state["end"] - state["start"]}


def random_timers(n):
    state = {"left": n // 2}

    def fired():
        state["left"] -= 1
        if state["left"] == 0:
            state["end"] = time.perf_counter()
            reactor.stop()

    def begin():
        state["start"] = time.perf_counter()
        calls = [reactor.callLater(random.random() * 0.05, fired) for _ in range(n)]
        for i in range(0, n, 2):
            calls[i].cancel()

    reactor.callWhenRunning(begin)
    reactor.run()
    return {"seconds": state["end"] - state["start"]}


def looping(n, seconds):
    state = {"ticks": 0}

    def tick():
        state["ticks"] += 1

    def begin():
        for _ in range(n):
            task.LoopingCall(tick).start(1.0, now=False)
        state["cpu"] = time.process_time()
        reactor.callLater(seconds, end)

    def end():
        state["cpu"] = time.process_time() - state["cpu"]
        reactor.stop()

    reactor.callWhenRunning(begin)
    reactor.run()
    return {"us_per_tick": state["cpu"] * 1e6 / max(1, state["ticks"]), "ticks": state["ticks"]}


def main():
    case = sys.argv[1]
    n = int(sys.argv[2])
    if case == "chain":
        result = chain(n)
    elif case == "random":
        result = random_timers(n)
    else:
        result = looping(n, float(sys.argv[3]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
