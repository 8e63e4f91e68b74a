/**
 * /stats and /stats.json: the counters of the disconnect chain, as an operator sees them.
 *
 * - transport: the counters of every connection of the reactor (reactor.counters, the sum
 *   of its ports' and connectors' counters): open connections, connections that closed with a
 *   producer registered (every HTTP connection: its channel is one), connections aborted,
 *   protocol errors;
 * - site: the counters of the Site that answered (Site.statistics()): its open and closed
 *   connections, and the responses cut short because their connection was lost;
 * - stream: what the /stream producers did (started, completed, stopped by a disconnect...);
 * - wsgi: the WSGIResource's counters (responses active, stopped by a disconnect, drained,
 *   timed out, application errors, close() calls);
 * - pool: the thread pool running the WSGI application (workers, busy, queued...).
 *
 * /stats is an HTML page that reloads itself every two seconds; /stats.json the same numbers.
 */

import {
  Resource,
  type Failure,
  type HTTPFactoryStatistics,
  type IDelayedCall,
  type IReactorTime,
  type IRequest,
  type IWebSocketProtocol,
  type TransportCounters,
  type WebSocketStatistics,
  type WebSocketTransport,
} from "torsion";
import { escapeHtml, page } from "./layout.js";
import type { StreamStats } from "./stream.js";

export type CounterGroup = Record<string, number>;

export interface StatsSnapshot {
  /** The process that answered (with `torsion web --workers N`, each has its own counters). */
  pid: number;
  /** Seconds since the demo site was made. */
  uptime: number;
  transport: CounterGroup;
  /** The Site that answered (HTTPFactory.statistics()); null outside a Site. */
  site: CounterGroup | null;
  stream: CounterGroup;
  /** null until a WSGIResource is mounted. */
  wsgi: CounterGroup | null;
  /** null when there is no thread pool. */
  pool: CounterGroup | null;
  /** The live page's WebSockets (WebSocketResource.statistics(), closed ones by code). */
  websocket: CounterGroup | null;
}

export interface StatsSources {
  transport: TransportCounters;
  stream: StreamStats;
  wsgi?: () => CounterGroup | null;
  pool?: () => CounterGroup | null;
  websocket?: () => CounterGroup | null;
  /** Seconds, for the uptime. */
  seconds: () => number;
}

const DESCRIPTIONS: Record<string, Record<string, string>> = {
  transport: {
    openConnections: "connections open now (browsers keep idle ones for reuse)",
    producersStopped:
      "connections that closed with a producer registered, whoever closed them (chain step 1): every HTTP connection counts, idle kept-alive ones included, because its channel is registered on its transport; site.responsesAborted counts the closes that cut a response short",
    connectionsAborted: "connections closed with abortConnection (reset)",
    protocolErrors: "exceptions raised by protocols, logged, connection dropped",
  },
  site: {
    openChannels: "HTTP connections open now on this site",
    channelsClosed: "HTTP connections closed since the site started",
    responsesAborted: "responses cut short: the connection was lost before they finished (the disconnects that matter)",
  },
  stream: {
    started: "/stream responses started",
    completed: "written to their end",
    stoppedByDisconnect: "producers stopped by the disconnect chain before their end",
    notifyFinishErrbacks: "notifyFinish() Deferreds errbacked (client went first)",
    pauses: "pauses by back-pressure (client reading slower than we write)",
    active: "in progress now",
    bytesWritten: "body bytes written",
  },
  wsgi: {
    active: "responses queued or running in a worker now",
    completed: "ran to their end",
    stoppedByDisconnect: "stopped early: the client went (no chunk asked for after the one in flight)",
    drained: "client went, application run to its end, output discarded (onDisconnect: drain)",
    timedOut: "ended by the time budget (worker terminated and replaced)",
    errors: "the application (or its close()) raised, or its worker died",
    closeCalls: "close() calls on the application's iterables (PEP 3333)",
  },
  pool: {
    workers: "worker threads alive",
    busy: "workers running a request",
    idle: "workers waiting for work",
    queued: "requests waiting for a worker",
    completed: "tasks whose work returned",
    failed: "tasks that threw or whose worker died",
    cancelled: "tasks cancelled while still queued, before a worker took them (their Deferred errbacked with CancelledError)",
    workersReplaced: "workers started in place of dead or terminated ones",
    terminated: "workers terminated while running a task (timeouts)",
    max: "most workers the pool will start",
  },
  websocket: {
    open: "WebSockets open now (this page's live feed is one)",
    refused: "handshakes refused (not a valid handshake, wrong version, a refused origin)",
    closed: "WebSockets ended, whatever their close code",
    closed_1000: "closed normally (the page was left)",
    closed_1001: "closed going away (a tab closed, or the server shutting down)",
    closed_1006: "ended without a close frame (the connection dropped, or the keep-alive found the peer gone)",
  },
};

/** A WebSocketResource's statistics as a flat counter group: closed ones in total and by code. */
export function websocketCounters(s: WebSocketStatistics): CounterGroup {
  const group: CounterGroup = { open: s.open, refused: s.refused, closed: 0 };
  for (const [code, n] of Object.entries(s.closed)) {
    group.closed! += n;
    group[`closed_${code}`] = n;
  }
  return group;
}

export class Stats {
  private readonly began: number;

  constructor(private readonly sources: StatsSources) {
    this.began = sources.seconds();
  }

