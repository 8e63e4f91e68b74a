/**
 * Streaming a 200,000-row MariaDB table as lines of JSON: examples/wsgi-mariadb's application
 * through torsion's WSGIResource (a pool of worker threads, one connection each) against the
 * same query streamed by an in-loop node:http handler with the same connector (a pool of as
 * many connections), in the same run, interleaved rounds; prints rows per second, medians and
 * the ratio torsion/node:http (higher is better).
 *
 * Each server runs in a child process of its own (this file, with "server <impl> <socket>");
 * the clients run here: CONCURRENCY requests at a time, each reading the whole response.
 * The database is started with spec/support/mariadb.ts, or taken from TORSION_MARIADB_SOCKET
 * (the table is then (re)created there).
 *
 *     node build/bench/wsgi-mariadb.js [rounds] [requests-per-round]     (defaults 5 and 4)
 */

import * as http from "node:http";
import mariadb from "mariadb";
import { isInIOThread } from "../lib/internet/threads.js";
import { TABLE } from "../examples/wsgi-mariadb/app.js";
import { DEFAULT_ROWS, setupDatabase } from "../examples/wsgi-mariadb/setup.js";
import { startMariaDB } from "../spec/support/mariadb.js";
import { inLanes } from "./support/load.js";
import { interleave } from "./support/rounds.js";
import { announcePort, listenNode, nodeServer, watchdog, withServers } from "./support/servers.js";
import { median, versusLine } from "./support/stats.js";

const CONCURRENCY = 2;
/** Rows per chunk, as the application's default. */
const BATCH = 500;
/** The whole run is ended after this long, whatever happens. */
const LIMIT_SECONDS = 300;

type Impl = "torsion" | "node";

// ---------------------------------------------------------------------------
// Servers (child processes)

async function serveTorsion(socketPath: string): Promise<void> {
  const { reactor } = await import("../lib/internet/reactor.js");
  const { serve } = await import("../examples/wsgi-mariadb/serve.js");
  const serving = serve({ socketPath, workers: CONCURRENCY });
  void reactor.run();
  announcePort(serving.port);
}

/** Resolves when `res` drains or closes. */
function writable(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.on("drain", done).on("close", done);
  });
}

function serveNode(socketPath: string): void {
  const pool = mariadb.createPool({ socketPath, user: "root", database: "torsion", connectionLimit: CONCURRENCY });
  const encoder = new TextEncoder();
  const server = http.createServer(async (req, res) => {
    const conn = await pool.getConnection();
    const stream = conn.queryStream(`select id, name, amount from ${TABLE} order by id`) as unknown as AsyncIterable<unknown> & { close(): void };
    let gone = false;
    res.on("close", () => (gone = true));
    try {
      res.writeHead(200, { "content-type": "application/x-ndjson", "x-mariadb-connection": String(conn.threadId) });
      let lines = "";
      let inBatch = 0;
      for await (const row of stream) {
        lines += JSON.stringify(row) + "\n";
        if (++inBatch === BATCH) {
          // The same back-pressure torsion's WSGI write has: wait while the socket is full.
          if (!res.write(encoder.encode(lines))) await writable(res);
          if (gone) break;
          lines = "";
          inBatch = 0;
        }
      }
      if (lines && !gone) res.write(encoder.encode(lines));
      res.end();
    } finally {
      stream.close();
      void conn.release();
    }
  });
  listenNode(server);
}

// ---------------------------------------------------------------------------
// The load

/** GET the whole table once; resolves with the rows received (newlines counted). */
function fetchRows(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/rows", agent: false }, (res) => {
      let rows = 0;
      res.on("data", (data: Buffer) => {
        for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, at + 1)) rows++;
      });
      res.on("end", () => (res.statusCode === 200 ? resolve(rows) : reject(new Error(`status ${res.statusCode}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** `requests` whole-table requests, CONCURRENCY at a time; rows per second. */
async function round(port: number, requests: number): Promise<number> {
  let rows = 0;
  const started = process.hrtime.bigint();
  await inLanes({ lanes: CONCURRENCY, count: requests }, async () => {
    const got = await fetchRows(port);
    if (got !== DEFAULT_ROWS) throw new Error(`expected ${DEFAULT_ROWS} rows, got ${got}`);
    rows += got;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return rows / seconds;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const requests = Number(process.argv[3] ?? 4);
  const limit = watchdog("bench/wsgi-mariadb", LIMIT_SECONDS);

  const own = process.env.TORSION_MARIADB_SOCKET ? null : await startMariaDB();
  const socketPath = own?.socketPath ?? process.env.TORSION_MARIADB_SOCKET!;
  const impls: Impl[] = ["torsion", "node"];
  try {
    await setupDatabase({ socketPath });
    const results = await withServers(impls, (impl) => nodeServer(impl, import.meta.url, "server", impl, socketPath), async (servers) => {
      // One warm-up request each: workers start, connections open, code gets compiled.
      for (const impl of impls) await round(servers[impl].port, CONCURRENCY);
      return interleave(impls, rounds, (impl) => round(servers[impl].port, requests));
    });
    console.log(
      `bench/wsgi-mariadb: ${rounds} interleaved rounds of ${requests} requests for the ${DEFAULT_ROWS}-row table, ${CONCURRENCY} at a time, ` +
        `${CONCURRENCY} workers / ${CONCURRENCY} connections, medians (servers in child processes, MariaDB on a unix socket)`,
    );
    console.log(
      versusLine({ prefix: "  ", unit: "rows/s", width: 8, ours: ["torsion WSGIResource", median(results.torsion)], theirs: ["node:http", median(results.node)] }),
    );
    const each = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(0)).join(" ");
    console.log(`  rounds (k rows/s): torsion ${each(results.torsion)}; node:http ${each(results.node)}`);
  } finally {
    await own?.stop();
    clearTimeout(limit);
  }
}

if (isInIOThread()) {
  if (process.argv[2] === "server") {
    const [, , , impl, socketPath] = process.argv;
    if (impl === "torsion") await serveTorsion(socketPath!);
    else serveNode(socketPath!);
  } else {
    await main();
  }
}
