/**
 * A streaming WSGI application: a generator that yields one line at a time, slowly, and looks
 * at environ["torsion.disconnected"]() to learn at once when the client has gone. Its finally
 * block is where resources would be released: WSGIResource calls the generator's return() (its
 * close()) on every path, so it always runs. Quoted by docs/wsgi.md.
 *
 *     node build/examples/wsgi-streaming.js [port]     (default 8080; Ctrl-C stops it)
 *     curl -N http://127.0.0.1:8080/?lines=20          (Ctrl-C the curl: the server logs the stop)
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

/** Block this worker thread for `ms` milliseconds (a stand-in for slow work). */
function slowWork(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function* application(environ: WSGIEnviron, startResponse: StartResponse): Generator<Uint8Array> {
  const lines = Number(new URLSearchParams(environ.QUERY_STRING).get("lines") ?? 10);
  const errors = environ["wsgi.errors"];
  startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
  let sent = 0;
  try {
    for (let i = 1; i <= lines; i++) {
      slowWork(200);
      // Each yield waits until the transport has room (back-pressure) and is written at once.
      yield Buffer.from(`line ${i} of ${lines}\n`, "utf8");
      sent = i;
    }
  } finally {
    // Runs on every path: the end, an error, the client going away (generator.return()).
    if (environ["torsion.disconnected"]()) errors.write(`client went away after ${sent} of ${lines} lines\n`);
  }
}

async function main(): Promise<void> {
  const pool = new ThreadPool({ minthreads: 1, maxthreads: 4, name: "wsgi-streaming" });
  pool.start();
  reactor.addSystemEventTrigger("during", "shutdown", () => pool.stop());
  const resource = new WSGIResource(reactor, pool, workRef(import.meta.url, "application"));
  const port = Number(process.argv[2] ?? 8080);
  const listening = reactor.listenTCP(port, new Site(resource), { interface: "127.0.0.1" });
  const stopped = reactor.run();
  console.log(`wsgi-streaming listening on http://127.0.0.1:${listening.getHost().port}/`);
  await stopped;
}

// The server runs when this file is the program, on its main thread: not in the workers that
// import it for `application`, nor in a program that imports it for its exports.
if (isInIOThread() && process.argv[1] === fileURLToPath(import.meta.url)) await main();
