/**
 * /stream: a live page written by a push producer registered on the request.
 *
 * - /stream (HTML): a tick every `interval` seconds (default 0.25) for `n` ticks (default 40),
 *   each a line the browser shows as it arrives; reload it half-way to see the producer stopped.
 * - /stream?mb=N (text/plain): N MiB of generated lines (at most 1024), written as fast as the
 *   client reads them. The transport pauses the producer when its buffer passes its limit and
 *   resumes it when the buffer drains, so a slow client costs one buffer, not N MiB.
 *
 * When the client goes, the disconnect chain stops the producer (stopProducing: its pending
 * timer is cancelled and nothing more is written) and notifyFinish() errbacks; both are counted
 * in StreamStats, which /stats shows.
 */

import {
  NOT_DONE_YET,
  Resource,
  type Failure,
  type IDelayedCall,
  type IPushProducer,
  type IReactorTime,
  type IRequest,
} from "torsion";
import { PAGE_TAIL, pageHead } from "./layout.js";

/** What the /stream producers did, for /stats. */
export class StreamStats {
  /** Responses started. */
  started = 0;
  /** Responses written to their end. */
  completed = 0;
  /** Producers stopped by the disconnect chain before their end (stopProducing). */
  stoppedByDisconnect = 0;
  /** notifyFinish() Deferreds that errbacked (the connection was lost first). */
  notifyFinishErrbacks = 0;
  /** Times a producer was paused by back-pressure. */
  pauses = 0;
  /** Responses in progress. */
  active = 0;
  /** Body bytes written by the producers. */
  bytesWritten = 0;

  toJSON(): Record<string, number> {
    const { started, completed, stoppedByDisconnect, notifyFinishErrbacks, pauses, active, bytesWritten } = this;
    return { started, completed, stoppedByDisconnect, notifyFinishErrbacks, pauses, active, bytesWritten };
  }
}

/** A client cannot make the demo generate more than this. */
const MAX_MIB = 1024;
const MAX_TICKS = 1000;
/** Bytes a bulk producer writes per turn of the event loop at most, so other clients get a turn. */
const BULK_BURST = 1 << 20;

/** The shared life of both producers: registered on the request, counted, stopped at most once. */
abstract class DemoProducer implements IPushProducer {
  protected paused = false;
  protected done = false;
  protected call: IDelayedCall | null = null;

  constructor(
    protected readonly request: IRequest,
    protected readonly reactor: IReactorTime,
    protected readonly stats: StreamStats,
  ) {}

  start(head: string): void {
    this.stats.started++;
    this.stats.active++;
    this.request.notifyFinish().addErrback((_reason: Failure) => {
      this.stats.notifyFinishErrbacks++;
    });
    this.request.registerProducer(this, true);
    if (this.done) return; // the connection was already gone: registerProducer stopped us
    this.send(head);
    this.schedule(0);
  }

  pauseProducing(): void {
    if (this.paused || this.done) return;
    this.paused = true;
    this.stats.pauses++;
    this.cancel();
  }

  resumeProducing(): void {
    if (!this.paused || this.done) return;
    this.paused = false;
    this.schedule(0);
  }

  stopProducing(): void {
    if (this.done) return;
    this.done = true;
    this.stats.stoppedByDisconnect++;
    this.stats.active--;
    this.cancel();
  }

  protected send(text: string | Buffer): void {
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    this.stats.bytesWritten += bytes.length;
    this.request.write(bytes);
  }

  protected finish(tail: string): void {
    this.send(tail);
    this.done = true;
    this.stats.completed++;
    this.stats.active--;
    this.cancel();
    this.request.unregisterProducer();
    this.request.finish();
  }

  protected schedule(delay: number): void {
    if (this.call === null && !this.paused && !this.done) this.call = this.reactor.callLater(delay, this.fire);
  }

  private cancel(): void {
    if (this.call !== null && this.call.active()) this.call.cancel();
    this.call = null;
  }

  private readonly fire = (): void => {
    this.call = null;
    if (!this.paused && !this.done) this.produce();
  };

