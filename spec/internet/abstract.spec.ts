// Tests of lib/internet/abstract.ts (FileDescriptor: the consumer/producer logic of stream
// transports) on real loopback TCP connections. Ports of twisted/test/test_internet.py
// (ProducerTests), twisted/test/test_tcp.py and twisted/internet/test/test_tcp.py where they apply.

import { expect } from "chai";
import * as net from "node:net";
import { FileDescriptor, TransportCounters } from "../../lib/internet/abstract.js";
import type { Server } from "../../lib/internet/tcp.js";
import { ConnectionAborted, ConnectionDone, ConnectionLost } from "../../lib/internet/error.js";
import type { Bytes, IProtocol, IPullProducer, IPushProducer, ITCPTransport } from "../../lib/internet/interfaces.js";
import { captureLogEvents } from "../../lib/internet/log.js";
import { ClientFactory, loopback, pushToSlowReader, Recorder, ServerFactory } from "../support/loopback.js";
import { DummyProducer, PumpingProducer } from "../support/producers.js";
import { later, within } from "../support/wait.js";

describe("abstract.FileDescriptor", function () {
  const lo = loopback();

  /** Listen with `server`, connect a torsion client with `client`; both connected. */
  async function pair<S extends IProtocol, C extends IProtocol>(server: S, client: C): Promise<{ server: S; client: C }> {
    const port = lo.listenTCP(new ServerFactory(() => server));
    const made = later();
    const wrap: IProtocol = {
      makeConnection: (t) => {
        client.makeConnection(t);
        made.resolve();
      },
      connectionMade: () => {},
      dataReceived: (d) => client.dataReceived(d),
      connectionLost: (r) => client.connectionLost(r),
    };
    lo.reactor.connectTCP("127.0.0.1", port.getHost().port, new ClientFactory(() => wrap));
    await within(made.promise, 2, "the client to connect");
    if (server instanceof Recorder) await within(server.made.promise, 2, "the server to accept");
    return { server, client };
  }

  /** Listen with `server`; connect a raw node:net socket (for peers that misbehave on purpose). */
  async function rawPeer<S extends IProtocol>(server: S, opts: { pauseOnConnect?: boolean; allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
    const made = later();
    const port = lo.listenTCP(
      new ServerFactory(() => {
        made.resolve();
        return server;
      }),
    );
    const socket = net.connect({ port: port.getHost().port, host: "127.0.0.1", allowHalfOpen: opts.allowHalfOpen });
    if (opts.pauseOnConnect) socket.pause();
    socket.on("error", () => {});
    lo.sockets.push(socket);
    await within(made.promise, 2, "the server to accept");
    return socket;
  }

  describe("ProducerTests", () => {
    it("test_doubleProducer: a pull producer is resumed on registration, and a second producer is refused", async () => {
      const { server } = await pair(new Recorder(), new Recorder());
      const first = new DummyProducer();
      server.transport.registerProducer(first as IPullProducer, false);
      expect(first.events).to.deep.equal(["resume"]);
      expect(() => server.transport.registerProducer(new DummyProducer(), false)).to.throw(
        Error,
        /never unregistered/,
      );
      server.transport.unregisterProducer();
    });

    it("test_unconnectedFileDescriptor: registering on a closed connection stops the producer at once", async () => {
      const { server } = await pair(new Recorder(), new Recorder());
      server.transport.abortConnection();
      await within(server.lost.promise, 2, "connectionLost");
      const p = new DummyProducer();
      server.transport.registerProducer(p as IPullProducer, false);
      expect(p.events).to.deep.equal(["stop"]);
    });

    for (const method of ["write", "writeSequence"] as const) {
      it(`test_dontPausePullConsumerOn${method === "write" ? "Write" : "WriteSequence"}: a full buffer does not pause a pull producer`, async () => {
        const server = new Recorder();
        const peer = await rawPeer(server, { pauseOnConnect: true });
        const t = server.transport as ITCPTransport & FileDescriptor;
        t.bufferSize = 1;
        const p = new DummyProducer();
        t.registerProducer(p as IPullProducer, false);
        expect(p.events).to.deep.equal(["resume"]);
        p.events.length = 0;
        const big = Buffer.alloc(8 << 20);
        if (method === "write") t.write(big);
        else t.writeSequence([big.subarray(0, 4 << 20), big.subarray(4 << 20)]);
        expect(t.writableLength).to.be.greaterThan(1);
        expect(p.events).to.deep.equal([]);
        t.unregisterProducer();
        peer.destroy();
      });
    }

    for (const method of ["write", "writeSequence"] as const) {
      it(`test_reentrantStreamingProducerUsing${method === "write" ? "Write" : "WriteSequence"}: a producer that writes from resumeProducing is paused again`, async () => {
        const server = new Recorder();
        const peer = await rawPeer(server, { pauseOnConnect: true });
        const t = server.transport as ITCPTransport & FileDescriptor;
        // more than the kernel's loopback buffers hold even while the peer reads
        const big = Buffer.alloc(32 << 20);
        const send = (chunk: Buffer): void => {
          if (method === "write") t.write(chunk);
          else t.writeSequence([chunk.subarray(0, 1000), chunk.subarray(1000)]);
        };
        const events: string[] = [];
        let resumed = later();
        const producer: IPushProducer = {
          pauseProducing: () => events.push("pause"),
          resumeProducing: () => {
            events.push("resume");
            send(big);
            resumed.resolve();
          },
          stopProducing: () => events.push("stop"),
        };
        t.registerProducer(producer, true);
        // fill the buffer: the kernel's socket buffers first, then the transport's
        while (!events.includes("pause")) {
          send(Buffer.alloc(512 << 10));
          await new Promise((r) => setImmediate(r));
        }
        expect(events).to.deep.equal(["pause"]);
        for (let round = 0; round < 2; round++) {
          events.length = 0;
          resumed = later();
          peer.resume(); // drain everything: the producer is resumed, writes, and is paused again
          await within(resumed.promise, 5, "resumeProducing");
          peer.pause();
          expect(events).to.deep.equal(["resume", "pause"]);
        }
        t.unregisterProducer();
      });
    }
  });

  describe("writing", () => {
    it("write() rejects a string with TypeError", async () => {
      const { server } = await pair(new Recorder(), new Recorder());
      expect(() => server.transport.write("text" as unknown as Bytes)).to.throw(TypeError);
      expect(() => server.transport.writeSequence(["a" as unknown as Bytes])).to.throw(TypeError);
    });

    it("writeSequence sends the buffers in order, and zero-length writes are ignored", async () => {
      const { server, client } = await pair(new Recorder(), new Recorder());
      server.transport.write(new Uint8Array(0));
      server.transport.writeSequence([Buffer.from("one "), new Uint8Array(0), Buffer.from("two "), Buffer.from("three")]);
      await within(client.receivedAtLeast(13), 2, "13 bytes");
      expect(client.received.toString()).to.equal("one two three");
    });

    it("write() after loseConnection() is ignored; what came before is delivered, then ConnectionDone", async () => {
      const { server, client } = await pair(new Recorder(), new Recorder());
      server.transport.write(Buffer.from("before"));
      server.transport.loseConnection();
      server.transport.write(Buffer.from("after"));
      const reason = await within(client.lost.promise, 2, "client connectionLost");
      expect(client.received.toString()).to.equal("before");
      expect(reason.check(ConnectionDone)).to.equal(ConnectionDone);
      const serverReason = await within(server.lost.promise, 2, "server connectionLost");
      expect(serverReason.check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("bufferSize is 64 KiB by default and can be set", async () => {
      const { server } = await pair(new Recorder(), new Recorder());
      const t = server.transport as unknown as FileDescriptor;
      expect(t.bufferSize).to.equal(64 * 1024);
      t.bufferSize = 1024;
      expect(t.bufferSize).to.equal(1024);
      expect(() => (t.bufferSize = -1)).to.throw(RangeError);
    });

    it("a streaming producer is paused and resumed with a bufferSize below the socket's high-water mark", async () => {
      const server = new Recorder();
      const peer = await rawPeer(server, { pauseOnConnect: true });
      const t = server.transport as ITCPTransport & FileDescriptor;
      t.bufferSize = 100;
      const p = new DummyProducer();
      t.registerProducer(p, true);
      while (!p.events.includes("pause")) {
        t.write(Buffer.alloc(64 << 10));
        await new Promise((r) => setImmediate(r));
      }
      const resumed = new Promise<void>((resolve) => {
        const orig = p.resumeProducing.bind(p);
        p.resumeProducing = () => {
          orig();
          resolve();
        };
      });
      peer.resume();
      await within(resumed, 5, "resumeProducing");
      expect(p.events).to.deep.equal(["pause", "resume"]);
      t.unregisterProducer();
    });
  });

  describe("flow control with a slow reader", function () {
    this.timeout(20000);

    it("a push producer writing 256 MiB to a slow reader is paused, and the buffer stays within bufferSize plus one chunk", async () => {
      const TOTAL = 256 << 20;
      const CHUNK = 64 << 10;
      const chunk = Buffer.alloc(CHUNK, 0x61);
      const server = new Recorder();
      const peer = await rawPeer(server, { pauseOnConnect: true });
      const t = server.transport;
      const { received, pauses, maxBuffered } = await pushToSlowReader(t, peer, TOTAL, chunk);
      expect(received).to.equal(TOTAL);
      expect(pauses).to.be.greaterThan(0);
      expect(maxBuffered).to.be.at.most(t.bufferSize + CHUNK);
    });

    it("killing the client mid-transfer stops the producer once, then connectionLost(ConnectionLost) once", async () => {
      const server = new Recorder();
      const order: string[] = [];
      const origLost = server.connectionLost.bind(server);
      server.connectionLost = (r) => {
        order.push("connectionLost");
        origLost(r);
      };
      const peer = await rawPeer(server, { pauseOnConnect: true });
      const pump = new PumpingProducer(server.transport, order);
      try {
        await within(pump.pausedOnce.promise, 5, "the producer to be paused");
        peer.resetAndDestroy(); // the client dies: RST
        const reason = await within(server.lost.promise, 5, "connectionLost");
        expect(reason.check(ConnectionLost)).to.equal(ConnectionLost);
        expect(reason.check(ConnectionDone)).to.equal(null);
      } finally {
        pump.end();
      }
      await new Promise((r) => setTimeout(r, 20)); // any second call would have come by now
      expect(order).to.deep.equal(["stopProducing", "connectionLost"]);
      expect(pump.stops).to.equal(1);
      expect(server.reasons).to.have.length(1);
      expect((server.transport as unknown as Server).port.counters.producersStopped).to.equal(1);
    });

    it("a pull producer is asked for one chunk at a time as the buffer drains, and everything arrives", async () => {
      const server = new Recorder();
      const peer = await rawPeer(server, { pauseOnConnect: true });
      const t = server.transport;
      const CHUNKS = 64;
      const chunk = Buffer.alloc(1 << 20, 0x62);
      let asked = 0;
      let maxBuffered = 0;
      const producer: IPullProducer = {
        resumeProducing() {
          asked++;
          if (asked > CHUNKS) {
            t.unregisterProducer();
            t.loseConnection();
            return;
          }
          t.write(chunk);
          maxBuffered = Math.max(maxBuffered, t.writableLength);
        },
        stopProducing() {},
      };
      let received = 0;
      peer.on("data", (d: Buffer) => (received += d.length));
      const ended = new Promise<void>((resolve) => peer.on("end", () => resolve()));
      t.registerProducer(producer, false);
      expect(asked).to.equal(1);
      await new Promise((r) => setTimeout(r, 20));
      expect(asked).to.be.lessThan(CHUNKS); // nobody reads: it is not asked for everything
      peer.resume();
      await within(ended, 10, "all the data");
      expect(received).to.equal(CHUNKS * chunk.length);
      expect(asked).to.equal(CHUNKS + 1);
      expect(maxBuffered).to.be.at.most(chunk.length);
      expect((await within(server.lost.promise, 2, "connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("a transport can be the push producer of another connection (a proxy relays at the slower side's pace)", async () => {
      // inbound: a raw client sending a lot; outbound: a slow raw reader; the server relays
      const inbound = new Recorder();
      const outbound = new Recorder();
      const inPeer = await rawPeer(inbound);
      const outPeer = await rawPeer(outbound, { pauseOnConnect: true });
      inbound.dataReceived = (d: Bytes) => outbound.transport.write(d);
      outbound.transport.registerProducer(inbound.transport, true);
      const TOTAL = 64 << 20;
      let written = 0;
      const block = Buffer.alloc(256 << 10);
      const pump = (): void => {
        while (written < TOTAL) {
          written += block.length;
          if (!inPeer.write(block)) return void inPeer.once("drain", pump);
        }
        inPeer.end();
      };
      pump();
      await new Promise((r) => setTimeout(r, 100));
      expect(written).to.be.lessThan(TOTAL); // the sender was held back by the stalled reader
      expect(outbound.transport.writableLength).to.be.at.most(outbound.transport.bufferSize + (1 << 20));
      let received = 0;
      const all = new Promise<void>((resolve) =>
        outPeer.on("data", (d: Buffer) => {
          received += d.length;
          if (received >= TOTAL) resolve();
        }),
      );
      outPeer.resume();
      await within(all, 10, "the relayed data");
      expect(received).to.equal(TOTAL);
    });

    it("loseConnection() with a registered producer waits for unregisterProducer()", async () => {
      const { server, client } = await pair(new Recorder(), new Recorder());
      const p = new DummyProducer();
      server.transport.registerProducer(p, true);
      server.transport.write(Buffer.from("abc"));
      server.transport.loseConnection();
      server.transport.write(Buffer.from("def")); // the producer's writes still go out
      await within(client.receivedAtLeast(6), 2, "6 bytes");
      await new Promise((r) => setTimeout(r, 30));
      expect(client.reasons).to.have.length(0);
      expect(server.reasons).to.have.length(0);
      server.transport.unregisterProducer();
      const reason = await within(client.lost.promise, 2, "client connectionLost");
      expect(reason.check(ConnectionDone)).to.equal(ConnectionDone);
      expect(client.received.toString()).to.equal("abcdef");
      expect((await server.lost.promise).check(ConnectionDone)).to.equal(ConnectionDone);
      expect(p.events).to.deep.equal([]); // unregistered before the close: not stopped
    });

    it("abortConnection() discards buffered data and gives ConnectionAborted", async () => {
      const server = new Recorder();
      const peer = await rawPeer(server, { pauseOnConnect: true });
      const t = server.transport as ITCPTransport & FileDescriptor;
      const total = 32 << 20;
      t.write(Buffer.alloc(total));
      expect(t.writableLength).to.be.greaterThan(0);
      let received = 0;
      peer.on("data", (d: Buffer) => (received += d.length));
      const closed = new Promise<void>((resolve) => peer.on("close", () => resolve()));
      t.abortConnection();
      t.abortConnection(); // a second abort is a no-op
      const reason = await within(server.lost.promise, 2, "connectionLost");
      expect(reason.check(ConnectionAborted)).to.equal(ConnectionAborted);
      peer.resume();
      await within(closed, 2, "the peer to see the reset");
      expect(received).to.be.lessThan(total);
      expect(server.reasons).to.have.length(1);
    });
  });

  describe("closing", () => {
    it("a clean close by the peer gives ConnectionDone on both sides", async () => {
      const { server, client } = await pair(new Recorder(), new Recorder());
      client.transport.loseConnection();
      expect((await within(server.lost.promise, 2, "server connectionLost")).check(ConnectionDone)).to.equal(
        ConnectionDone,
      );
      expect((await within(client.lost.promise, 2, "client connectionLost")).check(ConnectionDone)).to.equal(
        ConnectionDone,
      );
      expect(server.reasons).to.have.length(1);
      expect(client.reasons).to.have.length(1);
    });

    it("a reset by the peer gives ConnectionLost", async () => {
      const server = new Recorder();
      const peer = await rawPeer(server);
      peer.resetAndDestroy();
      const reason = await within(server.lost.promise, 2, "connectionLost");
      expect(reason.check(ConnectionLost)).to.equal(ConnectionLost);
      expect(reason.check(ConnectionAborted)).to.equal(null);
    });

    it("stopProducing() on the transport closes the connection (as loseConnection)", async () => {
      const { server, client } = await pair(new Recorder(), new Recorder());
      server.transport.write(Buffer.from("x"));
      (server.transport as unknown as FileDescriptor).stopProducing();
      expect((await within(client.lost.promise, 2, "connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
      expect(client.received.toString()).to.equal("x");
    });
  });

  describe("HalfCloseTests", () => {
    class HalfCloser extends Recorder {
      readLost = later();
      writeLost = later();
      readConnectionLost(): void {
        this.readLost.resolve();
      }
      writeConnectionLost(): void {
        this.writeLost.resolve();
      }
    }

    it("testCloseWriteCloser: the peer's FIN gives readConnectionLost and the server can still write", async () => {
      const server = new HalfCloser();
      const peer = await rawPeer(server);
      let got = "";
      peer.on("data", (d: Buffer) => (got += d.toString()));
      const peerClosed = new Promise<void>((resolve) => peer.on("close", () => resolve()));
      peer.end(Buffer.from("request"));
      await within(server.readLost.promise, 2, "readConnectionLost");
      expect(server.received.toString()).to.equal("request");
      expect(server.reasons).to.have.length(0);
      server.transport.write(Buffer.from("response"));
      server.transport.loseConnection();
      await within(peerClosed, 2, "the peer to close");
      expect(got).to.equal("response");
      expect((await server.lost.promise).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("testWriteCloseNotification: loseWriteConnection sends a FIN, tells writeConnectionLost, and reading goes on", async () => {
      const server = new HalfCloser();
      const peer = await rawPeer(server, { allowHalfOpen: true });
      const peerEnded = new Promise<void>((resolve) => peer.on("end", () => resolve()));
      let got = "";
      peer.on("data", (d: Buffer) => (got += d.toString()));
      server.transport.write(Buffer.from("bye"));
      server.transport.loseWriteConnection();
      server.transport.write(Buffer.from("ignored"));
      await within(server.writeLost.promise, 2, "writeConnectionLost");
      await within(peerEnded, 2, "the peer to see the FIN");
      expect(got).to.equal("bye");
      peer.write("still reading");
      await within(server.receivedAtLeast(13), 2, "13 bytes");
      peer.end();
      expect((await within(server.lost.promise, 2, "connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("testNoNotification: a protocol without readConnectionLost gets connectionLost(ConnectionDone) on the peer's FIN", async () => {
      const server = new Recorder();
      const peer = await rawPeer(server);
      peer.end();
      expect((await within(server.lost.promise, 2, "connectionLost")).check(ConnectionDone)).to.equal(ConnectionDone);
    });

    it("test_readNotificationRaises: a readConnectionLost that raises is logged and the connection dropped", async () => {
      const logs = captureLogEvents();
      try {
        const server = new HalfCloser();
        server.readConnectionLost = () => {
          throw new Error("boom in readConnectionLost");
        };
        const peer = await rawPeer(server, { allowHalfOpen: true });
        peer.end();
        const reason = await within(server.lost.promise, 2, "connectionLost");
        expect(reason.check(ConnectionLost)).to.equal(ConnectionLost);
        expect(logs.failures().map((f) => f.getErrorMessage())).to.include("boom in readConnectionLost");
      } finally {
        logs.stop();
      }
    });
  });

  describe("PauseProducingTests", () => {
    it("test_pauseProducingInConnectionMade: a transport paused in connectionMade delivers nothing until resumed", async () => {
      const server = new Recorder();
      server.connectionMade = function (this: Recorder) {
        this.transport.pauseProducing();
        this.made.resolve();
      };
      const peer = await rawPeer(server);
      peer.write("early");
      await new Promise((r) => setTimeout(r, 50));
      expect(server.chunks).to.have.length(0);
      server.transport.resumeProducing();
      await within(server.receivedAtLeast(5), 2, "5 bytes");
      expect(server.received.toString()).to.equal("early");
    });

    it("pauseProducing() on the transport stops dataReceived until resumeProducing()", async () => {
      const server = new Recorder();
      const peer = await rawPeer(server);
      peer.write("first");
      await within(server.receivedAtLeast(5), 2, "5 bytes");
      server.transport.pauseProducing();
      peer.write("second");
      await new Promise((r) => setTimeout(r, 50));
      expect(server.received.toString()).to.equal("first");
      server.transport.resumeProducing();
      await within(server.receivedAtLeast(11), 2, "11 bytes");
      expect(server.received.toString()).to.equal("firstsecond");
    });
  });

  describe("misbehaving protocols", () => {
    it("a dataReceived that throws is logged and drops only its own connection; the server keeps serving", async () => {
      const logs = captureLogEvents();
      try {
        const factory = new ServerFactory(() => {
          const p = new Recorder();
          p.dataReceived = function (this: Recorder, data: Bytes) {
            if (Buffer.from(data).toString().includes("boom")) throw new Error("boom in dataReceived");
            this.transport.write(data);
          };
          return p;
        });
        const port = lo.listenTCP(factory);
        const connect = (): Promise<net.Socket> => lo.connect(port.getHost().port);
        const good = await connect();
        const bad = await connect();
        const badClosed = new Promise<void>((resolve) => bad.on("close", () => resolve()));
        bad.write("boom");
        await within(badClosed, 2, "the bad connection to be dropped");
        const echoed = new Promise<string>((resolve) => good.once("data", (d: Buffer) => resolve(d.toString())));
        good.write("ping");
        expect(await within(echoed, 2, "the echo")).to.equal("ping");
        const third = await connect();
        const echoed3 = new Promise<string>((resolve) => third.once("data", (d: Buffer) => resolve(d.toString())));
        third.write("pong");
        expect(await within(echoed3, 2, "the echo")).to.equal("pong");
        const badReason = await factory.protocols[1].lost.promise;
        expect(badReason.check(ConnectionLost)).to.equal(ConnectionLost);
        expect(factory.protocols[1].reasons).to.have.length(1);
        expect(logs.failures().map((f) => f.getErrorMessage())).to.include("boom in dataReceived");
      } finally {
        logs.stop();
      }
    });

    it("a connectionMade that throws is logged and the connection dropped", async () => {
      const logs = captureLogEvents();
      try {
        const server = new Recorder();
        server.connectionMade = () => {
          throw new Error("boom in connectionMade");
        };
        const peer = await rawPeer(server);
        const closed = new Promise<void>((resolve) => peer.on("close", () => resolve()));
        await within(closed, 2, "the connection to be dropped");
        await within(server.lost.promise, 2, "connectionLost");
        expect(logs.failures().map((f) => f.getErrorMessage())).to.include("boom in connectionMade");
      } finally {
        logs.stop();
      }
    });
  });

  describe("counters", () => {
    it("openConnections counts connections between makeConnection and connectionLost, on the port and the connector", async () => {
      const server = new Recorder();
      const client = new Recorder();
      const port = lo.listenTCP(new ServerFactory(() => server));
      const connector = lo.reactor.connectTCP("127.0.0.1", port.getHost().port, new ClientFactory(() => client));
      await within(client.made.promise, 2, "the client to connect");
      await within(server.made.promise, 2, "the server to accept");
      expect(port.counters.openConnections).to.equal(1);
      expect(connector.counters.openConnections).to.equal(1);
      client.transport.loseConnection();
      await within(server.lost.promise, 2, "server connectionLost");
      await within(client.lost.promise, 2, "client connectionLost");
      expect(port.counters.openConnections).to.equal(0);
      expect(connector.counters.openConnections).to.equal(0);
    });

    it("a reactor's counters are the sum of its ports' and connectors'", () => {
      const reactorCounters = new TransportCounters();
      const a = new TransportCounters(reactorCounters);
      const b = new TransportCounters(reactorCounters);
      a.count("openConnections");
      b.count("openConnections");
      b.count("producersStopped");
      a.count("openConnections", -1);
      expect({ ...reactorCounters }).to.deep.equal({ openConnections: 1, producersStopped: 1, connectionsAborted: 0, protocolErrors: 0 });
      expect(a.openConnections + b.openConnections).to.equal(reactorCounters.openConnections);
      expect(Object.keys(a)).to.deep.equal(["openConnections", "producersStopped", "connectionsAborted", "protocolErrors"]);
    });
  });
});
