/**
 * WSGIResource: a resource that hands its requests to a WSGI application running in a thread
 * pool, as twisted.web.wsgi (PEP 3333 in JavaScript form).
 *
 *     // app.ts: imported by the pool's workers
 *     export function application(environ: WSGIEnviron, startResponse: StartResponse) {
 *       startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *       return [Buffer.from("Hello, world!\n")];
 *     }
 *     // server.ts
 *     const pool = new ThreadPool({ minthreads: 2, maxthreads: 4 });
 *     pool.start();
 *     const resource = new WSGIResource(reactor, pool, workRef(new URL("./app.js", import.meta.url), "application"));
 *
 * The application is named by module and export (a function cannot cross threads; see
 * work-ref.ts). The folder, by side:
 *
 * - main thread: resource.ts (this), response.ts (one response: the request, the task, the
 *   channel), environ.ts (the environ of a request), diagnostics.ts (what ran last on each
 *   worker, to blame the previous response when one overruns its time budget);
 * - both: application.ts (the contract: WSGIEnviron, StartResponse), channel.ts (one ring of
 *   shared memory per response, carrying head, chunks and result in order), wire.ts (what
 *   crosses with the task, and the records' encodings);
 * - worker: run.ts (calls the application, iterates it, closes it), input.ts (wsgi.input),
 *   validation.ts (start_response's checks).
 *
 * What torsion adds to Twisted's WSGIResource: back-pressure (a slow client makes the worker
 * wait, the server holds at most the transport's buffer plus the channel), the disconnect
 * reaching the worker at once (environ["torsion.disconnected"]()), a time budget per response,
 * and counters per resource.
 */

import type { IReactorCore, IReactorTime } from "../../internet/interfaces.js";
import { Logger } from "../../internet/log.js";
import type { ThreadPool } from "../../internet/threadpool.js";
import { describeWorkRef, toWorkRef, type Work, type WorkRef } from "../../internet/work-ref.js";
import { NOT_DONE_YET, type IRequest, type IResource, type RenderResult } from "../iweb.js";
import { INPUT_INLINE_LIMIT } from "./input.js";
import { WSGIResponse } from "./response.js";

export type { WSGIApplication, WSGIEnviron, WSGIErrors, WSGIInput, StartResponse, WSGIWrite, WSGIBody, WSGIHeader } from "./application.js";

export interface WSGIResourceOptions {
  /**
   * What to do when the client goes away mid-response. "stop" (the default, Twisted's
   * behaviour): drop the chunk in hand, ask the application for nothing more, then close()
   * it. "drain": iterate it to its end and discard the output, so work it does between chunks
   * (a database cursor, a transaction) is always finished; close() runs after.
   */
  onDisconnect?: "stop" | "drain";
  /**
   * A time budget in seconds for each response, counted from the moment the request is given
   * to the pool (queueing included). A response still running after it has its worker
   * terminated (the pool replaces it): 503, or a dropped connection if the head went out.
   * Default: none.
   */
  timeout?: number | null;
  /** Names the application in log messages; default "module:export". */
  name?: string;
  /** A request body up to this many bytes is sent with the task; a larger one is read through the bridge. */
  inputInlineLimit?: number;
}

/** Counters of a WSGIResource (or, from wsgiStatistics(), of several summed). */
export interface WSGIStatistics {
  /** Responses running now (queued in the pool or running in a worker). */
  active: number;
  /** Responses whose application ran to its end (its client may have left after the last chunk). */
  completed: number;
  /** Responses whose application was stopped early because the client went away (or the server stopped). */
  stoppedByDisconnect: number;
  /** Responses whose client went away and whose application was iterated to its end anyway. */
  drained: number;
  /** Responses ended by their time budget (their worker terminated). */
  timedOut: number;
  /** Responses that failed: the application (or its close()) raised, or its worker died. */
  errors: number;
  /** close()/return() calls made on applications' iterables. */
  closeCalls: number;
}

type Counted = Exclude<keyof WSGIStatistics, "active">;

