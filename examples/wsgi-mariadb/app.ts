/**
 * A WSGI application that streams a MariaDB table as lines of JSON, run by WSGIResource in a
 * pool worker: the situation of the question torsion exists to answer (the browser reloads
 * while the handler is in the middle of a query). Quoted by docs/disconnect-during-query.md.
 *
 * Each worker keeps ONE connection (module state: a worker imports this module once), opened
 * on first use from the environment:
 *
 *     TORSION_MARIADB_SOCKET    the server's unix socket (or TORSION_MARIADB_HOST / _PORT)
 *     TORSION_MARIADB_USER      default root        TORSION_MARIADB_PASSWORD  default empty
 *     TORSION_MARIADB_DATABASE  default torsion     (the table is made by setup.ts)
 *
 * Routes (below the resource):
 *
 *     GET /rows[?limit=N&batch=N]   the table, one JSON object a line, `batch` rows a chunk
 *     GET /rows?fail=N               the same, but the generator throws after N rows
 *     GET /ping                      `select 1` on this worker's connection
 *     GET /sleep?seconds=S           `select sleep(S)`: a query that takes its time
 *
 * Each answer names the database connection and the worker in its headers
 * (x-mariadb-connection, x-worker), so a client can see which connection served it.
 *
 * Run it with serve.ts (README.md), or with `torsion web --wsgi ./build/examples/wsgi-mariadb/app.js:application`.
 */

import { threadId } from "node:worker_threads";
import mariadb from "mariadb";
import type { Connection, ConnectionConfig } from "mariadb";
import type { Readable } from "node:stream";
import { callFromThread, threadable, type StartResponse, type WSGIBody, type WSGIEnviron } from "torsion";

/** The table setup.ts creates and fills. */
export const TABLE = "wsgi_rows";

/** What the connector's queryStream returns: a Readable of rows, plus close(). */
type RowStream = Readable & { close(): void };

/** How one /rows response ended, as reported to the main side (see TORSION_MARIADB_REPORT). */
export interface StreamReport {
  /** The database connection's id (SHOW PROCESSLIST's Id). */
  connection: number;
  /** The worker thread that ran it. */
  worker: number;
  /** Rows read from the result set by the application. */
  rows: number;
  /** The result set was read to its end. */
  complete: boolean;
  /** The client had gone when the generator ended (environ["torsion.disconnected"]()). */
  disconnected: boolean;
  /** The query stream was closed in the generator's finally (the leaky variant does not). */
  closed: boolean;
}

// --- one connection per worker -------------------------------------------------------------

let connecting: Promise<Connection> | null = null;

function connectionOptions(): ConnectionConfig {
  const env = process.env;
  const where: ConnectionConfig = env.TORSION_MARIADB_SOCKET
    ? { socketPath: env.TORSION_MARIADB_SOCKET }
    : env.TORSION_MARIADB_HOST
      ? { host: env.TORSION_MARIADB_HOST, port: Number(env.TORSION_MARIADB_PORT ?? 3306) }
      : {};
  if (where.socketPath === undefined && where.host === undefined) {
    throw new Error("set TORSION_MARIADB_SOCKET (or TORSION_MARIADB_HOST) to reach the MariaDB server");
  }
  return {
    ...where,
    user: env.TORSION_MARIADB_USER ?? "root",
    password: env.TORSION_MARIADB_PASSWORD ?? "",
    database: env.TORSION_MARIADB_DATABASE ?? "torsion",
  };
}

/** This worker's connection, opened on first use and again if it was lost. */
async function connection(): Promise<Connection> {
  if (connecting !== null) {
    const conn = await connecting.catch(() => null);
    if (conn !== null && conn.isValid()) return conn;
    conn?.destroy();
  }
  connecting = mariadb.createConnection(connectionOptions());
  return connecting;
}

// --- helpers -------------------------------------------------------------------------------

const encoder = new TextEncoder();

function query(environ: WSGIEnviron): URLSearchParams {
  return new URLSearchParams(environ.QUERY_STRING);
}

function whoHeaders(conn: Connection): [string, string][] {
  return [
    ["x-mariadb-connection", String(conn.threadId)],
    ["x-worker", String(threadId)],
  ];
}

function report(r: StreamReport): void {
  // Off by default: a spec or a demo names a main-side function exposed with exposeToThreads.
  const name = process.env.TORSION_MARIADB_REPORT;
  if (name) callFromThread(name, r);
}

