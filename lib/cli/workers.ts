/**
 * `torsion web --workers N`: N processes serving the same ports, through node:cluster.
 *
 * The primary process forks N workers running this same command; it neither listens nor
 * serves. Each worker has its own reactor, Site and thread pool, and listens on the ports
 * through the primary, which hands each accepted connection to one worker (cluster's
 * round-robin). So a worker's state (caches, sessions) is its own: share through a database
 * or another service, as with any multi-process server.
 *
 * The primary:
 * - prints the URLs once every worker is listening; if a worker fails to start the first
 *   time (a module that cannot be imported, a port that cannot be bound), it prints the
 *   worker's one-line error, stops the others and exits 2;
 * - restarts a worker that dies later, after a back-off that doubles with each crash in a row
 *   (0.5 s, 1 s, 2 s, ... up to 30 s; a worker that lived 10 s resets it), logging each death;
 * - forwards SIGINT and SIGTERM to the workers, each of which shuts down gracefully, and exits
 *   0 once all have stopped (1 if one of them failed to stop cleanly). A worker still running
 *   `--shutdown-grace` + 10 s after the signal is killed.
 *
 * A worker whose primary disappears stops by itself (its IPC channel closes).
 */

import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { NodeReactor } from "../internet/reactor.js";
import { runWeb, type WebIO, type WebOptions } from "./web.js";

/** The environment variable that marks a process forked by runPrimary. */
export const WORKER_ENV = "TORSION_WEB_WORKER";

const MIN_BACKOFF = 0.5;
const MAX_BACKOFF = 30;
/** A worker that ran this long before dying starts the back-off over. */
const STABLE_AFTER = 10;
/** Beyond --shutdown-grace, how long the primary waits for workers before killing them. */
const STOP_MARGIN = 10;

/** True in a process forked by runPrimary. */
export function isWebWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === "1";
}

type WorkerMessage = { torsion: "listening"; urls: string[] } | { torsion: "failed"; message: string };

function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === "object" && m !== null && typeof (m as { torsion?: unknown }).torsion === "string";
}

// --- the worker side -------------------------------------------------------------------------

/** `torsion web` in a worker: serve, reporting to the primary instead of printing. */
export async function runWorker(options: WebOptions, reactor: NodeReactor, io: WebIO): Promise<number> {
  // The primary is gone (killed): nobody will forward a signal, so stop now.
  process.once("disconnect", () => {
    if (reactor.running) reactor.stop();
  });
  const code = await runWeb(options, reactor, io, {
    listening(urls) {
      process.send?.({ torsion: "listening", urls: [...urls] } satisfies WorkerMessage);
    },
    failed(message) {
      return new Promise<void>((resolve) => {
        if (process.send === undefined) resolve();
        else process.send({ torsion: "failed", message } satisfies WorkerMessage, undefined, {}, () => resolve());
      });
    },
  });
  // The IPC channel would keep this process alive: close it, so the worker can exit.
  if (process.connected) process.disconnect();
  return code;
}

// --- the primary side ------------------------------------------------------------------------

interface Slot {
  worker: Worker | null;
  /** The pid of the worker this slot's current one replaces, for the log. */
  replaces: number | null;
  startedAt: number;
  ready: boolean;
  crashes: number;
  restart: NodeJS.Timeout | null;
}

/**
 * The primary of `torsion web --workers N`: fork, watch, restart, forward signals. Resolves
 * with the exit status (see the module comment). `argv` is the command's arguments after "web".
 */
