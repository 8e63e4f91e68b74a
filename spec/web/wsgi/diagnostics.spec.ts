// WSGIResource's warning naming the application that left a worker stuck: when a response
// overruns its time budget, the response that ran before it on the same worker (stopped by its
// client's disconnect, or failed) is named at warn level, in that application's namespace.
// Fixtures: spec/fixtures/wsgi-blame-apps.ts, run in a real pool of one worker.

import { expect } from "chai";
import { captureLogEvents, LogLevel, type LogCapture, type LogEvent } from "../../../lib/internet/log.js";
import { Clock } from "../../../lib/internet/task.js";
import { StringTransport } from "../../../lib/internet/testing.js";
import type { ThreadPool } from "../../../lib/internet/threadpool.js";
import { workRef } from "../../../lib/internet/work-ref.js";
import type { HTTPChannel } from "../../../lib/web/http-channel.js";
import { Resource } from "../../../lib/web/resource.js";
import { Site } from "../../../lib/web/server.js";
import { WSGIResource } from "../../../lib/web/wsgi/resource.js";
import { makePool, stopPools } from "../../fixtures/thread-helpers.js";
import { httpCode } from "../site-helpers.js";
import { RecordingRequest, Reports, dropConnection } from "./helpers.js";
import { until, within } from "../../support/wait.js";

const BLAME_APPS = new URL("../../fixtures/wsgi-blame-apps.js", import.meta.url);
const WAITING = "waiting for the connection";

interface Sent {
  request: RecordingRequest;
  transport: StringTransport;
  channel: HTTPChannel;
  /** Resolves when the response is finished or its connection lost (bounded). */
  ended: Promise<void>;
}

/** Two applications, A at /a and B at /b (time budget 0.5 s), on a Clock, sharing `pool`. */
class TwoApplications {
  readonly clock = new Clock();
  readonly a: WSGIResource;
  readonly b: WSGIResource;
  private readonly site: Site;

  constructor(poolA: ThreadPool, poolB: ThreadPool = poolA) {
    this.a = new WSGIResource(this.clock, poolA, workRef(BLAME_APPS, "leavesConnectionBusy"));
    this.b = new WSGIResource(this.clock, poolB, workRef(BLAME_APPS, "waitsForConnection"), { timeout: 0.5 });
    const root = new Resource();
    root.putChild("a", this.a);
    root.putChild("b", this.b);
    this.site = new Site(root, { reactor: this.clock, requestFactory: RecordingRequest });
  }

