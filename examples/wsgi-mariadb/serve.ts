/**
 * Serve app.ts's WSGI application on 127.0.0.1 with torsion's WSGIResource and a pool of
 * workers, each with its own MariaDB connection. Quoted by docs/disconnect-during-query.md.
 *
 *     node build/examples/wsgi-mariadb/serve.js [port] [--drain] [--timeout=S] [--workers=N]
 *     curl -s http://127.0.0.1:8080/rows | head -3        (then Ctrl-C curl mid-stream)
 *
 * With TORSION_MARIADB_SOCKET set it uses that server (the table must exist: setup.js).
 * Without it, it starts a throwaway MariaDB of its own in a temporary directory (Debian's
 * mariadb-server must be installed), fills the table, and removes it all on Ctrl-C.
 */

import { pathToFileURL } from "node:url";
import { isInIOThread, reactor, Site, ThreadPool, WSGIResource, type IListeningPort } from "torsion";
import { startMariaDB } from "../../spec/support/mariadb.js";
import { application } from "./app.js";
import { setupDatabase } from "./setup.js";

export interface ServeOptions {
  /** The MariaDB socket the workers connect to. */
  socketPath: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Pool size (minthreads = maxthreads). Default 4. */
  workers?: number;
  /** The application (default app.ts's `application`). */
  application?: typeof application;
  onDisconnect?: "stop" | "drain";
  /** Time budget per response, in seconds. Default none. */
  timeout?: number | null;
  /** More environment for the workers (TORSION_MARIADB_REPORT, say). */
  env?: Record<string, string>;
}

export interface Serving {
  readonly port: number;
  readonly pool: ThreadPool;
  readonly resource: WSGIResource;
  readonly listening: IListeningPort;
  /** Stop listening, then stop the pool (running work gets `grace` seconds, default 5). */
  stop(grace?: number): Promise<void>;
}

/** Listen on 127.0.0.1 with a WSGIResource running the application in its own pool. */
export function serve(options: ServeOptions): Serving {
  const workers = options.workers ?? 4;
  // Each worker reads the socket path from its environment when it opens its connection.
  const env = { ...process.env, TORSION_MARIADB_SOCKET: options.socketPath, ...options.env };
  const pool = new ThreadPool({ minthreads: workers, maxthreads: workers, name: "wsgi-mariadb", workerOptions: { env } });
  pool.start();
  const resource = new WSGIResource(reactor, pool, options.application ?? application, {
    onDisconnect: options.onDisconnect ?? "stop",
    timeout: options.timeout ?? null,
  });
  const site = new Site(resource);
  // serve() also runs under the specs and the benchmark: no "Starting factory" lines on stderr.
  site.noisy = false;
  const listening = reactor.listenTCP(options.port ?? 0, site, { interface: "127.0.0.1" });
  return {
    port: listening.getHost().port as number,
    pool,
    resource,
    listening,
    async stop(grace = 5) {
      await listening.stopListening();
      resource.stopResponses();
      await pool.stop({ grace });
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const port = Number(args.find((a) => /^\d+$/.test(a)) ?? 8080);
  let socketPath = process.env.TORSION_MARIADB_SOCKET;
  let stopDatabase: (() => Promise<void>) | null = null;
  if (!socketPath) {
    const db = await startMariaDB();
    socketPath = db.socketPath;
    stopDatabase = () => db.stop();
    const rows = await setupDatabase({ socketPath });
    console.log(`started MariaDB on ${socketPath} with ${rows} rows (removed again on Ctrl-C)`);
  }
  const serving = serve({
    socketPath,
    port,
    workers: flag("workers") ? Number(flag("workers")) : 4,
    onDisconnect: args.includes("--drain") ? "drain" : "stop",
    timeout: flag("timeout") ? Number(flag("timeout")) : null,
  });
  // The pool and the database outlive the port only as long as the reactor runs.
  reactor.addSystemEventTrigger("before", "shutdown", async () => {
    await serving.stop(2);
    if (stopDatabase) await stopDatabase();
  });
  const stopped = reactor.run();
  console.log(`wsgi-mariadb listening on http://127.0.0.1:${serving.port}/rows (${serving.resource.onDisconnect} on disconnect)`);
  await stopped;
  const s = serving.resource.statistics();
  console.log(`served: ${s.completed} completed, ${s.stoppedByDisconnect} stopped by a disconnect, ${s.drained} drained, ${s.timedOut} timed out, ${s.closeCalls} close() calls`);
}

if (isInIOThread() && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
