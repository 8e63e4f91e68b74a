import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { ContentDecoderAgent } from "../../../lib/web/client/content-decoder-agent.js";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Deferred } from "../../../lib/internet/deferred.js";
import type { IProtocol } from "../../../lib/internet/interfaces.js";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { DefaultOpenSSLContextFactory } from "../../../lib/internet/ssl.js";
import type { IConsumer } from "../../../lib/internet/interfaces.js";
import { UNKNOWN_LENGTH, type IBodyProducer } from "../../../lib/web/client/iclient.js";
import { later, until } from "../../support/wait.js";
import { TLSError, ConnectingCancelledError, ConnectionRefusedError, DNSLookupError, TimeoutError } from "../../../lib/internet/error.js";
import { MemoryReactorClock } from "../../../lib/internet/memory-reactor.js";
import { NodeReactor } from "../../../lib/internet/reactor.js";
import { StaticResolver } from "../../../lib/internet/resolver.js";
import type { StringTransport } from "../../../lib/internet/string-transport.js";
import { TLSWrapperClientEndpoint } from "../../../lib/internet/wrap-client-tls.js";
import { Headers } from "../../../lib/web/http-headers.js";
import type { IRequest } from "../../../lib/web/iweb.js";
import { Resource } from "../../../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../../../lib/web/server.js";
import { Agent, BrowserLikePolicyForHTTPS, type IAgentEndpointFactory } from "../../../lib/web/client/agent.js";
import { FileBodyProducer } from "../../../lib/web/client/body-producers.js";
import { RequestTransmissionFailed, ResponseFailed, ResponseNeverReceived, SchemeNotSupported } from "../../../lib/web/client/errors.js";
import { HTTPConnectionPool } from "../../../lib/web/client/pool.js";
import { readBody } from "../../../lib/web/client/read-body.js";
import type { URI } from "../../../lib/web/client/uri.js";
import { failureResultOf, successResultOf } from "../../support/deferred-helpers.js";
import { within } from "../../support/wait.js";

function memoryAgent(options: { pool?: boolean } = {}): { reactor: MemoryReactorClock; agent: Agent } {
  const reactor = new MemoryReactorClock();
  reactor.installNameResolver(new StaticResolver({ "example.com": ["10.0.0.1"], "foo": ["10.0.0.2"] }));
  const agent = new Agent(reactor, options.pool ? { pool: new HTTPConnectionPool(reactor) } : {});
  return { reactor, agent };
}

/** Complete the connectTCP call at `index`; the HTTP protocol and its StringTransport. */
function complete(reactor: MemoryReactorClock, index = 0): { transport: StringTransport; send(data: string): void } {
  const { protocol, transport } = reactor.completeTCPConnection(index);
  return { transport, send: (data) => protocol.dataReceived(Buffer.from(data, "latin1")) };
}

