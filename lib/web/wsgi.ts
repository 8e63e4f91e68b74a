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
 * work-ref.ts). Each request is one task in the pool: the worker side (wsgi-worker.ts) builds
 * the environ's streams, calls the application, iterates its output and sends each chunk here,
 * where it is written to the request. What torsion adds to Twisted's WSGIResource:
 *
 * - Back-pressure: this side registers itself on the request as a push producer; while the
 *   transport is paused the worker blocks before its next chunk, so a slow client never makes
 *   the server hold more than the transport's bufferSize plus one chunk.
 * - The disconnect chain, step 5 (DESIGN.md): when notifyFinish() errbacks (or the transport
 *   stops the producer), a flag in memory shared with the worker is set; the worker asks the
 *   application for no chunk beyond the one in flight (or, with onDisconnect "drain", iterates
 *   to the end discarding the output), environ["torsion.disconnected"]() turns true at once,
 *   and close() runs in the worker.
 * - A time budget (`timeout`): a response still running after it has its worker terminated
 *   (the pool starts another); the client gets 503, or a dropped connection if the head went
 *   out. close() cannot run in a terminated worker: that is the one path where it does not.
 * - Counters, per resource (statistics()) and summed over every resource (wsgiStatistics()).
 */

import { ConnectionLost, WorkerDied, CancelledError } from "../internet/error.js";
import { Failure } from "../internet/failure.js";
import type { IDelayedCall, IPushProducer, IReactorCore, IReactorTime } from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import { exposeToThreads } from "../internet/thread-bridge.js";
import { deserializeError, type SerializedError } from "../internet/thread-error.js";
import type { TaskHandle, ThreadPool, WorkerInfo } from "../internet/threadpool.js";
import { describeWorkRef, toWorkRef, workRef, type Work, type WorkRef } from "../internet/work-ref.js";
import { INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE } from "./http-status.js";
import type { IRequest, IResource, RenderResult } from "./iweb.js";
import { NOT_DONE_YET } from "./server.js";
import { INPUT_INLINE_LIMIT } from "./wsgi-input.js";
import { buildEnviron } from "./wsgi-environ.js";
import {
  ABANDONED,
  DISCONNECTED,
  FLAGS,
  INFLIGHT,
  OP_ERRORS,
  OP_READ,
  OP_WRITE,
  PAUSED,
  SEQ,
  SHARED_BYTES,
  STOPPING,
  WIRE_NAME,
  type WSGIHeader,
  type WireInput,
  type WireResult,
} from "./wsgi-wire.js";

export type { WSGIApplication, WSGIEnviron, WSGIErrors, StartResponse, WSGIWrite, WSGIBody } from "./wsgi-worker.js";
export type { WSGIHeader } from "./wsgi-wire.js";

const log = new Logger("torsion.web.wsgi");

/** The task every response runs in the pool. */
const RUN_WSGI: WorkRef = workRef(new URL("./wsgi-worker.js", import.meta.url), "runWSGI");

