/**
 * Faults of WSGI applications, on real loopback sockets (lib/web/wsgi/): an iterable whose
 * close() throws, and a worker that dies in the middle of a response. Each time the client gets
 * what PEP 3333 and Twisted's WSGIResource say (an error status before the head, a dropped
 * connection after it), the fault is logged and counted, the pool is whole again, and the
 * server answers the next request on a new connection.
 */

import { expect } from "chai";
import { WorkerDied } from "../../lib/internet/error.js";
import type { IListeningPort } from "../../lib/internet/interfaces.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { reactor } from "../../lib/internet/reactor.js";
import type { ThreadPool } from "../../lib/internet/threadpool.js";
import { workRef } from "../../lib/internet/work-ref.js";
import { Site } from "../../lib/web/server.js";
import { WSGIResource, wsgiStatistics, type WSGIStatistics } from "../../lib/web/wsgi/resource.js";
import { makePool, stopPools } from "../fixtures/thread-helpers.js";
import { RawClient, Reports } from "../web/wsgi/helpers.js";
import { until, within } from "../support/wait.js";

const FAULT_APPS = new URL("../fixtures/wsgi-fault-apps.js", import.meta.url);
const LAST_CHUNK = "0\r\n\r\n";

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
}

function statusLine(response: Buffer): string {
  const text = response.toString("latin1");
  return text.slice(0, text.indexOf("\r\n"));
}

function failureMessages(capture: LogCapture): string[] {
  return capture.failures().map((f) => `${f.value.name}: ${f.value.message}`);
}

/** `after` minus `before`, key by key (the process-wide counters other specs also move). */
function delta(before: WSGIStatistics, after: WSGIStatistics): WSGIStatistics {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof WSGIStatistics)[]) out[key] = after[key] - before[key];
  return out;
}

