import { expect } from "chai";
import { FIXTURES, SSL_LOCAL, get, killAll, torsion, type Torsion } from "./cli-helpers.js";

const LOCAL = "tcp:0:interface=127.0.0.1";

/** GET url until `count` distinct bodies were seen (at most `limit` requests). */
async function distinctBodies(url: string, count: number, limit = 200): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < limit && seen.size < count; i++) seen.add((await get(url)).body.trim());
  return seen;
}

/** The worker pids the primary announced ("torsion web: N workers (pids A, B)"). */
async function announcedPids(t: Torsion): Promise<string[]> {
  const m = await t.until("the workers line", () => /^torsion web: \d+ workers \(pids ([\d, ]+)\)$/m.exec(t.stdout));
  return m[1].split(", ");
}

describe("torsion web --workers (lib/cli/workers.ts)", () => {
  afterEach(killAll);

  it("serves from every worker on one port, and stops cleanly on SIGTERM", async () => {
    const t = torsion(["web", "--workers", "2", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:pid`]);
    const urls = await t.urls();
    expect(urls).to.have.length(1);
    const pids = await announcedPids(t);
    expect(pids).to.have.length(2);
    expect(pids).not.to.include(String(t.pid));
    const seen = await distinctBodies(urls[0], 2);
    expect([...seen].sort()).to.deep.equal([...pids].sort());
    t.signal("SIGTERM");
    expect(await t.exit(), t.stderr).to.equal(0);
  });

  it("shares an ssl: endpoint: every worker serves HTTPS on the one port", async () => {
    const t = torsion(["web", "--workers", "2", "--listen", SSL_LOCAL, "--resource", `${FIXTURES}/cli-resources.js:pid`]);
    const [url] = await t.urls();
    expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const pids = await announcedPids(t);
    const seen = await distinctBodies(url, 2);
    expect([...seen].sort()).to.deep.equal([...pids].sort());
    t.signal("SIGTERM");
    expect(await t.exit(), t.stderr).to.equal(0);
  });

  it("SIGINT is forwarded too, and a response in flight completes before the workers stop", async () => {
    const t = torsion(["web", "--workers", "2", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:makeRoot`]);
    const [url] = await t.urls();
    const response = await get(url + "slow?chunks=6&interval=0.1", { onFirstData: () => t.signal("SIGINT") });
    expect(response.complete).to.equal(true);
    expect(response.body.split("\n").filter(Boolean)).to.have.length(6);
    expect(await t.exit(), t.stderr).to.equal(0);
  });

  it("a worker that dies is logged and replaced", async () => {
    const t = torsion(["web", "--workers", "2", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:crashingRoot`]);
    const [url] = await t.urls();
    const pids = await announcedPids(t);
    const crashed = (await get(url + "crash")).body.trim();
    expect(pids).to.include(crashed);
    await t.until("the death to be logged", () =>
      new RegExp(`worker ${crashed} exited \\(exit status 3\\); restarting it in 0\\.5 s`).test(t.stderr),
    );
    const replacement = (
      await t.until("the replacement", () => new RegExp(`worker (\\d+) is serving \\(it replaces ${crashed}\\)`).exec(t.stderr))
    )[1];
    expect(pids).not.to.include(replacement);
    const survivor = pids.find((p) => p !== crashed)!;
    const seen = await distinctBodies(url + "pid", 2);
    expect([...seen].sort()).to.deep.equal([replacement, survivor].sort());
    t.signal("SIGTERM");
    expect(await t.exit(), t.stderr).to.equal(0);
  });

  it("a worker that cannot start: the primary prints its one-line error once and exits 2", async () => {
    const t = torsion(["web", "--workers", "2", "--listen", LOCAL, "--resource", `${FIXTURES}/cli-resources.js:failingFactory`]);
    expect(await t.exit(), t.stderr).to.equal(2);
    const lines = t.stderr.trimEnd().split("\n");
    expect(lines[0]).to.equal(`torsion web: --resource ${FIXTURES}/cli-resources.js:failingFactory: the function failed: no database configured`);
    expect(t.stderr).not.to.match(/^\s+at /m);
    expect(t.stdout).to.equal("");
  });

  it("refuses a unix: endpoint, which workers cannot share", async () => {
    const t = torsion(["web", "--workers", "2", "--listen", "unix:/tmp/x.sock", "--resource", `${FIXTURES}/cli-resources.js:pid`]);
    expect(await t.exit()).to.equal(2);
    expect(t.stderr).to.equal("torsion web: --listen unix:/tmp/x.sock: only tcp:, tcp6: and ssl: endpoints can be shared by --workers\n");
  });
});
