/**
 * examples/logging.ts, which docs/logging.md quotes: what it prints on stderr (filtered text) and
 * stdout (its JSON file read back).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PROGRAM = fileURLToPath(new URL("../../examples/logging.js", import.meta.url));

describe("examples/logging", () => {
  it("writes the filtered text to stderr and every event to its JSON file, which it reads back", () => {
    const dir = mkdtempSync(join(tmpdir(), "torsion-logging-"));
    try {
      const file = join(dir, "log.json");
      const run = spawnSync(process.execPath, [PROGRAM, file], { encoding: "utf8", timeout: 15000 });
      expect(run.status, run.stderr).to.equal(0);
      const stderr = run.stderr.split("\n").filter((l) => l.startsWith("20")).map((l) => l.replace(/^\S+ /, ""));
      // somelibrary's info line is below warn outside "myapp": not on stderr.
      expect(stderr).to.deep.equal([
        "[myapp.db#info] connected to db.example",
        "[myapp.main#debug] starting with 4 workers",
        "[myapp.main#error] request 17 failed",
      ]);
      expect(run.stderr).to.include("RangeError: quota exceeded\n    at ");
      expect(run.stdout.trimEnd().split("\n")).to.deep.equal([
        `from ${file}: [myapp.db#info] connected to db.example`,
        `from ${file}: [myapp.main#debug] starting with 4 workers`,
        `from ${file}: [somelibrary.pool#info] pool ready`,
        `from ${file}: [myapp.main#error] request 17 failed`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
