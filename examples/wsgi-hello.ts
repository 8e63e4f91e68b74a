/**
 * Hello world as a WSGI application, served by WSGIResource from a thread pool on 127.0.0.1.
 * Quoted by docs/wsgi.md.
 *
 *     node build/examples/wsgi-hello.js [port]     (default 8080; Ctrl-C stops it)
 *     curl http://127.0.0.1:8080/some/path?x=1
 *
 * This file is both the application module (the pool's workers import it to find
 * `application`) and the server (which runs only on the main thread: see the bottom).
 */
import { fileURLToPath } from "node:url";
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

// --- the application: runs in a worker thread ------------------------------------------------

export function application(environ: WSGIEnviron, startResponse: StartResponse): Uint8Array[] {
  // Native strings are latin1 (one char per byte): PATH_INFO's UTF-8 text is decoded like this.
  const path = Buffer.from(environ.SCRIPT_NAME + environ.PATH_INFO, "latin1").toString("utf8");
  const body = Buffer.from(`Hello, world! You asked for ${path}${environ.QUERY_STRING ? "?" + environ.QUERY_STRING : ""}\n`, "utf8");
  startResponse("200 OK", [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(body.length)],
  ]);
  return [body];
}

// --- the server: main thread only ------------------------------------------------------------

async function main(): Promise<void> {
  const pool = new ThreadPool({ minthreads: 1, maxthreads: 4, name: "wsgi-hello" });
  pool.start();
  // Stop the pool when the reactor stops (after WSGIResource has asked running responses to end).
  reactor.addSystemEventTrigger("during", "shutdown", () => pool.stop());
  const resource = new WSGIResource(reactor, pool, workRef(import.meta.url, "application"));
  const port = Number(process.argv[2] ?? 8080);
  const listening = reactor.listenTCP(port, new Site(resource), { interface: "127.0.0.1" });
  const stopped = reactor.run();
  console.log(`wsgi-hello listening on http://127.0.0.1:${listening.getHost().port}/`);
  await stopped;
}

// The server runs when this file is the program, on its main thread: not in the workers that
// import it for `application`, nor in a program that imports it for its exports.
if (isInIOThread() && process.argv[1] === fileURLToPath(import.meta.url)) await main();
