/**
 * examples/echo-watchdog.ts, the torsion half of docs/coming-from-twisted.md's side-by-side
 * port: it prints what the page says, and what the Twisted half (examples/echo-watchdog.py,
 * run by Debian's python3-twisted) prints.
 */

import { expect } from "chai";
import { execFile, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const example = fileURLToPath(new URL("../../examples/echo-watchdog.js", import.meta.url));
const twistedHalf = fileURLToPath(new URL("../../../examples/echo-watchdog.py", import.meta.url));
const python = "/usr/bin/python3";
const EXPECTED = 'reply: hello\nno reply to "hush" within 0.5 s: CancelledError\ndone\n';

/** Run `command args`, at most 30 s; its exit status and standard output. */
function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe("examples/echo-watchdog: the echo server and client with a Deferred and a watchdog", function () {
  this.timeout(60_000);

  it("prints the reply, then the watchdog's cancellation of the unanswered line, and exits 0", async () => {
    const { code, stdout, stderr } = await run(process.execPath, [example]);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.equal(EXPECTED);
  });

  it("prints what the Twisted program it ports prints", async function () {
    if (spawnSync(python, ["-c", "import twisted"]).status !== 0) {
      console.log("      (skipped: needs Debian's python3-twisted at /usr/bin/python3)");
      this.skip();
    }
    const twisted = await run(python, [twistedHalf]);
    expect(twisted.code, twisted.stderr).to.equal(0);
    expect(twisted.stdout).to.equal(EXPECTED);
  });
});
