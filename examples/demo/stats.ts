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

import { Resource, type HTTPFactoryStatistics, type IRequest, type TransportCounters } from "torsion";
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
}

export interface StatsSources {
  transport: TransportCounters;
  stream: StreamStats;
  wsgi?: () => CounterGroup | null;
  pool?: () => CounterGroup | null;
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
};

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
      `<h1>Stats</h1>\n<p>The counters of the disconnect chain, refreshed every 2 s (process ${s.pid}, up ${s.uptime} s; ` +
      `the same as JSON: <a href="/stats.json">/stats.json</a>). Reload <a href="/stream">/stream</a> or ` +
      `<a href="/wsgi/">/wsgi/</a> before they end and watch the stopped counts rise.</p>\n` +
      table("Transport (every connection of the process)", "transport", s.transport, "") +
      table("This site's HTTP connections", "site", s.site, "Not served by a Site.") +
      table("/stream producers", "stream", s.stream, "") +
      table("WSGI responses (/wsgi/)", "wsgi", s.wsgi, "No WSGI resource is mounted.") +
      table("Thread pool", "pool", s.pool, "No thread pool.");
    return page("Stats", body, { active: "/stats", refresh: 2 });
  }
}
