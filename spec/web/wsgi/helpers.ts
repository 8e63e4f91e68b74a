/**
 * Shared fixtures of the WSGI specs: a WSGIResource over the applications in
 * spec/fixtures/wsgi-apps.ts, rendered through a Site's channel on a StringTransport (Twisted's
 * lowLevelRender and DummyChannel) or served on a real loopback socket, with a real pool.
 */

import { connect, type Socket } from "node:net";
import { ipAddress } from "../../../lib/internet/address.js";
import { Failure } from "../../../lib/internet/failure.js";
import { ConnectionLost } from "../../../lib/internet/error.js";
import type { IAddress, IListeningPort } from "../../../lib/internet/interfaces.js";
import { reactor } from "../../../lib/internet/reactor.js";
import { StringTransport } from "../../../lib/internet/testing.js";
import { exposeToThreads } from "../../../lib/internet/thread-bridge.js";
import type { ThreadPool } from "../../../lib/internet/threadpool.js";
import { workRef } from "../../../lib/internet/work-ref.js";
import type { HTTPChannel } from "../../../lib/web/http-channel.js";
import type { IResource } from "../../../lib/web/iweb.js";
import { Resource } from "../../../lib/web/resource.js";
import { Request, Site } from "../../../lib/web/server.js";
import { RecordingRequest } from "../../support/recording-request.js";
import { WSGIResource, type WSGIResourceOptions } from "../../../lib/web/wsgi/resource.js";
import { Clock } from "../../../lib/internet/task.js";
import { makePool } from "../../fixtures/thread-helpers.js";
import { until, within } from "../../support/wait.js";

export const APPS = new URL("../../fixtures/wsgi-apps.js", import.meta.url);

/** A small pool for one spec (stopped by stopPools in afterEach). */
export function wsgiPool(): ThreadPool {
  const pool = makePool({ minthreads: 1, maxthreads: 2 });
  pool.start();
  return pool;
}

export function app(name: string): ReturnType<typeof workRef> {
  return workRef(APPS, name);
}

// --- what the applications report ----------------------------------------------------------

/**
 * The names the fixture applications call: "wsgiSpec.record" stores what the transport has
 * seen so far (Twisted's record()), "wsgiSpec.report" stores a value, "wsgiSpec.gate" answers
 * when the spec opens it, "wsgiSpec.threadOf" answers nothing (the caller's threadId is its own).
 */
export class Reports {
  readonly recorded: string[] = [];
  readonly reported: unknown[] = [];
  transport: StringTransport | null = null;
  private gateWaiters: (() => void)[] = [];
  private gateOpen = false;
  private gateCalls = 0;
  private readonly undo: (() => void)[] = [];

  constructor() {
    this.undo.push(
      exposeToThreads("wsgiSpec.record", () => {
        this.recorded.push(this.transport?.value().toString("latin1") ?? "");
      }),
      exposeToThreads("wsgiSpec.report", (value: unknown) => {
        this.reported.push(value);
      }),
      exposeToThreads("wsgiSpec.gate", () => {
        this.gateCalls++;
        if (this.gateOpen) return undefined;
        return new Promise<void>((resolve) => this.gateWaiters.push(resolve));
      }),
      exposeToThreads("wsgiSpec.threadOf", () => undefined),
    );
  }

  /**
   * Resolves once `n` values were reported. A report travels on the worker's bridge, not in
   * the response's channel, so it may arrive after the response has ended.
   */
  async reportedAtLeast(n: number, seconds = 10): Promise<void> {
    await until(() => this.reported.length >= n, seconds, `${n} report(s) from the application`);
  }

  /** Resolves once `n` applications wait at the gate. */
  async atGate(n = 1, seconds = 10): Promise<void> {
    await until(() => this.gateCalls >= n, seconds, `${n} application(s) at the gate`);
  }

  open(): void {
    this.gateOpen = true;
    for (const go of this.gateWaiters.splice(0)) go();
  }

  dispose(): void {
    this.open();
    for (const f of this.undo.splice(0)) f();
  }
}

// --- rendering through a channel on a StringTransport --------------------------------------

/** A server.Request that remembers itself, so a spec can wait for its end. */
export { RecordingRequest };

export interface RenderOptions {
  method?: string;
  version?: string;
  /** Where the WSGIResource sits (Twisted's resourceSegments). */
  resourceSegments?: string[];
  /** The request path's segments, each percent-encoded as given by `encode` (Twisted's requestSegments). */
  requestSegments?: (string | Buffer)[];
  query?: [string, string][] | null;
  headers?: [string, string][];
  body?: Buffer | string | null;
  /** Characters not to percent-encode (Twisted's `safe`). */
  safe?: string;
  peer?: IAddress;
  host?: IAddress;
  secure?: boolean;
  resourceOptions?: WSGIResourceOptions;
}

export interface Rendered {
  response: string;
  request: RecordingRequest;
  resource: WSGIResource;
  transport: StringTransport;
  channel: HTTPChannel;
}

