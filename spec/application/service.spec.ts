import { expect } from "chai";
import { Deferred } from "../../lib/internet/deferred.js";
import { MemoryReactor } from "../../lib/internet/memory-reactor.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import { Application, MultiService, Service, startApplication, type IService } from "../../lib/application/service.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { within } from "../support/wait.js";

/** A service that records its calls into a shared list. */
class Recording extends Service {
  constructor(
    readonly calls: string[],
    readonly label: string,
    readonly stopWith: () => Deferred<unknown> | void = () => undefined,
  ) {
    super();
  }
  override privilegedStartService(): void {
    this.calls.push(`privileged ${this.label}`);
  }
  override startService(): void {
    super.startService();
    this.calls.push(`start ${this.label}`);
  }
  override stopService(): Deferred<unknown> | void {
    super.stopService();
    this.calls.push(`stop ${this.label}`);
    return this.stopWith();
  }
}

describe("application/service", () => {
  const logs = captureLogsOfEachTest();

  describe("IService (twisted/application/test/test_service.py)", () => {
    it("test_realService, test_hasAll: Service and MultiService have every IService method", () => {
      for (const s of [new Service(), new MultiService(), new Application("a")]) {
        for (const m of ["setName", "setServiceParent", "disownServiceParent", "privilegedStartService", "startService", "stopService"] as const) {
          expect(s[m], m).to.be.a("function");
        }
      }
      const m = new MultiService();
      for (const name of ["getServiceNamed", "addService", "removeService"] as const) expect(m[name], name).to.be.a("function");
      expect([...m]).to.deep.equal([]);
    });

    it("test_noName: a new service has no name", () => {
      expect(new Service().name).to.equal(null);
    });

    it("test_noParent: a new service has no parent", () => {
      expect(new Service().parent).to.equal(null);
    });

    it("test_noRunning: a new service is not running", () => {
      expect(new Service().running).to.equal(false);
    });

    it("test_applicationComponents: an Application is a named MultiService; a name that is not a string throws", () => {
      const app = new Application("app");
      expect(app).to.be.instanceOf(MultiService);
      expect(app.name).to.equal("app");
      expect(() => new Application(undefined as unknown as string)).to.throw(TypeError, /needs a name/);
    });
  });

  describe("Service and MultiService (twisted.test.test_application.ServiceTests)", () => {
    it("testName: setName sets the name", () => {
      const s = new Service();
      s.setName("hello");
      expect(s.name).to.equal("hello");
    });

    it("testParent: setServiceParent puts the service in its parent", () => {
      const s = new Service();
      const p = new MultiService();
      s.setServiceParent(p);
      expect([...p]).to.deep.equal([s]);
      expect(s.parent).to.equal(p);
    });

    it("testApplicationAsParent: an Application is a parent", () => {
      const s = new Service();
      const app = new Application("TestApp");
      s.setServiceParent(app);
      expect([...app]).to.deep.equal([s]);
      expect(s.parent).to.equal(app);
      expect(app.name).to.equal("TestApp");
    });

    it("testNamedChild: a named child is found by its name", () => {
      const s = new Service();
      const p = new MultiService();
      s.setName("hello");
      s.setServiceParent(p);
      expect(p.getServiceNamed("hello")).to.equal(s);
      expect(() => p.getServiceNamed("nope")).to.throw(RangeError, /no service named "nope"/);
    });

    it("testDoublyNamedChild: a service in a parent cannot be renamed", () => {
      const s = new Service();
      s.setName("hello");
      s.setServiceParent(new MultiService());
      expect(() => s.setName("lala")).to.throw(Error, /cannot change name when parent exists/);
    });

    it("testDuplicateNamedChild: two children cannot share a name", () => {
      const p = new MultiService();
      const s = new Service();
      s.setName("hello");
      s.setServiceParent(p);
      const t = new Service();
      t.setName("hello");
      expect(() => t.setServiceParent(p)).to.throw(RangeError, /same name "hello"/);
    });

    it("testDisowning: disownServiceParent takes the service out of its parent", () => {
      const s = new Service();
      const p = new MultiService();
      s.setName("hello");
      s.setServiceParent(p);
      s.disownServiceParent();
      expect([...p]).to.deep.equal([]);
      expect(s.parent).to.equal(null);
      expect(() => p.getServiceNamed("hello")).to.throw(RangeError);
    });

    it("testRunning: running is true between startService and stopService", () => {
      const s = new Service();
      expect(s.running).to.equal(false);
      s.startService();
      expect(s.running).to.equal(true);
      s.stopService();
      expect(s.running).to.equal(false);
    });

    it("testRunningChildren1: starting and stopping a parent starts and stops its children", () => {
      const s = new Service();
      const p = new MultiService();
      s.setServiceParent(p);
      p.startService();
      expect([s.running, p.running]).to.deep.equal([true, true]);
      p.stopService();
      expect([s.running, p.running]).to.deep.equal([false, false]);
    });

    it("testRunningChildren2: children start in the order added and stop in reverse, each stop called at once", () => {
      const calls: string[] = [];
      const slow = new Deferred<void>();
      const p = new MultiService();
      new Recording(calls, "a").setServiceParent(p);
      new Recording(calls, "b", () => slow).setServiceParent(p);
      new Recording(calls, "c").setServiceParent(p);
      p.privilegedStartService();
      p.startService();
      let stopped = false;
      p.stopService().addCallback(() => {
        stopped = true;
      });
      expect(calls).to.deep.equal(["privileged a", "privileged b", "privileged c", "start a", "start b", "start c", "stop c", "stop b", "stop a"]);
      // The parent's stop waits for every child's Deferred.
      expect(stopped).to.equal(false);
      slow.callback(undefined);
      expect(stopped).to.equal(true);
    });

    it("a child's own stop Deferred keeps its result after the parent has waited on it", () => {
      const own = new Deferred<string>();
      const p = new MultiService();
      new Recording([], "x", () => own).setServiceParent(p);
      p.startService();
      p.stopService();
      own.callback("closed");
      let seen: unknown;
      own.addCallback((r) => void (seen = r));
      expect(seen).to.equal("closed");
    });

    it("testAddingIntoRunning: a child added to a running parent starts at once", () => {
      const calls: string[] = [];
      const p = new MultiService();
      p.startService();
      new Recording(calls, "late").setServiceParent(p);
      expect(calls).to.deep.equal(["privileged late", "start late"]);
    });

    it("removing a child from a running parent stops it and returns its stop", () => {
      const d = new Deferred<void>();
      const calls: string[] = [];
      const p = new MultiService();
      const child = new Recording(calls, "x", () => d);
      child.setServiceParent(p);
      p.startService();
      expect(child.disownServiceParent()).to.equal(d);
      expect(calls).to.include("stop x");
    });

    it("testPrivileged: privilegedStartService reaches the children without starting them", () => {
      const calls: string[] = [];
      const p = new MultiService();
      const s = new Recording(calls, "s");
      s.setServiceParent(p);
      p.privilegedStartService();
      expect(calls).to.deep.equal(["privileged s"]);
      expect(s.running).to.equal(false);
    });

    it("a child whose stop fails is logged, and the parent's stop still fires", () => {
      const p = new MultiService();
      const bad = new Service();
      bad.setName("bad");
      bad.stopService = () => {
        throw new Error("cannot stop");
      };
      bad.setServiceParent(p);
      const good = new Service();
      good.setServiceParent(p);
      p.startService();
      let fired = false;
      p.stopService().addCallback(() => {
        fired = true;
      });
      expect(fired).to.equal(true);
      expect(good.running).to.equal(false);
      expect(logs.messages()).to.deep.equal(["Error stopping service bad"]);
      expect(logs.failures()[0]!.getErrorMessage()).to.equal("cannot stop");
    });
  });

  describe("startApplication (twisted.application.app.startApplication)", () => {
    it("test_startApplication: privileged start now, start when the reactor runs, stop before shutdown", () => {
      const calls: string[] = [];
      const reactor = new MemoryReactor();
      const app = new Application("app");
      new Recording(calls, "a").setServiceParent(app);
      startApplication(app, reactor);
      expect(calls).to.deep.equal(["privileged a"]);
      void reactor.run(); // MemoryReactor: runs the callWhenRunning hooks, then stops
      expect(calls).to.deep.equal(["privileged a", "start a"]);
      reactor.fireSystemEvent("shutdown");
      expect(calls).to.deep.equal(["privileged a", "start a", "stop a"]);
      expect(app.running).to.equal(false);
    });

    it("on the real reactor: services start once it runs and their stop Deferreds hold the shutdown", async () => {
      const reactor = new NodeReactor();
      const calls: string[] = [];
      const release = new Deferred<void>();
      const app = new Application("app");
      const held: IService = new Recording(calls, "held", () => release);
      held.setServiceParent(app);
      startApplication(app, reactor);
      expect(calls).to.deep.equal(["privileged held"]);
      let shutDown = false;
      const running = reactor.run().then(() => {
        shutDown = true;
      });
      await within(new Promise<void>((resolve) => reactor.callWhenRunning(() => resolve())), 5, "the service to start");
      expect(calls).to.deep.equal(["privileged held", "start held"]);
      reactor.stop();
      await within(new Promise<void>((resolve) => reactor.callLater(0, resolve)), 5, "a turn of the reactor");
      expect(calls.at(-1)).to.equal("stop held");
      // The reactor waits for the service's Deferred before it shuts down.
      await within(new Promise<void>((resolve) => reactor.callLater(0, resolve)), 5, "another turn");
      expect(shutDown).to.equal(false);
      release.callback(undefined);
      await within(running, 5, "the reactor to shut down");
      expect(shutDown).to.equal(true);
    });
  });
});
