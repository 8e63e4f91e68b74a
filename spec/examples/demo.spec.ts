/**
 * The demo site (examples/demo/): its Markdown renderer, every page over node:http, the
 * disconnect chain as /stats.json reports it, and the pages in a real browser (headless
 * Chromium driven by playwright-core): screenshots, and a reload storm on /stream and /wsgi/.
 *
 * Set TORSION_DEMO_SCREENSHOTS=/some/dir to keep the screenshots there.
 */

import { expect } from "chai";
import fc from "fast-check";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { reactor } from "../../lib/internet/reactor.js";
import type { Port as TCPPort } from "../../lib/internet/tcp.js";
import { ThreadPool } from "../../lib/internet/threadpool.js";
import { Site } from "../../lib/web/server.js";
import { isSafeUrl, renderMarkdown } from "../../examples/demo/markdown.js";
import { rewriteDocLink } from "../../examples/demo/docs.js";
import { makeDemo, type Demo } from "../../examples/demo/site.js";
import type { StatsSnapshot } from "../../examples/demo/stats.js";

// --- helpers -----------------------------------------------------------------------------------

interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET `path` on 127.0.0.1:`port`, failing after `seconds` with a clear message. */
function get(port: number, path: string, seconds = 10): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(seconds * 1000, () => req.destroy(new Error(`GET ${path} took more than ${seconds} s`)));
    req.on("error", reject);
    req.end();
  });
}

/** GET `path`, and destroy the connection as soon as the first body bytes arrive. */
function getAndHangUp(port: number, path: string, seconds = 10): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.once("data", (c: Buffer) => {
        req.destroy();
        resolve(c.toString("utf8"));
      });
    });
    req.setTimeout(seconds * 1000, () => req.destroy(new Error(`no body from ${path} within ${seconds} s`)));
    req.on("error", (err) => {
      if (!req.destroyed || (err as NodeJS.ErrnoException).code !== "ECONNRESET") reject(err);
    });
    req.end();
  });
}

async function stats(port: number): Promise<StatsSnapshot> {
  const res = await get(port, "/stats.json");
  return JSON.parse(res.body) as StatsSnapshot;
}