export interface WSGIResourceOptions {
  /**
   * What to do when the client goes away mid-response. "stop" (the default, Twisted's
   * behaviour): ask the application for nothing more after the chunk in flight, then close()
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

/** Counters of a WSGIResource (or, from wsgiStatistics(), of all of them). */
export interface WSGIStatistics {
  /** Responses running now (queued in the pool or running in a worker). */
  active: number;
  /** Responses whose application ran to its end (finished, or its client left after the end). */
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

function zero(): WSGIStatistics {
  return { active: 0, completed: 0, stoppedByDisconnect: 0, drained: 0, timedOut: 0, errors: 0, closeCalls: 0 };
}

const totals = zero();

/** The counters of every WSGIResource in this process, summed: what an operator watches. */
export function wsgiStatistics(): WSGIStatistics {
  return { ...totals };
}

// --- the channel from the workers ----------------------------------------------------------

/** Responses that may still hear from a worker, by id. */
const live = new Map<number, WSGIResponse>();
let nextId = 1;
let exposed = false;

/** Every worker's posts and calls for any response arrive here (one exposed name). */
function dispatch(id: number, op: number, a?: unknown, b?: unknown, c?: unknown): unknown {
  const response = live.get(id);
  if (response === undefined) {
    // The response ended (timed out, say) and its worker is being terminated: nothing to do.
    if (op === OP_READ) throw new ConnectionLost("this WSGI response has ended");
    return undefined;
  }
  if (op === OP_READ) return response.readBody(a as number, b as number);
  try {
    if (op === OP_WRITE) response.written(a as Uint8Array, b as string | undefined, c as WSGIHeader[] | undefined);
    else if (op === OP_ERRORS) response.errorsWritten(a as string);
  } finally {
    response.handled();
  }
  return undefined;
}

function exposeOnce(): void {
  if (exposed) return;
  exposed = true;
  exposeToThreads(WIRE_NAME, dispatch);
}

/** Shared blocks are reused once their response's task has settled. */
const freeBlocks: Int32Array[] = [];

function takeBlock(): Int32Array {
  const block = freeBlocks.pop();
  if (block === undefined) return new Int32Array(new SharedArrayBuffer(SHARED_BYTES));
  block.fill(0);
  return block;
}

type WSGIReactor = IReactorTime & Partial<Pick<IReactorCore, "addSystemEventTrigger">>;

// --- what ran last on each worker --------------------------------------------------------

/** How a response ended, in the words of the counters. */
type WSGIResponseEnd = "completed" | "stoppedByDisconnect" | "drained" | "error";

/** The last response a worker ran to its end (its worker still alive). */
interface LastResponse {
  id: number;
  application: string;
  request: string;
  end: WSGIResponseEnd;
  /** The resource's logger: a warning about it goes to that application's namespace. */
  log: Logger;
}

/**
 * Per pool, per worker id: the response that ran last on it. A response that overruns its time
 * budget is usually the victim, not the culprit: state kept per worker (a database connection,
 * a cursor) left busy by the previous response, stopped when its client went away, blocks it.
 * Worker ids are never reused in a pool; a record goes when its worker is terminated or dies
 * under one of our responses, otherwise the worker's next response overwrites it.
 */
const lastOnWorker = new WeakMap<ThreadPool, Map<number, LastResponse>>();

function workerRecords(pool: ThreadPool): Map<number, LastResponse> {
  let records = lastOnWorker.get(pool);
  if (records === undefined) {
    records = new Map();
    lastOnWorker.set(pool, records);
  }
  return records;
}

// --- the resource --------------------------------------------------------------------------

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
  /** @internal */ readonly counts = zero();
  /** @internal */ readonly active = new Set<WSGIResponse>();
  /** @internal */ readonly log: Logger;

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
    exposeOnce();
    // "During" shutdown, as the reactor's pool is stopped, tell applications still running to end,
    // so that stopping does not wait on a response to a client that reads nothing. Not "before":
    // a graceful shutdown (lib/cli/graceful.ts) lets in-flight responses finish in that phase.
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

  /** @internal */
  count(key: Exclude<keyof WSGIStatistics, "active">): void {
    this.counts[key]++;
    totals[key]++;
  }

  toString(): string {
    return `<WSGIResource ${this.name}>`;
  }
}

// --- one response, on the main side -----------------------------------------------------------

/** @internal The main side of one request's response (Twisted's _WSGIResponse). */
class WSGIResponse implements IPushProducer {
  readonly id = nextId++;
  private block: Int32Array | null = takeBlock();
  private task: TaskHandle | null = null;
  private timer: IDelayedCall | null = null;
  private producing = false;
  /** The head has been written to the request. */
  private headSent = false;
  private done = false;
  private timedOut = false;
  /** The worker this response was running on when its time budget ended it. */
  private overranOn: WorkerInfo | null = null;

  constructor(
    private readonly resource: WSGIResource,
    private readonly request: IRequest,
  ) {}

  start(): void {
    const resource = this.resource;
    const request = this.request;
    // The application is in control of the response headers (as in Twisted).
    if ("defaultContentType" in request) request.defaultContentType = null;
    const environ = buildEnviron(request);
    const input = this.input();
    live.set(this.id, this);
    resource.active.add(this);
    totals.active++;
    // The producer route exists before the first chunk: a disconnect (HTTPChannel.stopProducing)
    // and the transport's flow control reach this response from its start, by one route.
    this.producing = true;
    request.registerProducer(this, true);
    this.task = resource.threadpool.submit(
      RUN_WSGI,
      [resource.application.module, resource.application.export, environ, input, this.block!.buffer, this.id, resource.onDisconnect === "drain"],
      { onResult: this.settled },
    );
    if (resource.timeout !== null && !this.done) this.timer = resource.reactor.callLater(resource.timeout, this.overran);
  }

  private input(): WireInput {
    const content = this.request.content;
    if (content === null) return { length: 0, body: null };
    const length = content.length;
    if (length === 0 || length > this.resource.inputInlineLimit) return { length, body: null };
    return { length, body: new Uint8Array(content.getvalue()) };
  }

