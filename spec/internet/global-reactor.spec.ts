// Tests of lib/internet/global-reactor.ts: the global reactor's one home (twisted.internet.reactor
// and installReactor). Each case that depends on what is installed runs in a fresh child process,
// since the global reactor is installed once per process. Then: importing any public module
// builds no reactor and opens nothing, and lib/internet has no value import cycle.

import { expect } from "chai";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { within } from "../support/wait.js";

const buildLib = fileURLToPath(new URL("../../lib/", import.meta.url));
const home = pathToFileURL(join(buildLib, "internet/global-reactor.js")).href;
const reactorModule = pathToFileURL(join(buildLib, "internet/reactor.js")).href;
const taskModule = pathToFileURL(join(buildLib, "internet/task.js")).href;
const testingModule = pathToFileURL(join(buildLib, "internet/testing.js")).href;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run an ES module script in a fresh Node process; bounded. */
async function runScript(script: string, seconds = 20): Promise<Run> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const code = await within(new Promise<number | null>((done) => child.on("exit", done)), seconds, "the child process to exit");
    return { code, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

describe("the global reactor's home (installReactor, getReactor)", function () {
  this.timeout(30000);

  it("importing reactor.js builds nothing; the first use of `reactor` installs the default NodeReactor, once", async () => {
    const { code, stdout, stderr } = await runScript(`
      import { isReactorInstalled } from ${JSON.stringify(home)};
      const m = await import(${JSON.stringify(reactorModule)});
      const before = isReactorInstalled();
      const seconds = m.reactor.seconds();
      const r = m.getReactor();
      console.log(JSON.stringify({ before, after: isReactorInstalled(), node: r instanceof m.NodeReactor,
        same: m.getReactor() === r, proxyIs: m.reactor instanceof m.NodeReactor, seconds: typeof seconds }));`);
    expect(stderr).to.equal("");
    expect(code).to.equal(0);
    expect(JSON.parse(stdout)).to.deep.equal({ before: false, after: true, node: true, same: true, proxyIs: true, seconds: "number" });
  });

  it("installReactor before first use: getReactor(), `reactor` and a LoopingCall's default clock are the installed one", async () => {
    const { code, stdout, stderr } = await runScript(`
      const { installReactor, getReactor, reactor } = await import(${JSON.stringify(reactorModule)});
      const { MemoryReactorClock } = await import(${JSON.stringify(testingModule)});
      const { LoopingCall } = await import(${JSON.stringify(taskModule)});
      const fake = new MemoryReactorClock();
      installReactor(fake);
      fake.advance(5);
      const lc = new LoopingCall(() => {});
      console.log(JSON.stringify({ installed: getReactor() === fake, forwarded: reactor.seconds(), clock: lc.clock === fake }));`);
    expect(stderr).to.equal("");
    expect(code).to.equal(0);
    expect(JSON.parse(stdout)).to.deep.equal({ installed: true, forwarded: 5, clock: true });
  });

  it("installReactor once a reactor is installed (or the default built) raises ReactorAlreadyInstalledError", async () => {
    const { code, stdout } = await runScript(`
      const { installReactor, getReactor, NodeReactor } = await import(${JSON.stringify(reactorModule)});
      getReactor();
      try { installReactor(new NodeReactor()); console.log("installed"); }
      catch (err) { console.log(err.constructor.name + ": " + err.message); }`);
    expect(code).to.equal(0);
    expect(stdout).to.equal("ReactorAlreadyInstalledError: reactor already installed\n");
  });

  it("whenReactorInstalled hears of the install, with the reactor", async () => {
    const { code, stdout } = await runScript(`
      const { whenReactorInstalled, getReactor } = await import(${JSON.stringify(reactorModule)});
      let heard = null;
      whenReactorInstalled((r) => (heard = r));
      const before = heard;
      const r = getReactor();
      console.log(JSON.stringify({ before, heard: heard === r }));`);
    expect(code).to.equal(0);
    expect(JSON.parse(stdout)).to.deep.equal({ before: null, heard: true });
  });
});

// --- importing builds nothing ------------------------------------------------------------------

/** Every .js file under `dir`. */
function jsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...jsFiles(path));
    else if (name.endsWith(".js")) out.push(path);
  }
  return out;
}

