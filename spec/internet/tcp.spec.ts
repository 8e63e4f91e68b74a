// Tests of lib/internet/tcp.ts (Port, Connector, Server/Client transports) on 127.0.0.1.
// Ports of twisted/test/test_tcp.py and twisted/internet/test/test_tcp.py where they apply.

import { expect } from "chai";
import * as net from "node:net";
import {
  CannotListenError,
  ConnectionDone,
  ConnectionRefusedError,
  NotConnectingError,
  TimeoutError,
  UserError,
} from "../../lib/internet/error.js";
import type { IAddress, IConnector, IProtocol, IProtocolFactory } from "../../lib/internet/interfaces.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { Clock } from "../../lib/internet/task.js";
import { Connector, Port } from "../../lib/internet/tcp.js";
import { ClientFactory, loopback, Recorder, ServerFactory } from "../support/loopback.js";
import { later, within } from "../support/wait.js";

describe("tcp", function () {
  const lo = loopback();

  /** A port number that nothing listens on (bound then released). */
  async function freePort(): Promise<number> {
    const s = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
  }

  describe("ListeningTests", () => {
    it("test_listen: listenTCP binds at once, port 0 picks a free port, and clients can connect", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const host = port.getHost();
      expect(host.type).to.equal("TCP");
      expect(host.host).to.equal("127.0.0.1");
      expect(host.port).to.be.greaterThan(0);
      expect(f.started).to.equal(1);
      const s = net.connect(host.port, "127.0.0.1");
      await within(f.built.promise, 2, "buildProtocol");
      s.destroy();
    });

    it("testStopListening: stopListening frees the port, calls doStop, and fires its Deferred", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const n = port.getHost().port;
      lo.ports.pop();
      await within(port.stopListening(), 2, "stopListening");
      expect(f.stopped).to.equal(1);
      const again = lo.listenTCP(new ServerFactory(), n);
      expect(again.getHost().port).to.equal(n);
      // a second stopListening on a stopped port is harmless
      await within(port.stopListening(), 2, "second stopListening");
      expect(f.stopped).to.equal(1);
    });

    it("testPortRepr: a port's string names its factory and port number", () => {
      const port = lo.listenTCP(new ServerFactory());
      expect(String(port)).to.equal(`<ServerFactory on ${port.getHost().port}>`);
    });

    it("test_restartListening: a port stopped can be started again", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      await within(port.stopListening(), 2, "stopListening");
      port.startListening();
      expect(f.started).to.equal(2);
      const s = net.connect(port.getHost().port, "127.0.0.1");
      await within(f.built.promise, 2, "buildProtocol");
      s.destroy();
    });

    it("connections already accepted stay open after stopListening", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const s = net.connect(port.getHost().port, "127.0.0.1");
      const server = await within(f.built.promise, 2, "buildProtocol");
      lo.ports.pop();
      await within(port.stopListening(), 2, "stopListening");
      s.write("still here");
      await within(server.receivedAtLeast(10), 2, "data");
      expect(server.reasons).to.have.length(0);
      s.destroy();
    });

    it("whenListening() fires with the port once bound", async () => {
      const port = lo.listenTCP(new ServerFactory());
      expect(await within(port.whenListening(), 2, "whenListening")).to.equal(port);
    });
  });

  describe("CannotBindTests", () => {
    it("test_cannotBind: listening on a port in use raises CannotListenError at once", () => {
      const port = lo.listenTCP(new ServerFactory());
      const n = port.getHost().port;
      const f = new ServerFactory();
      let err: unknown;
      try {
        lo.reactor.listenTCP(n, f, { interface: "127.0.0.1" });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(CannotListenError);
      const cle = err as CannotListenError;
      expect(cle.port).to.equal(n);
      expect(cle.iface).to.equal("127.0.0.1");
      expect((cle.socketError as NodeJS.ErrnoException).code).to.equal("EADDRINUSE");
      expect(f.started).to.equal(0);
    });

    it("test_clientBind: bindAddress sets the client's local address and port", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const local = await freePort();
      const cf = new ClientFactory();
      lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf, { bindAddress: { host: "127.0.0.1", port: local } });
      const client = await within(cf.built.promise, 2, "the client protocol");
      await within(client.made.promise, 2, "connectionMade");
      expect(client.transport.getHost()).to.deep.equal({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: local });
      await within(f.built.promise, 2, "the server protocol");
      expect(f.addrs[0]).to.deep.equal({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: local });
      client.transport.loseConnection();
      await within(cf.lostConn.promise, 2, "clientConnectionLost");
    });
  });

  describe("FactoryTests", () => {
    it("test_serverStartStop: doStart and doStop are called once per port", async () => {
      const f = new ServerFactory();
      const p1 = lo.listenTCP(f);
      const p2 = lo.listenTCP(f);
      expect([f.started, f.stopped]).to.deep.equal([2, 0]);
      lo.ports.length = 0;
      await p1.stopListening();
      await p2.stopListening();
      expect([f.started, f.stopped]).to.deep.equal([2, 2]);
    });

    it("test_clientStartStop: the client factory sees doStart, startedConnecting, buildProtocol, clientConnectionLost, doStop", async () => {
      const port = lo.listenTCP(new ServerFactory());
      const cf = new ClientFactory();
      lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      const client = await within(cf.built.promise, 2, "the client protocol");
      await within(client.made.promise, 2, "connectionMade");
      client.transport.loseConnection();
      const reason = await within(cf.lostConn.promise, 2, "clientConnectionLost");
      expect(reason.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "buildProtocol", "clientConnectionLost", "doStop"]);
    });
  });

  describe("LoopbackTests", () => {
    it("test_tcpNoDelay / test_tcpKeepAlive: TCP_NODELAY and SO_KEEPALIVE can be read and set", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const s = net.connect(port.getHost().port, "127.0.0.1");
      const server = await within(f.built.promise, 2, "buildProtocol");
      const t = server.transport;
      expect(t.getTcpNoDelay()).to.equal(false);
      t.setTcpNoDelay(true);
      expect(t.getTcpNoDelay()).to.equal(true);
      expect(t.getTcpKeepAlive()).to.equal(false);
      t.setTcpKeepAlive(true);
      expect(t.getTcpKeepAlive()).to.equal(true);
      t.setTcpKeepAlive(false);
      expect(t.getTcpKeepAlive()).to.equal(false);
      s.destroy();
    });

    it("testFailing / test_connectionRefusedErrorNumber: a refused connection fails with ConnectionRefusedError", async () => {
      const cf = new ClientFactory();
      lo.reactor.connectTCP("127.0.0.1", await freePort(), cf);
      const reason = await within(cf.failed.promise, 2, "clientConnectionFailed");
      expect(reason.check(ConnectionRefusedError)).to.equal(ConnectionRefusedError);
      expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "clientConnectionFailed", "doStop"]);
    });

    it("test_closePortInProtocolFactory: a factory may stop the port from buildProtocol", async () => {
      const f = new ServerFactory();
      let port!: Port;
      const stopped = later();
      const orig = f.buildProtocol.bind(f);
      f.buildProtocol = (addr) => {
        void port.stopListening().then(() => stopped.resolve());
        return orig(addr);
      };
      port = lo.reactor.listenTCP(0, f, { interface: "127.0.0.1" });
      const s = net.connect(port.getHost().port, "127.0.0.1");
      await within(stopped.promise, 2, "the port to stop");
      const server = await f.built.promise;
      s.write("hi");
      await within(server.receivedAtLeast(2), 2, "data");
      s.destroy();
    });

    it("a connection timeout fails with TimeoutError", async () => {
      const port = lo.listenTCP(new ServerFactory());
      const clock = new Clock();
      const cf = new ClientFactory();
      const c = new Connector("127.0.0.1", port.getHost().port, cf, { timeout: 5 }, clock);
      c.connect();
      clock.advance(5); // before the connection can complete: time is up
      const reason = await within(cf.failed.promise, 2, "clientConnectionFailed");
      expect(reason.check(TimeoutError)).to.equal(TimeoutError);
      expect(c.state).to.equal("disconnected");
      expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "clientConnectionFailed", "doStop"]);
    });

    it("stopConnecting() fails the attempt with UserError; it raises NotConnectingError when not connecting", async () => {
      const port = lo.listenTCP(new ServerFactory());
      const cf = new ClientFactory();
      const c = lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      c.stopConnecting();
      const reason = await within(cf.failed.promise, 2, "clientConnectionFailed");
      expect(reason.check(UserError)).to.equal(UserError);
      expect(() => c.stopConnecting()).to.throw(NotConnectingError);
      expect(cf.events).to.not.include("buildProtocol");
    });

    it("disconnect() on a connected connector closes the connection; getDestination() names the server", async () => {
      const port = lo.listenTCP(new ServerFactory());
      const cf = new ClientFactory();
      const c = lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      expect(c.getDestination()).to.deep.equal({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: port.getHost().port });
      const client = await within(cf.built.promise, 2, "the client protocol");
      await within(client.made.promise, 2, "connectionMade");
      c.disconnect();
      expect((await within(cf.lostConn.promise, 2, "clientConnectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("a factory can reconnect from clientConnectionLost (connector.connect())", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const cf = new ClientFactory();
      let connections = 0;
      const second = later();
      cf.buildProtocol = function (this: ClientFactory) {
        this.events.push("buildProtocol");
        connections++;
        const p = new Recorder();
        p.connectionMade = () => {
          if (connections === 1) p.transport.loseConnection();
          else second.resolve();
        };
        return p;
      };
      cf.clientConnectionLost = function (this: ClientFactory, connector: IConnector) {
        this.events.push("clientConnectionLost");
        if (connections === 1) connector.connect();
      };
      const c = lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      await within(second.promise, 2, "the second connection");
      expect(cf.events.filter((e) => e === "doStart")).to.have.length(1);
      expect(cf.events).to.not.include("doStop");
      c.disconnect();
    });
  });

  describe("LocalRemoteAddressTests", () => {
    it("test_hostAddress: getHost and getPeer give IPv4Addresses on both sides", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const cf = new ClientFactory();
      lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      const client = await within(cf.built.promise, 2, "the client protocol");
      const server = await within(f.built.promise, 2, "the server protocol");
      await within(client.made.promise, 2, "connectionMade");
      expect(server.transport.getHost()).to.deep.equal(port.getHost());
      expect(client.transport.getPeer()).to.deep.equal(port.getHost());
      expect(server.transport.getPeer()).to.deep.equal(client.transport.getHost());
      expect(f.addrs[0]).to.deep.equal(client.transport.getHost());
      client.transport.loseConnection();
      await within(server.lost.promise, 2, "connectionLost");
    });
  });

  describe("WriteDataTests", () => {
    it("test_writer: write and writeSequence from the server reach the client in order", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const cf = new ClientFactory();
      lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      const server = await within(f.built.promise, 2, "the server protocol");
      await within(server.made.promise, 2, "connectionMade");
      server.transport.write(Buffer.from("Hello Cleveland!\n"));
      server.transport.writeSequence([Buffer.from("Goodbye"), Buffer.from(" cruel"), Buffer.from(" world\n")]);
      server.transport.loseConnection();
      const client = await cf.built.promise;
      await within(cf.lostConn.promise, 2, "clientConnectionLost");
      expect(client.received.toString()).to.equal("Hello Cleveland!\nGoodbye cruel world\n");
    });
  });

  describe("AddressTests", () => {
    it("buildProtocol returning null refuses the connection; a throwing buildProtocol is logged", async () => {
      const logs = captureLogEvents();
      try {
        let calls = 0;
        const f: IProtocolFactory = {
          buildProtocol: () => {
            calls++;
            if (calls === 1) return null;
            throw new Error("boom in buildProtocol");
          },
          doStart() {},
          doStop() {},
        };
        const port = lo.listenTCP(f);
        for (let i = 0; i < 2; i++) {
          const s = net.connect(port.getHost().port, "127.0.0.1");
          s.on("error", () => {});
          await within(new Promise<void>((r) => s.on("close", () => r())), 2, "the server to close the connection");
        }
        expect(calls).to.equal(2);
        expect(logs.failures().map((x) => x.getErrorMessage())).to.deep.equal(["boom in buildProtocol"]);
      } finally {
        logs.stop();
      }
    });

    it("test_buildProtocolClient: the client factory's buildProtocol gets the server's address", async () => {
      const port = lo.listenTCP(new ServerFactory());
      const seen = later<IAddress>();
      const cf = new ClientFactory();
      const orig = cf.buildProtocol.bind(cf);
      cf.buildProtocol = (addr) => {
        seen.resolve(addr);
        return orig(addr);
      };
      lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      expect(await within(seen.promise, 2, "buildProtocol")).to.deep.equal(port.getHost());
      const client = await cf.built.promise;
      await within(client.made.promise, 2, "connectionMade");
      client.transport.loseConnection();
      await within(cf.lostConn.promise, 2, "clientConnectionLost");
    });
  });

  describe("edge cases", () => {
    it("a client factory whose buildProtocol returns null gets the connection closed (clientConnectionLost)", async () => {
      const port = lo.listenTCP(new ServerFactory());
      const cf = new ClientFactory();
      cf.buildProtocol = function (this: ClientFactory) {
        this.events.push("buildProtocol");
        return null as unknown as IProtocol;
      };
      lo.reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
      const reason = await within(cf.lostConn.promise, 2, "clientConnectionLost");
      expect(reason.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(cf.events).to.deep.equal(["doStart", "startedConnecting", "buildProtocol", "clientConnectionLost", "doStop"]);
    });

    it("an interface given by name binds asynchronously; whenListening() fires once bound", async () => {
      const f = new ServerFactory();
      const port = lo.reactor.listenTCP(0, f, { interface: "localhost" });
      lo.ports.push(port);
      await within(port.whenListening(), 2, "whenListening");
      expect(port.getHost().port).to.be.greaterThan(0);
    });

    it("an asynchronous bind failure errbacks whenListening() with CannotListenError", async () => {
      // the port is taken on both loopback addresses, so "localhost" is busy whichever it names
      const v4 = net.createServer();
      await new Promise<void>((r) => v4.listen(0, "127.0.0.1", () => r()));
      const busy = (v4.address() as net.AddressInfo).port;
      const v6 = net.createServer();
      await new Promise<void>((r) => v6.once("error", () => r()).listen(busy, "::1", () => r()));
      const f = new ServerFactory();
      try {
        const port = lo.reactor.listenTCP(busy, f, { interface: "localhost" });
        const err = await within(
          port.whenListening().then(
            () => null,
            (e: unknown) => e,
          ),
          2,
          "whenListening",
        );
        expect(err).to.be.instanceOf(CannotListenError);
        expect(f.stopped).to.equal(f.started);
      } finally {
        v4.close();
        v6.close();
      }
    });
  });

  describe("counters", () => {
    it("a port counts its open connections", async () => {
      const f = new ServerFactory();
      const port = lo.listenTCP(f);
      const s = net.connect(port.getHost().port, "127.0.0.1");
      const server = await within(f.built.promise, 2, "buildProtocol");
      expect(port.connectionCount).to.equal(1);
      expect(port.sessionno).to.equal(1);
      s.end();
      await within(server.lost.promise, 2, "connectionLost");
      expect(port.connectionCount).to.equal(0);
    });
  });
});