  // --- what the worker sends ---------------------------------------------------------

  /** A chunk (with the head, the first time). */
  written(chunk: Uint8Array, status: string | undefined, headers: WSGIHeader[] | undefined): void {
    const request = this.request;
    if (status !== undefined) this.sendHead(status, headers!);
    request.write(chunk);
  }

  errorsWritten(text: string): void {
    // As Twisted's _ErrorStream: an error event of the "wsgi" system, the text as its message.
    this.resource.log.error("{message}", { message: text, system: "wsgi", isError: true, application: this.resource.name });
  }

  /** A bridged read of the request body. */
  readBody(offset: number, size: number): Uint8Array {
    const content = this.request.content;
    // A lost connection has released the body (Request.connectionLost).
    if (content === null || this.request.disconnected) {
      throw new ConnectionLost("the request body is gone: the client disconnected");
    }
    content.seek(offset);
    return new Uint8Array(content.read(size));
  }

  /** One posted operation has been handled: the worker may send the next. */
  handled(): void {
    const block = this.block;
    if (block === null) return;
    Atomics.sub(block, INFLIGHT, 1);
    this.wake();
  }

  private wake(): void {
    const block = this.block!;
    Atomics.add(block, SEQ, 1);
    Atomics.notify(block, SEQ);
  }

  private setFlag(flag: number): void {
    if (this.block === null) return;
    Atomics.or(this.block, FLAGS, flag);
    this.wake();
  }

  // --- IPushProducer: the transport's flow control ---------------------------------------

  pauseProducing(): void {
    if (this.block !== null) Atomics.store(this.block, PAUSED, 1);
  }

  resumeProducing(): void {
    if (this.block === null) return;
    Atomics.store(this.block, PAUSED, 0);
    this.wake();
  }

  /**
   * The client is gone: the channel stops its request's producer (HTTPChannel.stopProducing),
   * the one route by which a disconnect reaches this response. The worker sees the flag.
   */
  stopProducing(): void {
    this.producing = false;
    this.setFlag(DISCONNECTED);
  }

  // --- the end of the response ---------------------------------------------------------

  /** Asked to end by the resource (shutdown). False if already ended. */
  stop(): boolean {
    if (this.done) return false;
    this.setFlag(STOPPING);
    return true;
  }

  private readonly overran = (): void => {
    this.timer = null;
    if (this.done || this.task === null) return;
    this.timedOut = true;
    const why = `the WSGI application ${this.resource.name} overran its time budget of ${this.resource.timeout} s`;
    // Set before terminate(), which settles the task (and runs failed()) before it returns.
    this.overranOn = this.task.state === "running" ? this.task.worker : null;
    // Running: its worker is terminated, and settled() has run (with WorkerDied).
    if (this.task.terminate(why)) return;
    this.overranOn = null;
    // Waiting behind another task in its worker (a pool with `pipeline`): it has not started.
    // Answer now; the block is marked abandoned and never reused, so when the worker reaches the
    // task it stops at once (close() runs) without waiting for this side.
    const block = this.block!;
    this.block = null;
    Atomics.or(block, FLAGS, STOPPING | ABANDONED);
    Atomics.add(block, SEQ, 1);
    Atomics.notify(block, SEQ);
    this.settled(false, new Failure(new WorkerDied(why)));
  };

  private readonly settled = (success: boolean, value: unknown): void => {
    if (this.done) return;
    this.done = true;
    const resource = this.resource;
    if (this.timer !== null) {
      if (this.timer.active()) this.timer.cancel();
      this.timer = null;
    }
    live.delete(this.id);
    resource.active.delete(this);
    totals.active--;
    if (this.producing) {
      this.producing = false;
      this.request.unregisterProducer();
    }
    const block = this.block;
    const flags = block === null ? STOPPING : Atomics.load(block, FLAGS);
    if (block !== null) freeBlocks.push(block);
    this.block = null;
    try {
      if (success) this.finished(value as WireResult, flags);
      else this.failed((value as Failure).value);
    } catch (err) {
      log.failure("Error ending the response of {application} to {request}", err, { application: resource.name, request: String(this.request) });
      if (!this.request.disconnected) this.request.loseConnection();
    }
  };

