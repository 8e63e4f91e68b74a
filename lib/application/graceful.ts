/**
 * Graceful shutdown of web servers, as a service (its stopService) or a reactor "before
 * shutdown" trigger.
 *
 * Twisted's reactor closes every connection at once when it stops ("during shutdown"), which
 * cuts off responses in flight. A GracefulShutdown, installed on the reactor, runs first:
 *
 * 1. every port it was given stops listening (no new connections);
 * 2. every idle connection of the HTTP factories it was given is closed; a connection that is
 *    answering a request is told to close once that response is done ("Connection: close"
 *    when its headers have not gone out yet);
 * 3. it waits until those connections have closed, for at most `grace` seconds;
 * 4. what is still open then is aborted (abortConnection: the client sees the connection
 *    reset rather than a response that looks complete);
 * 5. the reactor's thread pool is stopped, giving its running work what is left of the grace
 *    period, and at least `poolGrace` seconds, to see the disconnect and finish (a WSGI
 *    application's close() runs then); work still running after that is terminated.
 *
 * Only then does the reactor go on to "during shutdown". As a service, make it the first child
 * of the application: children stop in reverse, so the listening services stop accepting first,
 * and then it drains (`torsion web` is built so):
 *
 *     const app = new Application("web");
 *     const site = new Site(root);
 *     new GracefulShutdown(reactor, { grace: 10 }).addFactory(site).setServiceParent(app);
 *     strports.service("tcp:8080", site).setServiceParent(app);
 *     startApplication(app, reactor);
 *     await reactor.run();    // SIGTERM: stop accepting, let responses finish, then exit
 *
 * Without services, give it the ports and install() it as a trigger of its own:
 *
 *     new GracefulShutdown(reactor, { grace: 10 }).addPort(port).addFactory(site).install();
 *
 * It drains any factory that keeps its open HTTP channels (a Site, an HTTPFactory): it reads
 * them through the small interfaces below, so lib/application does not import lib/web.
 */

import { Deferred } from "../internet/deferred.js";
import type { IListeningPort, IReactorCore, IReactorTime } from "../internet/interfaces.js";
import { Logger } from "../internet/log.js";
import { stopThreadPool } from "../internet/threads.js";
import { Service } from "./service.js";

const log = new Logger("torsion.application.graceful");

/** What draining needs of a request: whether its head has gone out, and its headers. */
export interface DrainableRequest {
  readonly startedWriting: boolean | number;
  readonly responseHeaders: { setRawHeaders(name: string, values: string[]): void };
}

/** What draining needs of a connection (HTTPChannel has it). */
export interface DrainableChannel {
  readonly requests: readonly DrainableRequest[];
  persistent: boolean;
  readonly transport: unknown;
  loseConnection(): void;
}

/** A factory whose open connections can be drained (HTTPFactory, Site). */
export interface DrainableFactory {
  readonly openChannels: { readonly size: number; [Symbol.iterator](): Iterator<DrainableChannel> };
}

/** How often, in seconds, the open connections are counted while draining. */
const POLL_INTERVAL = 0.05;

export interface GracefulShutdownOptions {
  /** Seconds that responses in flight get to finish before their connections are aborted. Default 10. */
  grace?: number;
  /** Stop the reactor's thread pool after the connections (default true). */
  stopThreadPool?: boolean;
  /** The least time, in seconds, the thread pool's running work gets after the connections are done. Default 1. */
  poolGrace?: number;
}

/** What a GracefulShutdown needs of a reactor: time, and the shutdown event. */
export type GracefulReactor = IReactorTime & Pick<IReactorCore, "addSystemEventTrigger" | "removeSystemEventTrigger">;

/** What drain() did, for logs and specs. */
export interface DrainResult {
  /** Connections that were answering a request when the drain began. */
  inFlight: number;
  /** Connections closed because they were idle. */
  idleClosed: number;
  /** Connections still open at the end of the grace period, and aborted. */
  aborted: number;
}

export class GracefulShutdown extends Service {
  readonly grace: number;
  private readonly ports: IListeningPort[] = [];
  private readonly factories: DrainableFactory[] = [];
  private readonly stopPool: boolean;
  private readonly poolGrace: number;
  private trigger: unknown = null;
  private draining: Deferred<DrainResult> | null = null;

  constructor(
    private readonly reactor: GracefulReactor,
    options: GracefulShutdownOptions = {},
  ) {
    super();
    const grace = options.grace ?? 10;
    if (!(grace >= 0)) throw new RangeError(`grace must be a number of seconds >= 0, got ${grace}`);
    this.grace = grace;
    this.stopPool = options.stopThreadPool ?? true;
    this.poolGrace = options.poolGrace ?? 1;
  }

