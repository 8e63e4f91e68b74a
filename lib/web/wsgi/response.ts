/**
 * The main side of one WSGI response (Twisted's _WSGIResponse): it gives the request to the
 * pool as one task, reads the response's channel (channel.ts) in order, head, chunks,
 * wsgi.errors text and last the result, and writes them to the request.
 *
 * - Flow control and disconnects, by one route: the response is the request's push producer
 *   from its start. While the transport is paused it stops reading the channel (the worker
 *   blocks once the channel is full); when the client goes away HTTPChannel.stopProducing
 *   reaches stopProducing() here, which sets a flag in the channel that the worker sees at once.
 * - A time budget: a response still running after it has its worker terminated (the pool
 *   starts another); the client gets 503, or a dropped connection if the head went out.
 */

import { CancelledError, ConnectionLost, WorkerDied } from "../../internet/error.js";
import type { Failure } from "../../internet/failure.js";
import type { IDelayedCall, IPushProducer } from "../../internet/interfaces.js";
import { Logger } from "../../internet/log.js";
import { exposeToThreads } from "../../internet/thread-bridge.js";
import { deserializeError, type SerializedError } from "../../internet/thread-error.js";
import type { TaskHandle, WorkerInfo } from "../../internet/threadpool.js";
import { workRef, type WorkRef } from "../../internet/work-ref.js";
import { INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE } from "../http-status.js";
import type { IRequest } from "../iweb.js";
import type { WSGIHeader } from "./application.js";
import { CHUNK, ChannelReader, DISCONNECTED, ERRORS, HEAD, RESULT, STOPPING, allocateChannel, resetChannel } from "./channel.js";
import { blamePrevious, forgetWorker, remember, type WSGIResponseEnd } from "./diagnostics.js";
import { buildEnviron } from "./environ.js";
import type { WSGIResource } from "./resource.js";
import { WIRE_NAME, decodeHead, decodeResult, type WireEnviron, type WireInput, type WireResult } from "./wire.js";

const log = new Logger("torsion.web.wsgi");

/** The task every response runs in the pool. */
const RUN_WSGI: WorkRef = workRef(new URL("./run.js", import.meta.url), "runWSGI");

// --- channels, reused ------------------------------------------------------------------

/** Channels whose response read its result: the worker writes nothing more into them. */
const freeChannels: SharedArrayBuffer[] = [];
const FREE_CHANNELS_KEPT = 64;

function takeChannel(): SharedArrayBuffer {
  const buffer = freeChannels.pop();
  if (buffer === undefined) return allocateChannel();
  resetChannel(buffer);
  return buffer;
}

// --- reads of a large request body, from the workers -------------------------------------

/** Responses whose body the worker reads through its bridge, by id. */
const reading = new Map<number, WSGIResponse>();
let nextId = 1;
let exposed = false;

function readBody(id: number, offset: number, size: number): Uint8Array {
  const response = reading.get(id);
  // The response ended (timed out, say) and its worker is being terminated.
  if (response === undefined) throw new ConnectionLost("this WSGI response has ended");
  return response.readBody(offset, size);
}

function exposeOnce(): void {
  if (exposed) return;
  exposed = true;
  exposeToThreads(WIRE_NAME, readBody);
}

// --- one response ------------------------------------------------------------------------

