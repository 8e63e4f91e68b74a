// The examples docs/udp.md quotes (examples/udp-echo.ts, udp-multicast.ts), each run as a
// program, printing what the howto says they print.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

function run(example: string): { stdout: string; stderr: string; status: number | null } {
  const file = fileURLToPath(new URL(`../../examples/${example}.js`, import.meta.url));
  const r = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 15_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe("examples of docs/udp.md", () => {
  it("udp-echo: three datagrams on a connected port come back", () => {
    const r = run("udp-echo");
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("client received"))).to.deep.equal([
      'client received "one"',
      'client received "two"',
      'client received "three"',
    ]);
    expect(lines.filter((l) => l.startsWith("server received"))).to.have.length(3);
  });

  it("udp-multicast: a ping to the group on loopback gets its pong (or says the machine does not allow it)", function () {
    const r = run("udp-multicast");
    expect(r.status, r.stderr).to.equal(0);
    if (r.stdout.includes("cannot join")) {
      console.log("      (skipped: this machine does not allow joining a multicast group on loopback)");
      this.skip();
    }
    expect(r.stdout).to.contain('server received "Client: Ping"').and.contain('client received "Server: Pong"');
  });
});
