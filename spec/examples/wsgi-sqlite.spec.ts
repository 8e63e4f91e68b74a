// The seed scenario with a real database in the workers: a WSGI application streaming 50,000
// rows of a SQLite file (examples/wsgi-sqlite.ts, sql.js, one connection per worker), and
// clients that close the connection mid-response. The worker's statement is busy until its
// iterator returns, and the response's transaction open until its finally runs, so the very next
// request on the same worker proves that close() ran: otherwise it fails ("cannot start a
// transaction within a transaction"), or resumes the abandoned result part-way.

import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { reactor } from "../../lib/internet/reactor.js";
import { ThreadPool } from "../../lib/internet/threadpool.js";
import { workRef } from "../../lib/internet/work-ref.js";
import type { HTTPChannel } from "../../lib/web/http-channel.js";
import { Request, Site } from "../../lib/web/server.js";
import { WSGIResource, type WSGIResourceOptions } from "../../lib/web/wsgi/resource.js";
import { ROWS, SQL, ensureDatabase, iterate } from "../../examples/wsgi-sqlite.js";
import type { SqliteReport } from "../fixtures/wsgi-sqlite-app.js";
import { RawClient, Reports, getRequest } from "../web/wsgi/helpers.js";
import { until, within } from "../support/wait.js";

const APP = workRef(new URL("../fixtures/wsgi-sqlite-app.js", import.meta.url), "rows");

/** Counts the writes of each response, and how many had been made when its client left. */
class CountingRequest extends Request {
  static all: CountingRequest[] = [];
  writes = 0;
  writesWhenLost = -1;
  constructor(channel: HTTPChannel) {
    super(channel);
    CountingRequest.all.push(this);
  }
  override write(data: Uint8Array): void {
    super.write(data);
    this.writes++;
  }
  override connectionLost(reason: Parameters<Request["connectionLost"]>[0]): void {
    if (this.writesWhenLost < 0) this.writesWhenLost = this.writes;
    super.connectionLost(reason);
  }
}

let dir: string;
let savedEnv: string | undefined;
let pool: ThreadPool;
let reports: Reports;
let logs: LogCapture;
let resource: WSGIResource | null = null;
let port: ReturnType<typeof reactor.listenTCP>;
let portNumber: number;
let clients: RawClient[] = [];

function start(options: WSGIResourceOptions = {}, threads = { minthreads: 1, maxthreads: 1 }): void {
  pool = new ThreadPool({ ...threads, name: "wsgi-sqlite-spec" });
  pool.start();
  resource = new WSGIResource(reactor, pool, APP, options);
  port = reactor.listenTCP(0, new Site(resource, { requestFactory: CountingRequest }), { interface: "127.0.0.1" });
  const host = port.getHost();
  portNumber = host.type === "TCP" ? host.port : 0;
}

function client(request?: string): RawClient {
  const c = new RawClient(portNumber, request);
  clients.push(c);
  return c;
}

function report(i: number): SqliteReport {
  return reports.reported[i] as SqliteReport;
}

/**
 * The application's report is sent from its close(), inside the worker, before the worker hands
 * the response's result back: the resource counts the response's end only once that result has
 * arrived, so statistics are read after every response has been let go of.
 */
async function settled(what: string): Promise<void> {
  const served = resource!;
  await until(() => served.statistics().active === 0, 10, what);
}

async function fullResponse(): Promise<string> {
  const c = client(getRequest("/"));
  await c.end(20);
  return c.received.toString("utf8");
}

function rowLines(response: string): number {
  const body = response.slice(response.indexOf("\r\n\r\n") + 4);
  return body.split("\n").filter((line) => /^\d+,item \d+,/.test(line)).length;
}

/** The hooks of this file, registered inside each of its describes (never at the root). */
function fixtures(): void {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "torsion-wsgi-sqlite-"));
    savedEnv = process.env.TORSION_WSGI_SQLITE;
    // Workers copy the environment when they start: set before any pool of this file starts one.
    process.env.TORSION_WSGI_SQLITE = join(dir, "items.db");
    ensureDatabase();
  });
  after(() => {
    if (savedEnv === undefined) delete process.env.TORSION_WSGI_SQLITE;
    else process.env.TORSION_WSGI_SQLITE = savedEnv;
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    reports = new Reports();
    logs = captureLogEvents();
    CountingRequest.all = [];
  });
  afterEach(async () => {
    for (const c of clients) c.socket.destroy();
    clients = [];
    reports.dispose();
    try {
      if (resource !== null) {
        const served = resource;
        await until(() => served.statistics().active === 0, 10, "every response to end");
        await within(Promise.resolve(port.stopListening()), 5, "the port to close");
        await within(pool.stop({ grace: 2 }), 10, "the pool to stop");
      }
    } finally {
      resource = null;
      logs.stop();
    }
  });
}

