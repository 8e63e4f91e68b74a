/**
 * The original report, end to end: a WSGI application in the middle of a MariaDB query when
 * the browser goes away. A real server (spec/support/mariadb.ts), real sockets on 127.0.0.1,
 * the application of examples/wsgi-mariadb run by WSGIResource in a ThreadPool.
 *
 * Skipped, with a message naming the Debian package mariadb-server, where MariaDB is missing.
 */

import { expect } from "chai";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import mariadb, { type Connection } from "mariadb";
import { captureLogEvents, LogLevel, type LogCapture } from "../../lib/internet/log.js";
import { exposeToThreads } from "../../lib/internet/threads.js";
import { leakyApplication, TABLE, type StreamReport } from "../../examples/wsgi-mariadb/app.js";
import { serve, type ServeOptions, type Serving } from "../../examples/wsgi-mariadb/serve.js";
import { DEFAULT_ROWS, setupDatabase } from "../../examples/wsgi-mariadb/setup.js";
import { mariadbMissing, startMariaDB, type MariaDB } from "../support/mariadb.js";
import { until, within } from "../support/wait.js";

const REPORT = "torsion.spec.wsgiMariadb.report";
/**
 * Requests of the "closed at random points" spec: 1,000 take about 10 s under npm test's
 * coverage on 2 cores. TORSION_SPEC_ABORTS changes the count.
 */
const ABORTS = Number(process.env.TORSION_SPEC_ABORTS ?? 1000);

// --- the client ------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET `path` and read the whole answer (a fresh connection each time); fails after `seconds`. */
function get(port: number, path: string, seconds = 10): Promise<Answer> {
  return within(
    new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    }),
    seconds,
    `GET ${path}`,
  );
}

interface Aborted {
  /** The database connection that was serving the response (its x-mariadb-connection header). */
  connection: number;
  /** Bytes received before the client closed. */
  received: number;
}

/**
 * GET `path` and close the connection once `after` bytes of the response have arrived (at
 * least the head): a browser reloading mid-response. Fails if the response ends first or
 * nothing comes within `seconds`.
 */
function abortAfter(port: number, path: string, after: number, seconds = 10): Promise<Aborted> {
  return within(
    new Promise<Aborted>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      });
      const chunks: Buffer[] = [];
      let received = 0;
      let connection = NaN;
      socket.on("data", (data: Buffer) => {
        chunks.push(data);
        received += data.length;
        if (Number.isNaN(connection)) {
          const text = Buffer.concat(chunks).toString("latin1");
          const end = text.indexOf("\r\n\r\n");
          if (end < 0) return;
          const match = /\r\nx-mariadb-connection: (\d+)/i.exec(text.slice(0, end));
          if (match === null) {
            socket.destroy();
            reject(new Error(`no x-mariadb-connection header in ${JSON.stringify(text.slice(0, end))}`));
            return;
          }
          connection = Number(match[1]);
        }
        if (received >= after) {
          socket.destroy();
          resolve({ connection, received });
        }
      });
      socket.on("end", () => reject(new Error(`the response to ${path} ended after ${received} bytes, before the client closed`)));
      socket.on("error", reject);
    }),
    seconds,
    `GET ${path} (closed after ${after} bytes)`,
  );
}

/** GET `path` on a raw socket and read until the server closes; the connection header and the bytes. */
function readToClose(port: number, path: string, seconds = 10): Promise<{ connection: number; text: string }> {
  return within(
    new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      });
      const chunks: Buffer[] = [];
      socket.on("data", (data: Buffer) => chunks.push(data));
      socket.on("close", () => {
        const text = Buffer.concat(chunks).toString("latin1");
        resolve({ connection: Number(/\r\nx-mariadb-connection: (\d+)/i.exec(text)?.[1]), text });
      });
      socket.on("error", reject);
    }),
    seconds,
    `GET ${path} until the server closes`,
  );
}

// --- the spec --------------------------------------------------------------------------------

