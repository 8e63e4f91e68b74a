/**
 * The demo's WSGI application, run in a worker thread of the pool by WSGIResource (mounted at
 * /wsgi/ by site.ts). Written as a blocking application, as a WSGI one would be in Python: it
 * sleeps in the worker (Atomics.wait) between chunks, which is fine in a thread of its own.
 *
 * - /wsgi/          an HTML page of `n` rows (default 20), one every `interval` seconds (default
 *                   0.25): about five seconds, so reloading half-way is easy. Reloading stops it:
 *                   the resource asks for no more rows after the one in flight and calls close()
 *                   (the generator's finally block runs, in the worker).
 * - /wsgi/environ   the environ the application received, as text.
 * - /wsgi/fail      an application that raises half-way (counted as an error; the client sees a
 *                   truncated response, as the headers were already sent).
 *
 * Its module is imported by every worker: it imports nothing from the main side.
 */

import { threadId } from "node:worker_threads";

/** The parts of the environ and start_response this application uses (see lib/web/wsgi/application.ts). */
interface Environ {
  PATH_INFO: string;
  QUERY_STRING: string;
  SCRIPT_NAME: string;
  [key: string]: unknown;
}
type StartResponse = (status: string, headers: [string, string][]) => (data: Uint8Array) => void;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Block this worker thread for `seconds` (nothing else runs in it meanwhile: it is a thread). */
function sleep(seconds: number): void {
  Atomics.wait(sleeper, 0, 0, seconds * 1000);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function queryNumber(query: string, name: string, fallback: number, min: number, max: number): number {
  const raw = new URLSearchParams(query).get(name);
  const n = raw === null ? NaN : Number(raw);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

const bytes = (text: string): Buffer => Buffer.from(text, "utf8");

const STYLE =
  "*{box-sizing:border-box}body{margin:0;font:16px/1.55 system-ui,sans-serif;color:#1d2330;background:#fbfbfd}" +
  "header{background:#241a3a;color:#fff;padding:.6rem 1.2rem;display:flex;align-items:baseline;gap:1rem}" +
  "header a{color:#d9c8ff;text-decoration:none}header a.active{color:#fff;text-decoration:underline}" +
  "header a.brand{color:#fff;font-weight:700;font-size:1.25rem;margin-right:.5rem}main{max-width:60rem;margin:0 auto;padding:1rem 1.2rem}" +
  "ol{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.9rem}a{color:#7a3cc8}";

function* rows(environ: Environ, count: number, interval: number): Generator<Uint8Array> {
  const began = Date.now();
  yield bytes(
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>WSGI · torsion demo</title><style>${STYLE}</style></head><body>\n` +
      `<header><a class="brand" href="/">torsion</a><a href="/">Home</a><a href="/docs/">Docs</a><a href="/stream">Stream</a>` +
      `<a href="/wsgi/" class="active">WSGI</a><a href="/stats">Stats</a></header>\n<main>\n<h1>A WSGI application in a worker thread</h1>\n` +
      `<p>This page comes from a blocking WSGI application running in worker thread ${threadId} of the pool, ` +
      `one row every ${interval} s for ${count} rows. Reload it before it ends, then see <a href="/stats">/stats</a>: ` +
      `the response was stopped (no row asked for after the one in flight) and the application's close() was called. ` +
      `Also: <a href="${escape(environ.SCRIPT_NAME)}/environ">its environ</a>, <a href="${escape(environ.SCRIPT_NAME)}/fail">an application error</a>.</p>\n` +
      `<!-- ${" ".repeat(1024)} -->\n<ol>\n`,
  );
  for (let row = 1; row <= count; row++) {
    sleep(interval);
    yield bytes(`<li>row ${row} of ${count} from worker thread ${threadId} at +${((Date.now() - began) / 1000).toFixed(2)} s</li>\n`);
  }
  yield bytes(`</ol>\n<p id="done"><strong>Done</strong>: ${count} rows.</p>\n</main></body></html>\n`);
}

function* failing(): Generator<Uint8Array> {
  yield bytes("The application will now raise...\n");
  throw new Error("the demo application failed on purpose");
}

/** The WSGI application: application(environ, start_response), PEP 3333 style. */
export function application(environ: Environ, startResponse: StartResponse): Iterable<Uint8Array> {
  const path = environ.PATH_INFO || "/";
  if (path === "/" || path === "") {
    const count = Math.round(queryNumber(environ.QUERY_STRING, "n", 20, 1, 400));
    const interval = queryNumber(environ.QUERY_STRING, "interval", 0.25, 0.01, 2);
    startResponse("200 OK", [
      ["Content-Type", "text/html; charset=utf-8"],
      ["Cache-Control", "no-store"],
    ]);
    return rows(environ, count, interval);
  }
  if (path === "/environ") {
    const lines = Object.keys(environ)
      .sort()
      .map((key) => {
        const value = environ[key];
        const shown = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? JSON.stringify(value) : `<${typeof value}>`;
        return `${key} = ${shown}\n`;
      });
    startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
    return [bytes(`worker thread ${threadId}\n\n` + lines.join(""))];
  }
  if (path === "/fail") {
    startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
    return failing();
  }
  startResponse("404 Not Found", [["Content-Type", "text/plain; charset=utf-8"]]);
  return [bytes(`No page at ${path} in the demo WSGI application.\n`)];
}
