/**
 * `torsion web`: serve a web site, as Twisted's `twist web` (twisted/web/tap.py).
 *
 * The root resource is one of: a directory of files (--path), a WSGI application run in the
 * reactor's thread pool (--wsgi), or a resource tree from a module (--resource). The Site
 * listens on every --listen endpoint; the process serves until SIGINT or SIGTERM, then shuts
 * down gracefully. The server is an Application of services (lib/application/): one
 * StreamServerEndpointService per --listen and a GracefulShutdown, started once the reactor
 * runs and stopped before it shuts down. With --workers N, N processes share the ports
 * (lib/cli/workers.ts). The command begins logging itself (--log-level, --log-format) to stderr.
 *
 * parseWebOptions() only parses and checks; startWeb() builds and listens; runWeb() is the
 * command: start, print the URLs, run the reactor until it stops.
 */

import cluster from "node:cluster";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { GracefulShutdown } from "../application/graceful.js";
import { Application, startApplication } from "../application/service.js";
import * as strports from "../application/strports.js";
import { serverFromString } from "../internet/endpoint-descriptions.js";
import { Failure } from "../internet/failure.js";
import type { IAddress, IListeningPort } from "../internet/interfaces.js";
import type { LogBeginner } from "../internet/log.js";
import type { NodeReactor } from "../internet/reactor.js";
import { stopThreadPool } from "../internet/threads.js";
import type { ThreadPool } from "../internet/threadpool.js";
import type { WorkRef } from "../internet/work-ref.js";
import type { IResource } from "../web/iweb.js";
import { AddHeadersResource } from "../web/add-headers-resource.js";
import { Site } from "../web/server.js";
import { File } from "../web/static.js";
import { WSGIResource } from "../web/wsgi/resource.js";
import { LoadError, importExport, oneLine, parseReference } from "./load.js";
import { LOG_OPTIONS, beginLogging, parseLogOptions, type LogOptions } from "./log-options.js";
import {
  UsageError,
  formatOptions,
  parseArgv,
  parseInteger,
  parseSeconds,
  parseSize,
  type OptionSpec,
} from "./options.js";

/** The options of `torsion web`, in --help order. Names follow twisted/web/tap.py where it has one. */
export const WEB_OPTIONS: readonly OptionSpec[] = [
  {
    name: "listen",
    value: "DESCRIPTION",
    multiple: true,
    default: "tcp:8080",
    help:
      "An endpoint to listen on: tcp:PORT[:interface=ADDRESS], tcp6:PORT, unix:PATH, or " +
      "ssl:PORT:certKey=CERT.pem:privateKey=KEY.pem. Port 0 picks a free port.",
  },
  { name: "port", short: "p", value: "DESCRIPTION", multiple: true, help: "Deprecated: use --listen (a bare number means tcp:NUMBER)." },
  { name: "path", value: "DIR", help: "Serve the files under DIR (or the one file DIR) as the site." },
  { name: "wsgi", value: "MODULE:EXPORT", help: "Serve the WSGI application EXPORT of MODULE, run in the reactor's thread pool." },
  {
    name: "resource",
    value: "MODULE:EXPORT",
    help:
      "Serve the resource EXPORT of MODULE: a Resource, or a function (context) => Resource " +
      "(or a Promise of one); see docs/cli.md.",
  },
  { name: "index", short: "i", value: "NAME", multiple: true, default: "index, index.html, index.htm", help: "With --path: a file name served for a directory." },
  { name: "mime-type", short: "m", value: "TYPE", default: "application/octet-stream", help: "With --path: the type of files whose extension is unknown." },
  { name: "list-directories", help: "With --path: list a directory that has no index file (else 403)." },
  { name: "add-header", value: "'NAME: VALUE'", multiple: true, help: "Add this header to every response." },
  { name: "threads", value: "MIN,MAX", default: "0,10", help: "The size of the reactor's thread pool (MAX alone means 0,MAX)." },
  { name: "workers", value: "N", default: "1", help: "Serve from N processes sharing the ports (node:cluster); 'auto' is one per CPU." },
  { name: "access-log", short: "l", aliases: ["logfile"], value: "FILE", help: "Append an access log in the combined log format to FILE ('-' is standard output)." },
  { name: "timeout", value: "SECONDS", default: "60", help: "Close a connection idle this long (0 never)." },
  { name: "body-timeout", value: "SECONDS", default: "30", help: "Answer 408 to a request body not received this long after its head (0 never)." },
  { name: "max-body", value: "BYTES", default: "unlimited", help: "Answer 413 to a request body larger than this (K, M, G suffixes allowed)." },
  { name: "shutdown-grace", value: "SECONDS", default: "10", help: "On SIGINT/SIGTERM, let responses in flight finish this long before aborting them." },
  { name: "display-tracebacks", help: "Show tracebacks of rendering errors to clients (a security risk: for development only)." },
  ...LOG_OPTIONS,
  { name: "help", short: "h", help: "Show this help and exit." },
];

