/**
 * The original report, replayed: a client reads part of a streamed query result and closes the
 * connection, as a browser does when it reloads. First with the connector alone, then through
 * torsion's WSGIResource in each of its modes. Prints what happened and exits. Quoted by
 * docs/disconnect-during-query.md.
 *
 *     node build/examples/wsgi-mariadb/demo.js
 *
 * It starts a throwaway MariaDB (Debian's mariadb-server must be installed), or uses the one at
 * TORSION_MARIADB_SOCKET (where it (re)creates the table).
 */

import { get as httpGet } from "node:http";
import { connect } from "node:net";
import mariadb from "mariadb";
import { captureLogEvents, exposeToThreads, isInIOThread } from "torsion";
import { startMariaDB } from "../../spec/support/mariadb.js";
import { leakyApplication, TABLE, type StreamReport } from "./app.js";
import { serve, type ServeOptions } from "./serve.js";
import { setupDatabase } from "./setup.js";

/** GET `path` and close the connection after `lines` lines of the body: the browser reloading. */
function readAndClose(port: number, path: string, lines: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => {
      text += data;
      const body = text.indexOf("\r\n\r\n");
      if (body >= 0 && text.slice(body).split("\n").length > lines + 2) {
        socket.destroy();
        resolve(/x-mariadb-connection: (\d+)/i.exec(text)?.[1] ?? "?");
      }
    });
    socket.on("error", reject);
    socket.on("end", () => reject(new Error("the response ended before the client closed")));
  });
}

/** GET `path` and read the whole answer; "(no answer after N s)" if it takes longer than `seconds`. */
function fetch(port: number, path: string, seconds = 10): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(`(no answer after ${seconds} s)`), seconds * 1000);
    httpGet({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve(`${res.statusCode} ${body.trim()}`.trim());
      });
    }).on("error", reject);
  });
}

function ms(since: number): string {
  return `${Date.now() - since} ms`;
}

async function withoutTorsion(socketPath: string): Promise<void> {
  console.log("1. The connector alone: a for-await loop over conn.queryStream() left after 10 rows");
  for (const closeFirst of [false, true]) {
    const conn = await mariadb.createConnection({ socketPath, user: "root", database: "torsion" });
    const stream = conn.queryStream(`select * from ${TABLE}`) as unknown as AsyncIterable<unknown> & { close(): void };
    let rows = 0;
    for await (const _row of stream) if (++rows === 10) break;
    if (closeFirst) stream.close();
    const t0 = Date.now();
    const next = conn.query("select 1").then(() => `answered in ${ms(t0)}`);
    next.catch(() => {}); // destroy() below fails the query that never got its answer
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([next, new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still pending after 2 s"), 2000)))]);
    clearTimeout(timer);
    console.log(`   ${closeFirst ? "with stream.close():   " : "without stream.close():"} the next query on that connection is ${outcome}`);
    conn.destroy();
  }
}

async function throughTorsion(socketPath: string, title: string, options: Partial<ServeOptions>): Promise<void> {
  console.log(title);
  const reports: StreamReport[] = [];
  const name = `demo.report.${Math.random()}`;
  const unexpose = exposeToThreads(name, (r: StreamReport) => reports.push(r));
  const logs = captureLogEvents();
  // One worker, so "the worker's next request" is unambiguous.
  const serving = serve({ socketPath, workers: 1, env: { TORSION_MARIADB_REPORT: name }, ...options });
  try {
    const connection = await readAndClose(serving.port, "/rows", 10);
    console.log(`   the client read 10 lines from connection ${connection}'s stream, then closed`);
    const t0 = Date.now();
    const answer = await fetch(serving.port, "/ping");
    console.log(`   the worker's next request: ${answer} (${ms(t0)})`);
    for (const r of reports) {
      console.log(`   the generator's finally ran: ${r.rows} rows read, complete ${r.complete}, client gone ${r.disconnected}, stream closed ${r.closed}`);
    }
    if (reports.length === 0) console.log("   the generator has no finally: nothing ran after its loop");
    for (const line of logs.messages()) if (line.includes("overran") || line.startsWith("the previous response on worker")) console.log(`   log: ${line.replace(/file:\/\/\S+:/, "")}`);
    const next = await fetch(serving.port, "/ping");
    if (next !== answer) console.log(`   the request after that: ${next}`);
    const s = serving.resource.statistics();
    console.log(`   counters: ${s.completed} completed, ${s.stoppedByDisconnect} stopped, ${s.drained} drained, ${s.timedOut} timed out, ${s.closeCalls} close() calls, ${serving.pool.workersReplaced} workers replaced`);
  } finally {
    await serving.stop(1);
    logs.stop();
    unexpose();
  }
}

async function main(): Promise<void> {
  const own = process.env.TORSION_MARIADB_SOCKET ? null : await startMariaDB();
  const socketPath = own?.socketPath ?? process.env.TORSION_MARIADB_SOCKET!;
  try {
    console.log(`MariaDB on ${socketPath}: table ${TABLE} with ${await setupDatabase({ socketPath })} rows\n`);
    await withoutTorsion(socketPath);
    await throughTorsion(socketPath, '\n2. WSGIResource, onDisconnect "stop" (the default): the generator\'s finally closes the stream', {});
    await throughTorsion(socketPath, '\n3. WSGIResource, onDisconnect "drain": the query is read to its end after the client has gone', { onDisconnect: "drain" });
    await throughTorsion(socketPath, "\n4. leakyApplication (no finally), time budget 2 s: the stuck worker is ended", { application: leakyApplication, timeout: 2 });
  } finally {
    await own?.stop();
  }
}

if (isInIOThread()) await main();
