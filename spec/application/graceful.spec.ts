import { expect } from "chai";
import * as net from "node:net";
import { GracefulShutdown } from "../../lib/application/graceful.js";
import { StreamServerEndpointService } from "../../lib/application/internet.js";
import { Application, startApplication } from "../../lib/application/service.js";
import { succeed } from "../../lib/internet/deferred.js";
import type { IDelayedCall, IListeningPort } from "../../lib/internet/interfaces.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import type { IRequest } from "../../lib/web/iweb.js";
import { Resource } from "../../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../../lib/web/server.js";

/** /later answers "done\n" `delay` seconds after it is asked; /never never answers; /now at once. */
class Root extends Resource {
  rendered: string[] = [];
  lost: string[] = [];

  constructor(
    private readonly reactor: NodeReactor,
    private readonly delay: number,
  ) {
    super();
  }

  override getChild(): Resource {
    return this;
  }

  override isLeaf = true;

  render_GET(request: IRequest): string | typeof NOT_DONE_YET {
    const path = request.path;
    this.rendered.push(path);
    request.notifyFinish().addErrback(() => {
      this.lost.push(path);
    });
    if (path === "/now") return "now\n";
    if (path === "/later") {
      let call: IDelayedCall | null = this.reactor.callLater(this.delay, () => {
        call = null;
        request.setHeader("content-length", "5");
        request.write(Buffer.from("done\n"));
        request.finish();
      });
      request.notifyFinish().addErrback(() => call?.cancel());
    }
    return NOT_DONE_YET;
  }
}

/** A raw HTTP/1.1 client connection: what it received, and when it closed. */
class Client {
  received = "";
  closed: Promise<void>;
  private waiters: Array<() => void> = [];
  readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setEncoding("utf8");
    this.socket.on("data", (d: string) => {
      this.received += d;
      this.wake();
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.on("close", () => {
      this.wake();
      resolve();
    }));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get(path: string): void {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  }

  /** Wait (at most 5 s) until `test` holds. */
  async until(what: string, test: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(): Promise<void> {
    let closed = false;
    void this.closed.then(() => (closed = true));
    await this.until("the connection to close", () => closed);
  }
}

describe("GracefulShutdown (lib/application/graceful.ts)", () => {
  let reactor: NodeReactor;
  let root: Root;
  let site: Site;
  let port: IListeningPort;
  let portNumber: number;
  let clients: Client[];
  let logs: LogCapture;

  function setUp(delay: number): void {
    reactor = new NodeReactor();
    root = new Root(reactor, delay);
    site = new Site(root, { reactor });
    port = reactor.listenTCP(0, site, { interface: "127.0.0.1" });
    portNumber = (port.getHost() as { port: number }).port;
  }

  function client(): Client {
    const c = new Client(portNumber);
    clients.push(c);
    return c;
  }

  /** Run the reactor, have a client's GET /later begin rendering, then stop the reactor; the client, once it has stopped. */
  async function stopWhileRendering(): Promise<Client> {
    const stopped = reactor.run();
    const c = client();
    c.get("/later");
    await c.until("the request to be rendered", () => root.rendered.length === 1);
    reactor.stop();
    await stopped;
    return c;
  }

  beforeEach(() => {
    clients = [];
    logs = captureLogEvents();
  });

  afterEach(async () => {
    logs.stop();
    for (const c of clients) c.socket.destroy();
    await port.stopListening();
  });

  it("stops listening, and fires at once when no connection is open", async () => {
    setUp(0);
    const result = await new GracefulShutdown(reactor, { grace: 5 }).addPort(port).addFactory(site).drain();
    expect(result).to.deep.equal({ inFlight: 0, idleClosed: 0, aborted: 0 });
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(portNumber, "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        resolve("connected");
      });
      s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    });
    expect(refused).to.equal("ECONNREFUSED");
  });

  it("closes an idle keep-alive connection", async () => {
    setUp(0);
    const c = client();
    c.get("/now");
    await c.until("the response", () => c.received.endsWith("now\n"));
    const result = await new GracefulShutdown(reactor, { grace: 5 }).addPort(port).addFactory(site).drain();
    expect(result).to.deep.equal({ inFlight: 0, idleClosed: 1, aborted: 0 });
    await c.waitClosed();
  });