/** Where the root resource comes from. */
export type RootSpec =
  | { readonly kind: "path"; readonly path: string }
  | { readonly kind: "wsgi"; readonly text: string; readonly ref: WorkRef }
  | { readonly kind: "resource"; readonly text: string; readonly ref: WorkRef };

/** The parsed, checked command line of `torsion web`. */
export interface WebOptions {
  /** Endpoint descriptions, in order (--listen, then --port). */
  readonly listen: readonly string[];
  readonly root: RootSpec;
  readonly indexes: readonly string[] | null;
  readonly mimeType: string | null;
  readonly listDirectories: boolean;
  /** [name, value] pairs of --add-header, in order. */
  readonly addHeaders: ReadonlyArray<readonly [string, string]>;
  /** The thread pool size, or null for the reactor's default (0 to 10). */
  readonly threads: { readonly min: number; readonly max: number } | null;
  readonly workers: number;
  /** The access log file, "-" for standard output, or null for none. */
  readonly accessLog: string | null;
  /** The idle timeout in seconds, or null for none. */
  readonly timeout: number | null;
  /** Seconds allowed to receive a request body after its head, or null for no limit. */
  readonly bodyTimeout: number | null;
  /** The largest request body in bytes, or null for no limit. */
  readonly maxBody: number | null;
  readonly shutdownGrace: number;
  readonly displayTracebacks: boolean;
  readonly log: LogOptions;
  /** Messages about deprecated options, to print as warnings. */
  readonly warnings: readonly string[];
}

/** What the parser checks endpoint descriptions against (it only builds endpoints, never listens). */
export type DescriptionChecker = (description: string) => void;

/** `torsion web --help`. */
export function webHelp(): string {
  return (
    "Usage: torsion web [options]\n\n" +
    "Serve a web site: static files (--path), a WSGI application (--wsgi) or a resource tree\n" +
    "(--resource), on each --listen endpoint, until SIGINT or SIGTERM; then stop accepting,\n" +
    "let responses in flight finish (--shutdown-grace) and exit 0.\n\n" +
    "Options:\n" +
    formatOptions(WEB_OPTIONS) +
    "\n\nExamples:\n" +
    "  torsion web --path ./public --listen tcp:8080:interface=127.0.0.1\n" +
    "  torsion web --resource ./build/app.js:root --workers 4 --access-log -\n" +
    "  torsion web --wsgi ./app.js:application --threads 2,16\n"
  );
}

