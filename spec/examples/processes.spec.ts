// The examples docs/processes.md quotes (examples/process-wc.ts, process-output.ts,
// stdio-upper.ts), each run as a program, printing what the howto says they print.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

function run(example: string, input?: string): { stdout: string; stderr: string; status: number | null } {
  const file = fileURLToPath(new URL(`../../examples/${example}.js`, import.meta.url));
  const r = spawnSync(process.execPath, [file], { input, encoding: "utf8", timeout: 15_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe("examples of docs/processes.md", () => {
  it("process-wc: wc counts the words written to its stdin; the child ends with ProcessDone", () => {
    const r = run("process-wc");
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.split("\n")).to.include.members([
      "stdin is closed",
      "words: 12",
      "the child ended: process finished with exit code 0",
    ]);
  });

  it("process-output: the three easy functions and a missing program", () => {
    const r = run("process-output");
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("uname says: Linux").and.contain("sh exited with 3").and.contain('out="out\\n" err="err\\n" code=1');
    expect(r.stdout).to.contain("as expected: Couldn't run /no/such/program: ENOENT");
  });

  it("stdio-upper: lines from stdin come back in capitals; EOF ends the connection cleanly", () => {
    const r = run("stdio-upper", "hello\nworld\n");
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal("HELLO\nWORLD\n");
    expect(r.stderr).to.equal("stdin ended: Connection was closed cleanly.\n");
  });
});
