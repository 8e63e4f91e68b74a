/**
 * The demo site that `npm start` serves: a resource tree for `torsion web --resource`.
 *
 *     torsion web --listen tcp:8080:interface=127.0.0.1 --resource ./build/examples/demo/site.js:default
 *
 * The default export is the factory the command calls with its reactor, thread pool and
 * options; it returns the root resource. makeDemo() returns the root with the parts a test or
 * main.ts wants to see (the counters, the WSGI resource).
 *
 *     /            home: what torsion is, links to the rest
 *     /docs/       docs/*.md rendered as HTML
 *     /examples/   the example programs the docs quote (static.File)
 *     /stream      a live page written by a push producer (see stream.ts)
 *     /wsgi/       a WSGI application streaming from a worker thread (see wsgi-app.ts)
 *     /stats       the disconnect chain's counters (HTML, refreshing), /stats.json (JSON)
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  File,
  NoResource,
  reactor as globalReactor,
  Resource,
  workRef,
  WebSocketResource,
  WSGIResource,
  type IRequest,
  type IResource,
  type NodeReactor,
  type ThreadPool,
} from "torsion";
import { DocsResource } from "./docs.js";
import { page } from "./layout.js";
import { Stats, StatsFeed, StatsJSON, StatsPage, websocketCounters, type CounterGroup } from "./stats.js";
import { StreamResource, StreamStats } from "./stream.js";

/** What `torsion web` passes to a resource factory. */
export interface DemoContext {
  reactor?: NodeReactor;
  threadPool?: ThreadPool;
  options?: object;
}

export interface DemoOptions {
  /** Where the guides are. Default: the repository's docs/. */
  docsDirectory?: string;
  /** Where the example programs are. Default: the repository's examples/. */
  examplesDirectory?: string;
  /** Seconds a WSGI response may run before it is ended. Default 60. */
  wsgiTimeout?: number;
}

export interface Demo {
  root: Resource;
  stats: Stats;
  streamStats: StreamStats;
  wsgi: WSGIResource;
  pool: ThreadPool;
}

/** This file is build/examples/demo/site.js: the repository is three levels up. */
const REPOSITORY = new URL("../../../", import.meta.url);

/** The WSGI application as the workers import it: the compiled wsgi-app.js beside this file. */
export const demoApplication = workRef(new URL("./wsgi-app.js", import.meta.url), "application");

/** The site's root: its children are the pages; any other name is a 404 that points home. */
class DemoRoot extends Resource {
  override getChild(_path: string, _request: IRequest): IResource {
    return new NoResource("No such page in the demo. Start from the home page: /");
  }
}

class Home extends Resource {
  override isLeaf = true;

  render_GET(request: IRequest): string {
    request.setHeader("content-type", "text/html; charset=utf-8");
    return page("Home", HOME, { active: "/" });
  }
}

const HOME = `<h1>torsion</h1>
<p>torsion is Twisted's networking model on Node.js, in TypeScript: a reactor that runs timers and
I/O, protocols that are plain objects fed bytes by transports, explicit producers and consumers for
flow control, Deferreds that chain and can be cancelled, and twisted.web's Site, Resource tree,
static files and WSGI container. People who know Twisted find their way around in minutes, and
protocols can be tested with fake transports and a fake clock, without a socket.</p>
<p>Its question is the one a Twisted user asked in 2007: what exactly happens when the browser closes
the connection in the middle of a response, while a handler is still running in a thread? In
torsion the transport stops the producer, the request's <code>notifyFinish()</code> errbacks, a WSGI
application is asked for no more output and its <code>close()</code> is called, in the worker; and
every step is counted. This site is served by torsion: try the pages below, reload them half-way,
and watch the counters.</p>
<div class="cards">
<div class="card"><h3><a href="/docs/">Docs</a></h3><p>The how-to guides (docs/*.md), rendered by a small, safe Markdown renderer of the demo's own.</p></div>
<div class="card"><h3><a href="/stream">Stream</a></h3><p>A page written live by a push producer registered on the request; paused under back-pressure, stopped when you leave.</p></div>
<div class="card"><h3><a href="/wsgi/">WSGI</a></h3><p>A blocking WSGI application streaming from a worker thread for about five seconds: reload it half-way.</p></div>
<div class="card"><h3><a href="/stats">Stats</a></h3><p>Open and closed connections, responses cut short by a disconnect, WSGI responses stopped, drained, timed out, the thread pool: live (<a href="/stats.json">JSON</a>).</p></div>
<div class="card"><h3><a href="/examples/">Examples</a></h3><p>The example programs the guides quote, served by <code>static.File</code> with a directory listing.</p></div>
</div>
`;

