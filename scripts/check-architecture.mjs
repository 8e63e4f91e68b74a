// The architecture check (docs/design.md, "Which way imports go"): dependency-cruiser over lib/
// with the rules in .dependency-cruiser.cjs (imports only point down, the contracts load no
// module, no value import cycle). `npm run check:architecture` runs it alone; `npm test` runs it
// before the specs and fails the run when it fails.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Run the check; print what it found; return true when lib/ keeps the rules. */
export function checkArchitecture() {
  // The package's "exports" name only its API, so reach the command through the entry point.
  const entry = fileURLToPath(import.meta.resolve("dependency-cruiser"));
  const cli = join(dirname(entry), "..", "..", "bin", "dependency-cruise.mjs");
  const run = spawnSync(process.execPath, [cli, "lib", "--config", ".dependency-cruiser.cjs", "--output-type", "err-long"], {
    cwd: root,
    encoding: "utf8",
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim();
  if (run.status === 0) {
    console.log(`architecture check passed (.dependency-cruiser.cjs)${output ? `: ${output.split("\n").pop()}` : ""}`);
    return true;
  }
  console.error(output);
  console.error(
    "\narchitecture check FAILED: an import above breaks a rule of docs/design.md (\"Which way imports go\"): " +
      "imports point down (cli -> web -> protocols -> internet; application -> internet), the contracts " +
      "load no module, and lib/ has no value import cycle (use `import type` for types). Rules: .dependency-cruiser.cjs.",
  );
  return false;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(checkArchitecture() ? 0 : 1);