describe("examples/wsgi-mariadb: the client goes away while the WSGI application is in a MariaDB query", function () {
  this.timeout(60_000);

  const missing = mariadbMissing();
  let db: MariaDB | null = null;
  let admin: Connection | null = null;
  let serving: Serving | null = null;
  let logs: LogCapture | null = null;
  let reports: StreamReport[] = [];
  let unexpose: (() => void) | null = null;

  before(async function () {
    if (missing !== null) {
      process.stderr.write(`      skipped: ${missing}\n`);
      this.skip();
    }
    db = await startMariaDB();
    expect(await setupDatabase({ socketPath: db.socketPath })).to.equal(DEFAULT_ROWS);
    admin = await mariadb.createConnection({ socketPath: db.socketPath, user: "root", database: "torsion" });
    unexpose = exposeToThreads(REPORT, (report: StreamReport) => {
      reports.push(report);
    });
  });

  after(async () => {
    unexpose?.();
    await admin?.end().catch(() => admin?.destroy());
    await db?.stop();
  });

  beforeEach(() => {
    reports = [];
    logs = captureLogEvents();
  });

  afterEach(async () => {
    try {
      await serving?.stop(1);
    } finally {
      serving = null;
      logs?.stop();
    }
  });

  function start(options: Partial<ServeOptions>): Serving {
    serving = serve({ socketPath: db!.socketPath, env: { TORSION_MARIADB_REPORT: REPORT }, ...options });
    return serving;
  }

  /** The server's client connections other than `admin`: id, command, query. */
  async function processlist(): Promise<{ id: number; command: string; info: string | null }[]> {
    const rows = (await admin!.query(
      "select id, command, info from information_schema.processlist where user = 'root' and id <> connection_id()",
    )) as { id: bigint | number; command: string; info: string | null }[];
    return rows.map((r) => ({ id: Number(r.id), command: r.command, info: r.info }));
  }

  function reportFor(connection: number): Promise<StreamReport> {
    let found: StreamReport | undefined;
    return until(
      () => (found = reports.find((r) => r.connection === connection)) !== undefined,
      10,
      `the report of the response on connection ${connection}`,
    ).then(() => found!);
  }

  /** Send /ping until the worker owning `connection` answers one (each bounded): that worker's next request. */
  async function pingOn(port: number, connection: number): Promise<Answer> {
    for (let i = 0; i < 4; i++) {
      const answer = await get(port, "/ping");
      expect(answer.status, answer.body).to.equal(200);
      expect(JSON.parse(answer.body).ok).to.equal(1);
      if (Number(answer.headers["x-mariadb-connection"]) === connection) return answer;
    }
    throw new Error(`4 pings in a row were served by other connections than ${connection}`);
  }

  it("without torsion: a query stream abandoned without close() leaves the next query on its connection pending; with close() it answers", async () => {
    for (const closeFirst of [false, true]) {
      const conn = await mariadb.createConnection({ socketPath: db!.socketPath, user: "root", database: "torsion" });
      try {
        const stream = conn.queryStream(`select * from ${TABLE}`) as unknown as AsyncIterable<unknown> & { close(): void };
        let rows = 0;
        for await (const _row of stream) if (++rows === 10) break;
        if (closeFirst) stream.close();
        const next = conn.query("select 1 as ok").then((r: { ok: number }[]) => r[0]!.ok);
        next.catch(() => {}); // destroy() below fails the query that never got its answer
        let timer: ReturnType<typeof setTimeout> | undefined;
        const outcome = await Promise.race([next, new Promise((resolve) => (timer = setTimeout(() => resolve("still pending"), 2000)))]);
        clearTimeout(timer);
        expect(outcome, closeFirst ? "with close()" : "without close()").to.equal(closeFirst ? 1 : "still pending");
      } finally {
        conn.destroy();
      }
    }
  });

  it("stop: the generator's finally runs in the worker when the client closes mid-stream, and that worker's next request is answered (100 times, 2 workers)", async () => {
    const { port, pool, resource } = start({ workers: 2 });
    for (let round = 0; round < 100; round++) {
      const aborted = await abortAfter(port, "/rows", 20_000 + ((round * 7919) % 100_000));
      const report = await reportFor(aborted.connection);
      expect(report, `round ${round}`).to.include({ complete: false, disconnected: true, closed: true });
      expect(report.rows).to.be.above(0).and.below(DEFAULT_ROWS);
      await until(() => pool.busy === 0 && pool.queued === 0, 10, "the pool going idle");
      await pingOn(port, aborted.connection);
      reports = [];
    }
    const s = resource.statistics();
    expect(s).to.include({ stoppedByDisconnect: 100, closeCalls: 100, errors: 0, timedOut: 0, active: 0 });
    expect(logs!.failures()).to.deep.equal([]);
  });

  it("drain: after the client has gone the query is read to its end, and the connection serves the next request", async () => {
    const { port, resource } = start({ workers: 2, onDisconnect: "drain" });
    const aborted = await abortAfter(port, "/rows", 30_000);
    const report = await reportFor(aborted.connection);
    expect(report).to.include({ rows: DEFAULT_ROWS, complete: true, disconnected: true, closed: true });
    await until(() => resource.statistics().active === 0, 10, "the response ending");
    await pingOn(port, aborted.connection);
    expect(resource.statistics()).to.include({ drained: 1, stoppedByDisconnect: 0, closeCalls: 1, errors: 0 });
  });

  it("an exception mid-stream: the generator's finally closes the stream, the error is logged, the response is cut, the connection answers the next request", async () => {
    const { port, resource } = start({ workers: 2 });
    const cut = await readToClose(port, "/rows?fail=3000");
    expect(cut.text).to.match(/^HTTP\/1.1 200 /);
    expect(cut.text, "a chunked body without its last chunk").to.not.match(/\r\n0\r\n\r\n$/);
    const report = await reportFor(cut.connection);
    expect(report).to.include({ rows: 3000, complete: false, disconnected: false, closed: true });
    await until(() => resource.statistics().active === 0, 10, "the failed response ending");
    expect(resource.statistics()).to.include({ errors: 1, closeCalls: 1, completed: 0 });
    const failures = logs!.failures().map((f) => f.getErrorMessage());
    expect(failures).to.deep.equal(["failing on purpose after 3000 rows (?fail=3000)"]);
    await pingOn(port, cut.connection);
  });

  it("an application without a finally: torsion still calls return(), counts the stop, and the time budget ends the worker whose connection it left stuck, with a log line naming the application and a warning naming the response that left it stuck", async () => {
    const { port, pool, resource } = start({ workers: 1, application: leakyApplication, timeout: 2 });
    const aborted = await abortAfter(port, "/rows", 20_000);
    await until(() => resource.statistics().active === 0, 10, "the stopped response ending");
    expect(resource.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1, errors: 0 });
    expect(reports, "the leaky generator's code after its loop never runs").to.deep.equal([]);

    // The one worker's connection is still in the middle of the abandoned result set.
    const stuck = await get(port, "/ping");
    expect(stuck.status).to.equal(503);
    expect(resource.statistics()).to.include({ timedOut: 1 });
    const line = logs!.messages().find((m) => m.includes("overran its time budget"));
    expect(line, logs!.messages().join("\n")).to.match(/leakyApplication overran its time budget of 2 s/);
    // And a warning naming the response that left the connection stuck: the aborted /rows.
    const blame = logs!.events.filter((e) => e.log_level === LogLevel.warn);
    expect(blame, logs!.messages().join("\n")).to.have.length(1);
    expect(blame[0]).to.include({ previousEnd: "stoppedByDisconnect", application: resource.name });
    expect(String(blame[0].request)).to.match(/ uri=\/rows /);
    expect(logs!.messages()).to.satisfy((messages: string[]) =>
      messages.some((m) => /^the previous response on worker \d+ was .*leakyApplication's <.* uri=\/rows .*>, stopped when its client went away; .*release it in close\(\)\/finally/.test(m)),
    );

    // Its connection died with the worker; a new worker opens a new one and answers.
    await until(async () => !(await processlist()).some((p) => p.id === aborted.connection), 10, `connection ${aborted.connection} leaving SHOW PROCESSLIST`);
    const next = await get(port, "/ping");
    expect(next.status).to.equal(200);
    expect(Number(next.headers["x-mariadb-connection"])).to.not.equal(aborted.connection);
    expect(pool.workersReplaced).to.equal(1);
  });

  it("a query that overruns the time budget: its worker is terminated, its connection leaves SHOW PROCESSLIST, a new worker answers the next request", async () => {
    const { port, pool, resource } = start({ workers: 2, timeout: 1 });
    const slow = get(port, "/sleep?seconds=30");
    let sleeping: number | undefined;
    await until(
      async () => (sleeping = (await processlist()).find((p) => p.info?.startsWith("select sleep("))?.id) !== undefined,
      10,
      "select sleep(30) appearing in SHOW PROCESSLIST",
    );
    expect((await slow).status).to.equal(503);
    expect(resource.statistics()).to.include({ timedOut: 1, closeCalls: 0 });
    await until(async () => !(await processlist()).some((p) => p.id === sleeping), 10, `connection ${sleeping} leaving SHOW PROCESSLIST`);
    await until(() => pool.workersReplaced === 1 && pool.workers === 2, 10, "the pool replacing the worker");
    const next = await get(port, "/ping");
    expect(next.status).to.equal(200);
    expect(Number(next.headers["x-mariadb-connection"])).to.not.equal(sleeping);
    expect(logs!.messages().some((m) => /overran its time budget of 1 s/.test(m))).to.equal(true);
  });

  it(`${ABORTS} requests closed at random points, 20 at a time: every follow-up query answers, close() once per streamed response, the pool idle, only its connections left`, async function () {
    this.timeout(Math.max(60_000, ABORTS * 200));
    const workers = 4;
    const { port, pool, resource } = start({ workers, timeout: 30 });
    let seed = 20071124;
    const random = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    let next = 0;
    let followUps = 0;
    const poolConnections = new Set<number>();
    const lane = async (): Promise<void> => {
      while (next < ABORTS) {
        next++;
        // 5,000 to 15,000 rows (250 to 750 kB) in chunks of 100 to 1000 rows, closed anywhere
        // from the head to 200 kB in: most close() calls leave part of a result set to read.
        const limit = 5_000 + Math.floor(random() * 10_000);
        const aborted = await abortAfter(port, `/rows?limit=${limit}&batch=${100 + Math.floor(random() * 900)}`, 1 + Math.floor(random() * 200_000));
        const answer = await get(port, "/ping");
        expect(answer.status, answer.body).to.equal(200);
        poolConnections.add(aborted.connection).add(Number(answer.headers["x-mariadb-connection"]));
        followUps++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, lane));
    expect(followUps).to.equal(ABORTS);
    await until(() => pool.busy === 0 && pool.queued === 0 && resource.statistics().active === 0, 20, "the pool going idle");
    // Each client read part of the body, so each generator had started: its finally ran, once.
    await until(() => reports.length >= ABORTS, 10, `${ABORTS} reports from the generators' finally`);
    expect(reports.length).to.equal(ABORTS);
    expect(reports.every((r) => r.closed)).to.equal(true);
    const s = resource.statistics();
    expect(s).to.include({ closeCalls: ABORTS, errors: 0, timedOut: 0, active: 0 });
    // A generator stopped mid-result-set is a response stopped by its disconnect (the rest
    // finished before their clients closed: the body was in the socket buffers).
    expect(s.stoppedByDisconnect).to.equal(reports.filter((r) => !r.complete).length);
    expect(s.completed).to.be.at.least(ABORTS);
    expect(pool.statistics()).to.include({ workers, busy: 0, queued: 0, terminated: 0 });
    // Every connection left is a worker's, and each soon waits for its next query: a close()
    // returns at once and the connector reads the rest of its result set afterwards, so a
    // worker the pool calls idle may still be finishing that read.
    let left: { id: number; command: string }[] = [];
    await until(async () => (left = await processlist()).every((p) => p.command === "Sleep"), 10, "every connection waiting for a query");
    expect(left.length).to.be.at.most(workers);
    expect(left.filter((p) => !poolConnections.has(p.id)), "connections no worker of the pool answered from").to.deep.equal([]);
    expect(logs!.failures()).to.deep.equal([]);
  });
});
