/**
 * Faults at the web level, on real loopback sockets (lib/web/http-channel.ts, http-request.ts,
 * server.ts): resources and producers that throw, clients that never read, slowloris clients,
 * bodies over the limit, and clients that pipeline requests and leave. WSGI faults come later,
 * with lib/web/wsgi/.
 */

import { expect } from "chai";
import * as net from "node:net";
import type { Failure } from "../../lib/internet/failure.js";
import type { IListeningPort, IPullProducer, IPushProducer } from "../../lib/internet/interfaces.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { reactor } from "../../lib/internet/reactor.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport } from "../../lib/internet/testing.js";
import { HTTPChannel } from "../../lib/web/http-channel.js";
import { PullToPush } from "../../lib/web/http-pull-to-push.js";
import { Request as HTTPRequest } from "../../lib/web/http-request.js";
import type { IRequest, RenderResult } from "../../lib/web/iweb.js";
import { Resource } from "../../lib/web/resource.js";
import { NOT_DONE_YET, Request as SiteRequest, Site, type SiteOptions } from "../../lib/web/server.js";
import { registerFaultyProducer } from "../support/producers.js";
import { until, within } from "../support/wait.js";

// --- resources ------------------------------------------------------------------------------------

class Ok extends Resource {
  override isLeaf = true;
  render_GET(): RenderResult {
    return Buffer.from("ok\n");
  }
}

class ThrowAfterHeaders extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): RenderResult {
    request.write(Buffer.from("partial"));
    throw new Error("render exploded after the headers");
  }
}

/** What the resources below saw: each request, how its notifyFinish ended, its producer's life. */
const record = {
  requests: [] as IRequest[],
  finishes: [] as string[],
  produced: 0,
  producerEvents: [] as string[],
  reset(): void {
    this.requests = [];
    this.finishes = [];
    this.produced = 0;
    this.producerEvents = [];
  },
};

function watch(request: IRequest): void {
  record.requests.push(request);
  request.notifyFinish().addCallbacks(
    () => {
      record.finishes.push("finished");
    },
    (f: Failure) => {
      record.finishes.push(`lost: ${f.value.constructor.name}`);
      return null;
    },
  );
}

/** Never answers (NOT_DONE_YET); the client decides what happens. */
class Hold extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): RenderResult {
    watch(request);
    return NOT_DONE_YET;
  }
}

/** An endless body from a push producer that writes 64 KiB chunks until paused. */
class Endless extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): RenderResult {
    watch(request);
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let paused = false;
    let stopped = false;
    const produce = () => {
      // Bounded per call, so a consumer that never pauses cannot spin forever.
      for (let i = 0; i < 1024 && !paused && !stopped; i++) {
        request.write(chunk);
        record.produced += chunk.length;
      }
    };
    const producer: IPushProducer = {
      pauseProducing: () => {
        paused = true;
        record.producerEvents.push("pause");
      },
      resumeProducing: () => {
        paused = false;
        record.producerEvents.push("resume");
        produce();
      },
      stopProducing: () => {
        stopped = true;
        record.producerEvents.push("stop");
      },
    };
    request.registerProducer(producer, true);
    produce();
    return NOT_DONE_YET;
  }
}

/** A producer that writes once, then throws on its next resumeProducing. */
class FaultyProducer extends Resource {
  override isLeaf = true;
  constructor(private readonly streaming: boolean) {
    super();
  }
  render_GET(request: IRequest): RenderResult {
    watch(request);
    registerFaultyProducer(request, this.streaming, Buffer.alloc(64 * 1024, 0x63), "web producer exploded", record.producerEvents);
    return NOT_DONE_YET;
  }
}

/** Counts the body bytes handed to each request, to show nothing beyond the limit is kept. */
class CountingRequest extends SiteRequest {
  static bodyBytes = 0;
  static maxContent = 0;
  override handleContentChunk(data: Uint8Array): void {
    CountingRequest.bodyBytes += data.length;
    super.handleContentChunk(data);
    CountingRequest.maxContent = Math.max(CountingRequest.maxContent, this.content?.length ?? 0);
  }
}