  /** A port to stop listening on first. */
  addPort(port: IListeningPort): this {
    this.ports.push(port);
    return this;
  }

  /** An HTTPFactory (a Site) whose connections to drain. */
  addFactory(factory: DrainableFactory): this {
    if (!this.factories.includes(factory)) this.factories.push(factory);
    return this;
  }

  /** As a service: stopping is draining; the Deferred fires when the drain is done. */
  override stopService(): Deferred<void> {
    super.stopService();
    // A Deferred of its own: drain()'s keeps its DrainResult for whoever asks for it later.
    const stopped = new Deferred<void>();
    this.drain().addBoth((result) => {
      stopped.callback(undefined);
      return result;
    });
    return stopped;
  }

  /** Run drain() as a "before shutdown" trigger of the reactor (once), for a program without services. */
  install(): this {
    if (this.trigger === null) {
      this.trigger = this.reactor.addSystemEventTrigger("before", "shutdown", () => this.drain());
    }
    return this;
  }

  /** Remove the trigger install() added. */
  uninstall(): void {
    if (this.trigger === null) return;
    const trigger = this.trigger;
    this.trigger = null;
    try {
      this.reactor.removeSystemEventTrigger(trigger);
    } catch {
      // already fired: nothing to remove
    }
  }

  /** Connections of the factories that are open now. */
  openConnections(): number {
    let n = 0;
    for (const f of this.factories) n += f.openChannels.size;
    return n;
  }

  /**
   * Stop listening, close idle connections, wait up to `grace` seconds for the others, abort
   * what is left, then stop the thread pool. Fires (never fails) when all that is done; a
   * second call returns the same Deferred.
   */
  drain(): Deferred<DrainResult> {
    if (this.draining !== null) return this.draining;
    const d = new Deferred<DrainResult>();
    this.draining = d;
    const deadline = this.reactor.seconds() + this.grace;
    const result: DrainResult = { inFlight: 0, idleClosed: 0, aborted: 0 };

    const stopped: PromiseLike<unknown>[] = [];
    for (const port of this.ports) {
      try {
        const s = port.stopListening();
        if (s && typeof (s as PromiseLike<unknown>).then === "function") stopped.push(s as PromiseLike<unknown>);
      } catch (err) {
        log.failure("Error while stopping {port}", err, { port: String(port) });
      }
    }
    for (const channel of this.channels()) {
      if (channel.requests.length === 0) {
        result.idleClosed++;
        channel.loseConnection();
      } else {
        result.inFlight++;
        closeAfterResponse(channel);
      }
    }
    if (result.inFlight > 0) {
      log.info("Shutting down: waiting up to {grace} s for {count} response(s) in flight", {
        grace: this.grace,
        count: result.inFlight,
      });
    }

    const finish = (): void => {
      const remaining = Math.max(0, deadline - this.reactor.seconds());
      const poolStopped = this.stopPool
        ? stopThreadPool(this.reactor, { grace: Math.max(remaining, this.poolGrace) })
        : null;
      const all = [...stopped];
      if (poolStopped !== null) all.push(poolStopped);
      let pending = all.length;
      const done = (): void => {
        if (--pending <= 0) d.callback(result);
      };
      if (pending === 0) {
        d.callback(result);
        return;
      }
      for (const p of all) p.then(done, (err: unknown) => {
        log.failure("Error during a graceful shutdown", err);
        done();
      });
    };

    const check = (): void => {
      if (this.openConnections() === 0) {
        finish();
        return;
      }
      if (this.reactor.seconds() >= deadline) {
        for (const channel of this.channels()) {
          result.aborted++;
          abort(channel);
        }
        log.warn("Shutting down: aborted {count} connection(s) still open after the grace period of {grace} s", {
          count: result.aborted,
          grace: this.grace,
        });
        finish();
        return;
      }
      const left = deadline - this.reactor.seconds();
      this.reactor.callLater(Math.min(POLL_INTERVAL, left), check);
    };
    check();
    return d;
  }

  private channels(): DrainableChannel[] {
    const all: DrainableChannel[] = [];
    for (const f of this.factories) for (const c of f.openChannels) all.push(c);
    return all;
  }
}

/** Make a connection that is answering a request close once its response is done. */
function closeAfterResponse(channel: DrainableChannel): void {
  channel.persistent = false;
  for (const request of channel.requests) {
    // Tell the client before it sends its next request, when the head has not gone out yet.
    if (!request.startedWriting) request.responseHeaders.setRawHeaders("connection", ["close"]);
  }
}

function abort(channel: DrainableChannel): void {
  const transport = channel.transport as { abortConnection?(): void; loseConnection(): void } | null;
  if (transport === null) return;
  if (typeof transport.abortConnection === "function") transport.abortConnection();
  else transport.loseConnection();
}
