/**
 * The seed scenario: a WSGI application streaming the rows of a real SQLite table from a
 * worker thread, while the browser may close the connection at any moment. Quoted by
 * docs/wsgi.md.
 *
 *     node build/examples/wsgi-sqlite.js [port] [drain]   (default 8080; Ctrl-C stops it)
 *     curl http://127.0.0.1:8080/ | head -3               (head closes early: the query stops)
 *
 * SQLite is sql.js (SQLite compiled to WebAssembly: nothing to build at install time). The
 * database is a file (TORSION_WSGI_SQLITE, default torsion-wsgi-sqlite.db in the system's
 * temporary directory), made with 50,000 rows on first use. Each worker opens one connection
 * and keeps it, with its one prepared SELECT. Each response reads the table in a transaction
 * and streams it 500 rows to a chunk. The statement is busy, part-way through its result, until
 * its iterator returns and resets it: were it left so, the table would stay locked ("database
 * table is locked") and the next response on that worker would resume the abandoned result
 * part-way, sending a table with its first rows missing. WSGIResource's close() (the
 * generator's return()) is what guarantees the iterator returns, on every path.
 * With "drain" (onDisconnect: "drain"), a response whose client left is still read to its end.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import initSqlJs, { type Database, type Statement } from "sql.js";
import {
  isInIOThread,
  reactor,
  Site,
  ThreadPool,
  workRef,
  WSGIResource,
  type StartResponse,
  type WSGIEnviron,
} from "torsion";

export const ROWS = 50_000;
const ROWS_PER_CHUNK = 500;

/** SQLite itself, loaded once per thread (the main one and each worker importing this module). */
export const SQL = await initSqlJs();

/** Where the database lives: the same in the server and in its workers (workers inherit the environment). */
export function databasePath(): string {
  return process.env.TORSION_WSGI_SQLITE ?? join(tmpdir(), "torsion-wsgi-sqlite.db");
}

/** Make the database with `rows` rows unless it exists (built aside, then renamed into place). */
export function ensureDatabase(path = databasePath(), rows = ROWS): void {
  if (existsSync(path)) return;
  const building = `${path}.${process.pid}.${threadId}.tmp`;
  rmSync(building, { force: true });
  const db = new SQL.Database();
  db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL)");
  const insert = db.prepare("INSERT INTO items (id, name, price) VALUES (?, ?, ?)");
  db.exec("BEGIN");
  for (let id = 1; id <= rows; id++) insert.run([id, `item ${id}`, (id % 1000) / 10]);
  db.exec("COMMIT");
  insert.free();
  writeFileSync(building, db.export());
  db.close();
  renameSync(building, path);
}

/**
 * The rows of `statement`, one at a time: a cursor, as better-sqlite3's iterate() or a DB-API
 * cursor. The statement is busy until this iterator returns (at the end of the result, or by
 * return() when the caller leaves its loop early); then it is reset for the next response.
 */
export function* iterate<T>(statement: Statement): Generator<T> {
  try {
    while (statement.step()) yield statement.getAsObject() as T;
  } finally {
    statement.reset();
  }
}

// --- in each worker: one connection, kept ------------------------------------------------------

let connection: { db: Database; select: Statement } | null = null;

function open(): NonNullable<typeof connection> {
  if (connection === null) {
    ensureDatabase();
    const db = new SQL.Database(readFileSync(databasePath()));
    connection = { db, select: db.prepare("SELECT id, name, price FROM items ORDER BY id") };
  }
  return connection;
}

interface Item {
  id: number;
  name: string;
  price: number;
}

export function* application(environ: WSGIEnviron, startResponse: StartResponse): Generator<Uint8Array> {
  const { db, select } = open();
  db.exec("BEGIN"); // one consistent snapshot for the whole response
  try {
    startResponse("200 OK", [["Content-Type", "text/csv; charset=utf-8"]]);
    let lines = "";
    let n = 0;
    // Leaving this loop early (the client went away: WSGIResource calls return() on this
    // generator) returns the statement's iterator too, which resets the statement.
    for (const item of iterate<Item>(select)) {
      lines += `${item.id},${item.name},${item.price}\n`;
      if (++n % ROWS_PER_CHUNK === 0) {
        yield Buffer.from(lines, "utf8");
        lines = "";
      }
    }
    if (lines) yield Buffer.from(lines, "utf8");
  } finally {
    db.exec("COMMIT");
  }
}

// --- the server: main thread only ------------------------------------------------------------

async function main(): Promise<void> {
  ensureDatabase();
  const drain = process.argv[3] === "drain";
  const pool = new ThreadPool({ minthreads: 2, maxthreads: 4, name: "wsgi-sqlite" });
  pool.start();
  reactor.addSystemEventTrigger("during", "shutdown", () => pool.stop());
  const resource = new WSGIResource(reactor, pool, workRef(import.meta.url, "application"), {
    onDisconnect: drain ? "drain" : "stop",
  });
  const port = Number(process.argv[2] ?? 8080);
  const listening = reactor.listenTCP(port, new Site(resource), { interface: "127.0.0.1" });
  // Every 10 seconds, what disconnects cost (only when something changed).
  let last = "";
  const report = setInterval(() => {
    const now = JSON.stringify(resource.statistics());
    if (now !== last) console.log(`wsgi-sqlite: ${now}`);
    last = now;
  }, 10_000);
  report.unref();
  const stopped = reactor.run();
  console.log(`wsgi-sqlite listening on http://127.0.0.1:${listening.getHost().port}/ (${databasePath()}, ${drain ? "drain" : "stop"} on disconnect)`);
  await stopped;
}

// The server runs when this file is the program, on its main thread: not in the workers that
// import it for `application`, nor in a program that imports it for its exports.
if (isInIOThread() && process.argv[1] === fileURLToPath(import.meta.url)) await main();
