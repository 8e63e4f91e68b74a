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
import type { Bytes, IProtocolFactory } from "../../lib/internet/interfaces.js";
import { FilesystemLock, isLocked, type Port } from "../../lib/internet/unix.js";
import { ClientFactory, loopback, Recorder, ServerFactory } from "../support/loopback.js";
import { within } from "../support/wait.js";

/** Echoes what it receives. */
class Echo extends Recorder {
  override dataReceived(data: Bytes): void {
    super.dataReceived(data);
    this.transport.write(data);
  }
}

/** The servers of these specs: recording factories of echoing protocols. */
function echoServer(): ServerFactory<Echo> {
  return new ServerFactory(() => new Echo());
}

/** The PID of a process that has exited (so a lock naming it is stale). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(r.stdout.toString());
}

describe("UnixSocketTests", () => {
  const lo = loopback();
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "torsion-unix-"));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function listen(f: IProtocolFactory, name = "sock", options = {}): Port {
    const p = lo.reactor.listenUNIX(path.join(dir, name), f, options);
    lo.ports.push(p);
    return p;
  }

  it("test_dumber / test_addresses: a client connects, data is echoed, and addresses are UNIXAddresses", async () => {
    const f = echoServer();
    const port = listen(f);
    const address = path.join(dir, "sock");
    expect(port.getHost()).to.deep.equal({ type: "UNIX", name: address });
    const cf = new ClientFactory();
    const c = lo.reactor.connectUNIX(address, cf);
    expect(c.getDestination()).to.deep.equal({ type: "UNIX", name: address });
    const client = await within(cf.built.promise, 2, "the client protocol");
    await within(client.made.promise, 2, "connectionMade");
    const server = await within(f.built.promise, 2, "the server protocol");
    expect(server.transport.getHost()).to.deep.equal({ type: "UNIX", name: address });
    expect(client.transport.getPeer()).to.deep.equal({ type: "UNIX", name: address });
    expect(f.addrs[0]).to.deep.equal({ type: "UNIX", name: null });
    client.transport.write(Buffer.from("hello unix"));
    await within(client.receivedAtLeast(10), 2, "the echo");
    expect(client.received.toString()).to.equal("hello unix");
    client.transport.loseConnection();
    expect((await within(cf.lostConn.promise, 2, "clientConnectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    expect((await within(server.lost.promise, 2, "server connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "buildProtocol", "clientConnectionLost", "doStop"]);
  });

  it("test_mode: the socket file gets the mode asked for", () => {
    const port = listen(echoServer(), "sock", { mode: 0o600 });
    const st = fs.statSync((port.getHost() as { name: string }).name);
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o600);
  });

  it("stopListening removes the socket file and calls doStop", async () => {
    const f = echoServer();
    const port = listen(f);
    lo.ports.length = 0;
    await within(port.stopListening(), 2, "stopListening");
    expect(fs.existsSync(path.join(dir, "sock"))).to.equal(false);
    expect([f.started, f.stopped]).to.deep.equal([1, 1]);
  });

  it("listening on a path in use raises CannotListenError", () => {
    listen(echoServer());
    expect(() => lo.reactor.listenUNIX(path.join(dir, "sock"), echoServer())).to.throw(CannotListenError);
  });

  it("test_pidFile / test_socketLocking: with wantPID a lock file holds our PID, and a live lock refuses a second server", async () => {
    const address = path.join(dir, "sock");
    const port = listen(echoServer(), "sock", { wantPID: true });
    expect(fs.readlinkSync(`${address}.lock`)).to.equal(String(process.pid));
    expect(isLocked(`${address}.lock`)).to.equal(true);
    expect(() => lo.reactor.listenUNIX(address, echoServer(), { wantPID: true })).to.throw(CannotListenError, /lock/);
    lo.ports.length = 0;
    await within(port.stopListening(), 2, "stopListening");
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
    expect(() => lo.reactor.listenUNIX(address, echoServer())).to.throw(CannotListenError);
    const f = echoServer();
    listen(f, "sock", { wantPID: true });
    const cf = new ClientFactory();
    lo.reactor.connectUNIX(address, cf);
    await within(f.built.promise, 2, "a connection to the new server");
    (await cf.built.promise).transport.loseConnection();
    await within(cf.lostConn.promise, 2, "clientConnectionLost");
  });

  it("test_listenOnLinuxAbstractNamespace: a name starting with NUL is an abstract socket, with no file", async function () {
    if (process.platform !== "linux") this.skip();
    const name = `\0torsion-test-${process.pid}-${Date.now()}`;
    const f = echoServer();
    const port = lo.reactor.listenUNIX(name, f);
    lo.ports.push(port);
    expect(port.getHost()).to.deep.equal({ type: "UNIX", name });
    const cf = new ClientFactory();
    lo.reactor.connectUNIX(name, cf);
    const client = await within(cf.built.promise, 2, "the client protocol");
    await within(client.made.promise, 2, "connectionMade");
    client.transport.loseConnection();
    await within(cf.lostConn.promise, 2, "clientConnectionLost");
  });

  it("connecting to a path nobody listens on fails with ConnectError", async () => {
    const cf = new ClientFactory();
    lo.reactor.connectUNIX(path.join(dir, "nothing"), cf);
    const reason = await within(cf.failed.promise, 2, "clientConnectionFailed");
    expect(reason.check(ConnectError)).to.equal(ConnectError);
    expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "clientConnectionFailed", "doStop"]);
  });

  it("test_connectToUncleanServer: checkPID without a live lock fails with BadFileError", async () => {
    listen(echoServer());
    const cf = new ClientFactory();
    lo.reactor.connectUNIX(path.join(dir, "sock"), cf, { checkPID: true });
    const reason = await within(cf.failed.promise, 2, "clientConnectionFailed");
    expect(reason.check(BadFileError)).to.equal(BadFileError);
  });

  it("a reset by the peer gives ConnectionLost", async () => {
    const f = echoServer();
    listen(f);
    const s = net.connect(path.join(dir, "sock"));
    s.on("error", () => {});
    const server = await within(f.built.promise, 2, "the server protocol");
    await within(server.made.promise, 2, "connectionMade");
    s.write("x");
    await within(server.receivedAtLeast(1), 2, "data");
    s.destroy(); // unread echo in its buffer: the kernel resets the connection
    const reason = await within(server.lost.promise, 2, "connectionLost");
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
