/**
 * The TypeScript blocks of the Markdown guides, as a reader copies them: extracted with the
 * file and line they start on, for specs that compile them (spec/docs/snippets.spec.ts) or run
 * them in a project of one's own (spec/docs/quickstart.spec.ts).
 *
 * A block is fenced with ```ts (or ```typescript) and is a whole module: imports included, it
 * compiles as a reader pastes it. Two info-string words say otherwise:
 * - ```ts from=examples/echo-client.ts: the block is an excerpt of that file of the repository
 *   (which the build compiles); its lines must appear there, in order (a line `...` stands for
 *   lines left out).
 * - ```ts fragment: a piece of a larger program, not compiled. Use it sparingly: a reader can
 *   neither paste nor run a fragment.
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root (this file runs from build/spec/support/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface Snippet {
  /** The Markdown file, relative to the repository (`README.md`, `docs/servers.md`). */
  readonly file: string;
  /** The 1-based line of the block's first line of code (the line after the fence). */
  readonly line: number;
  /** The block's code. */
  readonly code: string;
  /** Words of the info string after the language (`fragment`, `from=...`). */
  readonly tags: readonly string[];
}

/** The file a `from=` block is an excerpt of, or undefined. */
export function excerptOf(s: Snippet): string | undefined {
  return s.tags.find((t) => t.startsWith("from="))?.slice("from=".length);
}

/** A line that stands for lines left out of an excerpt: `...`, `// ...`. */
const ELISION = /^(\/\/\s*)?(\.\.\.|…)$/;

/** A line as compared: trimmed, without a trailing comment (a guide may comment its excerpt). */
function code(line: string): string {
  return line.trim().replace(/(^|\s+)\/\/\s.*$/, "");
}

/**
 * Where `s`'s lines stop following `source` (compared trimmed, blank lines ignored): the first
 * line of the block not found, in order, in the source; undefined when the excerpt is faithful.
 */
export function excerptMismatch(s: Snippet, source: string): { line: number; text: string } | undefined {
  const have = source.split("\n").map(code);
  let j = 0;
  const lines = s.code.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const want = code(lines[i]!);
    if (!want || ELISION.test(want)) continue;
    while (j < have.length && have[j] !== want) j++;
    if (j === have.length) return { line: s.line + i, text: want };
    j++;
  }
  return undefined;
}

/** README.md and every docs/*.md, relative to the repository, in a stable order. */
export function guideFiles(root = repoRoot): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/;

/** Every fenced TypeScript block of `file` (relative to `root`). */
export function tsBlocks(file: string, root = repoRoot): Snippet[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open;
    // The closing fence: the same character, at least as long, nothing after it.
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence![0]}{${fence!.length},}\\s*$`).test(lines[end]!)) end++;
    if (lang === "ts" || lang === "typescript") {
      const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l));
      out.push({ file, line: i + 2, code: body.join("\n") + "\n", tags: rest!.split(/\s+/).filter(Boolean) });
    }
    i = end;
  }
  return out;
}
