/**
 * The demo site (examples/demo/) has no broken link: a crawler starts at /, reads every page of
 * the site (the home page, every guide under /docs/, the listings of /examples/, /stats), and
 * follows every link and image on them, redirects included. A link with a #fragment must land on
 * a page with that id. Links to other sites are not fetched (a spec needs no network); the
 * endless and slow pages (/stream, /wsgi/) are checked by their status line only.
 */

import { expect } from "chai";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { reactor } from "../../lib/internet/reactor.js";
import type { Port as TCPPort } from "../../lib/internet/tcp.js";
import { ThreadPool } from "../../lib/internet/threadpool.js";
import { Site } from "../../lib/web/server.js";
import { makeDemo, type Demo } from "../../examples/demo/site.js";

interface Fetched {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, or "" when only the status line was read. */
  body: string;
}

/** GET `path`; with `headOnly` the connection is dropped once the status line is in. At most 10 s. */
function fetchPage(port: number, path: string, headOnly: boolean): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      if (headOnly) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} took more than 10 s`)));
    req.on("error", (err) => {
      if (!headOnly || (err as NodeJS.ErrnoException).code !== "ECONNRESET") reject(err);
    });
    req.end();
  });
}

/** Pages read and searched for links; everything else linked is only checked. */
function isCrawled(path: string): boolean {
  return path === "/" || path === "/stats" || path.startsWith("/docs/") || (path.startsWith("/examples/") && path.endsWith("/"));
}

/** Pages that stream for seconds (or forever): their status line is enough. */
function isStreaming(path: string): boolean {
  return path.startsWith("/stream") || path.startsWith("/wsgi");
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&quot;": '"', "&#39;": "'", "&lt;": "<", "&gt;": ">" };

/** Every href and src of an HTML page, unescaped. */
function linksOf(html: string): string[] {
  return [...html.matchAll(/\b(?:href|src)="([^"]*)"/g)].map((m) => m[1]!.replace(/&(?:amp|quot|#39|lt|gt);/g, (e) => ENTITIES[e]!));
}

describe("demo: every link on every page works, every counter is explained", function () {
  this.timeout(120_000);
  let demo: Demo;
  let pool: ThreadPool;
  let port: TCPPort;
  let portNumber: number;

  before(() => {
    pool = new ThreadPool({ minthreads: 0, maxthreads: 2, name: "demo-links-spec" });
    pool.start();
    demo = makeDemo({ reactor, threadPool: pool }, { wsgiTimeout: 30 });
    port = reactor.listenTCP(0, new Site(demo.root), { interface: "127.0.0.1" });
    const host = port.getHost();
    portNumber = host.type === "TCP" ? host.port : 0;
  });

  after(async () => {
    await port.stopListening();
    demo.wsgi.stopResponses();
    await pool.stop({ grace: 5 });
  });

  it("/stats explains every counter it shows, and says which one counts the disconnects", async () => {
    const page = await fetchPage(portNumber, "/stats", false);
    expect(page.status).to.equal(200);
    const rows = [...page.body.matchAll(/<tr><th><code>([^<]*)<\/code><\/th><td class="n" id="([^"]*)">[^<]*<\/td><td class="muted">([^<]*)<\/td><\/tr>/g)];
    expect(rows.length).to.be.greaterThan(20);
    expect(rows.filter((r) => r[3]!.trim() === "").map((r) => r[2]), "counters without a description").to.deep.equal([]);
    const described = new Map(rows.map((r) => [r[2]!, r[3]!.replace(/&#39;/g, "'")]));
    expect(described.get("transport-producersStopped")).to.include("every HTTP connection counts");
    expect(described.get("site-responsesAborted")).to.include("cut short");
    expect(described.get("pool-cancelled")).to.include("cancelled while still queued");
  });

  it("crawls the site from /: every link answers 200 (after redirects), every #fragment names an id", async () => {
    const origin = `http://127.0.0.1:${portNumber}`;
    /** path -> what it answered in the end (after redirects), and the ids of its HTML. */
    const answered = new Map<string, { status: number; ids: Set<string> | null }>();
    const broken: string[] = [];
    const queue: Array<{ path: string; from: string }> = [{ path: "/", from: "(start)" }];
    let links = 0;

    async function visit(path: string): Promise<{ status: number; ids: Set<string> | null; body: string }> {
      let at = path;
      for (let hops = 0; hops < 5; hops++) {
        const got = await fetchPage(portNumber, at, isStreaming(at));
        if (got.status >= 300 && got.status < 400 && got.headers.location) {
          at = new URL(got.headers.location, origin + at).pathname;
          continue;
        }
        const html = /text\/html/.test(String(got.headers["content-type"] ?? ""));
        const ids = html ? new Set([...got.body.matchAll(/\bid="([^"]*)"/g)].map((m) => m[1]!)) : null;
        return { status: got.status, ids, body: html && isCrawled(path) ? got.body : "" };
      }
      return { status: 310, ids: null, body: "" };
    }

    const fragments: Array<{ path: string; fragment: string; from: string }> = [];
    while (queue.length > 0) {
      const { path, from } = queue.shift()!;
      if (answered.has(path)) continue;
      const page = await visit(path);
      answered.set(path, page);
      if (page.status !== 200) broken.push(`${from} -> ${path}: ${page.status}`);
      for (const href of linksOf(page.body)) {
        const url = new URL(href, origin + path);
        if (url.origin !== origin) continue; // another site: not fetched
        links++;
        if (url.hash.length > 1) fragments.push({ path: url.pathname, fragment: decodeURIComponent(url.hash.slice(1)), from: path });
        if (!answered.has(url.pathname)) queue.push({ path: url.pathname, from: path });
      }
    }
    for (const { path, fragment, from } of fragments) {
      const page = answered.get(path);
      if (page?.ids && !page.ids.has(fragment)) broken.push(`${from} -> ${path}#${fragment}: no such id on the page`);
    }
    expect(answered.size, "pages visited").to.be.greaterThan(30);
    expect(links).to.be.greaterThan(50);
    expect(broken, `${broken.length} broken of ${links} links`).to.deep.equal([]);
  });
});