function root(): Resource {
  const r = new Resource();
  r.putChild("ok", new Ok());
  r.putChild("throw", new ThrowAfterHeaders());
  r.putChild("hold", new Hold());
  r.putChild("endless", new Endless());
  r.putChild("push-fault", new FaultyProducer(true));
  r.putChild("pull-fault", new FaultyProducer(false));
  r.putChild("upload", new Ok());
  return r;
}

// --- a raw client ------------------------------------------------------------------------------------

interface Raw {
  socket: net.Socket;
  data: () => string;
  ended: Promise<"close" | "reset">;
}

function connectRaw(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (d) => (data += d.toString("latin1")));
    const ended = new Promise<"close" | "reset">((r) => {
      let reset = false;
      socket.on("error", () => (reset = true));
      socket.on("close", () => r(reset ? "reset" : "close"));
    });
    socket.once("connect", () => resolve({ socket, data: () => data, ended }));
    socket.once("error", reject);
  });
}

/** One GET on a fresh connection, with Connection: close; the whole response. */
async function get(port: number, path: string): Promise<string> {
  const c = await connectRaw(port);
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  await within(c.ended, 5, `the response to GET ${path}`);
  return c.data();
}

// --- the specs ---------------------------------------------------------------------------------------

describe("hardening: web faults", function () {
  this.timeout(15000);
  let port: IListeningPort | null = null;
  let logs: LogCapture;

  beforeEach(() => {
    logs = captureLogEvents();
    record.reset();
  });

  afterEach(async () => {
    if (port !== null) await port.stopListening();
    port = null;
    logs.stop();
  });

  function serve(options: SiteOptions = {}): number {
    const site = new Site(root(), { serverVersion: null, ...options });
    port = reactor.listenTCP(0, site, { interface: "127.0.0.1" });
    const address = port.getHost();
    if (address.type !== "TCP") throw new Error("not TCP");
    return address.port;
  }

  it("a resource that throws after the headers were sent: connection dropped, logged, the next request served", async () => {
    const p = serve();
    const response = await get(p, "/throw");
    expect(response).to.match(/^HTTP\/1\.1 200 /);
    expect(response).to.include("partial");
    // The chunked body was cut short: no last chunk, so the client knows it is incomplete.
    expect(response.endsWith("0\r\n\r\n")).to.equal(false);
    expect(logs.failures().map((f) => f.getErrorMessage())).to.include("render exploded after the headers");
    expect(await get(p, "/ok")).to.match(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok\n$/);
  });

  for (const streaming of [true, false]) {
    it(`a ${streaming ? "push" : "pull"} producer of a response that throws in resumeProducing: logged, connection dropped, request told, others served`, async () => {
      const p = serve();
      const other = await connectRaw(p);
      const c = await connectRaw(p);
      c.socket.write("GET /" + (streaming ? "push" : "pull") + "-fault HTTP/1.1\r\nHost: a\r\n\r\n");
      await within(c.ended, 5, "the faulty response's connection to end");
      expect(logs.failures().map((f) => f.getErrorMessage())).to.include("web producer exploded");
      await until(() => record.finishes.length === 1, 5, "notifyFinish to errback");
      expect(record.finishes[0]).to.match(/^lost: /);
      expect(record.producerEvents.filter((e) => e === "resume").length).to.equal(2);
      // The dropped connection stops the producer (disconnect chain step 1), once.
      await until(() => record.producerEvents.includes("stop"), 5, "the producer to be stopped");
      expect(record.producerEvents.filter((e) => e === "stop").length).to.equal(1);
      // The other connection, open all along, is served.
      other.socket.write("GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      await within(other.ended, 5, "the other connection's response");
      expect(other.data()).to.match(/^HTTP\/1\.1 200 OK[\s\S]*ok\n$/);
    });
  }

  it("a client that never reads: the write buffer stays bounded (producer paused) and the idle timeout ends it", async () => {
    const p = serve({ timeOut: 0.5, abortTimeout: 0.2 });
    const c = await connectRaw(p);
    c.socket.pause(); // never read: the kernel buffers fill, then the server's
    c.socket.write("GET /endless HTTP/1.1\r\nHost: a\r\n\r\n");
    await until(() => record.producerEvents.includes("pause"), 5, "the producer to be paused");
    await until(() => record.finishes.length === 1, 5, "the stalled connection to be timed out");
    expect(record.finishes).to.deep.equal(["lost: ConnectionAborted"]);
    // It was paused when the timeout ended it (the kernel may have taken a little more before,
    // with a resume and a pause), and it was stopped once.
    const events = record.producerEvents;
    expect(events.filter((e) => e === "stop").length).to.equal(1);
    expect(events[events.length - 2], events.join(",")).to.equal("pause");
    // Bounded: what the kernel's loopback buffers and the transport's bufferSize hold (a few
    // megabytes), however long the client stalls; nothing after the stop.
    const produced = record.produced;
    expect(produced).to.be.below(64 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 50));
    expect(record.produced).to.equal(produced);
    c.socket.destroy();
  });

  it("a slowloris client (a header byte every 50 ms) gets 408 at the header deadline and is closed", async () => {
    const p = serve({ headersTimeout: 0.3, timeOut: 30 });
    const c = await connectRaw(p);
    c.socket.write("GET /ok HTTP/1.1\r\n");
    const drip = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write("X");
    }, 50);
    try {
      expect(await within(c.ended, 5, "the header deadline")).to.be.oneOf(["close", "reset"]);
    } finally {
      clearInterval(drip);
    }
    expect(c.data()).to.match(/^HTTP\/1\.1 408 /);
    expect(record.requests.length).to.equal(0);
  });

  for (const framing of ["content-length", "chunked"] as const) {
    it(`a ${framing} request body over the limit: 413, closed, nothing buffered beyond the limit`, async () => {
      CountingRequest.bodyBytes = 0;
      CountingRequest.maxContent = 0;
      const p = serve({ maxBodySize: 1000, requestFactory: CountingRequest });
      const c = await connectRaw(p);
      c.socket.on("error", () => {}); // the server closes while the client still sends
      const chunk = Buffer.alloc(300, 0x78);
      if (framing === "content-length") {
        c.socket.write("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n");
        for (let i = 0; i < 20 && !c.socket.destroyed; i++) c.socket.write(chunk);
      } else {
        c.socket.write("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (let i = 0; i < 20 && !c.socket.destroyed; i++) c.socket.write(`12c\r\n${chunk.toString("latin1")}\r\n`);
      }
      await within(c.ended, 5, "the 413 and the close");
      expect(c.data()).to.match(/^HTTP\/1\.1 413 /);
      expect(c.data()).to.match(/\r\nConnection: close\r\n/i);
      expect(CountingRequest.bodyBytes).to.be.at.most(1000);
      expect(CountingRequest.maxContent).to.be.at.most(1000);
      expect(record.requests.length).to.equal(0);
    });
  }

  it("a client that pipelines requests and closes: every request is told (notifyFinish errbacks), no timer left", async () => {
    const clock = new Clock();
    // halfClose: false, so the FIN of a closed socket is the client gone (by default a FIN is
    // a half-close and the requests received are answered: HTTPChannel's half-close specs).
    const p = serve({ reactor: clock, halfClose: false });
    const openBefore = reactor.counters.openConnections;
    const c = await connectRaw(p);
    c.socket.write("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n".repeat(3) + "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n");
    await until(() => record.requests.length === 1, 5, "the first request to be processed");
    c.socket.destroy();
    await until(() => record.finishes.length === 1, 5, "notifyFinish to errback");
    expect(record.finishes[0]).to.match(/^lost: Connection(Done|Lost)$/);
    await until(() => reactor.counters.openConnections === openBefore, 5, "the connection to be closed on the server");
    // Head-of-line: the pipelined requests behind the first were never begun, and never will be.
    expect(record.requests.length).to.equal(1);
    expect(clock.getDelayedCalls().map(String)).to.deep.equal([]);
  });

  it("requests answered in turn and a client that leaves mid-pipeline: each request is finished or told, no timer left", async () => {
    const clock = new Clock();
    const p = serve({ reactor: clock, halfClose: false }); // as above: the FIN is the client gone
    const c = await connectRaw(p);
    c.socket.write("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n".repeat(3));
    await until(() => record.requests.length === 1, 5, "the first request");
    record.requests[0].write(Buffer.from("one"));
    record.requests[0].finish();
    await until(() => record.requests.length === 2, 5, "the second request");
    c.socket.destroy();
    await until(() => record.finishes.length === 2, 5, "both requests told");
    expect(record.finishes[0]).to.equal("finished");
    expect(record.finishes[1]).to.match(/^lost: /);
    expect(record.requests.length).to.equal(2);
    expect(clock.getDelayedCalls().map(String)).to.deep.equal([]);
  });
});

