/**
 * What happens when a client goes away in the middle of a response: the producer registered on
 * the request is stopped, and notifyFinish() errbacks. The program serves /numbers (an endless
 * stream of lines written by a push producer), fetches it with node:http, hangs up after a few
 * lines, prints what the server saw, and exits.
 *
 *     node build/examples/http-disconnect.js
 */
import { get } from "node:http";
import { HTTPFactory, http, reactor, type IPushProducer } from "torsion";

/** Writes a line every 10 ms while not paused, until stopped. */
class Numbers implements IPushProducer {
  private n = 0;
  private paused = false;
  private timer: ReturnType<typeof setInterval>;

  constructor(private readonly request: http.Request) {
    this.timer = setInterval(() => {
      if (!this.paused) this.request.write(Buffer.from(`line ${++this.n}\n`));
    }, 10);
  }
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
  }
  stopProducing(): void {
    clearInterval(this.timer);
    console.log(`server: producer stopped after ${this.n} lines`);
  }
}

class NumbersRequest extends http.Request {
  override process(): void {
    this.setHeader("content-type", "text/plain");
    // Without this errback the lost connection would be an unhandled error in the Deferred.
    this.notifyFinish().addCallbacks(
      () => console.log("server: response finished"),
      (reason) => console.log(`server: notifyFinish errback: ${reason.value.name}`),
    );
    this.registerProducer(new Numbers(this), true);
  }
}

const factory = new HTTPFactory({ requestFactory: NumbersRequest });
const listening = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
const port = (listening.getHost() as { port: number }).port;
const stopped = reactor.run();

get({ host: "127.0.0.1", port, path: "/numbers" }, (res) => {
  let lines = 0;
  res.on("data", (chunk: Buffer) => {
    lines += chunk.toString().split("\n").length - 1;
    if (lines >= 5 && !res.destroyed) {
      console.log("client: hanging up after 5 lines");
      res.destroy();
      // Give the server a moment to see the close, then stop.
      setTimeout(() => reactor.stop(), 100);
    }
  });
});

await stopped;
