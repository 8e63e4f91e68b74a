/**
 * Services, as twisted.application.service: things a program starts and stops as a whole.
 *
 * A Service is started (`startService`) and stopped (`stopService`, whose Deferred says when it
 * has finished stopping); a MultiService holds children, starts them in the order they were
 * added and stops them in reverse, and its own stop fires once every child's has. The root of
 * a program's tree is an Application (a named MultiService), which `startApplication` ties to a
 * reactor: started once the reactor runs, stopped in the "before shutdown" phase, so the
 * services' Deferreds delay the shutdown until they are done.
 *
 *     const app = new Application("echo");
 *     strports.service("tcp:8000", Factory.forProtocol(Echo)).setServiceParent(app);
 *     new TimerService(60, reportStatistics).setServiceParent(app);
 *     startApplication(app, reactor);
 *     await reactor.run();
 */

import { Deferred, maybeDeferred } from "../internet/deferred.js";
import { Failure } from "../internet/failure.js";
import type { IReactorCore } from "../internet/interfaces.js";
import { LogLevel, Logger } from "../internet/log.js";

const log = new Logger("torsion.application.service");

/** What a stopService may return: nothing (stopped at once), or a Deferred or promise of the stop. */
export type StopResult = Deferred<unknown> | PromiseLike<unknown> | void;

/** A thing that can be started and stopped (twisted.application.service.IService). */
export interface IService {
  /** Set by setName; a parent finds its children by it. */
  readonly name: string | null;
  /** The collection this service is in, or null. */
  readonly parent: IServiceCollection | null;
  /** True between startService and stopService. */
  readonly running: boolean;
  setName(name: string): void;
  /** Join `parent` (leaving the one it is in first); a running parent starts it at once. */
  setServiceParent(parent: IServiceCollection): void;
  /** Leave the parent; a running parent stops it, and the result is that stop's. */
  disownServiceParent(): StopResult;
  /** The part of starting that needs privileges (binding a low port), before startService. */
  privilegedStartService(): void;
  startService(): void;
  stopService(): StopResult;
}

/** A service holding services (twisted.application.service.IServiceCollection). */
export interface IServiceCollection {
  /** The child named `name`; RangeError when there is none (Twisted's KeyError). */
  getServiceNamed(name: string): IService;
  [Symbol.iterator](): Iterator<IService>;
  /** Only setServiceParent calls this. RangeError for a second child of the same name. */
  addService(service: IService): void;
  /** Only disownServiceParent calls this. RangeError for a service that is not a child. */
  removeService(service: IService): StopResult;
}

/** The base of services: it keeps the name, the parent and `running`; subclasses do the work. */
export class Service implements IService {
  name: string | null = null;
  parent: IServiceCollection | null = null;
  running = false;

  setName(name: string): void {
    if (this.parent !== null) throw new Error("cannot change name when parent exists");
    this.name = name;
  }

  setServiceParent(parent: IServiceCollection): void {
    if (this.parent !== null) this.disownServiceParent();
    this.parent = parent;
    parent.addService(this);
  }

  disownServiceParent(): StopResult {
    const parent = this.parent;
    if (parent === null) return undefined;
    const stopped = parent.removeService(this);
    this.parent = null;
    return stopped;
  }

  privilegedStartService(): void {}

  startService(): void {
    this.running = true;
  }

  stopService(): StopResult {
    this.running = false;
  }
}

/**
 * A stop as a Deferred of its own that fires with undefined once the service has stopped. The
 * service's Deferred keeps its result; a failure is logged here, and so handled.
 */
function stopped(service: IService): Deferred<void> {
  const done = new Deferred<void>();
  maybeDeferred(() => service.stopService() as Deferred<unknown> | PromiseLike<unknown> | undefined).addBoth((result) => {
    done.callback(undefined);
    if (!(result instanceof Failure)) return result;
    log.failure("Error stopping service {service}", result, { service: service.name ?? service.constructor.name }, LogLevel.error);
    return undefined;
  });
  return done;
}

/**
 * A service of services (Twisted's MultiService). Children start in the order they were added
 * and stop in reverse; as in Twisted, each child's stopService is called without waiting for
 * the one before to finish, and the MultiService's stop fires when all of them have. A child
 * whose stop fails is logged, and does not keep the others (or the shutdown) from finishing.
 */
export class MultiService extends Service implements IServiceCollection {
  readonly services: IService[] = [];
  private readonly namedServices = new Map<string, IService>();

  override privilegedStartService(): void {
    super.privilegedStartService();
    for (const service of this.services.slice()) service.privilegedStartService();
  }

  override startService(): void {
    super.startService();
    for (const service of this.services.slice()) service.startService();
  }

  override stopService(): Deferred<void> {
    super.stopService();
    const stops = this.services.slice().reverse().map(stopped);
    const all = new Deferred<void>();
    let pending = stops.length;
    if (pending === 0) all.callback(undefined);
    for (const d of stops) {
      d.addCallback(() => {
        if (--pending === 0) all.callback(undefined);
      });
    }
    return all;
  }

  getServiceNamed(name: string): IService {
    const service = this.namedServices.get(name);
    if (service === undefined) throw new RangeError(`no service named ${JSON.stringify(name)} in ${this.name ?? "this MultiService"}`);
    return service;
  }

  [Symbol.iterator](): Iterator<IService> {
    return this.services[Symbol.iterator]();
  }

  addService(service: IService): void {
    if (service.name !== null) {
      if (this.namedServices.has(service.name)) throw new RangeError(`cannot have two services with same name ${JSON.stringify(service.name)}`);
      this.namedServices.set(service.name, service);
    }
    this.services.push(service);
    if (this.running) {
      // Late, but as Twisted does: a child added to a running parent starts at once.
      service.privilegedStartService();
      service.startService();
    }
  }

  removeService(service: IService): StopResult {
    const i = this.services.indexOf(service);
    if (i < 0) throw new RangeError(`${service.name ?? "the service"} is not a child of ${this.name ?? "this MultiService"}`);
    if (service.name !== null) this.namedServices.delete(service.name);
    this.services.splice(i, 1);
    // Returned so the caller can wait for the stop, as Twisted's does.
    return this.running ? service.stopService() : undefined;
  }
}

/**
 * The root of a program's services (Twisted's `Application(name)`): a named MultiService. The
 * uid and gid Twisted's Application carries for twistd are not kept: a Node program drops
 * privileges itself (process.setuid) after privilegedStartService.
 */
export class Application extends MultiService {
  constructor(name: string) {
    super();
    if (typeof name !== "string") throw new TypeError(`Application needs a name, got ${String(name)}`);
    this.setName(name);
  }
}

/** What startApplication needs of a reactor. */
export type ApplicationReactor = Pick<IReactorCore, "callWhenRunning" | "addSystemEventTrigger">;

/**
 * Run `service` with `reactor`, as twisted.application.app.startApplication: its privileged
 * start now, its start once the reactor is running (callWhenRunning), its stop in the
 * "before shutdown" phase, where the Deferred it returns holds the shutdown until it fires.
 */
export function startApplication(service: IService, reactor: ApplicationReactor): void {
  service.privilegedStartService();
  reactor.callWhenRunning(() => service.startService());
  reactor.addSystemEventTrigger("before", "shutdown", () => stopped(service));
}
