// WSGIResource on real loopback sockets: back-pressure, the disconnect chain (step 5), draining,
// the time budget, and stopping. What goes beyond Twisted (DESIGN.md) is each shown here.

import { expect } from "chai";
import { captureLogEvents, type LogCapture } from "../../../lib/internet/log.js";
import type { ThreadPool } from "../../../lib/internet/threadpool.js";
import type { HTTPChannel } from "../../../lib/web/http-channel.js";
import { Request, Site } from "../../../lib/web/server.js";
import { CAPACITY, RESERVE } from "../../../lib/web/wsgi/channel.js";
import { WSGIResource, wsgiStatistics } from "../../../lib/web/wsgi/resource.js";
import { Clock } from "../../../lib/internet/task.js";
import { StringTransport } from "../../../lib/internet/string-transport.js";
import { stopPools } from "../../fixtures/thread-helpers.js";
import { RawClient, Reports, app, dropConnection, getRequest, serve, wsgiPool, type Served } from "./helpers.js";
import { until } from "../../support/wait.js";

/** Records, after each write, how many bytes the transport holds (its writableLength). */
class MeasuringRequest extends Request {
  static last: MeasuringRequest | null = null;
  buffered: number[] = [];
  writes = 0;
  writesWhenLost = -1;
  bufferSize = 0;

  constructor(channel: HTTPChannel) {
    super(channel);
    MeasuringRequest.last = this;
    this.bufferSize = (channel.transport as unknown as { bufferSize: number }).bufferSize;
  }

  override write(data: Uint8Array): void {
    super.write(data);
    this.writes++;
    const transport = this.transport as unknown as { writableLength?: number } | null;
    if (!this.disconnected && transport?.writableLength !== undefined) this.buffered.push(transport.writableLength);
  }

  override connectionLost(reason: Parameters<Request["connectionLost"]>[0]): void {
    if (this.writesWhenLost < 0) this.writesWhenLost = this.writes;
    super.connectionLost(reason);
  }
}

/** Its second write throws, as a broken transport would. */
class ThrowingRequest extends Request {
  private writes = 0;
  override write(data: Uint8Array): void {
    if (++this.writes === 2) throw new Error("the transport refused the second chunk");
    super.write(data);
  }
}

let pool: ThreadPool;
let reports: Reports;
let served: Served | null = null;
let clients: RawClient[] = [];
let logs: LogCapture | null = null;

function client(request?: string, options?: { paused?: boolean }): RawClient {
  const c = new RawClient(served!.portNumber, request, options);
  clients.push(c);
  return c;
}

async function idle(): Promise<void> {
  await until(() => pool.busy === 0 && pool.queued === 0, 10, "the pool to be idle");
  expect(served!.resource.statistics().active).to.equal(0);
}

/** The hooks of this file, registered inside each of its describes (never at the root). */
function fixtures(): void {
  beforeEach(() => {
    pool = wsgiPool();
    reports = new Reports();
    MeasuringRequest.last = null;
  });
  afterEach(async () => {
    for (const client of clients) client.socket.destroy();
    clients = [];
    reports.dispose();
    if (served !== null) {
      await until(() => served!.resource.statistics().active === 0, 10, "every response to end");
      await served.stop();
      served = null;
    }
    logs?.stop();
    logs = null;
    await stopPools();
  });
}

describe("WSGIResource back-pressure", () => {
  fixtures();

  it("blocks the worker while the transport is paused: at most bufferSize plus one chunk is buffered", async () => {
    served = serve(pool, "stream", {}, MeasuringRequest);
    const chunk = 64 * 1024;
    const chunks = 512; // 32 MiB: far more than loopback's kernel buffers hold
    const c = client(getRequest(`/?chunks=${chunks}&size=${chunk}`), { paused: true });
    await until(() => MeasuringRequest.last !== null && MeasuringRequest.last.buffered.some((n) => n > MeasuringRequest.last!.bufferSize), 20, "the transport to fill up and pause");
    const request = MeasuringRequest.last!;
    const writesWhenPaused = request.writes;
    // The worker is blocked now: let the client read everything.
    c.socket.resume();
    await c.end(30);
    expect(writesWhenPaused).to.be.lessThan(chunks);
    const head = 300; // status line, headers and chunk framing
    expect(Math.max(...request.buffered)).to.be.at.most(request.bufferSize + chunk + head);
    expect(c.received.length).to.be.greaterThan(chunks * chunk);
    await reports.reportedAtLeast(1);
    expect(reports.reported).to.deep.equal([{ made: chunks, disconnected: false }]);
    await idle();
  });

  it("the write callable blocks as well", async () => {
    served = serve(pool, "streamWrite", {}, MeasuringRequest);
    const chunk = 64 * 1024;
    const c = client(getRequest(`/?chunks=512&size=${chunk}`), { paused: true });
    await until(() => MeasuringRequest.last !== null && MeasuringRequest.last.buffered.some((n) => n > MeasuringRequest.last!.bufferSize), 20, "the transport to pause");
    c.socket.resume();
    await c.end(30);
    expect(Math.max(...MeasuringRequest.last!.buffered)).to.be.at.most(MeasuringRequest.last!.bufferSize + chunk + 300);
    await reports.reportedAtLeast(1);
    expect(reports.reported).to.deep.equal([{ made: 512, disconnected: false }]);
    await idle();
  });
});