function last(values: Map<string, string[]>, name: string): string | undefined {
  const v = values.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

/**
 * Parse and check the arguments of `torsion web` (after the word "web"). Relative paths and
 * modules are resolved against `cwd`; each endpoint description is checked with `check`.
 * Raises UsageError with a one-line message; returns null for --help.
 */
export function parseWebOptions(argv: readonly string[], cwd: string, check: DescriptionChecker): WebOptions | null {
  const { values, spelled } = parseArgv(WEB_OPTIONS, argv);
  if (values.has("help")) return null;
  const warnings: string[] = [];

  const listen = [...(values.get("listen") ?? [])];
  for (const p of values.get("port") ?? []) {
    warnings.push(`--port is deprecated: use --listen ${/^\d+$/.test(p) ? `tcp:${p}` : p}`);
    listen.push(/^\d+$/.test(p) ? `tcp:${p}` : p);
  }
  if (listen.length === 0) listen.push("tcp:8080");
  for (const description of listen) {
    try {
      check(description);
    } catch (err) {
      throw new UsageError(`--listen ${description}: ${oneLine(err).replace(/^EndpointDescriptionError: /, "")}`);
    }
  }

  const roots = ["path", "wsgi", "resource"].filter((n) => values.has(n));
  if (roots.length === 0) throw new UsageError("nothing to serve: give one of --path DIR, --wsgi MODULE:EXPORT, --resource MODULE:EXPORT");
  if (roots.length > 1) throw new UsageError(`give only one of --path, --wsgi and --resource (got --${roots.join(" and --")})`);
  let root: RootSpec;
  if (roots[0] === "path") {
    const path = resolve(cwd, last(values, "path")!);
    checkReadable(path, last(values, "path")!);
    root = { kind: "path", path };
  } else {
    const kind = roots[0] as "wsgi" | "resource";
    const text = last(values, kind)!;
    root = { kind, text, ref: parseReference(`--${kind}`, text, cwd) };
  }
  for (const name of ["index", "mime-type", "list-directories"]) {
    if (values.has(name) && root.kind !== "path") throw new UsageError(`${spelled.get(name)} applies only with --path`);
  }

  const addHeaders: Array<[string, string]> = [];
  for (const h of values.get("add-header") ?? []) {
    const colon = h.indexOf(":");
    const name = colon < 0 ? "" : h.slice(0, colon).trim();
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new UsageError(`--add-header expects 'NAME: VALUE', got ${JSON.stringify(h)}`);
    }
    addHeaders.push([name, h.slice(colon + 1).trim()]);
  }

  let threads: { min: number; max: number } | null = null;
  const threadsText = last(values, "threads");
  if (threadsText !== undefined) {
    const parts = threadsText.split(",");
    if (parts.length > 2) throw new UsageError(`--threads expects MIN,MAX or MAX, got ${JSON.stringify(threadsText)}`);
    const max = parseInteger("--threads", parts[parts.length - 1], 1, 1024);
    const min = parts.length === 2 ? parseInteger("--threads", parts[0], 0, 1024) : 0;
    if (min > max) throw new UsageError(`--threads: MIN (${min}) is larger than MAX (${max})`);
    threads = { min, max };
  }

  const workersText = last(values, "workers");
  const workers = workersText === undefined ? 1 : workersText === "auto" ? availableParallelism() : parseInteger("--workers", workersText, 1, 256);
  if (workers > 1) {
    for (const description of listen) {
      if (!/^(tcp6?|ssl|tls):/i.test(description)) {
        throw new UsageError(`--listen ${description}: only tcp:, tcp6: and ssl: endpoints can be shared by --workers`);
      }
    }
  }

  const accessLog = last(values, "access-log") ?? null;
  if (accessLog !== null && accessLog !== "-") checkWritable(resolve(cwd, accessLog), accessLog, spelled.get("access-log")!);
  const timeoutText = last(values, "timeout");
  const timeout = timeoutText === undefined ? 60 : parseSeconds("--timeout", timeoutText) || null;
  const bodyTimeoutText = last(values, "body-timeout");
  const bodyTimeout = bodyTimeoutText === undefined ? 30 : parseSeconds("--body-timeout", bodyTimeoutText) || null;
  const maxBodyText = last(values, "max-body");
  const maxBody = maxBodyText === undefined ? null : parseSize("--max-body", maxBodyText);
  const graceText = last(values, "shutdown-grace");
  const shutdownGrace = graceText === undefined ? 10 : parseSeconds("--shutdown-grace", graceText);

  const log = parseLogOptions(values.get("log-level") ?? [], last(values, "log-format"));

  return {
    listen,
    root,
    indexes: values.get("index") ?? null,
    mimeType: last(values, "mime-type") ?? null,
    listDirectories: values.has("list-directories"),
    addHeaders,
    threads,
    workers,
    accessLog: accessLog === null || accessLog === "-" ? accessLog : resolve(cwd, accessLog),
    timeout,
    bodyTimeout,
    maxBody,
    shutdownGrace,
    displayTracebacks: values.has("display-tracebacks"),
    log,
    warnings,
  };
}

