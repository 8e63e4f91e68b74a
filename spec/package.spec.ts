// The package as a program outside the repository sees it: resolved through package.json's
// "exports" from a node_modules link, with its types.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);

describe("the torsion package", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "torsion-consumer-"));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(repo, join(dir, "node_modules", "torsion"), "dir");
    // A TypeScript program on Node has Node's types, as torsion's declarations expect.
    mkdirSync(join(dir, "node_modules", "@types"));
    symlinkSync(join(repo, "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exports every public name from the root and from Twisted-like subpaths", () => {
    writeFileSync(
      join(dir, "main.mjs"),
      [
        'import * as root from "torsion";',
        'import { Deferred } from "torsion/internet/defer";',
        'import { ConnectionDone } from "torsion/internet/error";',
        'import { Failure } from "torsion/internet/failure";',
        "const d = new Deferred();",
        "d.addCallback((x) => x + 1);",
        "d.callback(41);",
        "const seen = await d;",
        "console.log(JSON.stringify({ seen, sameClass: root.Deferred === Deferred, done: new Failure(new ConnectionDone()).check(root.ConnectionDone) === ConnectionDone }));",
      ].join("\n"),
    );
    const out = execFileSync(process.execPath, [join(dir, "main.mjs")], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out)).to.deep.equal({ seen: 42, sameClass: true, done: true });
  });

  it("ships type declarations a TypeScript consumer can check against", () => {
    writeFileSync(
      join(dir, "typed.ts"),
      [
        'import { Deferred, type IProtocol } from "torsion";',
        'import { succeed } from "torsion/internet/defer";',
        "const d: Deferred<number> = succeed(1);",
        "const p: IProtocol | null = null;",
        "// @ts-expect-error callback takes a number",
        'd.callback("not a number");',
        "export { p };",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: ["node"], skipLibCheck: false },
        files: ["typed.ts"],
      }),
    );
    const tsc = require.resolve("typescript/bin/tsc");
    execFileSync(process.execPath, [tsc, "-p", dir], { cwd: dir, encoding: "utf8" });
  });

  it("exports its public modules only: every listed subpath loads, internals (the thread wire, the worker script) do not resolve", () => {
    const exportsField = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { exports: Record<string, unknown> }).exports;
    const subpaths = Object.keys(exportsField).filter((k) => k !== "." && k !== "./package.json");
    expect(subpaths).to.include.members(["./internet/defer", "./internet/reactor", "./web/server", "./protocols/basic"]);
    writeFileSync(
      join(dir, "surface.mjs"),
      [
        `const subpaths = ${JSON.stringify(subpaths)};`,
        "const loaded = [];",
        'for (const p of subpaths) { await import("torsion" + p.slice(1)); loaded.push(p); }',
        "const refused = [];",
        'for (const p of ["torsion/internet/thread-bridge", "torsion/internet/worker-main", "torsion/web/http-parser", "torsion/cli/main"]) {',
        "  try { await import(p); } catch (err) { if (err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') refused.push(p); }",
        "}",
        "console.log(JSON.stringify({ loaded: loaded.length, refused }));",
      ].join("\n"),
    );
    const out = execFileSync(process.execPath, [join(dir, "surface.mjs")], { cwd: dir, encoding: "utf8" });
    expect(JSON.parse(out)).to.deep.equal({
      loaded: subpaths.length,
      refused: ["torsion/internet/thread-bridge", "torsion/internet/worker-main", "torsion/web/http-parser", "torsion/cli/main"],
    });
  });
});