/** TypeScript sources as text, so a browser shows them (the default table says MPEG transport stream). */
function exampleTypes(): Map<string, string> {
  const types = new Map(File.contentTypes);
  types.set(".ts", "text/plain; charset=utf-8");
  types.set(".md", "text/plain; charset=utf-8");
  return types;
}

function poolCounters(pool: ThreadPool): CounterGroup {
  const s = pool.statistics();
  return { ...s, max: pool.max };
}

/** Build the demo's tree on `reactor`, with the WSGI application in `pool`. */
export function makeDemo(context: DemoContext = {}, options: DemoOptions = {}): Demo {
  const reactor = context.reactor ?? globalReactor;
  const pool = context.threadPool ?? reactor.getThreadPool();
  const docs = options.docsDirectory ?? fileURLToPath(new URL("docs/", REPOSITORY));
  const examples = options.examplesDirectory ?? fileURLToPath(new URL("examples/", REPOSITORY));

  const streamStats = new StreamStats();
  const wsgi = new WSGIResource(reactor, pool, demoApplication, { onDisconnect: "stop", timeout: options.wsgiTimeout ?? 60 });
  // The live feed of /stats: stats is made below, before any connection can ask for it.
  const live: WebSocketResource = new WebSocketResource({ buildProtocol: (request) => new StatsFeed(stats, request, reactor) }, { pingInterval: 30 });
  const stats = new Stats({
    transport: reactor.counters,
    stream: streamStats,
    wsgi: () => ({ ...wsgi.statistics() }),
    pool: () => poolCounters(pool),
    websocket: () => websocketCounters(live.statistics()),
    seconds: () => reactor.seconds(),
  });

  const root = new DemoRoot();
  root.putChild("", new Home());
  root.putChild("docs", existsSync(docs) ? new DocsResource(docs) : new NoResource("The docs directory was not found."));
  root.putChild("examples", existsSync(examples) ? new File(examples, { directoryListing: true, contentTypes: exampleTypes() }) : new NoResource());
  root.putChild("stream", new StreamResource(reactor, streamStats));
  root.putChild("wsgi", wsgi);
  root.putChild("stats", new StatsPage(stats));
  root.putChild("stats.json", new StatsJSON(stats));
  root.putChild("stats-live", live);
  // The guides link to the library's sources, its specs and benchmarks (../lib/..., ../spec/...,
  // ../bench/...) and to the README: served as text, listed, so those links work here too.
  const repository = fileURLToPath(REPOSITORY);
  for (const name of ["lib", "spec", "bench"]) {
    const dir = join(repository, name);
    if (existsSync(dir)) root.putChild(name, new File(dir, { directoryListing: true, contentTypes: exampleTypes() }));
  }
  for (const name of ["README.md", "CHANGELOG.md"]) {
    const file = join(repository, name);
    if (existsSync(file)) root.putChild(name, new File(file, { contentTypes: exampleTypes() }));
  }
  return { root, stats, streamStats, wsgi, pool };
}

/** The factory `torsion web --resource ./build/examples/demo/site.js:default` calls. */
export default function demoSite(context: DemoContext = {}): IResource {
  return makeDemo(context).root;
}