describe("Agent (twisted.web.test.test_agent AgentTests)", () => {
  describe("on MemoryReactor", () => {
    it("test_defaultPool / test_nonPersistent: without a pool, requests say Connection: close", () => {
      const { reactor, agent } = memoryAgent();
      expect(agent.pool.persistent).to.equal(false);
      agent.request("GET", "http://example.com/");
      const { transport } = complete(reactor);
      expect(transport.value().toString()).to.equal("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    });

    it("test_persistent / test_connectUsesConnectionPool: with a persistent pool, the connection is reused", () => {
      const { reactor, agent } = memoryAgent({ pool: true });
      const d1 = agent.request("GET", "http://example.com/one");
      const c = complete(reactor);
      expect(c.transport.value().toString()).to.equal("GET /one HTTP/1.1\r\nHost: example.com\r\n\r\n");
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
      expect(successResultOf(readBody(successResultOf(d1))).toString()).to.equal("a");
      c.transport.clear();
      const d2 = agent.request("GET", "http://example.com/two");
      expect(reactor.tcpClients).to.have.length(1);
      expect(c.transport.value().toString()).to.equal("GET /two HTTP/1.1\r\nHost: example.com\r\n\r\n");
      c.send("HTTP/1.1 204 No Content\r\n\r\n");
      expect(successResultOf(d2).code).to.equal(204);
    });

    it("test_unsupportedScheme: a URI that is not http(s) fails with SchemeNotSupported, connecting nowhere", () => {
      const { reactor, agent } = memoryAgent();
      failureResultOf(agent.request("GET", "mailto:alice@example.com"), SchemeNotSupported);
      failureResultOf(agent.request("GET", "ftp://example.com/"), SchemeNotSupported);
      expect(reactor.tcpClients).to.have.length(0);
    });

    it("test_nonBytesMethod / method injection: a bad method fails the request with TypeError", () => {
      const { agent } = memoryAgent();
      failureResultOf(agent.request("GET /x HTTP/1.1\r\n", "http://example.com/"), TypeError);
    });

    it("URI injection: a request-target with spaces or CR/LF fails with TypeError", () => {
      const { agent } = memoryAgent();
      failureResultOf(agent.request("GET", "http://example.com/a b"), TypeError);
    });

    it("test_connectHTTP / test_hostValueNonStandardHTTP: the host is resolved; port given is used and goes in Host", () => {
      const { reactor, agent } = memoryAgent();
      agent.request("GET", "http://foo:8080/");
      expect(reactor.tcpClients.map((c) => [c[0], c[1]])).to.deep.equal([["10.0.0.2", 8080]]);
      expect(complete(reactor).transport.value().toString()).to.contain("\r\nHost: foo:8080\r\n");
    });

    it("test_hostIPv6Bracketed: an IPv6 literal is connected to as such and bracketed in Host", () => {
      const { reactor, agent } = memoryAgent();
      agent.request("GET", "http://[::1]:81/");
      expect(reactor.tcpClients[0][0]).to.equal("::1");
      expect(complete(reactor).transport.value().toString()).to.contain("\r\nHost: [::1]:81\r\n");
    });

    it("test_hostOverride / test_headersUnmodified: a Host header given is sent as is; the caller's headers are not changed", () => {
      const { reactor, agent } = memoryAgent();
      const headers = new Headers({ host: ["elsewhere"], "x-a": ["1"] });
      agent.request("GET", "http://example.com/", headers);
      expect(complete(reactor).transport.value().toString()).to.contain("\r\nHost: elsewhere\r\n");
      expect([...headers].length).to.equal(2);
    });

    it("test_connectionFailed: an unknown host fails with DNSLookupError", () => {
      const { agent } = memoryAgent();
      failureResultOf(agent.request("GET", "http://unknown.invalid/"), DNSLookupError);
    });

    it("test_connectTimeout / test_bindAddress: connectTimeout and bindAddress reach connectTCP", () => {
      const reactor = new MemoryReactorClock();
      reactor.installNameResolver(new StaticResolver({ "example.com": ["10.0.0.1"] }));
      const agent = new Agent(reactor, { connectTimeout: 5, bindAddress: { host: "192.168.0.1", port: 0 } });
      const d = agent.request("GET", "http://example.com/");
      expect(reactor.tcpClients[0][3]).to.deep.include({ timeout: 5, bindAddress: { host: "192.168.0.1", port: 0 } });
      reactor.advance(5);
      failureResultOf(d, TimeoutError);
    });

    it("test_endpointType (https): an https URI connects through TLS over a HostnameEndpoint", () => {
      const reactor = new MemoryReactorClock();
      const agent = new Agent(reactor);
      const factory = (agent as unknown as { endpointFactory: IAgentEndpointFactory }).endpointFactory;
      const ep = factory.endpointForURI({ scheme: "https", host: "example.com", port: 443 } as URI);
      expect(ep).to.be.instanceOf(TLSWrapperClientEndpoint);
    });

    it("test_responseIncludesRequest / test_requestAbsoluteURI: the response carries its request and absolute URI", () => {
      const { reactor, agent } = memoryAgent();
      const d = agent.request("GET", "http://example.com/foo?bar");
      complete(reactor).send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      const response = successResultOf(d);
      expect(response.request.method).to.equal("GET");
      expect(response.request.absoluteURI).to.equal("http://example.com/foo?bar");
      expect(response.request.headers.getLast("host")).to.equal("example.com");
    });

    it("test_endpointFactory: usingEndpointFactory connects through the endpoints it makes", () => {
      const reactor = new MemoryReactorClock();
      const asked: string[] = [];
      const agent = Agent.usingEndpointFactory(reactor, {
        endpointForURI(uri) {
          asked.push(uri.toString());
          return { connect: () => new Deferred<IProtocol>() };
        },
      });
      agent.request("GET", "http://example.com/x");
      expect(asked).to.deep.equal(["http://example.com/x"]);
    });

    it("cancelling while connecting abandons the attempt (ConnectingCancelledError)", () => {
      const { reactor, agent } = memoryAgent();
      const d = agent.request("GET", "http://example.com/");
      d.cancel();
      failureResultOf(d, ConnectingCancelledError);
      expect(reactor.connectors[0].stoppedConnecting).to.equal(true);
    });

    it("cancelling while waiting for the head aborts the connection; the pool never reuses it", () => {
      const { reactor, agent } = memoryAgent({ pool: true });
      const d = agent.request("GET", "http://example.com/");
      const c = complete(reactor);
      d.cancel();
      failureResultOf(d, ResponseNeverReceived);
      expect(c.transport.disconnected).to.equal(true);
      expect(agent.pool.idleConnections).to.equal(0);
    });
  });

  describe("on real sockets", () => {
    let reactor: NodeReactor;
    let pool: HTTPConnectionPool;
    let agent: Agent;
    beforeEach(() => {
      reactor = new NodeReactor();
      pool = new HTTPConnectionPool(reactor);
      agent = new Agent(reactor, { pool });
    });
    afterEach(async () => {
      await within(pool.closeCachedConnections(), 5, "the pool to close");
    });

    describe("against node:http", () => {
      let server: http.Server;
      let base: string;
      const seen: string[] = [];
      before(async () => {
        server = http.createServer((req, res) => {
          seen.push(`${req.method} ${req.url} ${req.socket.remotePort}`);
          if (req.url === "/hang") return; // never answers
          if (req.url === "/cut") {
            res.writeHead(200, { "content-length": "100" });
            res.write("partial");
            setTimeout(() => req.socket.destroy(), 5);
            return;
          }
          if (req.url === "/chunked") {
            res.write("a".repeat(5000));
            res.end("b".repeat(5000));
            return;
          }
          let n = 0;
          req.on("data", (d: Buffer) => (n += d.length));
          req.on("end", () => res.end(`${req.method} ${req.url} ${n}`));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      });
      after(() => {
        server.closeAllConnections();
        server.close();
      });

      it("GET, pooled: the second request reuses the first connection", async () => {
        seen.length = 0;
        const r1 = await within(agent.request("GET", `${base}/a`), 5, "the response");
        expect((await readBody(r1)).toString()).to.equal("GET /a 0");
        const r2 = await within(agent.request("GET", `${base}/b`), 5, "the second response");
        expect((await readBody(r2)).toString()).to.equal("GET /b 0");
        expect(seen[0].split(" ")[2]).to.equal(seen[1].split(" ")[2]);
      });

      it("a chunked response is read whole; a POST body from FileBodyProducer arrives whole", async () => {
        const r = await within(agent.request("GET", `${base}/chunked`), 5, "the response");
        expect((await readBody(r)).toString()).to.equal("a".repeat(5000) + "b".repeat(5000));
        const up = await within(agent.request("POST", `${base}/up`, null, new FileBodyProducer(Buffer.alloc(1 << 20, 7))), 10, "the upload");
        expect((await readBody(up)).toString()).to.equal(`POST /up ${1 << 20}`);
      });

      it("the server closing mid-body fails readBody with ResponseFailed; the pool holds nothing", async () => {
        const r = await within(agent.request("GET", `${base}/cut`), 5, "the head");
        const err = await within(readBody(r).then(() => null, (e: unknown) => e), 5, "the body to fail");
        expect(err).to.be.instanceOf(ResponseFailed);
        expect(pool.idleConnections).to.equal(0);
      });

      it("cancelling a request the server never answers aborts it; nothing hangs", async () => {
        const d = agent.request("GET", `${base}/hang`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        d.cancel();
        const err = await within(d.then(() => null, (e: unknown) => e), 5, "the cancelled request");
        expect(err).to.be.instanceOf(ResponseNeverReceived);
      });

      it("a refused connection fails with ConnectionRefusedError", async () => {
        const probe = http.createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        const port = (probe.address() as AddressInfo).port;
        await new Promise((resolve) => probe.close(resolve));
        const err = await within(agent.request("GET", `http://127.0.0.1:${port}/`).then(() => null, (e: unknown) => e), 5, "the refusal");
        expect(err).to.be.instanceOf(ConnectionRefusedError);
      });
    });

    it("a slow server pauses the body producer (the connection's back-pressure), and losing it stops the producer", async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((socket) => {
        socket.pause(); // a server that does not read
        sockets.push(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const paused = later();
      let stopped = false;
      let running = true;
      let consumer: IConsumer | null = null;
      const producer: IBodyProducer = {
        length: UNKNOWN_LENGTH,
        startProducing(c) {
          consumer = c;
          const pump = (): void => {
            if (!running || stopped) return;
            consumer!.write(Buffer.alloc(65536));
            setImmediate(pump);
          };
          setImmediate(pump);
          return new Deferred();
        },
        pauseProducing() {
          running = false;
          paused.resolve();
        },
        resumeProducing() {
          running = true;
        },
        stopProducing() {
          stopped = true;
        },
      };
      try {
        const d = agent.request("POST", `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`, null, producer);
        await within(paused.promise, 10, "the body producer to be paused");
        for (const s of sockets) s.destroy();
        const err = await within(d.then(() => null, (e: unknown) => e), 5, "the request to fail");
        expect(err).to.be.instanceOf(RequestTransmissionFailed);
        expect(stopped).to.equal(true);
      } finally {
        for (const s of sockets) s.destroy();
        server.close();
      }
    });

    describe("over TLS (https)", () => {
      const fixture = (name: string): string => fileURLToPath(new URL(`../../../../spec/fixtures/tls/${name}`, import.meta.url));
      it("verifies the server against the trust root; a certificate for another name fails clearly (TLSError)", async () => {
        class Hello extends Resource {
          override isLeaf = true;
          render_GET(): string {
            return "secure hello";
          }
        }
        const site = new Site(new Hello(), { reactor });
        site.noisy = false;
        const port = reactor.listenSSL(0, site, new DefaultOpenSSLContextFactory(fixture("server-key.pem"), fixture("server.pem")), { interface: "127.0.0.1" });
        reactor.installNameResolver(new StaticResolver({ localhost: ["127.0.0.1"], "wrong.example": ["127.0.0.1"] }));
        const tlsAgent = new Agent(reactor, { pool, contextFactory: new BrowserLikePolicyForHTTPS(readFileSync(fixture("ca.pem"))) });
        try {
          const portNumber = (port.getHost() as { port: number }).port;
          const r = await within(tlsAgent.request("GET", `https://localhost:${portNumber}/`), 5, "the https response");
          expect((await readBody(r)).toString()).to.equal("secure hello");
          const err = await within(tlsAgent.request("GET", `https://wrong.example:${portNumber}/`).then(() => null, (e: unknown) => e), 5, "the mismatch");
          expect(err).to.be.instanceOf(ResponseNeverReceived);
          expect((err as ResponseNeverReceived).reasons[0].value).to.be.instanceOf(TLSError);
          expect(String(err)).to.match(/wrong\.example|altname|Hostname/i);
        } finally {
          await pool.closeCachedConnections();
          await port.stopListening();
        }
      });
    });

    describe("against torsion's Site", () => {
      it("GET and POST, the body echoed, keep-alive", async () => {
        class Echo extends Resource {
          override isLeaf = true;
          render_GET(request: IRequest): string {
            return `hello ${request.uri}`;
          }
          render_POST(request: IRequest): Buffer {
            return request.content!.getvalue();
          }
          render_PUT(request: IRequest): typeof NOT_DONE_YET {
            request.write(Buffer.from("streamed "));
            setImmediate(() => {
              request.write(Buffer.from("response"));
              request.finish();
            });
            return NOT_DONE_YET;
          }
        }
        const site = new Site(new Echo(), { reactor });
        site.noisy = false;
        const port = reactor.listenTCP(0, site, { interface: "127.0.0.1" });
        try {
          const base = `http://localhost:${(port.getHost() as { port: number }).port}`;
          expect((await readBody(await within(agent.request("GET", `${base}/x?y=1`), 5, "GET"))).toString()).to.equal("hello /x?y=1");
          const posted = await within(agent.request("POST", `${base}/p`, null, new FileBodyProducer(Buffer.from("payload"))), 5, "POST");
          expect((await readBody(posted)).toString()).to.equal("payload");
          const put = await within(agent.request("PUT", `${base}/s`), 5, "PUT");
          expect((await readBody(put)).toString()).to.equal("streamed response");
          expect(pool.idleConnections).to.equal(1);
        } finally {
          await pool.closeCachedConnections();
          await port.stopListening();
        }
      });
    });

    describe("against nginx (nginx-light)", () => {
      let nginx: ChildProcess | null = null;
      let dir = "";
      let base = "";
      before(async function () {
        if (!existsSync("/usr/sbin/nginx")) {
          console.log("      (skipped: the nginx specs need the Debian package nginx-light)");
          this.skip();
        }
        dir = mkdtempSync(join(tmpdir(), "torsion-client-nginx-"));
        mkdirSync(join(dir, "tmp"));
        writeFileSync(join(dir, "big.bin"), Buffer.alloc(3 << 20, 0x6e));
        const probe = net.createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        const port = (probe.address() as AddressInfo).port;
        await new Promise((resolve) => probe.close(resolve));
        const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : "";
        writeFileSync(
          join(dir, "nginx.conf"),
          `${user}daemon off;\nmaster_process off;\npid ${join(dir, "nginx.pid")};\nerror_log ${join(dir, "error.log")} warn;\nevents { worker_connections 64; }\n` +
            `http {\n  access_log off;\n` +
            ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${join(dir, "tmp", t)};\n`).join("") +
            `  gzip on; gzip_types application/octet-stream; gzip_min_length 1000;\n` +
            `  server { listen 127.0.0.1:${port}; location = /hello { return 200 "nginx says hi\\n"; } location = /big.bin { root ${dir}; } }\n}\n`,
        );
        nginx = spawn("/usr/sbin/nginx", ["-p", dir + "/", "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { stdio: "ignore" });
        base = `http://127.0.0.1:${port}`;
        await until(
          () =>
            new Promise<boolean>((resolve) => {
              const s = net.connect(port, "127.0.0.1");
              s.once("connect", () => {
                s.destroy();
                resolve(true);
              });
              s.once("error", () => resolve(false));
            }),
          10,
          "nginx to listen",
        );
      });
      after(() => {
        if (nginx?.pid !== undefined && nginx.exitCode === null) process.kill(nginx.pid, "SIGTERM");
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      it("keep-alive GETs on one connection, a 3 MiB static file, and the same file gzipped through ContentDecoderAgent", async () => {
        const r1 = await within(agent.request("GET", `${base}/hello`), 5, "GET /hello");
        expect((await readBody(r1)).toString()).to.equal("nginx says hi\n");
        const r2 = await within(agent.request("GET", `${base}/big.bin`), 5, "GET /big.bin");
        expect(r2.length).to.equal(3 << 20);
        expect((await within(readBody(r2), 10, "the file")).length).to.equal(3 << 20);
        expect(pool.idleConnections).to.equal(1);
        const decoded = await within(new ContentDecoderAgent(agent).request("GET", `${base}/big.bin`), 5, "the gzipped GET");
        expect((await within(readBody(decoded), 10, "the decoded file")).equals(Buffer.alloc(3 << 20, 0x6e))).to.equal(true);
        const head = await within(agent.request("HEAD", `${base}/big.bin`), 5, "HEAD");
        expect(head.headers.getLast("content-length")).to.equal(String(3 << 20));
        expect((await readBody(head)).length).to.equal(0);
      });
    });

    describe("against Twisted's Site (python3-twisted)", () => {
      let child: ChildProcess | null = null;
      let base = "";
      before(async function () {
        if (!existsSync("/usr/lib/python3/dist-packages/twisted/web/server.py")) {
          console.log("      (skipped: Twisted's Site needs the Debian package python3-twisted)");
          this.skip();
        }
        const script = [
          "from twisted.internet import reactor",
          "from twisted.web import server, resource",
          "class Root(resource.Resource):",
          "    isLeaf = True",
          "    def render_GET(self, request):",
          "        if request.path == b'/chunked':",
          "            request.write(b'x' * 3000); request.write(b'y' * 3000); request.finish()",
          "            return server.NOT_DONE_YET",
          "        return b'hello from twisted ' + request.uri",
          "    def render_POST(self, request):",
          "        return request.content.read()",
          "port = reactor.listenTCP(0, server.Site(Root()), interface='127.0.0.1')",
          "print(port.getHost().port, flush=True)",
          "reactor.run()",
        ].join("\n");
        const spawned = spawn("/usr/bin/python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
        child = spawned;
        const port = await within(
          new Promise<string>((resolve, reject) => {
            spawned.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
            spawned.once("exit", (code) => reject(new Error(`twisted exited with ${code}`)));
          }),
          15,
          "Twisted's Site to listen",
        );
        base = `http://127.0.0.1:${port}`;
      });
      after(() => {
        if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid);
      });

      it("GET (Content-Length), chunked GET and POST, on one kept-alive connection", async () => {
        const r = await within(agent.request("GET", `${base}/a`), 5, "GET");
        expect((await readBody(r)).toString()).to.equal("hello from twisted /a");
        const c = await within(agent.request("GET", `${base}/chunked`), 5, "chunked GET");
        expect(c.headers.getLast("transfer-encoding")).to.equal("chunked");
        expect((await readBody(c)).toString()).to.equal("x".repeat(3000) + "y".repeat(3000));
        const p = await within(agent.request("POST", `${base}/p`, null, new FileBodyProducer(Buffer.alloc(200000, 65))), 5, "POST");
        expect((await readBody(p)).length).to.equal(200000);
        expect(pool.idleConnections).to.equal(1);
      });
    });
  });
});
