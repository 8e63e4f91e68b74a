import { expect } from "chai";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { Deferred } from "../../lib/internet/deferred.js";
import type { IPushProducer } from "../../lib/internet/interfaces.js";
import { MemoryReactorClock } from "../../lib/internet/memory-reactor.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { StaticResolver } from "../../lib/internet/resolver.js";
import { ipAddress } from "../../lib/internet/address.js";
import type { IRequest } from "../../lib/web/iweb.js";
import { ReverseProxyResource } from "../../lib/web/proxy.js";
import { Resource } from "../../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../../lib/web/server.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { later, until, within } from "../support/wait.js";

describe("ReverseProxyResource (twisted.web.test.test_proxy ReverseProxyResourceTests)", () => {
  describe("on MemoryReactor", () => {
    function proxied(path: string, uri: string): { reactor: MemoryReactorClock; request: DummyRequest; written: () => string } {
      const reactor = new MemoryReactorClock();
      reactor.installNameResolver(new StaticResolver({}));
      const resource = new ReverseProxyResource("127.0.0.1", 1234, path, { reactor });
      const request = new DummyRequest(["foo"], ipAddress("10.1.2.3", 5555));
      request.uri = uri;
      request.requestHeaders.setRawHeaders("host", ["public.example"]);
      request.requestHeaders.setRawHeaders("connection", ["keep-alive, x-private"]);
      request.requestHeaders.setRawHeaders("x-private", ["secret"]);
      request.requestHeaders.setRawHeaders("keep-alive", ["timeout=5"]);
      request.requestHeaders.setRawHeaders("accept", ["text/plain"]);
      const child = resource.getChildWithDefault("foo", request) as ReverseProxyResource;
      child.render(request);
      const { transport } = reactor.completeTCPConnection(0);
      return { reactor, request, written: () => transport.value().toString("latin1") };
    }

    it("test_render: the request goes to host:port under path, with Host rewritten and the client's address forwarded", () => {
      const { reactor, written } = proxied("/path", "/foo");
      expect(reactor.tcpClients.map((c) => [c[0], c[1]])).to.deep.equal([["127.0.0.1", 1234]]);
      const head = written();
      expect(head.split("\r\n")[0]).to.equal("GET /path/foo HTTP/1.1");
      expect(head).to.contain("\r\nHost: 127.0.0.1:1234\r\n");
      expect(head).to.contain("\r\nX-Forwarded-For: 10.1.2.3\r\n");
      expect(head).to.contain("\r\nX-Forwarded-Proto: http\r\n");
      expect(head).to.contain("\r\nX-Forwarded-Host: public.example\r\n");
      expect(head).to.contain("\r\nAccept: text/plain\r\n");
    });

    it("hop-by-hop headers (Keep-Alive, Connection and what it names) are not forwarded", () => {
      const head = proxied("/path", "/foo").written();
      expect(head).to.not.match(/x-private|keep-alive|secret/i);
    });

    it("test_renderWithQuery: the query string is kept", () => {
      expect(proxied("/path", "/foo?bar=baz").written().split("\r\n")[0]).to.equal("GET /path/foo?bar=baz HTTP/1.1");
    });

    it("test_getChild / test_getChildWithSpecial: a child adds its segment, percent-encoded, and shares the pool", () => {
      const reactor = new MemoryReactorClock();
      const resource = new ReverseProxyResource("127.0.0.1", 1234, "/path", { reactor });
      const child = resource.getChild("foo", new DummyRequest([])) as ReverseProxyResource;
      expect([child.host, child.port, child.path]).to.deep.equal(["127.0.0.1", 1234, "/path/foo"]);
      const special = resource.getChild(" /%", new DummyRequest([])) as ReverseProxyResource;
      expect(special.path).to.equal("/path/%20%2F%25");
      expect(special.pool).to.equal(resource.pool);
    });

    it("a bad port or host throws at once, naming it", () => {
      expect(() => new ReverseProxyResource("127.0.0.1", 70000, "")).to.throw(RangeError, /70000/);
      expect(() => new ReverseProxyResource("", 80, "")).to.throw(TypeError);
    });
  });

  describe("on real sockets (torsion's Site upstream and proxy, node:http as the browser)", () => {
    const logs = captureLogsOfEachTest();
    let reactor: NodeReactor;
    const closers: Array<() => Promise<unknown>> = [];
    beforeEach(() => {
      reactor = new NodeReactor();
    });
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await within(close(), 5, "a port to close");
    });

    function listen(site: Site): number {
      site.noisy = false;
      const port = reactor.listenTCP(0, site, { interface: "127.0.0.1" });
      closers.push(async () => port.stopListening());
      return (port.getHost() as { port: number }).port;
    }

    function proxyTo(upstreamPort: number): { port: number; proxy: ReverseProxyResource } {
      const proxy = new ReverseProxyResource("127.0.0.1", upstreamPort, "", { reactor });
      closers.push(async () => proxy.pool.closeCachedConnections());
      return { port: listen(new Site(proxy, { reactor })), proxy };
    }

    function get(port: number, path: string, options: http.RequestOptions = {}, body?: Buffer): Promise<{ res: http.IncomingMessage; body: string }> {
      return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path, agent: false, ...options }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => resolve({ res, body: Buffer.concat(chunks).toString() }));
          res.on("error", reject);
          res.on("aborted", () => reject(new Error("aborted")));
        });
        req.on("error", reject);
        req.end(body);
      });
    }

    class Upstream extends Resource {
      override isLeaf = true;
      seen: IRequest[] = [];
      lost = later<string>();
      producerPaused = later();
      render_GET(request: IRequest): string | typeof NOT_DONE_YET {
        this.seen.push(request);
        request.setHeader("x-upstream", "yes");
        request.setHeader("connection", "x-hop");
        request.setHeader("x-hop", "should not pass");
        if (request.path === "/stream" || request.path === "/flood") {
          request.notifyFinish().addErrback(() => this.lost.resolve(request.path));
          const chunk = Buffer.alloc(64 * 1024, 0x62);
          let paused = false;
          let stopped = false;
          const pump = (): void => {
            while (!paused && !stopped) {
              request.write(chunk);
              if (request.path === "/stream") {
                setTimeout(pump, 5); // a slow stream: a chunk every 5 ms
                return;
              }
            }
          };
          const producer: IPushProducer = {
            pauseProducing: () => {
              paused = true;
              this.producerPaused.resolve();
            },
            resumeProducing: () => {
              paused = false;
              setImmediate(pump);
            },
            stopProducing: () => {
              stopped = true;
            },
          };
          request.registerProducer(producer, true);
          pump();
          return NOT_DONE_YET;
        }
        if (request.path === "/die") {
          request.setHeader("content-length", "1000");
          request.write(Buffer.from("partial"));
          setTimeout(() => (request as unknown as { transport: { abortConnection(): void } }).transport.abortConnection(), 10);
          return NOT_DONE_YET;
        }
        return `upstream saw ${request.uri} host=${request.getHeader("host")} xff=${request.getHeader("x-forwarded-for")}`;
      }
      render_POST(request: IRequest): Buffer {
        return request.content!.getvalue();
      }
    }

    it("relays GET and POST: body, status, end-to-end headers; hop-by-hop ones dropped; upstream connection pooled", async () => {
      const upstream = new Upstream();
      const { port, proxy } = proxyTo(listen(new Site(upstream, { reactor })));
      const a = await within(get(port, "/x?y=1"), 5, "the proxied GET");
      expect(a.res.statusCode).to.equal(200);
      expect(a.body).to.match(/^upstream saw \/x\?y=1 host=127\.0\.0\.1:\d+ xff=127\.0\.0\.1$/);
      expect(a.res.headers["x-upstream"]).to.equal("yes");
      expect(a.res.headers["x-hop"]).to.equal(undefined);
      const b = await within(get(port, "/p", { method: "POST" }, Buffer.alloc(300_000, 0x61)), 5, "the proxied POST");
      expect(b.body.length).to.equal(300_000);
      expect(proxy.pool.idleConnections).to.equal(1);
      expect(proxy.counters.inFlight).to.equal(0);
    });

    it("an upstream that refuses the connection: 502 Bad Gateway", async () => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      const deadPort = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const { port, proxy } = proxyTo(deadPort);
      const r = await within(get(port, "/"), 5, "the 502");
      expect(r.res.statusCode).to.equal(502);
      expect(r.body).to.contain("Bad Gateway");
      expect(proxy.counters.badGateway).to.equal(1);
      expect(logs.messages().join("\n")).to.match(/refused/i);
    });

    it("an upstream that fails after its head: the browser's connection is dropped, not ended as if whole", async () => {
      const { port, proxy } = proxyTo(listen(new Site(new Upstream(), { reactor })));
      const err = await within(get(port, "/die").then(() => null, (e: unknown) => e), 5, "the dropped response");
      expect(err).to.be.instanceOf(Error);
      await until(() => proxy.counters.upstreamLostMidBody === 1, 5, "the proxy to count it");
    });

    it("a browser leaving mid-response: the upstream request is aborted at once (its notifyFinish errbacks); nothing is pooled", async () => {
      const upstream = new Upstream();
      const { port, proxy } = proxyTo(listen(new Site(upstream, { reactor })));
      const req = http.request({ host: "127.0.0.1", port, path: "/stream", agent: false });
      const gotSome = later();
      req.on("response", (res) => res.once("data", () => gotSome.resolve()));
      req.on("error", () => {});
      req.end();
      await within(gotSome.promise, 5, "the first bytes");
      req.destroy();
      expect(await within(upstream.lost.promise, 5, "the upstream to see its connection lost")).to.equal("/stream");
      await until(() => proxy.counters.inFlight === 0, 5, "the proxy to be idle");
      expect(proxy.counters.abortedByClient).to.equal(1);
      expect(proxy.pool.idleConnections).to.equal(0);
    });

    it("a slow browser pauses the upstream: the upstream's producer is paused, the proxy holds a bounded amount", async () => {
      const upstream = new Upstream();
      const { port, proxy } = proxyTo(listen(new Site(upstream, { reactor })));
      const socket = net.connect(port, "127.0.0.1");
      socket.on("error", () => {});
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
      socket.pause(); // a browser that does not read
      await within(upstream.producerPaused.promise, 10, "the upstream producer to be paused");
      const rss = process.memoryUsage().rss;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(process.memoryUsage().rss - rss).to.be.below(64 << 20);
      socket.destroy();
      await within(upstream.lost.promise, 5, "the upstream to see the abort");
      await until(() => proxy.counters.inFlight === 0, 5, "the proxy to be idle");
    });

    it("the disconnect chain, 200 browsers aborting at random points, 20 at a time: every upstream request lost, the proxy idle", async function () {
      this.timeout(60_000);
      let lostUpstream = 0;
      let started = 0;
      class Streaming extends Resource {
        override isLeaf = true;
        render_GET(request: IRequest): typeof NOT_DONE_YET {
          started++;
          request.notifyFinish().addErrback(() => {
            lostUpstream++;
          });
          const timer = setInterval(() => request.write(Buffer.alloc(4096, 0x63)), 2);
          request.notifyFinish().addBoth(() => clearInterval(timer));
          return NOT_DONE_YET;
        }
      }
      const { port, proxy } = proxyTo(listen(new Site(new Streaming(), { reactor })));
      const total = 200;
      let next = 0;
      const one = (): Promise<void> =>
        new Promise((resolve) => {
          const req = http.request({ host: "127.0.0.1", port, path: "/s", agent: false });
          req.on("error", () => resolve());
          const when = Math.random();
          if (when < 0.2) {
            setTimeout(() => {
              req.destroy();
              resolve();
            }, Math.random() * 5);
          } else {
            req.on("response", (res) => {
              let got = 0;
              const limit = Math.floor(Math.random() * 40_000);
              res.on("data", (d: Buffer) => {
                got += d.length;
                if (got >= limit) {
                  req.destroy();
                  resolve();
                }
              });
            });
          }
          req.end();
        });
      await within(
        Promise.all(
          Array.from({ length: 20 }, async () => {
            while (next < total) {
              next++;
              await one();
            }
          }),
        ),
        50,
        "the 200 aborted requests",
      );
      await until(() => proxy.counters.inFlight === 0, 10, "every upstream request to end");
      await until(() => lostUpstream === started, 10, `the upstream to see all ${started} requests lost (saw ${lostUpstream})`);
      expect(proxy.pool.idleConnections).to.equal(0);
      expect(proxy.counters.abortedByClient).to.be.at.least(started);
    });
  });
});

export type { Deferred };
