/**
 * Every ```ts block of README.md and docs/*.md compiles, as a reader would paste it into a
 * project of their own: each block is a module of a consumer project whose node_modules holds
 * the built torsion package (resolved through package.json "exports", declarations and all).
 * One TypeScript program checks every block, so the spec stays fast however many guides there
 * are. A failure names the guide, the line in it and the compiler's message.
 *
 * A block fenced ```ts from=examples/foo.ts is an excerpt of that file, which the build compiles:
 * its lines must be there, in order. A block that is deliberately a piece of a larger program is
 * fenced ```ts fragment and skipped (spec/support/snippets.ts says more).
 */

import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { excerptMismatch, excerptOf, guideFiles, repoRoot, tsBlocks, type Snippet } from "../support/snippets.js";

/** A consumer project in a temporary directory: torsion and the repository's dev tools installed. */
export function consumerProject(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const modules = join(dir, "node_modules");
  mkdirSync(modules);
  symlinkSync(repoRoot, join(modules, "torsion"), "dir");
  for (const name of readdirSync(join(repoRoot, "node_modules"))) {
    if (name.startsWith(".") || name === "torsion") continue;
    symlinkSync(join(repoRoot, "node_modules", name), join(modules, name), "dir");
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "snippets", type: "module", private: true }));
  return dir;
}

/** What a reader's tsconfig.json says (docs/quickstart.md), plus mocha's globals for docs/testing.md. */
const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2023.d.ts", "lib.es2024.sharedmemory.d.ts", "lib.es2024.promise.d.ts"],
  types: ["node", "mocha"],
  strict: true,
  noImplicitOverride: true,
  skipLibCheck: true,
  noEmit: true,
};

/** The name a block's module gets: its guide and line, readable in a stack of diagnostics. */
function moduleName(s: Snippet): string {
  return `${s.file.replace(/[/.]/g, "_")}_${s.line}.ts`;
}

/**
 * Check `blocks` in the consumer project `dir`: compile the whole ones in one program, compare
 * the excerpts with their files. The problems, each "file:line[:column]: message", by guide.
 */
export function checkBlocks(blocks: readonly Snippet[], dir: string): Map<string, string[]> {
  const errors = new Map<string, string[]>();
  const report = (file: string, line: string) => {
    if (!errors.has(file)) errors.set(file, []);
    errors.get(file)!.push(line);
  };
  const roots: string[] = [];
  const bySource = new Map<string, Snippet>();
  for (const block of blocks) {
    if (block.tags.includes("fragment")) continue;
    const from = excerptOf(block);
    if (from !== undefined) {
      const source = join(repoRoot, from);
      if (!from.endsWith(".ts") || !existsSync(source)) {
        report(block.file, `${block.file}:${block.line - 1}: from=${from}: no such TypeScript file in the repository`);
        continue;
      }
      const off = excerptMismatch(block, readFileSync(source, "utf8"));
      if (off) report(block.file, `${block.file}:${off.line}: not in ${from} (in this order): ${off.text}`);
      continue;
    }
    const path = join(dir, moduleName(block));
    // `export {}` makes a block without imports a module too, so top-level await is allowed
    // and its names do not collide with another block's.
    writeFileSync(path, block.code + "export {};\n");
    roots.push(path);
    bySource.set(path, block);
  }
  if (roots.length === 0) return errors;
  const program = ts.createProgram(roots, options);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
    const block = d.file ? bySource.get(d.file.fileName) : undefined;
    if (!d.file || !block) {
      // Not inside a block (a declaration of torsion itself, the options): every guide's problem.
      for (const b of bySource.values()) report(b.file, `TS${d.code}: ${message}`);
      continue;
    }
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    report(block.file, `${block.file}:${block.line + line}:${character + 1}: TS${d.code}: ${message}`);
  }
  return errors;
}

describe("docs: every ```ts block of README.md and docs/ compiles against the built package", function () {
  this.timeout(180_000);
  const files = guideFiles();
  const blocks = files.flatMap((f) => tsBlocks(f));
  let errors = new Map<string, string[]>();
  let dir: string;

  before(() => {
    dir = consumerProject("torsion-snippets-");
    errors = checkBlocks(blocks, dir);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("finds the blocks (README.md's tour among them)", () => {
    expect(blocks.filter((b) => b.file === "README.md").length).to.be.at.least(3);
  });

  it("names the guide, the line and the compiler's message of a block that does not compile", () => {
    const broken: Snippet[] = [
      { file: "docs/broken.md", line: 10, code: 'import { reactor } from "torsion";\n\nreactor.listenTCP("80", null);\n', tags: [] },
      { file: "docs/broken.md", line: 20, code: "const a = 1;\nconst b = 2;\n", tags: ["from=examples/echo-server.ts"] },
      { file: "docs/broken.md", line: 30, code: "this is not TypeScript\n", tags: ["fragment"] },
    ];
    const found = checkBlocks(broken, dir).get("docs/broken.md") ?? [];
    expect(found.some((e) => /^docs\/broken\.md:12:\d+: TS2345: Argument of type 'string'/.test(e)), found.join("\n")).to.equal(true);
    expect(found).to.include("docs/broken.md:20: not in examples/echo-server.ts (in this order): const a = 1;");
    expect(found.filter((e) => e.startsWith("docs/broken.md:3"))).to.deep.equal([]);
  });

  for (const file of files) {
    const count = blocks.filter((b) => b.file === file && !b.tags.includes("fragment")).length;
    if (count === 0) continue;
    it(`${file}: its ${count} block${count === 1 ? "" : "s"} compile`, () => {
      const found = errors.get(file) ?? [];
      if (found.length > 0) expect.fail(`${found.length} problem(s):\n${found.join("\n")}`);
    });
  }
});