/** Poll /stats.json until `test` holds, for at most `seconds`; fail with `what` and the last snapshot. */
async function statsUntil(port: number, what: string, test: (s: StatsSnapshot) => boolean, seconds = 10): Promise<StatsSnapshot> {
  const deadline = Date.now() + seconds * 1000;
  let last = await stats(port);
  while (!test(last)) {
    if (Date.now() > deadline) throw new Error(`/stats.json did not show ${what} within ${seconds} s: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await stats(port);
  }
  return last;
}

interface Running {
  demo: Demo;
  port: TCPPort;
  pool: ThreadPool;
  number: number;
}

async function startDemo(): Promise<Running> {
  const pool = new ThreadPool({ minthreads: 0, maxthreads: 4, name: "demo-spec" });
  pool.start();
  const demo = makeDemo({ reactor, threadPool: pool }, { wsgiTimeout: 30 });
  const port = reactor.listenTCP(0, new Site(demo.root), { interface: "127.0.0.1" });
  const host = port.getHost();
  if (host.type !== "TCP") throw new Error("expected a TCP port");
  return { demo, port, pool, number: host.port };
}

async function stopDemo(running: Running | null): Promise<void> {
  if (running === null) return;
  await running.port.stopListening();
  running.demo.wsgi.stopResponses();
  await running.pool.stop({ grace: 5 });
}

// --- the Markdown renderer ---------------------------------------------------------------------

describe("demo: Markdown renderer", () => {
  it("renders headings with unique anchors and takes the first h1 as the title", () => {
    const r = renderMarkdown("# Using `threads`\n\n## Pools\n\n## Pools\n");
    expect(r.title).to.equal("Using threads");
    expect(r.html).to.include('<h1 id="using-threads">Using <code>threads</code></h1>');
    expect(r.html).to.include('<h2 id="pools">Pools</h2>');
    expect(r.html).to.include('<h2 id="pools-1">Pools</h2>');
  });

  it("renders paragraphs, emphasis and inline code, escaping everything", () => {
    const r = renderMarkdown("Some **bold** and *em* text,\nwith `a < b && c` and <script>alert(1)</script>.\n\nNext & last.");
    expect(r.html).to.equal(
      "<p>Some <strong>bold</strong> and <em>em</em> text,\nwith <code>a &lt; b &amp;&amp; c</code> and &lt;script&gt;alert(1)&lt;/script&gt;.</p>\n" +
        "<p>Next &amp; last.</p>\n",
    );
  });

  it("does not take underscores inside words for emphasis", () => {
    expect(renderMarkdown("snake_case_name and _em_").html).to.equal("<p>snake_case_name and <em>em</em></p>\n");
  });

  it("renders fenced code blocks verbatim and escaped, with the language as a class", () => {
    const r = renderMarkdown("```ts\nconst x = a<b> && `c`;\n\n# not a heading\n```\n");
    expect(r.html).to.equal('<pre><code class="language-ts">const x = a&lt;b&gt; &amp;&amp; `c`;\n\n# not a heading\n</code></pre>\n');
    expect(r.headings).to.deep.equal([]);
  });

  it("renders indented code blocks", () => {
    expect(renderMarkdown("Text:\n\n    npm test\n    npm start\n").html).to.equal("<p>Text:</p>\n<pre><code>npm test\nnpm start\n</code></pre>\n");
  });

  it("renders tight and nested lists, and numbered lists with their start", () => {
    const r = renderMarkdown("- one\n- two\n  - two.a\n  - two.b\n- three\n\n3. c\n4. d\n");
    expect(r.html).to.equal(
      "<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>two.a</li>\n<li>two.b</li>\n</ul></li>\n<li>three</li>\n</ul>\n" +
        '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>\n',
    );
  });

  it("renders loose lists with paragraphs", () => {
    expect(renderMarkdown("- one\n\n- two\n").html).to.equal("<ul>\n<li><p>one</p></li>\n<li><p>two</p></li>\n</ul>\n");
  });

  it("renders tables with alignment, inline markup and escaped pipes", () => {
    const r = renderMarkdown("| Name | Size |\n|:-----|-----:|\n| `a\\|b` | **2** |\n| c |\n");
    expect(r.html).to.equal(
      "<table>\n" +
        '<thead><tr><th style="text-align:left">Name</th><th style="text-align:right">Size</th></tr></thead>\n' +
        "<tbody>\n" +
        '<tr><td style="text-align:left"><code>a\\|b</code></td><td style="text-align:right"><strong>2</strong></td></tr>\n' +
        '<tr><td style="text-align:left">c</td><td style="text-align:right"></td></tr>\n' +
        "</tbody>\n</table>\n",
    );
  });

  it("renders links, autolinks, block quotes and rules", () => {
    const r = renderMarkdown('See [the *guide*](threads.md#pools "Threads") or <https://example.org/a?b=1&c=2>.\n\n> quoted\n\n---\n');
    expect(r.html).to.equal(
      '<p>See <a href="threads.md#pools" title="Threads">the <em>guide</em></a> or <a href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>.</p>\n' +
        "<blockquote>\n<p>quoted</p>\n</blockquote>\n<hr>\n",
    );
  });

  it("makes no link for a javascript: or data: URL, and escapes attribute quotes", () => {
    const r = renderMarkdown('[a](javascript:alert(1)) [b](JaVaScRiPt:x) [c](data:text/html,x) [d](x"onmouseover="y)');
    expect(r.html).to.equal('<p>a b c <a href="x&quot;onmouseover=&quot;y">d</a></p>\n');
    expect(isSafeUrl("https://x")).to.equal(true);
    expect(isSafeUrl("../examples/x.ts")).to.equal(true);
    expect(isSafeUrl(" javascript:x")).to.equal(false);
    expect(isSafeUrl("java\tscript:x")).to.equal(false);
  });

  it("rewrites links between guides through rewriteLink", () => {
    const r = renderMarkdown("[t](threads.md#pools) [i](README.md) [e](../examples/echo.ts) [w](https://x/y.md)", { rewriteLink: rewriteDocLink });
    expect(r.html).to.equal('<p><a href="threads#pools">t</a> <a href="./">i</a> <a href="../examples/echo.ts">e</a> <a href="https://x/y.md">w</a></p>\n');
  });

  it("never lets markup from the source through: every tag in the output is one the renderer makes, every href safe", () => {
    const TAG = /<\/?([a-z0-9]+)(?:\s[^<>]*)?>/g;
    const ALLOWED = new Set(["h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "pre", "code", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "a", "img", "strong", "em"]);
    const piece = fc.constantFrom("<script>", "</p>", "<img src=x onerror=alert(1)>", '"', "'", "&", "`", "``", "*", "_", "**", "[x](", ")", "](javascript:alert(1))", "](JAVASCRIPT:x)", "<https://a>", "<javascript:x>", "\n", "\n\n", "# ", "- ", "1. ", "> ", "| a | b |\n|---|---|\n", "```\n", "    ", "\\", "x", " ", "\u0000");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const html = renderMarkdown(pieces.join("")).html;
        for (const m of html.matchAll(TAG)) {
          if (!ALLOWED.has(m[1])) return false;
          // An attribute the renderer did not write (quoted values, which are escaped, aside).
          if (/\son\w+=/i.test(m[0].replace(/"[^"]*"/g, '""'))) return false;
        }
        // What is left after removing the renderer's tags has no angle bracket or quote unescaped.
        if (/[<>]/.test(html.replace(TAG, ""))) return false;
        for (const m of html.matchAll(/(?:href|src)="([^"]*)"/g)) if (!isSafeUrl(m[1].replace(/&amp;/g, "&"))) return false;
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it("keeps backslash escapes literal and never lets a NUL in the source reach the page", () => {
    expect(renderMarkdown("\\*not em\\* and \\<b\\> \u0000").html).to.equal("<p>*not em* and &lt;b&gt; \ufffd</p>\n");
  });
});

// --- the pages over node:http --------------------------------------------------------------------

describe("demo: the pages over HTTP", function () {
  this.timeout(30000);
  let running: Running | null = null;
  let logs: LogCapture;

  before(async () => {
    logs = captureLogEvents();
    running = await startDemo();
  });

  after(async () => {
    await stopDemo(running);
    running = null;
    logs.stop();
  });

  const port = (): number => running!.number;

  it("/ is the home page: what torsion is, with links to every part", async () => {
    const res = await get(port(), "/");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(res.body).to.include("torsion is Twisted's networking model on Node.js");
    for (const href of ["/docs/", "/stream", "/wsgi/", "/stats", "/stats.json", "/examples/"]) expect(res.body).to.include(`href="${href}"`);
  });

  it("/docs/ is docs/README.md with a list of every guide", async () => {
    const res = await get(port(), "/docs/");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(res.body).to.include("<table>");
    expect(res.body).to.include('<a href="threads">');
    expect(res.body).to.include("All guides");
  });

  it("/docs/<name> renders docs/<name>.md as HTML (and /docs/<name>.md too)", async () => {
    const res = await get(port(), "/docs/threads");
    expect(res.status).to.equal(200);
    expect(res.body).to.match(/<h1 id="[^"]+">/);
    expect(res.body).to.include('<pre><code class="language-ts">');
    expect(res.body).not.to.include("```");
    const md = await get(port(), "/docs/threads.md");
    expect(md.status).to.equal(200);
    expect(md.body).to.equal(res.body);
  });

  it("/docs/<name> renders every guide in docs/ without leftover Markdown fences", async () => {
    const names = readdirSync(new URL("../../../docs/", import.meta.url)).filter((f) => f.endsWith(".md"));
    expect(names).to.include("deploying.md");
    for (const name of names) {
      const res = await get(port(), `/docs/${name.slice(0, -3)}`);
      expect(res.status, name).to.equal(200);
      expect(res.body, name).not.to.include("```");
      expect(res.body, name).to.match(/<h1 id=/);
    }
  });

  it("/docs answers only names of guides: others are 404, /docs redirects to /docs/", async () => {
    expect((await get(port(), "/docs/nope")).status).to.equal(404);
    expect((await get(port(), "/docs/..%2Fpackage.json")).status).to.equal(404);
    expect((await get(port(), "/docs/threads/more")).status).to.equal(404);
    const bare = await get(port(), "/docs");
    expect(bare.status).to.equal(302);
    expect(bare.headers.location).to.equal("/docs/");
  });

  it("/examples/ lists the example programs and serves their source as text", async () => {
    const list = await get(port(), "/examples/");
    expect(list.status).to.equal(200);
    expect(list.body).to.include("web-streaming.ts");
    const src = await get(port(), "/examples/web-streaming.ts");
    expect(src.status).to.equal(200);
    expect(src.headers["content-type"]).to.equal("text/plain; charset=utf-8");
    expect(src.body).to.include("registerProducer");
  });

  it("/stream streams its ticks (chunked) to the end", async () => {
    const before = running!.demo.streamStats.completed;
    const res = await get(port(), "/stream?n=3&interval=0.01");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(res.headers["transfer-encoding"]).to.equal("chunked");
    expect(res.body).to.include("<li>tick 3 of 3");
    expect(res.body).to.include('<p id="done">');
    expect(running!.demo.streamStats.completed).to.equal(before + 1);
  });

  it("/stream?mb=N sends exactly N MiB of text", async () => {
    const res = await get(port(), "/stream?mb=1");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/plain; charset=utf-8");
    expect(res.headers["content-length"]).to.equal(String(1 << 20));
    expect(Buffer.byteLength(res.body)).to.equal(1 << 20);
    expect(res.body.startsWith("000000001 torsion streams this line")).to.equal(true);
  });

  it("/wsgi/ streams rows from the WSGI application in the pool", async () => {
    const res = await get(port(), "/wsgi/?n=3&interval=0.01");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(res.body).to.match(/<li>row 3 of 3 from worker thread \d+/);
    expect(res.body).to.include('<p id="done">');
  });

  it("/wsgi/environ shows the environ, with the resource's path as SCRIPT_NAME", async () => {
    const res = await get(port(), "/wsgi/environ?x=1");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/plain; charset=utf-8");
    expect(res.body).to.include('SCRIPT_NAME = "/wsgi"');
    expect(res.body).to.include('PATH_INFO = "/environ"');
    expect(res.body).to.include('QUERY_STRING = "x=1"');
  });

  it("/stats is an HTML page of the counters, live over a WebSocket to /stats-live; /stats.json the same as JSON", async () => {
    const page = await get(port(), "/stats");
    expect(page.status).to.equal(200);
    expect(page.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(page.body).to.include('"/stats-live"');
    for (const id of ["transport-producersStopped", "site-responsesAborted", "stream-stoppedByDisconnect", "wsgi-stoppedByDisconnect", "wsgi-closeCalls", "pool-busy", "websocket-open"]) {
      expect(page.body).to.include(`id="${id}"`);
    }
    const json = await get(port(), "/stats.json");
    expect(json.headers["content-type"]).to.equal("application/json; charset=utf-8");
    const s = JSON.parse(json.body) as StatsSnapshot;
    expect(s.transport).to.have.keys("openConnections", "producersStopped", "connectionsAborted", "protocolErrors");
    expect(s.site).to.have.keys("openChannels", "channelsClosed", "responsesAborted");
    expect(s.wsgi).to.have.keys("active", "completed", "stoppedByDisconnect", "drained", "timedOut", "errors", "closeCalls");
    expect(s.pool).to.include.keys("workers", "busy", "queued");
    expect(s.websocket).to.include.keys("open", "refused", "closed");
    expect(s.stream.completed).to.be.at.least(1);
  });

  it("an unknown path is 404", async () => {
    expect((await get(port(), "/no/such/page")).status).to.equal(404);
  });

  it("a client that hangs up mid-/stream stops its producer, as /stats.json shows", async () => {
    const before = await statsUntil(port(), "no /stream response in progress", (s) => s.stream.active === 0);
    const first = await getAndHangUp(port(), "/stream?n=1000&interval=0.05");
    expect(first).to.include("<!DOCTYPE html>");
    const after = await statsUntil(
      port(),
      "the /stream producer stopped",
      (s) => s.stream.stoppedByDisconnect > before.stream.stoppedByDisconnect && s.transport.producersStopped > before.transport.producersStopped,
    );
    expect(after.stream.notifyFinishErrbacks).to.be.above(before.stream.notifyFinishErrbacks);
    // The Site counts the response its client cut short.
    expect(after.site!.responsesAborted).to.be.above(before.site!.responsesAborted);
    expect(after.stream.active).to.equal(0);
  });

  it("a client that hangs up mid-/wsgi/ stops the application and closes it, as /stats.json shows", async () => {
    const before = await statsUntil(port(), "no WSGI response in progress", (s) => s.wsgi!.active === 0);
    await getAndHangUp(port(), "/wsgi/?n=400&interval=0.05");
    const after = await statsUntil(
      port(),
      "the WSGI response stopped and closed",
      (s) => s.wsgi!.stoppedByDisconnect > before.wsgi!.stoppedByDisconnect && s.wsgi!.closeCalls > before.wsgi!.closeCalls && s.wsgi!.active === 0,
    );
    expect(after.wsgi!.errors).to.equal(before.wsgi!.errors);
    expect(after.pool!.busy).to.equal(0);
  });
});

// --- the pages in a browser --------------------------------------------------------------------

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_MISSING = `${CHROMIUM} is missing: install the Debian package chromium to run the browser specs of the demo`;

describe("demo: in a browser (headless Chromium)", function () {
  this.timeout(60000);
  let running: Running | null = null;
  let logs: LogCapture | null = null;
  let browser: import("playwright-core").Browser | null = null;
  let page: import("playwright-core").Page | null = null;
  let shots = "";
  let keepShots = false;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM_MISSING})`);
      this.skip();
    }
    logs = captureLogEvents();
    running = await startDemo();
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 30000,
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    page.setDefaultTimeout(10000);
    page.setDefaultNavigationTimeout(10000);
    keepShots = process.env.TORSION_DEMO_SCREENSHOTS !== undefined && process.env.TORSION_DEMO_SCREENSHOTS !== "";
    shots = keepShots ? process.env.TORSION_DEMO_SCREENSHOTS! : mkdtempSync(join(tmpdir(), "torsion-demo-shots-"));
    mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    browser = null;
    await stopDemo(running);
    running = null;
    logs?.stop();
    if (shots !== "" && !keepShots) rmSync(shots, { recursive: true, force: true });
  });

  const url = (path: string): string => `http://127.0.0.1:${running!.number}${path}`;

  async function screenshot(name: string): Promise<void> {
    const file = join(shots, `${name}.png`);
    await page!.screenshot({ path: file, fullPage: false });
    expect(statSync(file).size).to.be.above(5000);
  }

  it("shows the home page", async () => {
    await page!.goto(url("/"));
    expect(await page!.title()).to.equal("Home · torsion demo");
    expect(await page!.locator("h1").first().textContent()).to.equal("torsion");
    expect(await page!.locator(".card").count()).to.equal(5);
    await screenshot("home");
  });

  it("follows the home page's link to the docs, and a guide's link to another", async () => {
    await page!.goto(url("/"));
    await page!.locator(".card a[href='/docs/']").click();
    await page!.waitForURL(url("/docs/"));
    await page!.locator("a[href='threads']").first().click();
    await page!.waitForURL(url("/docs/threads"));
    expect(await page!.locator("h1").first().textContent()).to.match(/thread/i);
    expect(await page!.locator("pre code").count()).to.be.above(2);
    await screenshot("docs-threads");
  });

  it("shows /stream's ticks as they arrive", async () => {
    await page!.goto(url("/stream?n=12&interval=0.05"), { waitUntil: "commit" });
    await page!.locator("li", { hasText: "tick 3 of 12" }).waitFor();
    await page!.locator("#done").waitFor();
    expect(await page!.locator("ol.ticks li").count()).to.equal(12);
    await screenshot("stream");
  });

  it("shows /wsgi/'s rows from a worker thread", async () => {
    await page!.goto(url("/wsgi/?n=8&interval=0.05"), { waitUntil: "commit" });
    await page!.locator("#done").waitFor();
    expect(await page!.locator("ol li").count()).to.equal(8);
    expect(await page!.locator("ol li").first().textContent()).to.match(/^row 1 of 8 from worker thread \d+/);
    await screenshot("wsgi");
  });

  it("shows /stats, its counters pushed over a WebSocket as they change (no reload)", async () => {
    await page!.goto(url("/stats"));
    const before = await page!.locator("#transport-openConnections").textContent();
    expect(Number(before)).to.be.at.least(1);
    // The feed's first snapshot arrives when the WebSocket opens; it counts itself as open.
    await page!.waitForSelector("body[data-live-updates]", { timeout: 6000 });
    await page!.waitForFunction("Number(document.getElementById('websocket-open').textContent) >= 1", undefined, { timeout: 6000 });
    // A request from elsewhere changes the counters: the page is told, without reloading.
    const updates = Number(await page!.getAttribute("body", "data-live-updates"));
    await get(running!.number, "/docs/");
    await page!.waitForFunction(`Number(document.body.getAttribute("data-live-updates")) > ${updates}`, undefined, { timeout: 6000 });
    expect(await page!.locator("#live").textContent()).to.equal("pushed as they change over a WebSocket");
    await screenshot("stats");
  });

  it("a reload storm on /stream and /wsgi/ shows up in /stats.json as stopped producers and stopped WSGI responses", async () => {
    const before = await statsUntil(running!.number, "no response in progress", (s) => s.stream.active === 0 && s.wsgi!.active === 0);
    const reloads = 4;
    for (const [path, row] of [
      ["/stream?n=1000&interval=0.05", "ol.ticks li"],
      ["/wsgi/?n=400&interval=0.05", "ol li"],
    ] as const) {
      await page!.goto(url(path), { waitUntil: "commit" });
      for (let i = 0; i < reloads; i++) {
        // Reload once the page is visibly streaming, so each reload cuts a response short.
        await page!.locator(row).first().waitFor();
        await page!.reload({ waitUntil: "commit" });
      }
      await page!.locator(row).first().waitFor();
    }
    await page!.goto("about:blank");
    const after = await statsUntil(
      running!.number,
      `${reloads} /stream producers and ${reloads} WSGI responses stopped`,
      (s) =>
        s.stream.stoppedByDisconnect - before.stream.stoppedByDisconnect >= reloads + 1 &&
        s.wsgi!.stoppedByDisconnect - before.wsgi!.stoppedByDisconnect >= reloads + 1 &&
        s.wsgi!.active === 0 &&
        s.stream.active === 0,
    );
    expect(after.transport.producersStopped - before.transport.producersStopped).to.be.at.least(2 * (reloads + 1));
    expect(after.wsgi!.closeCalls - before.wsgi!.closeCalls).to.be.at.least(reloads + 1);
    expect(after.wsgi!.errors).to.equal(before.wsgi!.errors);
    await page!.goto(url("/stats"));
    expect(Number(await page!.locator("#wsgi-stoppedByDisconnect").textContent())).to.equal(after.wsgi!.stoppedByDisconnect);
  });
});