function checkReadable(path: string, shown: string): void {
  try {
    accessSync(path, fsConstants.R_OK);
    const st = statSync(path);
    if (!st.isDirectory() && !st.isFile()) throw new UsageError(`--path ${shown}: not a directory or a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : oneLine(err);
    throw new UsageError(`--path ${shown}: ${why}`);
  }
}

function checkWritable(path: string, shown: string, option: string): void {
  try {
    accessSync(path, fsConstants.W_OK);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new UsageError(`${option} ${shown}: cannot write to it (${(err as NodeJS.ErrnoException).code ?? oneLine(err)})`);
    }
  }
  try {
    accessSync(resolve(path, ".."), fsConstants.W_OK);
  } catch {
    throw new UsageError(`${option} ${shown}: cannot create it (its directory does not exist or is not writable)`);
  }
}

// --- the root resource -----------------------------------------------------------------------

/**
 * What a --resource function is called with. `threadPool` is the reactor's pool, sized by
 * --threads, created the first time it is read.
 */
export interface ResourceContext {
  readonly reactor: NodeReactor;
  readonly threadPool: ThreadPool;
  readonly options: WebOptions;
}

/** The type of a --resource export that is a function. */
export type ResourceFactory = (context: ResourceContext) => IResource | PromiseLike<IResource>;

function isResource(value: unknown): value is IResource {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as IResource).render === "function" &&
    typeof (value as IResource).getChildWithDefault === "function"
  );
}

async function wsgiResource(root: Extract<RootSpec, { kind: "wsgi" }>, context: ResourceContext): Promise<IResource> {
  const app = await importExport("--wsgi", root.text, root.ref, process.cwd());
  if (typeof app !== "function") {
    throw new LoadError(`--wsgi ${root.text}: the export is a ${app === null ? "null" : typeof app}, not a WSGI application (a function)`);
  }
  // A class passes typeof but throws when called as application(environ, startResponse): say so
  // now, as --resource does, not at the first request. (Python's WSGI allows a class; a
  // JavaScript class cannot be called without new.)
  if (/^class[\s{]/.test(Function.prototype.toString.call(app))) {
    throw new LoadError(
      `--wsgi ${root.text}: the export is a class, which cannot be called without new: ` +
        `export a function (environ, startResponse) that returns the iterable (e.g. (environ, startResponse) => new ${app.name || "App"}(environ, startResponse))`,
    );
  }
  return new WSGIResource(context.reactor, context.threadPool, root.ref);
}

/** Build the root resource the options name (without --add-header). Raises LoadError. */
export async function buildRoot(options: WebOptions, context: ResourceContext): Promise<IResource> {
  const root = options.root;
  if (root.kind === "path") {
    const file = new File(root.path, {
      indexNames: options.indexes ? [...options.indexes] : undefined,
      defaultType: options.mimeType ?? undefined,
      directoryListing: options.listDirectories,
    });
    return file;
  }
  if (root.kind === "wsgi") return wsgiResource(root, context);
  const value = await importExport("--resource", root.text, root.ref, process.cwd());
  if (isResource(value)) return value;
  if (typeof value !== "function") {
    throw new LoadError(`--resource ${root.text}: the export is a ${value === null ? "null" : typeof value}, not a Resource or a function returning one`);
  }
  if (/^class[\s{]/.test(Function.prototype.toString.call(value))) {
    throw new LoadError(`--resource ${root.text}: the export is a class: export an instance (new ${value.name || "Root"}()) or a function returning one`);
  }
  let made: unknown;
  try {
    made = await (value as ResourceFactory)(context);
  } catch (err) {
    throw new LoadError(`--resource ${root.text}: the function failed: ${oneLine(err)}`);
  }
  if (!isResource(made)) {
    throw new LoadError(`--resource ${root.text}: the function returned ${made === null ? "null" : typeof made}, not a Resource`);
  }
  return made;
}

// --- starting ----------------------------------------------------------------------------

/** Where the command writes: its own lines go to stdout (URLs) and stderr (errors, warnings). */
export interface WebIO {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly cwd: string;
  /** What runWeb begins logging on (default the process's globalLogBeginner). */
  readonly logBeginner?: LogBeginner;
}

/** A server started by startWeb. */
export interface StartedWeb {
  readonly site: Site;
  readonly ports: readonly IListeningPort[];
  /** The URL of each port, in --listen order. */
  readonly urls: readonly string[];
  /** The root of the services: stop it (stopService) to stop listening and drain. */
  readonly service: Application;
  readonly shutdown: GracefulShutdown;
}

/** The URL a port serves, from its description's scheme and its bound address. */
export function urlFor(description: string, address: IAddress): string {
  const type = description.split(":", 1)[0].toLowerCase();
  const scheme = type === "ssl" || type === "tls" ? "https" : "http";
  if (address.type === "UNIX") return `${scheme}+unix://${encodeURIComponent(address.name ?? "")}/`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}/`;
}

function poolOf(reactor: NodeReactor, options: WebOptions): () => ThreadPool {
  let sized = false;
  return () => {
    const pool = reactor.getThreadPool();
    if (!sized && options.threads !== null) pool.adjustPoolsize(options.threads.min, options.threads.max);
    sized = true;
    return pool;
  };
}

/**
 * Build the site and its services, and listen on every endpoint (in a node:cluster worker, TCP
 * ports listen through the primary: tcp.Port does that itself): an Application with one
 * GracefulShutdown, then one StreamServerEndpointService per --listen, so that a stop closes the
 * ports first (children stop in reverse) and then drains the connections. The application starts when the reactor runs and
 * stops before it shuts down (startApplication); this does not run the reactor. Raises LoadError,
 * or UsageError for a port that cannot be bound, after undoing what it started.
 */
export async function startWeb(options: WebOptions, reactor: NodeReactor, io: WebIO): Promise<StartedWeb> {
  const pool = poolOf(reactor, options);
  const context: ResourceContext = {
    reactor,
    get threadPool() {
      return pool();
    },
    options,
  };
  if (options.threads !== null) pool();
  const app = new Application("torsion web");
  const shutdown = new GracefulShutdown(reactor, { grace: options.shutdownGrace });
  let started = false;
  try {
    let root = await buildRoot(options, context);
    if (options.addHeaders.length > 0) root = new AddHeadersResource(root, options.addHeaders);
    const site = new Site(root, {
      reactor,
      timeout: options.timeout,
      bodyTimeout: options.bodyTimeout,
      maxBodySize: options.maxBody ?? undefined,
      displayTracebacks: options.displayTracebacks,
      logPath: options.accessLog !== null && options.accessLog !== "-" ? options.accessLog : null,
      logFile: options.accessLog === "-" ? io.stdout : null,
    });
    // The command announces what it serves itself: no "Starting factory" line for the Site.
    (site as { noisy?: boolean }).noisy = false;
    // The first child, so the last stopped: the ports stop accepting before the drain begins.
    shutdown.addFactory(site).setServiceParent(app);
    const listeners = options.listen.map((description) => {
      const service = strports.service(description, site, reactor);
      // The command reports a port it cannot bind through whenListening, naming the option.
      service.raiseSynchronously = false;
      service.setServiceParent(app);
      // Asked before listening: a port that cannot be bound is this command's error to report.
      return [description, service.whenListening()] as const;
    });
    // Listens now (privilegedStartService); the rest starts once the reactor runs.
    startApplication(app, reactor);
    started = true;
    const ports: IListeningPort[] = [];
    const urls: string[] = [];
    for (const [description, listening] of listeners) {
      let port: IListeningPort;
      try {
        port = await listening;
      } catch (err) {
        const error = err instanceof Failure ? err.value : err;
        throw new UsageError(`--listen ${description}: ${oneLine(error).replace(/^\w+Error: /, "")}`);
      }
      ports.push(port);
      urls.push(urlFor(description, port.getHost()));
    }
    return { site, ports, urls, service: app, shutdown };
  } catch (err) {
    // Stop what listened, and the thread pool; the services' own log of it is not wanted here.
    if (started) await app.stopService();
    else await stopThreadPool(reactor, { grace: 0 });
    throw err;
  }
}

/** Hooks a cluster worker gives runWeb: report to the primary rather than print. */
export interface WorkerHooks {
  listening(urls: readonly string[]): void;
  /** Report a startup error; runWeb waits for it (the message must reach the primary before exit). */
  failed(message: string): Promise<void>;
}

/**
 * The `torsion web` command in this process: start, print each URL served, run the reactor
 * until SIGINT/SIGTERM (or reactor.stop()), and resolve with the exit status: 0 after a
 * shutdown, 2 after a usage or startup error (one line on stderr).
 */
export async function runWeb(options: WebOptions, reactor: NodeReactor, io: WebIO, worker?: WorkerHooks): Promise<number> {
  beginLogging(options.log, io.stderr, io.logBeginner);
  let started: StartedWeb;
  try {
    started = await startWeb(options, reactor, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (worker !== undefined) await worker.failed(err.message);
    else io.stderr.write(`torsion web: ${err.message}\n`);
    return 2;
  }
  // Run first, so SIGINT/SIGTERM are handled from the moment the URLs are announced.
  const stopped = reactor.run();
  if (worker !== undefined) worker.listening(started.urls);
  else for (const url of started.urls) io.stdout.write(`torsion web: serving ${url}\n`);
  await stopped;
  return 0;
}

/** The entry of `torsion web ARGS`: parse, then run here or as the primary of --workers. */
export async function webCommand(argv: readonly string[], reactor: NodeReactor, io: WebIO): Promise<number> {
  let options: WebOptions | null;
  try {
    options = parseWebOptions(argv, io.cwd, (d) => void serverFromString(reactor, d));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`torsion web: ${err.message}\n`);
    return 2;
  }
  if (options === null) {
    io.stdout.write(webHelp());
    return 0;
  }
  if (options.workers > 1 || cluster.isWorker) {
    const { isWebWorker, runPrimary, runWorker } = await import("./workers.js");
    if (isWebWorker()) return runWorker(options, reactor, io);
    for (const w of options.warnings) io.stderr.write(`torsion web: warning: ${w}\n`);
    if (options.workers > 1) return runPrimary(argv, options, io);
  } else {
    for (const w of options.warnings) io.stderr.write(`torsion web: warning: ${w}\n`);
  }
  return runWeb(options, reactor, io);
}