  /** The counters now; `request` names the Site whose own counters to include. */
  snapshot(request?: IRequest): StatsSnapshot {
    const s = this.sources;
    const site = (request as { site?: { statistics(): HTTPFactoryStatistics } | null } | undefined)?.site;
    return {
      pid: process.pid,
      uptime: Math.round((s.seconds() - this.began) * 10) / 10,
      transport: { ...s.transport },
      site: site ? { ...site.statistics() } : null,
      stream: s.stream.toJSON(),
      wsgi: s.wsgi?.() ?? null,
      pool: s.pool?.() ?? null,
      websocket: s.websocket?.() ?? null,
    };
  }
}

export class StatsJSON extends Resource {
  override isLeaf = true;

  constructor(private readonly stats: Stats) {
    super();
  }

  render_GET(request: IRequest): string {
    request.setHeader("content-type", "application/json; charset=utf-8");
    request.setHeader("cache-control", "no-store");
    return JSON.stringify(this.stats.snapshot(request), null, 2) + "\n";
  }
}

function table(caption: string, group: string, counters: CounterGroup | null, missing: string): string {
  if (counters === null) return `<table class="stats"><caption>${escapeHtml(caption)}</caption><tr><td class="muted">${escapeHtml(missing)}</td></tr></table>\n`;
  const rows = Object.entries(counters).map(([name, value]) => {
    const what = DESCRIPTIONS[group]?.[name] ?? "";
    return `<tr><th><code>${escapeHtml(name)}</code></th><td class="n" id="${escapeHtml(`${group}-${name}`)}">${escapeHtml(String(value))}</td><td class="muted">${escapeHtml(what)}</td></tr>`;
  });
  return `<table class="stats"><caption>${escapeHtml(caption)}</caption>\n${rows.join("\n")}\n</table>\n`;
}

/**
 * The page's side of the live feed: a WebSocket to /stats-live that receives a snapshot each
 * time the counters change and writes each figure into its cell (a row the page does not have
 * yet, a new close code, appears on the next load). Without WebSockets, or when the feed drops,
 * the page reloads itself every 2 s instead.
 */
const LIVE_SCRIPT = `<script>
(function () {
  var fallback = function () { document.getElementById("live").textContent = "reloaded every 2 s"; setTimeout(function () { location.reload(); }, 2000); };
  if (!window.WebSocket) return fallback();
  var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/stats-live");
  ws.onmessage = function (e) {
    var s = JSON.parse(e.data);
    document.getElementById("uptime").textContent = s.uptime;
    ["transport", "site", "stream", "wsgi", "pool", "websocket"].forEach(function (group) {
      var counters = s[group] || {};
      Object.keys(counters).forEach(function (name) {
        var cell = document.getElementById(group + "-" + name);
        if (cell) cell.textContent = counters[name];
      });
    });
    document.body.setAttribute("data-live-updates", String(Number(document.body.getAttribute("data-live-updates") || 0) + 1));
  };
  ws.onclose = fallback;
})();
</script>
`;

/**
 * The live feed of /stats: a WebSocket protocol that sends the snapshot when it opens and then
 * whenever it has changed (checked every `interval` seconds), so the page shows a disconnect as
 * it happens without asking. Its timer stops when the page goes away.
 */
export class StatsFeed implements IWebSocketProtocol {
  private transport: WebSocketTransport | null = null;
  private last = "";
  private call: IDelayedCall | null = null;

  constructor(
    private readonly stats: Stats,
    private readonly request: IRequest,
    private readonly clock: IReactorTime,
    private readonly interval = 0.25,
  ) {}

  negotiationStarted(transport: WebSocketTransport): void {
    this.transport = transport;
  }

  negotiationFinished(): void {
    this.push();
  }

  private push(): void {
    this.call = null;
    const snapshot = this.stats.snapshot(this.request);
    // Compared without the uptime, which changes every time: only a counter's change is news.
    const { uptime: _uptime, ...counters } = snapshot;
    const now = JSON.stringify(counters);
    if (now !== this.last && this.transport?.open) {
      this.last = now;
      this.transport.sendTextMessage(JSON.stringify(snapshot));
    }
    if (this.transport?.open) this.call = this.clock.callLater(this.interval, () => this.push());
  }

  connectionLost(_reason: Failure): void {
    if (this.call?.active()) this.call.cancel();
    this.call = null;
  }
}

export class StatsPage extends Resource {
  override isLeaf = true;

  constructor(private readonly stats: Stats) {
    super();
  }

  render_GET(request: IRequest): string {
    const s = this.stats.snapshot(request);
    request.setHeader("content-type", "text/html; charset=utf-8");
    request.setHeader("cache-control", "no-store");
    const body =
      `<h1>Stats</h1>\n<p>The counters of the disconnect chain, <span id="live">pushed as they change over a WebSocket</span> (process ${s.pid}, up <span id="uptime">${s.uptime}</span> s; ` +
      `the same as JSON: <a href="/stats.json">/stats.json</a>). Reload <a href="/stream">/stream</a> or ` +
      `<a href="/wsgi/">/wsgi/</a> before they end and watch the stopped counts rise.</p>\n` +
      table("Transport (every connection of the process)", "transport", s.transport, "") +
      table("This site's HTTP connections", "site", s.site, "Not served by a Site.") +
      table("/stream producers", "stream", s.stream, "") +
      table("WSGI responses (/wsgi/)", "wsgi", s.wsgi, "No WSGI resource is mounted.") +
      table("Thread pool", "pool", s.pool, "No thread pool.") +
      table("WebSockets (this page's live feed, /stats-live)", "websocket", s.websocket, "No WebSocket resource is mounted.") +
      LIVE_SCRIPT;
    return page("Stats", body, { active: "/stats" });
  }
}