describe("hardening: WSGI faults on loopback", () => {
  let pool: ThreadPool;
  let resource: WSGIResource;
  let port: IListeningPort;
  let portNumber: number;
  let reports: Reports;
  let logs: LogCapture | null = null;
  const clients: RawClient[] = [];

  beforeEach(() => {
    logs = captureLogEvents();
    // One worker: the request after a death can only be answered by its replacement.
    pool = makePool({ minthreads: 1, maxthreads: 1, name: "faults-wsgi" });
    pool.start();
    reports = new Reports();
    resource = new WSGIResource(reactor, pool, workRef(FAULT_APPS, "dispatch"));
    port = reactor.listenTCP(0, new Site(resource), { interface: "127.0.0.1" });
    const host = port.getHost();
    portNumber = host.type === "TCP" ? host.port : 0;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.destroy();
    reports.dispose();
    await within(Promise.resolve(port.stopListening()), 5, "the port to close");
    await stopPools();
    logs?.stop();
    logs = null;
  });

  function client(path: string): RawClient {
    const c = new RawClient(portNumber, get(path));
    clients.push(c);
    return c;
  }

  /** The server still answers, on a new connection, with the pool's (maybe new) worker. */
  async function servesNext(): Promise<void> {
    const next = client("/alive");
    await next.end(10);
    expect(statusLine(next.received)).to.equal("HTTP/1.1 200 OK");
    expect(next.received.toString("latin1")).to.contain("still alive\n");
  }

  describe("an iterable whose close() throws", () => {
    it("after the head went out: the body so far, then the connection dropped; logged, counted, next served", async () => {
      const before = wsgiStatistics([resource]);
      const c = client("/closeThrowsAfterBody");
      await c.end(10);
      const text = c.received.toString("latin1");
      expect(statusLine(c.received)).to.equal("HTTP/1.1 200 OK");
      expect(text).to.contain("first chunk\n").and.to.contain("second chunk\n");
      // Dropped, not finished: a chunked body without its last chunk tells the client it was cut short.
      expect(text.endsWith(LAST_CHUNK)).to.equal(false);
      await until(() => resource.statistics().active === 0, 10, "the response to be let go");
      await reports.reportedAtLeast(1);
      expect(reports.reported).to.deep.equal(["close called"]);
      expect(failureMessages(logs!)).to.deep.equal(["RangeError: close() of the body exploded"]);
      expect(resource.statistics()).to.deep.equal({
        active: 0,
        completed: 0,
        stoppedByDisconnect: 0,
        drained: 0,
        timedOut: 0,
        errors: 1,
        closeCalls: 1,
      });
      expect(delta(before, wsgiStatistics([resource]))).to.include({ active: 0, errors: 1, closeCalls: 1 });
      // The worker lived through it: no replacement was needed.
      expect(pool.statistics()).to.include({ workersReplaced: 0, busy: 0, queued: 0 });
      await servesNext();
      expect(resource.statistics()).to.include({ completed: 1, errors: 1, closeCalls: 1 });
    });

    it("before the head went out: 500 with an empty body; logged, counted, next served", async () => {
      const c = client("/closeThrowsBeforeHead");
      await c.end(10);
      const text = c.received.toString("latin1");
      expect(statusLine(c.received)).to.equal("HTTP/1.1 500 Internal Server Error");
      expect(text.toLowerCase()).to.contain("content-length: 0\r\n");
      expect(text.endsWith("\r\n\r\n")).to.equal(true);
      await until(() => resource.statistics().active === 0, 10, "the response to be let go");
      await reports.reportedAtLeast(1);
      expect(reports.reported).to.deep.equal(["close called"]);
      expect(failureMessages(logs!)).to.deep.equal(["RangeError: close() of the empty body exploded"]);
      expect(resource.statistics()).to.include({ active: 0, completed: 0, errors: 1, closeCalls: 1 });
      expect(pool.statistics()).to.include({ workersReplaced: 0, busy: 0, queued: 0 });
      await servesNext();
    });
  });

  describe("a worker that dies mid-response", () => {
    it("after the head went out: the client's connection is dropped; logged, the worker replaced, next served", async () => {
      const c = client("/exitAfterChunks");
      // The application has sent both chunks and waits: the client must have them.
      await reports.atGate(1, 10);
      await c.receivedAtLeast(Buffer.byteLength("chunk one\nchunk two\n"), 10);
      expect(statusLine(c.received)).to.equal("HTTP/1.1 200 OK");
      reports.open();
      await c.end(10);
      const text = c.received.toString("latin1");
      expect(text).to.contain("chunk one\n").and.to.contain("chunk two\n");
      expect(text.endsWith(LAST_CHUNK)).to.equal(false);
      await until(() => resource.statistics().active === 0, 10, "the response to be let go");
      const failures = logs!.failures();
      expect(failures).to.have.length(1);
      expect(failures[0].value).to.be.instanceOf(WorkerDied);
      expect(failures[0].value.message).to.contain("exited with code 1");
      // close() cannot run in a worker that is gone.
      expect(resource.statistics()).to.include({ active: 0, completed: 0, errors: 1, closeCalls: 0 });
      await until(() => pool.statistics().workersReplaced === 1, 10, "the pool to replace its worker");
      expect(pool.statistics()).to.include({ busy: 0, queued: 0 });
      await servesNext();
      expect(pool.statistics()).to.include({ workersReplaced: 1, workers: 1 });
    });

    it("before the head went out: 503 with an empty body; logged, the worker replaced, next served", async () => {
      const c = client("/exitBeforeHead");
      await c.end(10);
      const text = c.received.toString("latin1");
      expect(statusLine(c.received)).to.equal("HTTP/1.1 503 Service Unavailable");
      expect(text.toLowerCase()).to.contain("content-length: 0\r\n");
      await until(() => resource.statistics().active === 0, 10, "the response to be let go");
      const failures = logs!.failures();
      expect(failures).to.have.length(1);
      expect(failures[0].value).to.be.instanceOf(WorkerDied);
      expect(resource.statistics()).to.include({ active: 0, errors: 1, closeCalls: 0 });
      await until(() => pool.statistics().workersReplaced === 1, 10, "the pool to replace its worker");
      await servesNext();
      expect(pool.statistics()).to.include({ workersReplaced: 1, busy: 0, queued: 0 });
    });

    it("the spec terminates the task's worker after the head: dropped, logged, replaced, next served", async () => {
      const c = client("/exitAfterChunks");
      await reports.atGate(1, 10);
      await c.receivedAtLeast(Buffer.byteLength("chunk one\nchunk two\n"), 10);
      // The worker blocks in the gate: end it from outside, as an operator (or a watchdog) would.
      const running = pool.statistics();
      expect(running).to.include({ busy: 1 });
      terminateRunning(pool);
      await c.end(10);
      expect(c.received.toString("latin1").endsWith(LAST_CHUNK)).to.equal(false);
      await until(() => resource.statistics().active === 0, 10, "the response to be let go");
      expect(logs!.failures().map((f) => f.value.constructor.name)).to.deep.equal(["WorkerDied"]);
      expect(resource.statistics()).to.include({ errors: 1, closeCalls: 0 });
      reports.open();
      await servesNext();
      expect(pool.statistics()).to.include({ terminated: 1, busy: 0, queued: 0 });
    });
  });
});

/** Terminate the task running in a one-worker pool (tasks are numbered from 1, in order). */
function terminateRunning(pool: ThreadPool): void {
  for (let id = 1; id <= 100; id++) if (pool.terminateTask(id, "terminated by the spec")) return;
  throw new Error("no running task to terminate");
}