  /** Write the next part; call schedule() for more, or finish(). */
  protected abstract produce(): void;
}

/** The HTML page: one line per tick. */
class Ticker extends DemoProducer {
  private ticks = 0;
  private readonly began: number;

  constructor(
    request: IRequest,
    reactor: IReactorTime,
    stats: StreamStats,
    private readonly count: number,
    private readonly interval: number,
  ) {
    super(request, reactor, stats);
    this.began = reactor.seconds();
  }

  protected produce(): void {
    this.ticks++;
    const elapsed = (this.reactor.seconds() - this.began).toFixed(2);
    this.send(`<li>tick ${this.ticks} of ${this.count} at +${elapsed} s</li>\n`);
    // The last tick and the end go out in the same turn: no window where only the end is missing.
    if (this.ticks === this.count) {
      this.finish(`</ol>\n<p id="done"><strong>Done</strong>: ${this.count} ticks sent. <a href="/stats">See /stats</a>.</p>\n${PAGE_TAIL}`);
    } else {
      this.schedule(this.interval);
    }
  }
}

/** The bulk text: numbered lines until `total` bytes, written until the transport pauses us. */
class Bulk extends DemoProducer {
  private sent = 0;
  private line = 0;

  constructor(
    request: IRequest,
    reactor: IReactorTime,
    stats: StreamStats,
    private readonly total: number,
  ) {
    super(request, reactor, stats);
  }

  protected produce(): void {
    let burst = 0;
    // write() pauses us synchronously once the transport's buffer is over its limit
    while (!this.paused && !this.done && this.sent < this.total && burst < BULK_BURST) {
      const chunk = this.chunk(Math.min(16384, this.total - this.sent));
      this.sent += chunk.length;
      burst += chunk.length;
      this.send(chunk);
    }
    if (this.done) return;
    if (this.sent >= this.total) this.finish("");
    else this.schedule(0);
  }

  private chunk(size: number): Buffer {
    let text = "";
    while (text.length < size) {
      this.line++;
      text += `${String(this.line).padStart(9, "0")} torsion streams this line through a push producer; back-pressure pauses it.\n`;
    }
    return Buffer.from(text.slice(0, size), "latin1");
  }
}

function numberArg(request: IRequest, name: string, fallback: number, min: number, max: number): number {
  const raw = request.args.get(name)?.[0];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

export class StreamResource extends Resource {
  override isLeaf = true;

  constructor(
    private readonly reactor: IReactorTime,
    readonly stats: StreamStats,
  ) {
    super();
  }

  render_GET(request: IRequest): typeof NOT_DONE_YET {
    if (request.args.has("mb")) {
      const total = Math.floor(numberArg(request, "mb", 1, 0, MAX_MIB) * 1024 * 1024);
      request.setHeader("content-type", "text/plain; charset=utf-8");
      request.setHeader("content-length", String(total));
      new Bulk(request, this.reactor, this.stats, total).start("");
      return NOT_DONE_YET;
    }
    const count = Math.round(numberArg(request, "n", 40, 1, MAX_TICKS));
    const interval = numberArg(request, "interval", 0.25, 0.01, 5);
    request.setHeader("content-type", "text/html; charset=utf-8");
    request.setHeader("cache-control", "no-store");
    // Browsers wait for about 1 KiB before they render a page, to sniff its encoding: send it
    // at once so the first ticks show as they arrive.
    const head =
      pageHead("Stream", { active: "/stream" }) +
      `<h1>A live stream</h1>\n<p>This page is being written right now by a push producer registered on the request: ` +
      `${count} ticks, one every ${interval} s. Reload it before it ends, then look at <a href="/stats">/stats</a>: ` +
      `the producer was stopped by the disconnect chain. <a href="/stream?mb=64">/stream?mb=64</a> sends 64 MiB as fast ` +
      `as you read it, paused under back-pressure.</p>\n<!-- ${" ".repeat(1024)} -->\n<ol class="ticks">\n`;
    new Ticker(request, this.reactor, this.stats, count, interval).start(head);
    return NOT_DONE_YET;
  }
}
