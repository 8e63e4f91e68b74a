// Tests of lib/internet/unix.ts on UNIX sockets in a temporary directory. Ports of
// twisted/test/test_unix.py (UnixSocketTests) and twisted/internet/test/test_unix.py where they apply.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  BadFileError,
  CannotListenError,
  ConnectError,
  ConnectionDone,
  ConnectionLost,
} from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { Bytes, IAddress, IClientFactory, IConnector, IProtocol, IProtocolFactory, ITransport } from "../../lib/internet/interfaces.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { FilesystemLock, isLocked, type Port } from "../../lib/internet/unix.js";

function within<T>(p: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    Promise.resolve(p).then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

function later<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

class Recorder implements IProtocol {
  transport!: ITransport;
  data = "";
  readonly made = later();
  readonly lost = later<Failure>();
  private waiter: { n: number; resolve: () => void } | null = null;
  makeConnection(t: ITransport): void {
    this.transport = t;
    this.connectionMade();
  }
  connectionMade(): void {
    this.made.resolve();
  }
  dataReceived(d: Bytes): void {
    this.data += Buffer.from(d).toString();
    if (this.waiter && this.data.length >= this.waiter.n) this.waiter.resolve();
  }
  connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
  receivedAtLeast(n: number): Promise<void> {
    if (this.data.length >= n) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { n, resolve }));
  }
}

class ServerFactory implements IProtocolFactory {
  started = 0;
  stopped = 0;
  addrs: IAddress[] = [];
  readonly built = later<Recorder>();
  buildProtocol(addr: IAddress): IProtocol {
    this.addrs.push(addr);
    const p = new Recorder();
    p.dataReceived = function (this: Recorder, d: Bytes) {
      Recorder.prototype.dataReceived.call(this, d);
      this.transport.write(d); // echo
    };
    this.built.resolve(p);
    return p;
  }
  doStart(): void {
    this.started++;
  }
  doStop(): void {
    this.stopped++;
  }
}

class ClientFactory implements IClientFactory {
  events: string[] = [];
  readonly built = later<Recorder>();
  readonly failed = later<Failure>();
  readonly lostConn = later<Failure>();
  buildProtocol(): IProtocol {
    this.events.push("buildProtocol");
    const p = new Recorder();
    this.built.resolve(p);
    return p;
  }
  doStart(): void {
    this.events.push("doStart");
  }
  doStop(): void {
    this.events.push("doStop");
  }
  startedConnecting(_c: IConnector): void {
    this.events.push("startedConnecting");
  }
  clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.events.push("clientConnectionFailed");
    this.failed.resolve(reason);
  }
  clientConnectionLost(_c: IConnector, reason: Failure): void {
    this.events.push("clientConnectionLost");
    this.lostConn.resolve(reason);
  }
}