describe("WSGIResource with SQLite in the workers", () => {
  fixtures();

  it("the premise: a cursor left part-way keeps its statement busy (the table locked, the result resumed) until it returns", () => {
    const db = new SQL.Database(readFileSync(process.env.TORSION_WSGI_SQLITE!));
    try {
      const select = db.prepare("SELECT id FROM items ORDER BY id");
      const left = iterate<{ id: number }>(select);
      expect([left.next().value, left.next().value]).to.deep.equal([{ id: 1 }, { id: 2 }]);
      // The caller walked away without return(): the statement is still part-way.
      expect(() => db.exec("DROP TABLE items")).to.throw("database table is locked");
      const next = iterate<{ id: number }>(select);
      expect(next.next().value).to.deep.equal({ id: 3 }); // the next response would start at row 3
      next.return(undefined);
      left.return(undefined); // what the WSGI close() does, through the application's for-of
      const fresh = iterate<{ id: number }>(select);
      expect(fresh.next().value).to.deep.equal({ id: 1 });
      fresh.return(undefined);
      expect(() => db.exec("CREATE INDEX items_price ON items (price)")).to.not.throw();
    } finally {
      db.close();
    }
  });

  it("streams the whole table", async () => {
    start();
    const response = await fullResponse();
    expect(response).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(rowLines(response)).to.equal(ROWS);
    await until(() => reports.reported.length === 1, 5, "the report");
    expect(report(0)).to.include({ rows: ROWS, disconnected: false });
    await settled("the resource to let go of the response");
    expect(resource!.statistics()).to.include({ completed: 1, closeCalls: 1, errors: 0 });
  });

  it("a client closing mid-response: the query stops within a chunk, close() runs, the next request on that worker is answered", async () => {
    start();
    const c = client(getRequest("/"));
    await c.receivedAtLeast(40_000);
    c.abort();
    await until(() => reports.reported.length === 1, 10, "the aborted response to end");
    const stopped = report(0);
    const request = CountingRequest.all[0];
    expect(stopped.disconnected).to.equal(true);
    expect(stopped.rows).to.be.lessThan(ROWS);
    // Chunks the application made: those written before the server saw the client leave, the
    // one in flight, and the one whose sending was refused; none after.
    expect(stopped.chunks).to.be.at.most(request.writesWhenLost + 2);
    await settled("the resource to let go of the aborted response");
    expect(resource!.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1 });

    // The very next request is served by the same worker (a pool of one) on the same connection.
    const response = await fullResponse();
    expect(rowLines(response)).to.equal(ROWS);
    await until(() => reports.reported.length === 2, 5, "the second report");
    expect(report(1).threadId).to.equal(stopped.threadId);
    expect(report(1).rows).to.equal(ROWS);
    expect(logs.failures()).to.deep.equal([]);
  });

  it('with onDisconnect "drain" the whole query is consumed although the client left', async () => {
    start({ onDisconnect: "drain" });
    const c = client(getRequest("/"));
    await c.receivedAtLeast(20_000);
    c.abort();
    await until(() => reports.reported.length === 1, 10, "the drained response to end");
    expect(report(0)).to.include({ rows: ROWS, disconnected: true });
    await settled("the resource to let go of the drained response");
    expect(resource!.statistics()).to.include({ drained: 1, stoppedByDisconnect: 0, closeCalls: 1 });
    const response = await fullResponse();
    expect(rowLines(response)).to.equal(ROWS);
    expect(logs.failures()).to.deep.equal([]);
  });

  it("1000 requests aborted at random points, 20 at a time: close() every time, nothing stuck or leaked", async function () {
    this.timeout(60_000);
    start({}, { minthreads: 2, maxthreads: 2 });
    const handlesBefore = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const delayedBefore = reactor.getDelayedCalls().length;
    const total = 1000;
    const concurrency = 20;
    let next = 0;
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    async function one(): Promise<void> {
      // Abort once the response has started, anywhere in its first 60 KB (a few chunks: the
      // query's cost, not torsion's, is what a later point would add to the run).
      const abortAt = 1 + Math.floor(random() * 60_000);
      const c = new RawClient(portNumber, getRequest("/"));
      try {
        await c.receivedAtLeast(Math.min(abortAt, 1), 20);
        await c.receivedAtLeast(abortAt, 20).catch(() => undefined);
        c.abort();
        await c.end(10);
      } finally {
        c.socket.destroy();
      }
    }
    async function worker(): Promise<void> {
      while (next < total) {
        next++;
        await one();
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
    await until(() => reports.reported.length === total, 20, `${total} reports (got ${reports.reported.length})`);
    await until(() => pool.busy === 0 && pool.queued === 0, 10, "the pool to be idle");
    await settled("the resource to let go of every response");
    const stats = resource!.statistics();
    expect(stats.closeCalls).to.equal(total);
    expect(stats.active).to.equal(0);
    expect(stats.errors).to.equal(0);
    expect(stats.completed + stats.stoppedByDisconnect).to.equal(total);
    expect(pool.statistics()).to.include({ busy: 0, queued: 0, workers: 2, workersReplaced: 0 });
    expect(logs.failures().map(String)).to.deep.equal([]);
    // Every response's connection is gone: no socket left over on the server side.
    await until(
      () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length <= handlesBefore,
      10,
      "the server's sockets to close",
    );
    await until(() => reactor.getDelayedCalls().length <= delayedBefore, 10, "the channels' timers to be cancelled");
    // And the workers still answer, on their kept connections.
    expect(rowLines(await fullResponse())).to.equal(ROWS);
  });
});