export function runPrimary(argv: readonly string[], options: WebOptions, io: WebIO): Promise<number> {
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  cluster.setupPrimary({ exec: main, args: ["web", ...argv], silent: false });
  const count = options.workers;
  const slots: Slot[] = [];
  let startedUp = false;
  let stopping = false;
  let failedToStop = false;
  /** A worker failed to start the first time: exit 2 once the others are stopped. */
  let startupFailed = false;
  let killTimer: NodeJS.Timeout | null = null;

  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      if (killTimer !== null) clearTimeout(killTimer);
      for (const slot of slots) if (slot.restart !== null) clearTimeout(slot.restart);
      resolve(code);
    };

    const live = (): Worker[] => slots.flatMap((s) => (s.worker !== null && !s.worker.isDead() ? [s.worker] : []));

    const stopAll = (signal: NodeJS.Signals): void => {
      stopping = true;
      for (const slot of slots) {
        if (slot.restart !== null) clearTimeout(slot.restart);
        slot.restart = null;
      }
      for (const w of live()) w.process.kill(signal);
      if (killTimer === null) {
        killTimer = setTimeout(() => {
          for (const w of live()) {
            io.stderr.write(`torsion web: worker ${w.process.pid} did not stop in time; killing it\n`);
            failedToStop = true;
            w.process.kill("SIGKILL");
          }
        }, (options.shutdownGrace + STOP_MARGIN) * 1000);
        killTimer.unref();
      }
      if (live().length === 0) finish(exitStatus());
    };

    const exitStatus = (): number => (startupFailed ? 2 : failedToStop ? 1 : 0);

    function onSignal(signal: NodeJS.Signals): void {
      stopAll(signal);
    }
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    const fork = (slot: Slot): void => {
      const worker = cluster.fork({ [WORKER_ENV]: "1" });
      slot.worker = worker;
      slot.ready = false;
      slot.startedAt = Date.now();
      worker.on("message", (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.torsion === "listening") {
          slot.ready = true;
          if (startedUp && slot.replaces !== null) {
            io.stderr.write(`torsion web: worker ${worker.process.pid} is serving (it replaces ${slot.replaces})\n`);
          }
          if (!startedUp && slots.every((s) => s.ready)) {
            startedUp = true;
            for (const url of message.urls) io.stdout.write(`torsion web: serving ${url}\n`);
            const pids = slots.map((s) => s.worker?.process.pid).join(", ");
            io.stdout.write(`torsion web: ${count} workers (pids ${pids})\n`);
          }
        } else if (message.torsion === "failed" && !startedUp && !stopping) {
          io.stderr.write(`torsion web: ${message.message}\n`);
          startupFailed = true;
          stopAll("SIGTERM");
        } else if (message.torsion === "failed") {
          io.stderr.write(`torsion web: worker ${worker.process.pid}: ${message.message}\n`);
        }
      });
      worker.on("exit", (code, signal) => {
        if (slot.worker === worker) slot.worker = null;
        if (stopping) {
          if (code !== 0 && signal === null && startedUp) failedToStop = true;
          if (live().length === 0) finish(exitStatus());
          return;
        }
        if (!startedUp) {
          // Died before the whole set was up: a broken setup, not a crash to ride out.
          if (code !== 2) io.stderr.write(`torsion web: worker ${worker.process.pid} exited during startup (${describeExit(code, signal)})\n`);
          startupFailed = true;
          stopAll("SIGTERM");
          return;
        }
        const lived = (Date.now() - slot.startedAt) / 1000;
        slot.crashes = lived >= STABLE_AFTER ? 1 : slot.crashes + 1;
        const delay = Math.min(MAX_BACKOFF, MIN_BACKOFF * 2 ** (slot.crashes - 1));
        io.stderr.write(
          `torsion web: worker ${worker.process.pid} exited (${describeExit(code, signal)}); restarting it in ${delay} s\n`,
        );
        slot.replaces = worker.process.pid ?? null;
        slot.restart = setTimeout(() => {
          slot.restart = null;
          if (!stopping) fork(slot);
        }, delay * 1000);
      });
    };

    for (let i = 0; i < count; i++) {
      const slot: Slot = { worker: null, replaces: null, startedAt: 0, ready: false, crashes: 0, restart: null };
      slots.push(slot);
      fork(slot);
    }
  });
}

function describeExit(code: number | null, signal: string | null): string {
  return signal !== null ? `killed by ${signal}` : `exit status ${code}`;
}
