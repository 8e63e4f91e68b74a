/**
 * Listen/connect harnesses for specs on real sockets (127.0.0.1, and unix sockets): a protocol
 * that records what it is told, the recording factories of test_tcp.py (MyServerFactory,
 * MyClientFactory), a NodeReactor per test whose ports and sockets are closed after it, and a
 * slow reader for the flow-control specs. tcp, unix, abstract (FileDescriptor), ssl and the web
 * specs on sockets share them, so each spec shows only what it tests.
 */

import * as net from "node:net";
import type { FileDescriptor } from "../../lib/internet/abstract.js";
import type { Failure } from "../../lib/internet/failure.js";
import type {
  Bytes,
  IAddress,
  IClientFactory,
  IConnector,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IPushProducer,
  ITCPTransport,
  ITransport,
} from "../../lib/internet/interfaces.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import type { Port } from "../../lib/internet/tcp.js";
import { later, within } from "./wait.js";

/** A protocol that records what happens to it: the bytes, the reasons it was lost, the calls in order. */
export class Recorder implements IProtocol {
  transport!: FileDescriptor & ITCPTransport;
  readonly chunks: Buffer[] = [];
  readonly reasons: Failure[] = [];
  readonly events: string[] = [];
  readonly made = later();
  readonly lost = later<Failure>();
  private length = 0;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  makeConnection(transport: ITransport): void {
    this.transport = transport as FileDescriptor & ITCPTransport;
    this.connectionMade();
  }
  connectionMade(): void {
    this.events.push("connectionMade");
    this.made.resolve();
  }
  dataReceived(data: Bytes): void {
    this.chunks.push(Buffer.from(data));
    this.length += data.byteLength;
    if (this.waiters.length > 0) this.waiters = this.waiters.filter((w) => (this.length >= w.n ? (w.resolve(), false) : true));
  }
  connectionLost(reason: Failure): void {
    this.events.push("connectionLost");
    this.reasons.push(reason);
    this.lost.resolve(reason);
  }
  /** Every byte received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }
  /** Resolves once at least `n` bytes have arrived. */
  receivedAtLeast(n: number): Promise<void> {
    if (this.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** A server factory building `make()`'s protocols, recording its life (test_tcp.py's MyServerFactory). */
export class ServerFactory<P extends IProtocol = Recorder> implements IProtocolFactory {
  started = 0;
  stopped = 0;
  readonly protocols: P[] = [];
  readonly addrs: IAddress[] = [];
  /** The first protocol built. */
  readonly built = later<P>();

  constructor(private readonly make: () => P = () => new Recorder() as unknown as P) {}

  buildProtocol(addr: IAddress): IProtocol | null {
    const p = this.make();
    this.protocols.push(p);
    this.addrs.push(addr);
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

/** A client factory building `make()`'s protocols, recording each call in order (test_tcp.py's MyClientFactory). */
export class ClientFactory<P extends IProtocol = Recorder> implements IClientFactory {
  readonly events: string[] = [];
  /** The last protocol built. */
  protocol: P | null = null;
  /** The first protocol built. */
  readonly built = later<P>();
  readonly failed = later<Failure>();
  readonly lostConn = later<Failure>();

  constructor(private readonly make: () => P = () => new Recorder() as unknown as P) {}

  buildProtocol(_addr: IAddress): IProtocol | null {
    this.events.push("buildProtocol");
    this.protocol = this.make();
    this.built.resolve(this.protocol);
    return this.protocol;
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

/** What `loopback()` gives the tests of a describe: valid inside each test, fresh for the next. */
export interface Loopback {
  /** This test's reactor. */
  readonly reactor: NodeReactor;
  /** Ports closed after the test (a test that stops one itself may take it out). */
  readonly ports: IListeningPort[];
  /** Sockets destroyed after the test. */
  readonly sockets: net.Socket[];
  /** listenTCP on 127.0.0.1 (port 0: a free one), closed after the test. */
  listenTCP(factory: IProtocolFactory, port?: number): Port;
  /** A node:net client of 127.0.0.1:`port`, connected; destroyed after the test, its errors ignored (peers reset it on purpose). */
  connect(port: number, options?: { allowHalfOpen?: boolean }): Promise<net.Socket>;
}

/**
 * Call in a describe: each of its tests gets a new NodeReactor, and what it opens through the
 * returned object is closed after it (sockets first, then ports, each close bounded).
 */
export function loopback(): Loopback {
  let reactor: NodeReactor;
  const lo: Loopback = {
    get reactor() {
      return reactor;
    },
    ports: [],
    sockets: [],
    listenTCP(factory, port = 0) {
      const p = reactor.listenTCP(port, factory, { interface: "127.0.0.1" });
      lo.ports.push(p);
      return p;
    },
    connect(port, options = {}) {
      const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: options.allowHalfOpen });
      socket.on("error", () => {});
      lo.sockets.push(socket);
      return within(new Promise((resolve) => socket.once("connect", () => resolve(socket))), 2, "the client to connect");
    },
  };
  beforeEach(() => {
    reactor = new NodeReactor();
  });
  afterEach(async () => {
    for (const s of lo.sockets.splice(0)) s.destroy();
    for (const p of lo.ports.splice(0)) await within(p.stopListening(), 2, "the port to close");
  });
  return lo;
}

/** What a producer writing to a slow reader saw. */
export interface SlowReaderRun {
  /** Bytes the reader received before the end of the stream. */
  received: number;
  /** pauseProducing calls. */
  pauses: number;
  /** The most the transport held in its buffer after a write. */
  maxBuffered: number;
}

/**
 * A push producer writes `total` bytes in `chunk`s to `transport`, then unregisters and closes
 * it, while `peer` (paused, at the other end) reads in 2 ms bursts every 3 ms: a reader slower
 * than loopback, so the transport's buffer fills and the producer must be paused and resumed.
 */
export async function pushToSlowReader(transport: FileDescriptor, peer: net.Socket, total: number, chunk: Buffer): Promise<SlowReaderRun> {
  let sent = 0;
  let maxBuffered = 0;
  let pauses = 0;
  let paused = false;
  const done = later();
  const producer: IPushProducer = {
    pauseProducing() {
      pauses++;
      paused = true;
    },
    resumeProducing() {
      paused = false;
      setImmediate(produce);
    },
    stopProducing() {
      paused = true;
    },
  };
  function produce(): void {
    while (!paused && sent < total) {
      transport.write(chunk);
      sent += chunk.length;
      maxBuffered = Math.max(maxBuffered, transport.writableLength);
    }
    if (sent >= total && !paused) {
      transport.unregisterProducer();
      transport.loseConnection();
      done.resolve();
    }
  }
  transport.registerProducer(producer, true);
  produce();
  let received = 0;
  const eof = new Promise<void>((resolve) => peer.on("end", resolve));
  peer.on("data", (d: Buffer) => {
    received += d.length;
  });
  const reader = setInterval(() => {
    peer.resume();
    setTimeout(() => peer.pause(), 2);
  }, 3);
  try {
    await within(done.promise, 15, "the producer to finish");
    peer.resume();
    await within(eof, 15, "all the data");
  } finally {
    clearInterval(reader);
  }
  return { received, pauses, maxBuffered };
}