  it("lets a response in flight finish, tells its client Connection: close, then closes", async () => {
    setUp(0.2);
    const c = client();
    c.get("/later");
    await c.until("the request to be rendered", () => root.rendered.length === 1);
    const shutdown = new GracefulShutdown(reactor, { grace: 5 }).addPort(port).addFactory(site);
    expect(shutdown.openConnections()).to.equal(1);
    const result = await shutdown.drain();
    expect(result).to.deep.equal({ inFlight: 1, idleClosed: 0, aborted: 0 });
    expect(c.received).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.received).to.match(/\r\nconnection: close\r\n/i);
    expect(c.received.endsWith("\r\n\r\ndone\n")).to.equal(true);
    await c.waitClosed();
    expect(root.lost).to.deep.equal([]);
    expect(shutdown.openConnections()).to.equal(0);
    expect(logs.messages()).to.include("Shutting down: waiting up to 5 s for 1 response(s) in flight");
  });

  it("aborts what is still open after the grace period, and the request hears of it", async () => {
    setUp(0);
    const c = client();
    c.get("/never");
    await c.until("the request to be rendered", () => root.rendered.length === 1);
    const result = await new GracefulShutdown(reactor, { grace: 0.1 }).addPort(port).addFactory(site).drain();
    expect(result).to.deep.equal({ inFlight: 1, idleClosed: 0, aborted: 1 });
    await c.waitClosed();
    expect(c.received).to.equal("");
    expect(root.lost).to.deep.equal(["/never"]);
    expect(logs.messages()).to.include("Shutting down: aborted 1 connection(s) still open after the grace period of 0.1 s");
  });

  it("stopService() fires when the drain is done, and leaves drain()'s result for later callers", async () => {
    setUp(0);
    const shutdown = new GracefulShutdown(reactor).addPort(port).addFactory(site);
    shutdown.startService();
    expect(await shutdown.stopService()).to.equal(undefined);
    expect(shutdown.running).to.equal(false);
    expect(await shutdown.drain()).to.deep.equal({ inFlight: 0, idleClosed: 0, aborted: 0 });
  });

  it("drain() twice returns the same Deferred", () => {
    setUp(0);
    const shutdown = new GracefulShutdown(reactor).addPort(port).addFactory(site);
    expect(shutdown.drain()).to.equal(shutdown.drain());
  });

  it("stops the reactor's thread pool after the connections", async () => {
    setUp(0);
    const pool = reactor.getThreadPool();
    expect(pool.started).to.equal(true);
    await new GracefulShutdown(reactor).addPort(port).addFactory(site).drain();
    expect(pool.joined).to.equal(true);
  });

  it("install(): the reactor's shutdown waits for the drain before closing connections", async () => {
    setUp(0.2);
    new GracefulShutdown(reactor, { grace: 5 }).addPort(port).addFactory(site).install();
    const c = await stopWhileRendering();
    expect(c.received.endsWith("done\n")).to.equal(true);
    expect(root.lost).to.deep.equal([]);
  });

  it("uninstall(): the shutdown no longer waits, and connections are cut", async () => {
    setUp(0.2);
    const shutdown = new GracefulShutdown(reactor, { grace: 5 }).addPort(port).addFactory(site).install();
    shutdown.uninstall();
    const c = await stopWhileRendering();
    await c.waitClosed();
    expect(c.received).to.equal("");
    expect(root.lost).to.deep.equal(["/later"]);
  });

  it("as a service: the first child of an Application started with the reactor; the shutdown waits for its drain after the port has stopped", async () => {
    setUp(0.2);
    const app = new Application("web");
    const shutdown = new GracefulShutdown(reactor, { grace: 5 }).addFactory(site);
    shutdown.setServiceParent(app);
    // The port's own service, last: stopped first, before the drain begins.
    const listening = new StreamServerEndpointService({ listen: () => succeed(port) }, site);
    listening.setServiceParent(app);
    startApplication(app, reactor);
    const c = await stopWhileRendering();
    expect(c.received.endsWith("done\n")).to.equal(true);
    expect(root.lost).to.deep.equal([]);
    expect([shutdown.running, listening.running, app.running]).to.deep.equal([false, false, false]);
    expect(logs.messages()).to.include("Shutting down: waiting up to 5 s for 1 response(s) in flight");
  });

  it("refuses a negative grace", () => {
    expect(() => new GracefulShutdown(new NodeReactor(), { grace: -1 })).to.throw(RangeError, "grace");
  });
});