describe("WSGIResource when the client goes away", () => {
  fixtures();

  it("torsion.disconnected() is true at once, and no chunk is asked for after the one in flight", async () => {
    served = serve(pool, "waitForDisconnect", {}, MeasuringRequest);
    const c = client(getRequest("/"));
    await reports.atGate();
    await c.receivedAtLeast(5);
    c.abort();
    await until(() => MeasuringRequest.last?.disconnected === true, 10, "the server to see the disconnect");
    reports.open();
    await idle();
    await reports.reportedAtLeast(2);
    expect(reports.reported).to.deep.equal([{ seen: true }, { yielded: 2 }]);
    expect(served.resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1, completed: 0, active: 0 });
  });

  it("stops a long stream within one chunk of the disconnect and calls close()", async () => {
    served = serve(pool, "stream", {}, MeasuringRequest);
    const c = client(getRequest("/?chunks=1000000&size=1000"));
    await c.receivedAtLeast(50_000);
    c.abort();
    await idle();
    const request = MeasuringRequest.last!;
    await reports.reportedAtLeast(1);
    const [report] = reports.reported as { made: number; disconnected: boolean }[];
    expect(report.disconnected).to.equal(true);
    // made = chunks written before the disconnect was seen, plus at most what the channel holds
    // (written by the worker, not yet read: a 1000-byte chunk takes 1008 bytes of it) and the
    // one being made (dropped once the flag was seen).
    expect(report.made).to.be.at.most(request.writesWhenLost + Math.ceil((CAPACITY - RESERVE) / 1008) + 2);
    expect(wsgiStatistics([served.resource])).to.include({ stoppedByDisconnect: 1, closeCalls: 1, active: 0 });
  });

  it('with onDisconnect "drain", iterates to the end, discarding the output', async () => {
    served = serve(pool, "stream", { onDisconnect: "drain" }, MeasuringRequest);
    const c = client(getRequest("/?chunks=3000&size=1000"));
    await c.receivedAtLeast(10_000);
    c.abort();
    await idle();
    await reports.reportedAtLeast(1);
    expect(reports.reported).to.deep.equal([{ made: 3000, disconnected: true }]);
    expect(served.resource.statistics()).to.include({ drained: 1, stoppedByDisconnect: 0, closeCalls: 1 });
    // Nothing was written after the server saw the client go.
    expect(MeasuringRequest.last!.writes).to.be.at.most(MeasuringRequest.last!.writesWhenLost + 1);
  });

  it("an async generator is stopped and returned (its finally runs)", async () => {
    served = serve(pool, "asyncStream");
    const c = client(getRequest("/?chunks=100000"));
    await c.receivedAtLeast(100);
    c.abort();
    await idle();
    await reports.reportedAtLeast(1);
    const [report] = reports.reported as { made: number; disconnected: boolean }[];
    expect(report.disconnected).to.equal(true);
    expect(report.made).to.be.lessThan(100000);
    expect(served.resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1 });
  });

  it("a paused response to a client that leaves is woken and stopped", async () => {
    served = serve(pool, "stream", {}, MeasuringRequest);
    const c = client(getRequest("/?chunks=100000&size=65536"), { paused: true });
    await until(() => MeasuringRequest.last !== null && MeasuringRequest.last.buffered.some((n) => n > MeasuringRequest.last!.bufferSize), 20, "the transport to pause");
    c.abort();
    await idle();
    expect(served.resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1 });
  });
});