/** The build/lib modules package.json's "exports" makes public (patterns like "./web/*"). */
function publicModules(): string[] {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../../../package.json", import.meta.url)), "utf8")) as {
    exports: Record<string, string | { default?: string }>;
  };
  const all = jsFiles(buildLib).map((p) => "./" + relative(resolve(buildLib, "../.."), p).split("\\").join("/"));
  const chosen = new Set<string>();
  for (const target of Object.values(pkg.exports)) {
    const file = typeof target === "string" ? target : target.default;
    if (file === undefined || !file.endsWith(".js")) continue;
    const [head, tail] = file.split("*") as [string, string | undefined];
    for (const p of all) {
      if (tail === undefined ? p === file : p.startsWith(head) && p.endsWith(tail)) chosen.add(p);
    }
  }
  return [...chosen].sort();
}

/** Import `module` in a fresh process; what it built and opened. */
async function importAlone(module: string): Promise<{ installed: string | null; opened: string[]; error: string }> {
  const url = pathToFileURL(resolve(buildLib, "../..", module)).href;
  const { code, stdout, stderr } = await runScript(`
    import { whenReactorInstalled } from ${JSON.stringify(home)};
    let installed = null;
    whenReactorInstalled(() => (installed = new Error("the global reactor was built").stack));
    // stdout and stderr are opened lazily by whoever writes first: open them now, so they are
    // not counted against the module.
    void process.stdout, process.stderr;
    const before = process.getActiveResourcesInfo();
    await import(${JSON.stringify(url)});
    await new Promise((r) => setImmediate(r));
    const opened = process.getActiveResourcesInfo();
    for (const r of before) { const i = opened.indexOf(r); if (i >= 0) opened.splice(i, 1); }
    console.log(JSON.stringify({ installed, opened }));`);
  if (code !== 0) return { installed: null, opened: [], error: stderr || `exit ${code}` };
  return { ...(JSON.parse(stdout) as { installed: string | null; opened: string[] }), error: "" };
}

describe("importing a public module builds no reactor and opens nothing", function () {
  this.timeout(300000);

  it("every build/lib module that package.json exports, each in a fresh process", async () => {
    // worker-main.js is a worker thread's entry point: on the main thread it refuses to load.
    const modules = publicModules().filter((m) => !m.endsWith("/internet/worker-main.js"));
    expect(modules.length).to.be.greaterThan(20);
    const problems: string[] = [];
    const queue = modules.slice();
    // A few at a time: each child is a whole Node start-up.
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
          const { installed, opened, error } = await importAlone(m);
          if (error) problems.push(`${m}: import failed: ${error.split("\n")[0]}`);
          if (installed !== null) problems.push(`${m}: built the global reactor:\n${installed}`);
          if (opened.length > 0) problems.push(`${m}: left open: ${opened.join(", ")}`);
        }
      }),
    );
    expect(problems, problems.join("\n")).to.deep.equal([]);
  });
});

// --- no value import cycle in lib/internet --------------------------------------------------------

describe("lib/internet's module graph", () => {
  it("has no value import cycle (in the compiled modules, where type-only imports are gone)", () => {
    const dir = join(buildLib, "internet");
    const edges = new Map<string, string[]>();
    for (const file of jsFiles(dir)) {
      const text = readFileSync(file, "utf8");
      const targets: string[] = [];
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)";|^import\s+"(\.[^"]+)";/gms)) {
        const target = resolve(dirname(file), m[1] ?? m[2]!);
        if (target.startsWith(dir)) targets.push(target);
      }
      edges.set(file, targets);
    }
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const path: string[] = [];
    const visit = (f: string): void => {
      state.set(f, "visiting");
      path.push(f);
      for (const t of edges.get(f) ?? []) {
        if (state.get(t) === "visiting") cycles.push(path.slice(path.indexOf(t)).concat(t).map((p) => relative(dir, p)).join(" -> "));
        else if (!state.has(t)) visit(t);
      }
      path.pop();
      state.set(f, "done");
    };
    for (const f of edges.keys()) if (!state.has(f)) visit(f);
    // Known, and not the reactor's: endpoints.ts re-exports serverFromString/clientFromString
    // (twisted.internet.endpoints has them) from endpoint-descriptions.ts, which builds the
    // endpoints. A re-export only, never used while the modules load.
    const known = ["endpoint-descriptions.js -> endpoints.js -> endpoint-descriptions.js", "endpoints.js -> endpoint-descriptions.js -> endpoints.js"];
    const unknown = cycles.filter((c) => !known.includes(c));
    expect(unknown, unknown.join("\n")).to.deep.equal([]);
  });
});