  send(path: string): Sent {
    const channel = this.site.buildProtocol(null);
    const transport = new StringTransport();
    channel.makeConnection(transport);
    const before = RecordingRequest.made.length;
    channel.dataReceived(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: example.com\r\n\r\n`, "latin1"));
    const request = RecordingRequest.made[before];
    if (request === undefined) throw new Error(`no request was made for ${path}: ${transport.value().toString("latin1")}`);
    const ended = within(
      request.notifyFinish().then(
        () => undefined,
        () => undefined,
      ),
      10,
      `the response to ${path}`,
    );
    return { request, transport, channel, ended };
  }

  /** A's response, stopped by its client's disconnect after its first chunk: the worker's state stays busy. */
  async stopA(reports: Reports): Promise<Sent> {
    const sent = this.send("/a/rows");
    await reports.atGate();
    dropConnection(sent.channel);
    reports.open();
    await sent.ended;
    await until(() => this.a.statistics().active === 0, 10, "A to let go of its response");
    expect(this.a.statistics()).to.include({ stoppedByDisconnect: 1, closeCalls: 1, completed: 0 });
    return sent;
  }

  /** B's response, once it waits in the worker, past its time budget: 503. */
  async overrunB(reports: Reports, query = ""): Promise<Sent> {
    const sent = this.send(`/b/${query}`);
    await until(() => reports.reported.includes(WAITING), 10, "B to wait in its worker");
    this.clock.advance(0.5);
    await sent.ended;
    await until(() => this.b.statistics().active === 0, 10, "B to let go of its response");
    expect(httpCode(sent.transport.value()), sent.transport.value().toString("latin1")).to.equal(503);
    expect(this.b.statistics()).to.include({ timedOut: 1, closeCalls: 0 });
    return sent;
  }
}

let reports: Reports;
let logs: LogCapture | null = null;

function onePool(): ThreadPool {
  const pool = makePool({ minthreads: 1, maxthreads: 1 });
  pool.start();
  return pool;
}

function warnings(capture: LogCapture): LogEvent[] {
  return capture.events.filter((e) => e.log_level === LogLevel.warn);
}

function overrunLine(capture: LogCapture): LogEvent | undefined {
  return capture.events.find((e) => e.log_level === LogLevel.error && /overran its time budget/.test(e.log_format));
}

describe("WSGIResource: naming the previous response on a worker that overran", () => {
  beforeEach(() => {
    reports = new Reports();
    logs = captureLogEvents();
  });

  afterEach(async () => {
    logs?.stop();
    logs = null;
    reports.dispose();
    await stopPools();
  });

  it("warns, in A's namespace, that A's response stopped by a disconnect ran before B's on the worker B overran in; the error line names B", async () => {
    const apps = new TwoApplications(onePool());
    const a = await apps.stopA(reports);
    await apps.overrunB(reports);

    const error = overrunLine(logs!);
    expect(error, logs!.messages().join("\n")).to.not.equal(undefined);
    expect(error).to.include({ application: apps.b.name, log_namespace: "torsion.web.wsgi.waitsForConnection" });

    const warned = warnings(logs!);
    expect(warned, logs!.messages().join("\n")).to.have.length(1);
    expect(warned[0]).to.include({
      log_namespace: "torsion.web.wsgi.leavesConnectionBusy",
      worker: 1,
      application: apps.a.name,
      request: String(a.request),
      previousEnd: "stoppedByDisconnect",
    });
    expect(logs!.messages()).to.include(
      `the previous response on worker 1 was ${apps.a.name}'s ${String(a.request)}, stopped when its client went away; ` +
        "an application that keeps a cursor or connection per worker must release it in close()/finally (see docs/disconnect-during-query.md)",
    );
    expect(String(a.request)).to.contain("uri=/a/rows");
  });

  it("does not warn when the previous response on the worker ran to its end", async () => {
    const apps = new TwoApplications(onePool());
    reports.open();
    const a = apps.send("/a/rows");
    await a.ended;
    await until(() => apps.a.statistics().completed === 1, 10, "A to complete");
    await apps.overrunB(reports, "?spin=1");
    expect(overrunLine(logs!)).to.include({ application: apps.b.name });
    expect(warnings(logs!), logs!.messages().join("\n")).to.deep.equal([]);
  });

  it("does not blame a response that ran on another pool's worker of the same id", async () => {
    const apps = new TwoApplications(onePool(), onePool());
    await apps.stopA(reports);
    await apps.overrunB(reports, "?spin=1");
    expect(overrunLine(logs!)).to.include({ application: apps.b.name });
    expect(warnings(logs!), logs!.messages().join("\n")).to.deep.equal([]);
  });

  it("names A's response that ended by an error (its worker alive, its state busy) when B overruns next", async () => {
    const apps = new TwoApplications(onePool());
    const a = apps.send("/a/rows?fail=1");
    await until(() => apps.a.statistics().errors === 1, 10, "A to fail");
    // The head went out: the connection is being dropped (a StringTransport needs the push).
    expect(a.transport.disconnecting).to.equal(true);
    dropConnection(a.channel);
    await a.ended;
    expect(logs!.failures().map((f) => f.getErrorMessage())).to.deep.equal(["failing on purpose mid-result (?fail=1)"]);
    await apps.overrunB(reports);
    expect(overrunLine(logs!)).to.include({ application: apps.b.name });
    const warned = warnings(logs!);
    expect(warned, logs!.messages().join("\n")).to.have.length(1);
    expect(warned[0]).to.include({ application: apps.a.name, request: String(a.request), previousEnd: "error" });
    expect(logs!.messages().some((m) => m.includes(`was ${apps.a.name}'s ${String(a.request)}, ended by an error;`))).to.equal(true);
  });
});
