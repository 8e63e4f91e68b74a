/**
 * Streaming a response through a push producer registered on the request: the transport
 * pauses it when the client reads slowly and resumes it when the buffer drains; when the client
 * goes away, the request stops it (stopProducing) and notifyFinish() errbacks.
 * Quoted by docs/web-async.md.
 *
 *     node build/examples/web-streaming.js [port]     (default 8080; Ctrl-C stops it)
 *     curl -N http://127.0.0.1:8080/          (ten lines, one every 0.2 s)
 *     curl -N http://127.0.0.1:8080/?n=1000   (a thousand)
 */
import {
  NOT_DONE_YET,
  reactor,
  Resource,
  Site,
  type Failure,
  type IDelayedCall,
  type IPushProducer,
  type IRequest,
} from "torsion";

/** Writes `count` numbered lines, one per tick, while not paused. */
class Ticker implements IPushProducer {
  private sent = 0;
  private call: IDelayedCall | null = null;
  private paused = false;
  private stopped = false;

  constructor(
    private readonly request: IRequest,
    private readonly count: number,
  ) {}

  start(): void {
    this.request.registerProducer(this, true);
    this.schedule();
  }

  pauseProducing(): void {
    this.paused = true;
    this.cancel();
  }

  resumeProducing(): void {
    this.paused = false;
    this.schedule();
  }

  stopProducing(): void {
    // The client is gone: release everything (here, the pending call).
    this.stopped = true;
    this.cancel();
    console.log(`ticker stopped after ${this.sent} lines`);
  }

  private schedule(): void {
    if (this.call === null && !this.paused && !this.stopped) this.call = reactor.callLater(0.2, this.tick);
  }

  private cancel(): void {
    if (this.call !== null && this.call.active()) this.call.cancel();
    this.call = null;
  }

  private readonly tick = (): void => {
    this.call = null;
    this.sent++;
    this.request.write(Buffer.from(`line ${this.sent} of ${this.count}\n`, "latin1"));
    if (this.sent === this.count) {
      this.request.unregisterProducer();
      this.request.finish();
      return;
    }
    this.schedule();
  };
}

class Stream extends Resource {
  override isLeaf = true;

  render_GET(request: IRequest): typeof NOT_DONE_YET {
    const count = Number(request.args.get("n")?.[0] ?? 10) || 10;
    request.setHeader("content-type", "text/plain; charset=utf-8");
    request.notifyFinish().addCallbacks(
      () => console.log("stream finished"),
      (reason: Failure) => console.log(`stream aborted: ${reason.getErrorMessage()}`),
    );
    new Ticker(request, count).start();
    return NOT_DONE_YET;
  }
}

const port = Number(process.argv[2] ?? 8080);
const listening = reactor.listenTCP(port, new Site(new Stream()), { interface: "127.0.0.1" });
const stopped = reactor.run();
console.log(`web-streaming listening on http://127.0.0.1:${listening.getHost().port}/`);
await stopped;