function zero(): WSGIStatistics {
  return { active: 0, completed: 0, stoppedByDisconnect: 0, drained: 0, timedOut: 0, errors: 0, closeCalls: 0 };
}

/** The counters of `resources`, summed: what an operator watches for a server with several. */
export function wsgiStatistics(resources: Iterable<WSGIResource>): WSGIStatistics {
  const sum = zero();
  for (const resource of resources) {
    const s = resource.statistics();
    for (const key of Object.keys(sum) as (keyof WSGIStatistics)[]) sum[key] += s[key];
  }
  return sum;
}

type WSGIReactor = IReactorTime & Partial<Pick<IReactorCore, "addSystemEventTrigger">>;

/**
 * A leaf resource that answers every request below it with a WSGI application run in
 * `threadpool` (twisted.web.wsgi.WSGIResource).
 */
export class WSGIResource implements IResource {
  /** Every path segment below this resource is the application's (PATH_INFO). */
  readonly isLeaf = true;
  readonly application: WorkRef;
  readonly onDisconnect: "stop" | "drain";
  readonly timeout: number | null;
  readonly name: string;
  readonly inputInlineLimit: number;
  /** @internal */ readonly active = new Set<WSGIResponse>();
  /** @internal */ readonly log: Logger;
  private readonly counts = zero();

  constructor(
    readonly reactor: WSGIReactor,
    readonly threadpool: ThreadPool,
    application: Work,
    options: WSGIResourceOptions = {},
  ) {
    this.application = toWorkRef(application);
    const onDisconnect = options.onDisconnect ?? "stop";
    if (onDisconnect !== "stop" && onDisconnect !== "drain") {
      throw new TypeError(`onDisconnect must be "stop" or "drain", not ${JSON.stringify(onDisconnect)}`);
    }
    this.onDisconnect = onDisconnect;
    const timeout = options.timeout ?? null;
    if (timeout !== null && !(typeof timeout === "number" && timeout > 0)) {
      throw new RangeError(`timeout must be a number of seconds > 0, or null, not ${String(timeout)}`);
    }
    this.timeout = timeout;
    this.name = options.name ?? describeWorkRef(this.application);
    this.inputInlineLimit = options.inputInlineLimit ?? INPUT_INLINE_LIMIT;
    this.log = new Logger(`torsion.web.wsgi.${this.application.export}`);
    // "During" shutdown, as the reactor's pool is stopped, tell applications still running to end,
    // so that stopping does not wait on a response to a client that reads nothing. Not "before":
    // a graceful shutdown (lib/application/graceful.ts) lets in-flight responses finish in that phase.
    if (typeof reactor.addSystemEventTrigger === "function") {
      reactor.addSystemEventTrigger("during", "shutdown", () => {
        this.stopResponses();
      });
    }
  }

  /** Start the application in the pool; it finishes the request itself (NOT_DONE_YET). */
  render(request: IRequest): RenderResult {
    new WSGIResponse(this, request).start();
    return NOT_DONE_YET;
  }

  /** Children belong to the application: this is an error, as in Twisted. */
  getChildWithDefault(_name: string, _request: IRequest): IResource {
    throw new Error("Cannot get IResource children from WSGIResource");
  }

  putChild(_path: string | Uint8Array, _child: IResource): void {
    throw new Error("Cannot put IResource children under WSGIResource");
  }

  /**
   * Ask every running application of this resource to end, as if its client had gone away
   * (it stops, or drains with onDisconnect "drain", and close() runs); their clients get 503
   * or a dropped connection. Called before the reactor shuts down; call it before stopping
   * the pool yourself. Returns how many were asked.
   */
  stopResponses(): number {
    let n = 0;
    for (const response of this.active) if (response.stop()) n++;
    return n;
  }

  /** This resource's counters. */
  statistics(): WSGIStatistics {
    return { ...this.counts, active: this.active.size };
  }

  /** @internal A response of this resource ended this way. */
  count(key: Counted): void {
    this.counts[key]++;
  }

  toString(): string {
    return `<WSGIResource ${this.name}>`;
  }
}