function quote(segment: string | Buffer, safe: string): string {
  const bytes = typeof segment === "string" ? Buffer.from(segment, "latin1") : segment;
  let out = "";
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(c) || safe.includes(c)) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/**
 * Render `appName` as Twisted's lowLevelRender does: the resource placed at
 * resourceSegments, a request for requestSegments sent on a fresh channel. Resolves when the
 * response is finished (or the connection lost) and the resource has let go of it.
 */
export async function lowLevelRender(pool: ThreadPool, appName: string, options: RenderOptions = {}, reports?: Reports): Promise<Rendered> {
  const clock = new Clock();
  const resource = new WSGIResource(clock, pool, app(appName), options.resourceOptions);
  let root: IResource = resource;
  for (const segment of [...(options.resourceSegments ?? [])].reverse()) {
    const parent = new Resource();
    parent.putChild(segment, root);
    root = parent;
  }
  // Twisted's WSGI tests send HTTP/1.1 requests without Host (SERVER_NAME then comes from the
  // local address), which RFC 9112 3.2 makes a 400 unless allowMissingHost.
  const site = new Site(root, { reactor: clock, requestFactory: RecordingRequest, serverVersion: "TwistedWeb/spec", sendDate: true, allowMissingHost: true });
  const channel = site.buildProtocol(null);
  const transport = new StringTransport({
    hostAddress: options.host ?? ipAddress("10.0.0.1", 80),
    peerAddress: options.peer ?? ipAddress("192.168.1.1", 12345),
  });
  if (options.secure) (transport as StringTransport & { isSecure(): boolean }).isSecure = () => true;
  if (reports) reports.transport = transport;
  channel.makeConnection(transport);
  const safe = options.safe ?? "";
  let uri = "/" + (options.requestSegments ?? [""]).map((s) => quote(s, safe)).join("/");
  if (options.query != null) uri += "?" + options.query.map(([k, v]) => `${quote(k, safe)}=${quote(v, safe)}`).join("&");
  const body = options.body == null ? null : Buffer.from(options.body);
  const lines = [`${options.method ?? "GET"} ${uri} HTTP/${options.version ?? "1.1"}`];
  for (const [name, value] of options.headers ?? []) lines.push(`${name}: ${value}`);
  if (body !== null) lines.push(`Content-Length: ${body.length}`);
  const before = RecordingRequest.made.length;
  channel.dataReceived(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body ?? Buffer.alloc(0)]));
  const request = RecordingRequest.made[before];
  if (request === undefined) throw new Error(`no request was made: ${transport.value().toString("latin1")}`);
  await within(
    request.notifyFinish().then(
      () => undefined,
      () => undefined,
    ),
    10,
    `the response of ${appName}`,
  );
  await until(() => resource.statistics().active === 0, 10, `${appName} to let go of its response`);
  return { response: transport.value().toString("latin1"), request, resource, transport, channel };
}

/** Lose the connection of a rendered request's channel, as a client that goes away. */
export function dropConnection(channel: HTTPChannel): void {
  channel.connectionLost(new Failure(new ConnectionLost("No more connection")));
}

// --- a real server -----------------------------------------------------------------------

export interface Served {
  port: IListeningPort;
  portNumber: number;
  resource: WSGIResource;
  stop(): Promise<void>;
}

/** Serve `appName` at / on 127.0.0.1 with the global reactor. */
export function serve(pool: ThreadPool, appName: string, options?: WSGIResourceOptions, requestFactory?: typeof Request): Served {
  const resource = new WSGIResource(reactor, pool, app(appName), options);
  const site = new Site(resource, requestFactory ? { requestFactory } : {});
  const port = reactor.listenTCP(0, site, { interface: "127.0.0.1" });
  const host = port.getHost();
  return {
    port,
    portNumber: host.type === "TCP" ? host.port : 0,
    resource,
    async stop() {
      await within(Promise.resolve(port.stopListening()), 5, "the port to close");
    },
  };
}

/** A raw client connection that sends `request` and collects what comes back. */
export class RawClient {
  readonly socket: Socket;
  /** Bytes received so far. */
  length = 0;
  private chunks: Buffer[] = [];
  readonly closed: Promise<void>;
  private readonly connected: Promise<void>;

  constructor(port: number, request?: string, options: { paused?: boolean } = {}) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("error", () => undefined);
    this.connected = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve()));
    this.socket.on("data", (data: Buffer) => {
      this.chunks.push(data);
      this.length += data.length;
    });
    if (options.paused) this.socket.pause();
    if (request !== undefined) this.socket.write(request);
  }

  /** Everything received so far. */
  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  ready(): Promise<void> {
    return within(this.connected, 5, "the client to connect");
  }

  async receivedAtLeast(n: number, seconds = 10): Promise<void> {
    await until(() => this.length >= n, seconds, `${n} bytes from the server (got ${this.length})`);
  }

  /** Close the connection abruptly (RST), as a browser tab being closed. */
  abort(): void {
    this.socket.resetAndDestroy();
  }

  async end(seconds = 10): Promise<void> {
    await within(this.closed, seconds, "the connection to close");
  }
}

/** GET `path` with a plain HTTP/1.1 request and Connection: close. */
export function getRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
}
