// npm test: the architecture check (scripts/check-architecture.mjs), then mocha over the compiled
// specs under c8 (coverage summary), then one closing line "N passed, M failed[, K skipped]" that
// CI reads. Extra arguments go to mocha (e.g. `npm test -- build/spec/internet/deferred.spec.js`).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { checkArchitecture } from "./check-architecture.mjs";

if (!checkArchitecture()) {
  console.log("0 passed, 1 failed (the architecture check; no spec was run)");
  process.exit(1);
}

const require = createRequire(import.meta.url);
const c8 = require.resolve("c8/bin/c8.js");
const mocha = require.resolve("mocha/bin/mocha.js");
const dir = mkdtempSync(join(tmpdir(), "torsion-test-"));
const counts = join(dir, "counts.json");

const run = spawnSync(
  process.execPath,
  [c8, "--reporter=text-summary", "--include=build/lib/**", "--exclude=build/spec/**", mocha, ...(process.argv.length > 2 ? process.argv.slice(2) : ["build/spec/**/*.spec.js"])],
  { stdio: "inherit", env: { ...process.env, TORSION_TEST_COUNTS: counts } },
);

let line = "0 passed, 1 failed";
if (existsSync(counts)) {
  const stats = JSON.parse(readFileSync(counts, "utf8"));
  line = `${stats.passes} passed, ${stats.failures} failed`;
  if (stats.pending) line += `, ${stats.pending} skipped`;
}
rmSync(dir, { recursive: true, force: true });
console.log(line);
process.exit(run.status ?? 1);
