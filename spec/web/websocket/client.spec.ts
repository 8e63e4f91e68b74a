import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";
import type { Failure } from "../../../lib/internet/failure.js";
import { ConnectionDone } from "../../../lib/internet/error.js";
import { Certificate, optionsForClientTLS, trustRootFromCertificates } from "../../../lib/internet/ssl.js";
import { ConnectionRejected, WebSocketClientEndpoint } from "../../../lib/web/websocket/client.js";
import type { IWebSocketProtocol, WebSocketTransport } from "../../../lib/web/websocket/transport.js";
import { failureResultOf } from "../../support/deferred-helpers.js";
import { loopback } from "../../support/loopback.js";
import { later, within } from "../../support/wait.js";

const TLS_DIR = fileURLToPath(new URL("../../../../spec/fixtures/tls/", import.meta.url));

/** A client protocol that records messages and can wait for the n-th. */
class Client implements IWebSocketProtocol {
  transport!: WebSocketTransport;
  readonly messages: Array<string | Buffer> = [];
  readonly lost = later<Failure>();
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  negotiationStarted(t: WebSocketTransport): void {
    this.transport = t;
  }
  textMessageReceived(text: string): void {
    this.push(text);
  }
  bytesMessageReceived(data: Buffer): void {
    this.push(data);
  }
  connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
  private push(m: string | Buffer): void {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => (this.messages.length >= w.n ? (w.resolve(), false) : true));
  }
  received(n: number): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return within(new Promise((resolve) => this.waiters.push({ n, resolve })), 3, `${n} messages`);
  }
}

describe("WebSocketClientEndpoint", () => {
  const lo = loopback();
  const servers: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  /** A ws server echoing every message, on a free port. */
  async function wsEcho(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ port: number; server: WebSocketServer }> {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1", ...options });
    servers.push(server);
    await within(new Promise((resolve) => server.once("listening", resolve)), 2, "the ws server");
    server.on("connection", (socket, request) => {
      socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
      if (request.url === "/close-me") socket.close(4001, "as asked");
    });
    return { port: (server.address() as AddressInfo).port, server };
  }

  for (const deflate of [false, true]) {
    it(`talks to a ws server${deflate ? " with permessage-deflate" : ""}: text, binary, 1 MiB, then a clean close`, async () => {
      const { port, server } = await wsEcho({ perMessageDeflate: deflate });
      const client = new Client();
      const endpoint = WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/echo`, { perMessageDeflate: deflate });
      const proto = await within(endpoint.connect({ buildProtocol: () => client }), 3, "the connection");
      expect(proto).to.equal(client);
      const sockets = [...server.clients];
      expect(sockets).to.have.length(1);
      expect(sockets[0]!.extensions.includes?.("permessage-deflate") ?? String(sockets[0]!.extensions).includes("permessage-deflate")).to.equal(deflate);
      expect(client.transport.compressed).to.equal(deflate);
      client.transport.sendTextMessage("héllo");
      const big = Buffer.alloc(1024 * 1024, 3);
      client.transport.sendBytesMessage(big);
      await client.received(2);
      expect(client.messages[0]).to.equal("héllo");
      expect(Buffer.isBuffer(client.messages[1]) && (client.messages[1] as Buffer).equals(big)).to.equal(true);
      client.transport.loseConnection(1000, "done");
      const reason = await within(client.lost.promise, 3, "connectionLost");
      expect(reason.value).to.be.instanceOf(ConnectionDone);
      expect(client.transport.wasClean).to.equal(true);
    });
  }

  it("sees a close the server starts, with its code and reason", async () => {
    const { port } = await wsEcho();
    const client = new Client();
    await within(WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/close-me`).connect({ buildProtocol: () => client }), 3, "the connection");
    const reason = await within(client.lost.promise, 3, "connectionLost");
    expect(reason.value).to.be.instanceOf(ConnectionDone);
    expect(client.transport.closeCode).to.equal(4001);
    expect(client.transport.closeReason).to.equal("as asked");
  });

  it("offers subprotocols and learns the server's choice", async () => {
    const { port } = await wsEcho({ handleProtocols: (protocols) => (protocols.has("b") ? "b" : false) });
    const client = new Client();
    await within(
      WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/`, { subprotocols: ["a", "b"] }).connect({ buildProtocol: () => client }),
      3,
      "the connection",
    );
    expect(client.transport.subprotocol).to.equal("b");
  });

  it("fails with ConnectionRejected carrying the server's status, headers and body", async () => {
    const { port } = await wsEcho({
      verifyClient: (_info, cb) => cb(false, 401, "no entry", { "X-Why": "no token" }),
    });
    const d = WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/`).connect({ buildProtocol: () => new Client() });
    const error = (await within(d.asPromise().then(() => null, (e: unknown) => e), 3, "the refusal")) as ConnectionRejected;
    expect(error).to.be.instanceOf(ConnectionRejected);
    expect(error.status).to.equal(401);
    expect(error.headers.get("x-why")).to.deep.equal(["no token"]);
    expect(error.body.toString()).to.equal("no entry");
  });

  it("fails clearly when nothing listens (connection refused)", async () => {
    const { port, server } = await wsEcho();
    server.close();
    await within(new Promise((resolve) => setImmediate(resolve)), 1, "a turn");
    const d = WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/`).connect({ buildProtocol: () => new Client() });
    const error = await within(d.asPromise().then(() => null, (e: unknown) => e), 3, "the failure");
    expect(String(error)).to.match(/refused/i);
  });

  it("cancelling connect() before the answer aborts the connection", async () => {
    const { port } = await wsEcho();
    const d = WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/`).connect({ buildProtocol: () => new Client() });
    d.cancel();
    failureResultOf(d);
  });

  it("refuses a URL that is not ws:// or wss://, naming it", () => {
    expect(() => WebSocketClientEndpoint.new(lo.reactor, "http://127.0.0.1/")).to.throw(TypeError, /ws:\/\/ or wss:\/\/.*http:\/\/127\.0\.0\.1\//);
  });

  it("speaks wss:// to a TLS server, verifying its certificate", async () => {
    const web = https.createServer({ cert: readFileSync(`${TLS_DIR}server.pem`), key: readFileSync(`${TLS_DIR}server-key.pem`) });
    servers.push(web);
    const server = new WebSocketServer({ server: web });
    server.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
    await within(new Promise<void>((resolve) => web.listen(0, "127.0.0.1", () => resolve())), 2, "the https server");
    const port = (web.address() as AddressInfo).port;
    const client = new Client();
    const tlsOptions = optionsForClientTLS("localhost", { trustRoot: trustRootFromCertificates([Certificate.loadPEM(readFileSync(`${TLS_DIR}ca.pem`))]) });
    await within(
      WebSocketClientEndpoint.new(lo.reactor, `wss://127.0.0.1:${port}/`, { tlsOptions }).connect({ buildProtocol: () => client }),
      3,
      "the TLS connection",
    );
    client.transport.sendTextMessage("secret");
    await client.received(1);
    expect(client.messages[0]).to.equal("secret");
    client.transport.loseConnection();
    await within(client.lost.promise, 3, "connectionLost");
  });
});