// --- the same two fixes, in memory ------------------------------------------------------------------

/** Holds every request without answering. */
class Silent extends HTTPRequest {
  static last: Silent | null = null;
  override process(): void {
    Silent.last = this;
  }
}

describe("hardening: HTTPChannel timeout of a client that reads nothing (in memory)", () => {
  function start(): { channel: HTTPChannel; transport: StringTransport; clock: Clock } {
    const clock = new Clock();
    const transport = new StringTransport({ lenient: true });
    const channel = new HTTPChannel({ reactor: clock, requestFactory: Silent, timeOut: 10, abortTimeout: 5 });
    channel.makeConnection(transport);
    channel.dataReceived(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    Silent.last!.write(Buffer.from("head"));
    return { channel, transport, clock };
  }

  it("a response the client reads nothing of for timeOut seconds is timed out, then aborted", () => {
    const logs = captureLogEvents();
    try {
      const { channel, transport, clock } = start();
      clock.advance(3);
      channel.pauseProducing(); // what the transport does when its buffer passes bufferSize
      clock.advance(9.9);
      expect(transport.disconnecting).to.equal(false);
      clock.advance(0.2);
      expect(transport.disconnecting).to.equal(true);
      expect(logs.messages().join("\n")).to.match(/read nothing of the response for 10 s/);
      clock.advance(5);
      expect(transport.disconnected).to.equal(true); // abortConnection
    } finally {
      logs.stop();
    }
  });

  it("a slow client that keeps draining the buffer is never timed out while its response runs", () => {
    const { channel, transport, clock } = start();
    for (let i = 0; i < 20; i++) {
      channel.pauseProducing();
      clock.advance(9);
      channel.resumeProducing();
      clock.advance(1);
    }
    expect(transport.disconnecting).to.equal(false);
  });

  it("a long-running response that the client keeps up with is not timed out (as Twisted)", () => {
    const { transport, clock } = start();
    clock.advance(1000);
    expect(transport.disconnecting).to.equal(false);
    Silent.last!.finish();
    clock.advance(10);
    expect(transport.disconnecting).to.equal(true); // idle after the response, as before
  });
});

describe("hardening: PullToPush with a pull producer that throws (in memory)", () => {
  it("stops calling it, tells onError once, and still passes stopProducing on", () => {
    const clock = new Clock();
    const calls: string[] = [];
    const errors: unknown[] = [];
    const producer: IPullProducer = {
      resumeProducing: () => {
        calls.push("resume");
        if (calls.length === 3) throw new Error("pull exploded");
      },
      stopProducing: () => calls.push("stop"),
    };
    const push = new PullToPush(producer, clock, (err) => errors.push(err));
    push.startStreaming();
    clock.advance(0.01);
    expect(calls).to.deep.equal(["resume", "resume", "resume"]);
    expect(errors.length).to.equal(1);
    push.resumeProducing();
    clock.advance(1);
    expect(calls.length).to.equal(3);
    push.stopProducing();
    expect(calls).to.deep.equal(["resume", "resume", "resume", "stop"]);
  });

  it("HTTPChannel drops the connection of a request whose pull producer throws", () => {
    const logs = captureLogEvents();
    try {
      const clock = new Clock();
      const transport = new StringTransport({ lenient: true });
      const channel = new HTTPChannel({ reactor: clock, requestFactory: Silent });
      channel.makeConnection(transport);
      channel.dataReceived(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
      Silent.last!.registerProducer({ resumeProducing: () => { throw new Error("pull exploded"); }, stopProducing: () => {} }, false);
      clock.advance(0.01);
      expect(transport.disconnected).to.equal(true);
      expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["pull exploded"]);
    } finally {
      logs.stop();
    }
  });
});