describe("WSGIResource time budget", () => {
  fixtures();

  it("terminates a handler that overruns it: 503, the worker replaced, the next request answered", async () => {
    logs = captureLogEvents();
    served = serve(pool, "spin", { timeout: 0.5 });
    const c = client(getRequest("/"));
    await c.end(10);
    expect(c.received.toString("latin1")).to.match(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(served.resource.statistics()).to.include({ timedOut: 1, closeCalls: 0, active: 0 });
    const message = logs.messages().find((m) => m.includes("overran its time budget"));
    expect(message).to.contain("spin").and.contain("0.5 s");
    await until(() => pool.workersReplaced >= 1 || pool.workers >= 1, 10, "the pool to replace the worker");
    // The same pool answers the next request.
    const hello = serve(pool, "hello");
    try {
      const next = new RawClient(hello.portNumber, getRequest("/"));
      clients.push(next);
      await next.end(10);
      expect(next.received.toString("latin1")).to.match(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Hello, world!\n/);
    } finally {
      await hello.stop();
    }
    expect(pool.terminated).to.equal(1);
  });

  it("drops the connection when the head already went out", async () => {
    logs = captureLogEvents();
    served = serve(pool, "spinAfterHead", { timeout: 0.5 });
    const c = client(getRequest("/"));
    await c.end(10);
    const text = c.received.toString("latin1");
    expect(text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).to.contain("head is out");
    expect(text).to.not.match(/\r\n0\r\n\r\n$/); // no last chunk: the response is visibly cut
    expect(served.resource.statistics()).to.include({ timedOut: 1 });
  });
});

describe("the channel between a WSGI worker and the main thread", () => {
  fixtures();

  it("a result waiting behind a paused transport is read when the client goes away: the response ends, counted completed", async () => {
    const resource = new WSGIResource(new Clock(), pool, app("stream"));
    const channel = new Site(resource, { reactor: new Clock() }).buildProtocol(null);
    channel.makeConnection(new StringTransport());
    channel.dataReceived(Buffer.from(getRequest("/?chunks=2&size=1000"), "latin1"));
    // The transport is full from the start: what the worker writes waits in the channel.
    channel.pauseProducing();
    await until(() => pool.busy === 0 && pool.queued === 0, 10, "the task to return");
    expect(resource.statistics().active).to.equal(1);
    dropConnection(channel);
    await until(() => resource.statistics().active === 0, 10, "the response to end");
    expect(resource.statistics()).to.include({ completed: 1, stoppedByDisconnect: 0, closeCalls: 1 });
  });

  it("a write to the request that throws ends the response (logged, counted, connection dropped) and stops its worker", async () => {
    logs = captureLogEvents();
    served = serve(pool, "stream", {}, ThrowingRequest);
    const c = client(getRequest("/?chunks=1000&size=10000"));
    await c.end(10);
    await idle();
    expect(served.resource.statistics()).to.include({ errors: 1, active: 0 });
    expect(logs.failures().map((f) => f.getErrorMessage())).to.deep.equal(["the transport refused the second chunk"]);
    // The worker was told to stop: it is free for the next request.
    const next = client(getRequest("/?chunks=1&size=10"));
    await next.end(10);
    expect(next.received.toString("latin1")).to.match(/^HTTP\/1\.1 200 OK/);
  });

  it("a response delivered whole is counted completed even when its client closes right after the last byte", async () => {
    served = serve(pool, "stream", {});
    const clients = Array.from({ length: 20 }, () => client(getRequest("/?chunks=4&size=1000")));
    // Each client closes as soon as the last byte of the application's body is in (before the
    // terminating chunk, which goes out only once the result is read).
    await Promise.all(
      clients.map(async (c) => {
        await until(() => c.received.toString("latin1").includes("d".repeat(1000)), 10, "the whole body");
        c.abort();
      }),
    );
    await idle();
    expect(served.resource.statistics()).to.include({ completed: 20, stoppedByDisconnect: 0, closeCalls: 20 });
  });
});

describe("WSGIResource.stopResponses", () => {
  fixtures();

  it("ends running applications (close() runs in the worker) so the pool can stop", async () => {
    logs = captureLogEvents();
    served = serve(pool, "stream", {}, MeasuringRequest);
    const c = client(getRequest("/?chunks=100000&size=65536"), { paused: true });
    await until(() => MeasuringRequest.last !== null && MeasuringRequest.last.buffered.some((n) => n > MeasuringRequest.last!.bufferSize), 20, "the transport to pause");
    expect(served.resource.stopResponses()).to.equal(1);
    await idle();
    c.socket.resume();
    await c.end(10);
    await reports.reportedAtLeast(1);
    const [report] = reports.reported as { made: number; disconnected: boolean }[];
    expect(report.disconnected).to.equal(true);
    expect(served.resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1, completed: 0 });
  });
});
