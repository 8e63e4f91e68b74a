/**
 * An echo server and its client in one program, with a Deferred for each reply and a watchdog
 * on it: the torsion half of the side-by-side port in docs/coming-from-twisted.md (the Twisted
 * half is examples/echo-watchdog.py; both print the same lines).
 *
 *     node build/examples/echo-watchdog.js
 *     /usr/bin/python3 examples/echo-watchdog.py
 */
import {
  CancelledError,
  connectProtocol,
  Deferred,
  Factory,
  LineReceiver,
  react,
  TCP4ClientEndpoint,
  type IReactorTime,
  type NodeReactor,
} from "torsion";

/** Echoes each line, except those starting with "hush": the watchdog has something to catch. */
class Echo extends LineReceiver {
  override lineReceived(line: Buffer): void {
    if (!line.toString().startsWith("hush")) this.sendLine(line);
  }
}

/** Sends a line per ask(); each reply fires the oldest waiting Deferred. */
class EchoClient extends LineReceiver {
  private readonly waiting: Deferred<string>[] = [];

  ask(line: string): Deferred<string> {
    // The canceller forgets the Deferred, so a late reply cannot fire it.
    const d = new Deferred<string>((cancelled) => this.waiting.splice(this.waiting.indexOf(cancelled), 1));
    this.waiting.push(d);
    this.sendLine(Buffer.from(line));
    return d;
  }

  override lineReceived(line: Buffer): void {
    this.waiting.shift()?.callback(line.toString());
  }
}

/** The watchdog: cancel `d` unless it fires within `seconds` (Deferred.addTimeout does the same). */
function watchdog<T>(clock: IReactorTime, d: Deferred<T>, seconds: number): Deferred<T> {
  const timer = clock.callLater(seconds, () => d.cancel());
  // Either way it ends, the timer goes; the result (or the failure) passes on unchanged.
  d.addBoth((result) => {
    if (timer.active()) timer.cancel();
    return result;
  });
  return d;
}

async function main(reactor: NodeReactor): Promise<void> {
  const port = reactor.listenTCP(0, Factory.forProtocol(Echo), { interface: "127.0.0.1" });
  const endpoint = new TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port);
  const client = await connectProtocol(endpoint, new EchoClient());
  console.log(`reply: ${await watchdog(reactor, client.ask("hello"), 5)}`);
  try {
    await watchdog(reactor, client.ask("hush"), 0.5);
  } catch (err) {
    if (!(err instanceof CancelledError)) throw err;
    console.log(`no reply to "hush" within 0.5 s: ${err.name}`);
  }
  client.transport!.loseConnection();
  await port.stopListening();
  console.log("done");
}

// Run the reactor until main() is done, then exit with its status (task.react).
await react(main);
