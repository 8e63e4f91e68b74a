/**
 * examples/application.ts, which docs/application.md quotes: run as a program, it serves, keeps
 * its client connected, ticks three times and stops every service before it exits.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { within } from "../support/wait.js";

const PROGRAM = fileURLToPath(new URL("../../examples/application.js", import.meta.url));

describe("examples/application", () => {
  it("runs its services, and stops them all before it exits 0", async () => {
    const child = spawn(process.execPath, [PROGRAM], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    try {
      const code = await within(new Promise<number | null>((resolve) => child.on("exit", resolve)), 15, "the example to exit");
      expect(code, stderr).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).to.match(/^\[example.application#info\] server: listening on port \d+$/);
    expect(lines).to.include.members([
      "[example.application#info] timer: tick 1",
      "[example.application#info] timer: tick 3",
      "[example.application#info] client: connected",
      "[example.application#info] client: the server echoed ping",
    ]);
    expect(lines.at(-1)).to.equal("[example.application#info] all services stopped: yes");
    expect(stderr).to.equal("");
  });
});
