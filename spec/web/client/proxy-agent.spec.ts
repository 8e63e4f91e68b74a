import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HostnameEndpoint } from "../../../lib/internet/hostname-endpoint.js";
import { NodeReactor } from "../../../lib/internet/reactor.js";
import { DefaultOpenSSLContextFactory } from "../../../lib/internet/ssl.js";
import type { IRequest } from "../../../lib/web/iweb.js";
import { Resource } from "../../../lib/web/resource.js";
import { Site } from "../../../lib/web/server.js";
import { BrowserLikePolicyForHTTPS } from "../../../lib/web/client/agent.js";
import { ProxyAgent, TunnelError } from "../../../lib/web/client/proxy-agent.js";
import { HTTPConnectionPool } from "../../../lib/web/client/pool.js";
import { readBody } from "../../../lib/web/client/read-body.js";
import { within } from "../../support/wait.js";
import { startTestServer, type TestServer } from "./wrappers-helpers.js";

const TINYPROXY = "/usr/bin/tinyproxy";

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Wait until something accepts connections on 127.0.0.1:port. */
async function listening(port: number, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`tinyproxy did not listen on ${port} within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("ProxyAgent (twisted.web.test.test_agent ProxyAgentTests), through Debian's tinyproxy", () => {
  let proxy: ChildProcess | null = null;
  let proxyPort = 0;
  let dir = "";
  let server: TestServer;

  before(async function () {
    if (!existsSync(TINYPROXY)) {
      console.log("      (skipped: the forward proxy specs need the Debian package tinyproxy)");
      this.skip();
    }
    server = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "torsion-tinyproxy-"));
    proxyPort = await freePort();
    const conf = join(dir, "tinyproxy.conf");
    writeFileSync(
      conf,
      [`Port ${proxyPort}`, "Listen 127.0.0.1", "Timeout 30", "MaxClients 50", "Allow 127.0.0.1", "LogLevel Critical", `PidFile "${join(dir, "pid")}"`, "DisableViaHeader Yes", ""].join("\n"),
    );
    proxy = spawn(TINYPROXY, ["-d", "-c", conf], { stdio: "ignore" });
    await listening(proxyPort, 10);
  });

  after(async () => {
    if (proxy?.pid !== undefined && proxy.exitCode === null) process.kill(proxy.pid, "SIGTERM");
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_proxyRequest: an http request goes to the proxy with its absolute URI and comes back", async () => {
    const reactor = new NodeReactor();
    const pool = new HTTPConnectionPool(reactor);
    const agent = new ProxyAgent(new HostnameEndpoint(reactor, "127.0.0.1", proxyPort), reactor, { pool });
    try {
      const r = await within(agent.request("GET", `${server.base}/through?x=1`), 10, "the proxied response");
      expect(r.code).to.equal(200);
      expect((await readBody(r)).toString()).to.match(/^GET \/through\?x=1 0/);
      expect(server.seen.at(-1)!.headers.host).to.equal(`127.0.0.1:${server.port}`);
    } finally {
      await pool.closeCachedConnections();
    }
  });

  it("HTTPS through the proxy with CONNECT: TLS with the origin, verified, over the tunnel", async () => {
    const reactor = new NodeReactor();
    const fixture = (name: string): string => fileURLToPath(new URL(`../../../../spec/fixtures/tls/${name}`, import.meta.url));
    class Hello extends Resource {
      override isLeaf = true;
      render_GET(request: IRequest): string {
        return `secure ${request.uri} ${request.isSecure()}`;
      }
    }
    const site = new Site(new Hello(), { reactor });
    site.noisy = false;
    const port = reactor.listenSSL(0, site, new DefaultOpenSSLContextFactory(fixture("server-key.pem"), fixture("server.pem")), { interface: "127.0.0.1" });
    const pool = new HTTPConnectionPool(reactor);
    const agent = new ProxyAgent(new HostnameEndpoint(reactor, "127.0.0.1", proxyPort), reactor, {
      pool,
      contextFactory: new BrowserLikePolicyForHTTPS(readFileSync(fixture("ca.pem"))),
    });
    try {
      const url = `https://localhost:${(port.getHost() as { port: number }).port}/tunnelled`;
      const r = await within(agent.request("GET", url), 10, "the tunnelled response");
      expect((await readBody(r)).toString()).to.equal("secure /tunnelled true");
      const again = await within(agent.request("GET", url), 10, "a second request on the pooled tunnel");
      expect((await readBody(again)).toString()).to.equal("secure /tunnelled true");
    } finally {
      await pool.closeCachedConnections();
      await port.stopListening();
    }
  });

  it("a proxy that refuses CONNECT fails the request with TunnelError carrying its status", async () => {
    const reactor = new NodeReactor();
    const refusing = net.createServer((s) => {
      s.on("error", () => {});
      s.once("data", () => s.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    try {
      const agent = new ProxyAgent(new HostnameEndpoint(reactor, "127.0.0.1", (refusing.address() as net.AddressInfo).port), reactor);
      const err = await within(agent.request("GET", "https://example.com/").then(() => null, (e: unknown) => e), 5, "the refusal");
      expect(err).to.be.instanceOf(TunnelError);
      expect((err as TunnelError).status).to.equal(403);
    } finally {
      refusing.close();
    }
  });
});