/** The PID of a process that has exited (so a lock naming it is stale). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(r.stdout.toString());
}

describe("UnixSocketTests", () => {
  let dir: string;
  let reactor: NodeReactor;
  let ports: Port[];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-unix-"));
    reactor = new NodeReactor();
    ports = [];
  });

  afterEach(async () => {
    for (const p of ports) await within(p.stopListening(), 2000, "port to close");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function listen(f: IProtocolFactory, name = "sock", options = {}): Port {
    const p = reactor.listenUNIX(path.join(dir, name), f, options);
    ports.push(p);
    return p;
  }

  it("test_dumber / test_addresses: a client connects, data is echoed, and addresses are UNIXAddresses", async () => {
    const f = new ServerFactory();
    const port = listen(f);
    const address = path.join(dir, "sock");
    expect(port.getHost()).to.deep.equal({ type: "UNIX", name: address });
    const cf = new ClientFactory();
    const c = reactor.connectUNIX(address, cf);
    expect(c.getDestination()).to.deep.equal({ type: "UNIX", name: address });
    const client = await within(cf.built.promise, 2000, "the client protocol");
    await within(client.made.promise, 2000, "connectionMade");
    const server = await within(f.built.promise, 2000, "the server protocol");
    expect(server.transport.getHost()).to.deep.equal({ type: "UNIX", name: address });
    expect(client.transport.getPeer()).to.deep.equal({ type: "UNIX", name: address });
    expect(f.addrs[0]).to.deep.equal({ type: "UNIX", name: null });
    client.transport.write(Buffer.from("hello unix"));
    await within(client.receivedAtLeast(10), 2000, "the echo");
    expect(client.data).to.equal("hello unix");
    client.transport.loseConnection();
    expect((await within(cf.lostConn.promise, 2000, "clientConnectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    expect((await within(server.lost.promise, 2000, "server connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "buildProtocol", "clientConnectionLost", "doStop"]);
  });

  it("test_mode: the socket file gets the mode asked for", () => {
    const port = listen(new ServerFactory(), "sock", { mode: 0o600 });
    const st = fs.statSync((port.getHost() as { name: string }).name);
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o600);
  });

  it("stopListening removes the socket file and calls doStop", async () => {
    const f = new ServerFactory();
    const port = listen(f);
    ports = [];
    await within(port.stopListening(), 2000, "stopListening");
    expect(fs.existsSync(path.join(dir, "sock"))).to.equal(false);
    expect([f.started, f.stopped]).to.deep.equal([1, 1]);
  });

  it("listening on a path in use raises CannotListenError", () => {
    listen(new ServerFactory());
    expect(() => reactor.listenUNIX(path.join(dir, "sock"), new ServerFactory())).to.throw(CannotListenError);
  });

  it("test_pidFile / test_socketLocking: with wantPID a lock file holds our PID, and a live lock refuses a second server", async () => {
    const address = path.join(dir, "sock");
    const port = listen(new ServerFactory(), "sock", { wantPID: true });
    expect(fs.readlinkSync(`${address}.lock`)).to.equal(String(process.pid));
    expect(isLocked(`${address}.lock`)).to.equal(true);
    expect(() => reactor.listenUNIX(address, new ServerFactory(), { wantPID: true })).to.throw(CannotListenError, /lock/);
    ports = [];
    await within(port.stopListening(), 2000, "stopListening");
    expect(fs.existsSync(`${address}.lock`)).to.equal(false);
  });

  it("test_uncleanServerSocketLocking: wantPID removes a stale socket file left by a dead server", async () => {
    const address = path.join(dir, "sock");
    // a dead server's leftovers: its socket file and its lock
    const stale = net.createServer().listen(address);
    await new Promise((r) => stale.once("listening", r));
    fs.symlinkSync(String(deadPid()), `${address}.lock`);
    const copy = path.join(dir, "kept");
    fs.renameSync(address, copy);
    await new Promise((r) => stale.close(r));
    fs.renameSync(copy, address); // the socket file exists, nobody listens on it
    expect(() => reactor.listenUNIX(address, new ServerFactory())).to.throw(CannotListenError);
    const f = new ServerFactory();
    listen(f, "sock", { wantPID: true });
    const cf = new ClientFactory();
    reactor.connectUNIX(address, cf);
    await within(f.built.promise, 2000, "a connection to the new server");
    (await cf.built.promise).transport.loseConnection();
    await within(cf.lostConn.promise, 2000, "clientConnectionLost");
  });

  it("test_listenOnLinuxAbstractNamespace: a name starting with NUL is an abstract socket, with no file", async function () {
    if (process.platform !== "linux") this.skip();
    const name = `\0torsion-test-${process.pid}-${Date.now()}`;
    const f = new ServerFactory();
    const port = reactor.listenUNIX(name, f);
    ports.push(port);
    expect(port.getHost()).to.deep.equal({ type: "UNIX", name });
    const cf = new ClientFactory();
    reactor.connectUNIX(name, cf);
    const client = await within(cf.built.promise, 2000, "the client protocol");
    await within(client.made.promise, 2000, "connectionMade");
    client.transport.loseConnection();
    await within(cf.lostConn.promise, 2000, "clientConnectionLost");
  });

  it("connecting to a path nobody listens on fails with ConnectError", async () => {
    const cf = new ClientFactory();
    reactor.connectUNIX(path.join(dir, "nothing"), cf);
    const reason = await within(cf.failed.promise, 2000, "clientConnectionFailed");
    expect(reason.check(ConnectError)).to.equal(ConnectError);
    expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "clientConnectionFailed", "doStop"]);
  });

  it("test_connectToUncleanServer: checkPID without a live lock fails with BadFileError", async () => {
    listen(new ServerFactory());
    const cf = new ClientFactory();
    reactor.connectUNIX(path.join(dir, "sock"), cf, { checkPID: true });
    const reason = await within(cf.failed.promise, 2000, "clientConnectionFailed");
    expect(reason.check(BadFileError)).to.equal(BadFileError);
  });

  it("a reset by the peer gives ConnectionLost", async () => {
    const f = new ServerFactory();
    listen(f);
    const s = net.connect(path.join(dir, "sock"));
    s.on("error", () => {});
    const server = await within(f.built.promise, 2000, "the server protocol");
    await within(server.made.promise, 2000, "connectionMade");
    s.write("x");
    await within(server.receivedAtLeast(1), 2000, "data");
    s.destroy(); // unread echo in its buffer: the kernel resets the connection
    const reason = await within(server.lost.promise, 2000, "connectionLost");
    expect(reason.check(ConnectionLost, ConnectionDone)).to.not.equal(null);
  });
});

describe("FilesystemLock", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-lock-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("lock/unlock: a lock is taken once, cleanly, and released", () => {
    const name = path.join(dir, "lock");
    const a = new FilesystemLock(name);
    expect(a.lock()).to.equal(true);
    expect(a.clean).to.equal(true);
    expect(new FilesystemLock(name).lock()).to.equal(false);
    a.unlock();
    expect(isLocked(name)).to.equal(false);
  });

  it("a stale lock (dead PID) is taken over and reported unclean", () => {
    const name = path.join(dir, "lock");
    fs.symlinkSync(String(deadPid()), name);
    expect(isLocked(name)).to.equal(false);
    const lock = new FilesystemLock(name);
    expect(lock.lock()).to.equal(true);
    expect(lock.clean).to.equal(false);
    lock.unlock();
  });
});