  private finished(result: WireResult, flags: number): void {
    const resource = this.resource;
    const request = this.request;
    if (result.closed) resource.count("closeCalls");
    if (result.error !== null) {
      this.remember("error");
      resource.count("errors");
      resource.log.failure("WSGI application error in {application}", deserializeError(result.error as SerializedError), {
        application: resource.name,
      });
      this.endBadly(INTERNAL_SERVER_ERROR);
      return;
    }
    const end: Exclude<WSGIResponseEnd, "error"> = result.drained ? "drained" : result.stopped ? "stoppedByDisconnect" : "completed";
    this.remember(end);
    // "completed": the application ran to its end, even when its client left before the answer went out.
    resource.count(end);
    if (request.disconnected) return;
    if (result.stopped || (result.drained && (flags & STOPPING) !== 0)) {
      // The server is stopping (a client that left needs nothing more).
      this.endBadly(SERVICE_UNAVAILABLE);
      return;
    }
    if (!this.headSent && result.status !== null) this.sendHead(result.status, result.headers ?? []);
    const chunks = result.chunks;
    if (chunks !== null) for (let i = 0; i < chunks.length; i++) request.write(chunks[i]);
    request.finish();
  }

  private failed(err: Error): void {
    const resource = this.resource;
    if (this.timedOut) {
      resource.count("timedOut");
      resource.log.error("{application} overran its time budget of {timeout} s answering {request}; its worker was terminated", {
        application: resource.name,
        timeout: resource.timeout,
        request: String(this.request),
      });
      this.blamePrevious();
      this.endBadly(SERVICE_UNAVAILABLE);
      return;
    }
    // A worker that died takes its state with it: what ran on it before explains nothing more.
    if (err instanceof WorkerDied) this.forgetWorker();
    else if (!(err instanceof CancelledError)) this.remember("error");
    resource.count("errors");
    resource.log.failure("WSGI application {application} could not run", err, { application: resource.name });
    this.endBadly(err instanceof WorkerDied || err instanceof CancelledError ? SERVICE_UNAVAILABLE : INTERNAL_SERVER_ERROR);
  }

  /** Remember this response as the last its worker ran (the worker lives on). */
  private remember(end: WSGIResponseEnd): void {
    const worker = this.task?.worker;
    if (worker == null) return;
    const resource = this.resource;
    const records = workerRecords(resource.threadpool);
    const record = records.get(worker.id);
    const request = String(this.request);
    if (record === undefined) {
      records.set(worker.id, { id: this.id, application: resource.name, request, end, log: resource.log });
      return;
    }
    // One record per worker, rewritten by each response it runs.
    record.id = this.id;
    record.application = resource.name;
    record.request = request;
    record.end = end;
    record.log = resource.log;
  }

  private forgetWorker(): void {
    const worker = this.task?.worker;
    if (worker != null) lastOnWorker.get(this.resource.threadpool)?.delete(worker.id);
  }

  /**
   * This response overran its budget and its worker was terminated. If the response before it
   * on that worker was stopped early (or failed), it probably left per-worker state (a cursor,
   * a connection mid-result) busy, and this one waited on it: name that application too.
   */
  private blamePrevious(): void {
    const worker = this.overranOn;
    if (worker === null) return;
    const records = lastOnWorker.get(this.resource.threadpool);
    const previous = records?.get(worker.id);
    // The worker is gone: so is the state its responses left.
    records?.delete(worker.id);
    if (previous === undefined || previous.id === this.id) return;
    if (previous.end !== "stoppedByDisconnect" && previous.end !== "error") return;
    const how = previous.end === "error" ? "ended by an error" : "stopped when its client went away";
    previous.log.warn(
      `the previous response on worker {worker} was {application}'s {request}, ${how}; an application that keeps a cursor or connection per worker must release it in close()/finally (see docs/disconnect-during-query.md)`,
      {
        worker: worker.id,
        application: previous.application,
        request: previous.request,
        previousEnd: previous.end,
        overran: this.resource.name,
      },
    );
  }

  /** Before the head: answer `code` with no body. After it: drop the connection (as Twisted). */
  private endBadly(code: number): void {
    const request = this.request;
    if (request.disconnected || request.finished) return;
    if (this.headSent || request.startedWriting) {
      request.loseConnection();
      return;
    }
    request.setResponseCode(code);
    request.setHeader("content-length", "0");
    request.finish();
  }

  private sendHead(status: string, headers: WSGIHeader[]): void {
    const request = this.request;
    this.headSent = true;
    request.setResponseCode(Number(status.slice(0, 3)), status.slice(4));
    const out = request.responseHeaders;
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i];
      // The server owns these (as in Twisted).
      const lower = name.toLowerCase();
      if (lower === "server" || lower === "date") continue;
      out.addRawHeader(name, value);
    }
  }

  toString(): string {
    return `<WSGIResponse ${this.id} of ${this.resource.name}>`;
  }
}