/** @internal The main side of one request's response. */
export class WSGIResponse implements IPushProducer {
  readonly id = nextId++;
  /** The channel, made when the task is handed to a worker: a queued response holds none. */
  private reader: ChannelReader | null = null;
  /** Flags set before the channel existed, for it. */
  private pendingFlags = 0;
  /** The task's arguments but the channel: [head, environ, body]. */
  private taskArgs: [string, WireEnviron, Uint8Array | null] | null = null;
  private task: TaskHandle | null = null;
  private timer: IDelayedCall | null = null;
  /** Registered as the request's producer. */
  private producing = false;
  private paused = false;
  /** The channel stopped this producer: the client is gone. */
  private clientGone = false;
  /** Asked to end (the server stops): what the worker wrote is read and dropped, pause or not. */
  private stopping = false;
  /** A chunk was dropped because of `stopping`: the response cannot be finished whole. */
  private cut = false;
  /** The head has been written to the request. */
  private headSent = false;
  private done = false;
  private timedOut = false;
  /** The pool says the task returned: its result is in the channel. */
  private taskReturned = false;
  /** A whenWritten() wait is pending. */
  private waiting = false;
  private pumping = false;
  private pumpAgain = false;
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
    if (input.body === null && input.length > 0) {
      exposeOnce();
      reading.set(this.id, this);
    }
    resource.active.add(this);
    // The producer route exists before the first chunk: a disconnect (HTTPChannel.stopProducing)
    // and the transport's flow control reach this response from its start, by one route.
    this.producing = true;
    request.registerProducer(this, true);
    const app = resource.application;
    const head = `${app.module}\0${app.export}\0${this.id}\0${resource.onDisconnect === "drain" ? 1 : 0}\0${request.isSecure() ? "https" : "http"}\0${input.length}`;
    this.taskArgs = [head, environ, input.body];
    this.task = resource.threadpool.submit(RUN_WSGI, this.dispatched, { onResult: this.taskEnded });
    if (resource.timeout !== null && !this.done) this.timer = resource.reactor.callLater(resource.timeout, this.overran);
  }

  /** The pool hands the task to a worker: its channel is made now, with the flags set so far. */
  private readonly dispatched = (): unknown[] => {
    const [head, environ, body] = this.taskArgs!;
    this.taskArgs = null;
    const reader = new ChannelReader(takeChannel());
    this.reader = reader;
    if (this.pendingFlags !== 0) reader.setFlags(this.pendingFlags);
    this.wait();
    return [head, environ, body, reader.buffer];
  };

  /** Set flags for the worker (now, or when its channel is made). */
  private setFlags(bits: number): void {
    if (this.reader !== null) this.reader.setFlags(bits);
    else this.pendingFlags |= bits;
  }

  private input(): WireInput {
    const content = this.request.content;
    if (content === null) return { length: 0, body: null };
    const length = content.length;
    if (length === 0 || length > this.resource.inputInlineLimit) return { length, body: null };
    return { length, body: new Uint8Array(content.getvalue()) };
  }

  /** A bridged read of the request body. */
  readBody(offset: number, size: number): Uint8Array {
    const content = this.request.content;
    // A lost connection has released the body (Request.connectionLost).
    if (content === null || this.clientGone || this.request.disconnected) {
      throw new ConnectionLost("the request body is gone: the client disconnected");
    }
    content.seek(offset);
    return new Uint8Array(content.read(size));
  }

  // --- reading the channel ------------------------------------------------------------

  /** Read what the worker has written, while the transport takes it; then wait for more. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.readRecords();
      } while (this.pumpAgain && !this.done);
    } catch (err) {
      // Writing to the request failed (or a record was not what it should be): this response
      // cannot go on. Its channel is not reused: the worker may still be writing into it.
      this.pumping = false;
      if (!this.done) {
        // The worker stops too (its writes are dropped once the flag is up; it never waits on us).
        this.setFlags(STOPPING);
        this.failed(err instanceof Error ? err : new Error(String(err)));
      }
      return;
    } finally {
      this.pumping = false;
    }
    if (this.done) return;
    if (this.taskReturned && !this.blocked()) {
      // Everything the task wrote has been read, and no result: the worker side broke its word.
      this.failed(new Error("the WSGI worker ended its task without writing the response's result"));
      return;
    }
    this.wait();
  }

  /** Paused by the transport, with a client still there to take the bytes. */
  private blocked(): boolean {
    return this.paused && !this.clientGone && !this.stopping;
  }

  private readRecords(): void {
    const reader = this.reader;
    if (reader === null) return;
    const request = this.request;
    while (!this.done && !this.blocked() && reader.next()) {
      const kind = reader.kind;
      if (kind === CHUNK) {
        if (this.clientGone) continue;
        if (this.stopping) this.cut = true;
        else request.write(reader.payload());
      } else if (kind === HEAD) {
        if (!this.clientGone) {
          const { status, headers } = decodeHead(reader.latin1());
          this.sendHead(status, headers);
        }
      } else if (kind === ERRORS) {
        this.errorsWritten(reader.text());
      } else if (kind === RESULT) {
        // The last record: the channel is not released, it goes back to the free list.
        this.result(decodeResult(reader.text()), reader.flags);
        return;
      }
    }
    reader.release();
  }

  private wait(): void {
    if (this.waiting || this.done || this.reader === null || this.blocked()) return;
    this.waiting = true;
    this.reader.whenWritten(this.woken);
  }

  private readonly woken = (): void => {
    this.waiting = false;
    if (!this.done) this.pump();
  };

  private errorsWritten(text: string): void {
    // As Twisted's _ErrorStream: an error event of the "wsgi" system, the text as its message.
    this.resource.log.error("{message}", { message: text, system: "wsgi", isError: true, application: this.resource.name });
  }

  // --- IPushProducer: the transport's flow control, and the disconnect -------------------------

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    this.paused = false;
    if (!this.done) this.pump();
  }

  /**
   * The client is gone: the channel stops its request's producer (HTTPChannel.stopProducing),
   * the one route by which a disconnect reaches this response. The worker sees the flag.
   */
  stopProducing(): void {
    this.producing = false;
    this.clientGone = true;
    if (this.done) return;
    this.setFlags(DISCONNECTED);
    // What waited behind a pause (the result, maybe) is read now, out of the transport's
    // connectionLost; a pending wait reads it anyway.
    if (!this.waiting) queueMicrotask(() => this.done || this.pump());
  }

  /** Asked to end by the resource (shutdown). False if already ended. */
  stop(): boolean {
    if (this.done) return false;
    this.stopping = true;
    this.setFlags(STOPPING);
    // Read on even while paused: the worker's result is behind what it wrote.
    this.pump();
    return true;
  }

  // --- the end of the response ---------------------------------------------------------

  private readonly taskEnded = (success: boolean, value: unknown): void => {
    if (this.done) return;
    if (!success) {
      this.failed((value as Failure).value);
      return;
    }
    this.taskReturned = true;
    this.pump();
  };

  private readonly overran = (): void => {
    this.timer = null;
    const task = this.task;
    if (this.done || task === null) return;
    this.timedOut = true;
    const why = `the WSGI application ${this.resource.name} overran its time budget of ${this.resource.timeout} s`;
    // Set before terminate(), which settles the task (and runs failed()) before it returns.
    this.overranOn = task.state === "running" ? task.worker : null;
    if (task.terminate(why)) return;
    // The pool cannot end the task now: it stops as soon as it runs (close() runs), and the
    // client is answered now. Its channel is left to it, never reused.
    this.overranOn = null;
    this.setFlags(STOPPING);
    this.failed(new WorkerDied(why));
  };

  /** Whatever the ending, once: let go of the request's producer slot, the timer, the wait. */
  private end(): void {
    this.done = true;
    const resource = this.resource;
    if (this.timer !== null) {
      if (this.timer.active()) this.timer.cancel();
      this.timer = null;
    }
    reading.delete(this.id);
    resource.active.delete(this);
    if (this.producing) {
      this.producing = false;
      this.request.unregisterProducer();
    }
    this.taskArgs = null;
    if (this.waiting) this.reader?.cancelWait();
  }

  private result(result: WireResult, flags: number): void {
    this.end();
    // The worker has written its last record: the channel may serve another response.
    if (freeChannels.length < FREE_CHANNELS_KEPT) freeChannels.push(this.reader!.buffer);
    try {
      this.finished(result, flags);
    } catch (err) {
      this.endingFailed(err);
    }
  }

  private failed(err: Error): void {
    this.end();
    try {
      this.failedWith(err);
    } catch (err2) {
      this.endingFailed(err2);
    }
  }

  private endingFailed(err: unknown): void {
    log.failure("Error ending the response of {application} to {request}", err, { application: this.resource.name, request: String(this.request) });
    if (!this.request.disconnected) this.request.loseConnection();
  }

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
    if (this.clientGone || request.disconnected) return;
    if (result.stopped || this.cut || (result.drained && (flags & STOPPING) !== 0)) {
      // The server is stopping (a client that left needs nothing more).
      this.endBadly(SERVICE_UNAVAILABLE);
      return;
    }
    request.finish();
  }

  private failedWith(err: Error): void {
    const resource = this.resource;
    if (this.timedOut) {
      resource.count("timedOut");
      resource.log.error("{application} overran its time budget of {timeout} s answering {request}; its worker was terminated", {
        application: resource.name,
        timeout: resource.timeout,
        request: String(this.request),
      });
      if (this.overranOn !== null) blamePrevious(resource.threadpool, this.overranOn, this.id, resource.name);
      this.endBadly(SERVICE_UNAVAILABLE);
      return;
    }
    const worker = this.task?.worker;
    // A worker that died takes its state with it: what ran on it before explains nothing more.
    if (err instanceof WorkerDied) {
      if (worker != null) forgetWorker(resource.threadpool, worker);
    } else if (!(err instanceof CancelledError)) this.remember("error");
    resource.count("errors");
    resource.log.failure("WSGI application {application} could not run", err, { application: resource.name });
    this.endBadly(err instanceof WorkerDied || err instanceof CancelledError ? SERVICE_UNAVAILABLE : INTERNAL_SERVER_ERROR);
  }

  /** Remember this response as the last its worker ran (the worker lives on). */
  private remember(end: WSGIResponseEnd): void {
    const worker = this.task?.worker;
    if (worker == null) return;
    const resource = this.resource;
    remember(resource.threadpool, worker, this.id, resource.name, String(this.request), end, resource.log);
  }

  /** Before the head: answer `code` with no body. After it: drop the connection (as Twisted). */
  private endBadly(code: number): void {
    const request = this.request;
    if (this.clientGone || request.disconnected || request.finished) return;
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