function integer(text: string | null, fallback: number, min: number, max: number): number {
  const n = text === null ? NaN : Number(text);
  return Number.isInteger(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

// --- the rows, as an async generator -------------------------------------------------------

/**
 * Stream the result set as lines of JSON, `batch` rows a chunk.
 *
 * The `finally` is the point of this example. WSGIResource stops asking for chunks when the
 * client goes away and calls return() on the generator, which runs this `finally` in the
 * worker. Closing the query stream there makes the connector read (and discard) the rest of
 * the result set; without it the connection stays in the middle of the result set and the
 * next query this worker sends on it never gets an answer.
 */
async function* rowsAsLines(conn: Connection, environ: WSGIEnviron, sql: string, batch: number, failAfter = 0): AsyncGenerator<Uint8Array> {
  const stream = conn.queryStream(sql) as RowStream;
  let rows = 0;
  let complete = false;
  try {
    let lines = "";
    let inBatch = 0;
    for await (const row of stream) {
      lines += JSON.stringify(row) + "\n";
      if (++rows === failAfter) throw new Error(`failing on purpose after ${rows} rows (?fail=${failAfter})`);
      if (++inBatch === batch) {
        yield encoder.encode(lines);
        lines = "";
        inBatch = 0;
      }
    }
    if (lines) yield encoder.encode(lines);
    complete = true;
  } finally {
    stream.close();
    report({ connection: conn.threadId ?? -1, worker: threadId, rows, complete, disconnected: environ["torsion.disconnected"](), closed: true });
  }
}

/** The same generator without the `finally`: the bug this example is about. Do not copy it. */
async function* rowsAsLinesLeaky(conn: Connection, environ: WSGIEnviron, sql: string, batch: number, failAfter = 0): AsyncGenerator<Uint8Array> {
  const stream = conn.queryStream(sql) as RowStream;
  let lines = "";
  let inBatch = 0;
  let rows = 0;
  for await (const row of stream) {
    lines += JSON.stringify(row) + "\n";
    if (++rows === failAfter) throw new Error(`failing on purpose after ${rows} rows (?fail=${failAfter})`);
    if (++inBatch === batch) {
      yield encoder.encode(lines);
      lines = "";
      inBatch = 0;
    }
  }
  if (lines) yield encoder.encode(lines);
  report({ connection: conn.threadId ?? -1, worker: threadId, rows, complete: true, disconnected: environ["torsion.disconnected"](), closed: false });
}

// --- the application ---------------------------------------------------------------------

function makeApplication(rows: typeof rowsAsLines) {
  return async function application(environ: WSGIEnviron, startResponse: StartResponse): Promise<WSGIBody> {
    const conn = await connection();
    const path = environ.PATH_INFO || "/";
    const params = query(environ);
    if (path === "/rows" || path === "/") {
      const limit = integer(params.get("limit"), 0, 0, Number.MAX_SAFE_INTEGER);
      const batch = integer(params.get("batch"), 500, 1, 100_000);
      const failAfter = integer(params.get("fail"), 0, 0, Number.MAX_SAFE_INTEGER);
      const sql = `select id, name, amount from ${TABLE} order by id` + (limit > 0 ? ` limit ${limit}` : "");
      startResponse("200 OK", [["content-type", "application/x-ndjson"], ...whoHeaders(conn)]);
      return rows(conn, environ, sql, batch, failAfter);
    }
    if (path === "/ping") {
      const [row] = (await conn.query("select 1 as ok")) as { ok: number }[];
      startResponse("200 OK", [["content-type", "application/json"], ...whoHeaders(conn)]);
      return [encoder.encode(JSON.stringify({ ok: row!.ok, connection: conn.threadId, worker: threadId }) + "\n")];
    }
    if (path === "/sleep") {
      const seconds = Math.min(3600, Math.max(0, Number(params.get("seconds") ?? 1) || 0));
      await conn.query("select sleep(?) as slept", [seconds]);
      startResponse("200 OK", [["content-type", "text/plain"], ...whoHeaders(conn)]);
      return [encoder.encode(`slept ${seconds} s\n`)];
    }
    startResponse("404 Not Found", [["content-type", "text/plain"]]);
    return [encoder.encode(`no such path: ${path} (try /rows, /ping or /sleep?seconds=2)\n`)];
  };
}

/** The application: `torsion web --wsgi ./build/examples/wsgi-mariadb/app.js:application`. */
export const application = threadable(import.meta.url, "application", makeApplication(rowsAsLines));

/** The same application with the bug: its generator has no `finally` (see rowsAsLinesLeaky). */
export const leakyApplication = threadable(import.meta.url, "leakyApplication", makeApplication(rowsAsLinesLeaky));
