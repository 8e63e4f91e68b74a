/**
 * react(main): run the reactor until the work `main` starts is done, as twisted.internet.task.react.
 * The way to start a client or a one-off job with a well-defined end: it calls main(reactor,
 * ...argv), runs the reactor, stops it once (and at the right time) when main's
 * Deferred, Promise or value settles, logs a failure, and gives the exit status: 0 on success,
 * 1 on failure, or the code of a SystemExit.
 *
 * Twisted's react calls sys.exit. Ending a Node process with process.exit() can cut off output
 * still being written to a pipe, so here react sets process.exitCode and resolves with the code:
 * the process ends with it once nothing else keeps it alive.
 *
 *     await react(async (reactor) => { ... });
 */

import { maybeDeferred, type Chainable } from "./deferred.js";
import { ReactorNotRunning, SystemExit } from "./error.js";
import { Failure } from "./failure.js";
import type { IReactorCore } from "./interfaces.js";
import { Logger } from "./log.js";
import { getReactor } from "./reactor.js";

const log = new Logger("torsion.internet.task");

/** What react needs of a reactor: to run, stop, and hear of its start and its shutdown. */
export type ReactReactor = Pick<IReactorCore, "run" | "stop" | "callWhenRunning" | "addSystemEventTrigger">;

export async function react<A extends unknown[], R extends ReactReactor = ReactReactor>(
  main: (reactor: R, ...argv: A) => Chainable<unknown>,
  argv?: A,
  reactor?: R,
): Promise<number> {
  const r = reactor ?? (getReactor() as unknown as R);
  let code = 0;
  // Shutdown begun by someone else (SIGINT, a stop() in main): do not stop it a second time.
  let stopping = false;
  r.addSystemEventTrigger("before", "shutdown", () => {
    stopping = true;
  });

  const stop = (result: unknown, stopReactor: boolean): void => {
    if (stopReactor) {
      try {
        r.stop();
      } catch (err) {
        if (!(err instanceof ReactorNotRunning)) throw err;
      }
    }
    if (result instanceof Failure) {
      if (result.value instanceof SystemExit) {
        code = result.value.status;
      } else {
        log.failure("main function encountered error", result);
        code = 1;
      }
    }
  };

  // main runs before the reactor does, as in Twisted: what it sets up is there at startup. A
  // main that throws is a failure like any other (logged, status 1), not an exception here.
  const finished = maybeDeferred(main, r, ...((argv ?? []) as A));
  finished.addBoth((result: unknown) => {
    // Stop once the reactor runs (a main done at once must not stop a reactor not yet started),
    // unless it is already shutting down.
    if (stopping) stop(result, false);
    else r.callWhenRunning(stop, result, true);
    return null;
  });
  await r.run();
  process.exitCode = code;
  return code;
}
