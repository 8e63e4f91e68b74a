/**
 * llhttp's request test corpus (spec/fixtures/llhttp/*.md, vendored from nodejs/llhttp with its
 * MIT LICENSE), read as llhttp's own test runner (test/md-test.ts) reads it: each case is a
 * heading, a `<!-- meta={...} -->` line, an ```http block (the input) and a ```log block (the
 * callbacks llhttp makes, ending in `error` when it refuses the input).
 *
 * The input is turned into bytes by llhttp's rules: the block's last newline is dropped, a
 * backslash before a newline joins the lines, every newline becomes CRLF, and then `\r`, `\n`,
 * `\t`, `\f`, `\xHH` and octal `\NNN` escapes are replaced by their bytes.
 *
 * The strict cases are those of type "request" (llhttp with no lenient flag); the others
 * ("request-lenient-headers", ...) test llhttp's lenient flags, which torsion does not have.
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What llhttp reported for one message of a case. */
export interface LlhttpMessage {
  method: string;
  url: string;
  /** [name, value] in order; values as llhttp spans them (without surrounding whitespace). */
  headers: [string, string][];
  /** Trailer fields of a chunked body (after "headers complete"). */
  trailers: [string, string][];
  body: string;
  complete: boolean;
}

export interface LlhttpCase {
  /** "file.md: heading" (with the line), unique. */
  name: string;
  file: string;
  heading: string;
  line: number;
  type: string;
  /** The meta's other settings (noScan, pause, skipBody). */
  meta: Record<string, unknown>;
  input: Buffer;
  /** The messages llhttp parsed, in order (the last may be incomplete). */
  messages: LlhttpMessage[];
  /** llhttp's error, if it refused the input: the byte offset and its reason. */
  error: { offset: number; code: number; reason: string } | null;
  /** llhttp stopped after a CONNECT or Upgrade head, handing the connection over (a tunnel). */
  upgraded: boolean;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** spec/fixtures/llhttp, from build/spec/hardening (the .md files are read from the source tree). */
export const CORPUS_DIR = join(HERE, "..", "..", "..", "spec", "fixtures", "llhttp");

/** llhttp's md-test.ts input rules. */
export function llhttpInput(block: string): Buffer {
  let input = block.replace(/\n$/, "");
  input = input.replace(/\\(\r\n|\r|\n)/g, "");
  input = input.replace(/\r\n|\r|\n/g, "\r\n");
  input = input.replace(/\\r/g, "\r");
  input = input.replace(/\\n/g, "\n");
  input = input.replace(/\\t/g, "\t");
  input = input.replace(/\\f/g, "\f");
  input = input.replace(/\\x([0-9a-fA-F]+)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  input = input.replace(/\\([0-7]{1,3})/g, (_, digits: string) => String.fromCharCode(parseInt(digits, 8)));
  if (/\$\{/.test(input)) throw new Error("inline JavaScript in a corpus input is not supported");
  return Buffer.from(input, "latin1");
}

/** A span's text: llhttp's log prints the bytes as they are, but tabs and form feeds (md-test.ts). */
function unquote(text: string): string {
  return text.replace(/\\t/g, "\t").replace(/\\f/g, "\f");
}

/** The messages and error of a ```log block. */
function readLog(log: string): Pick<LlhttpCase, "messages" | "error" | "upgraded"> {
  const messages: LlhttpMessage[] = [];
  let current: LlhttpMessage | null = null;
  let error: LlhttpCase["error"] = null;
  let upgraded = false;
  let lastSpan = "";
  let fields: [string, string][] = [];
  for (const line of log.split("\n")) {
    const m = /^off=(\d+) (.*)$/.exec(line.trim());
    if (m === null) continue;
    const offset = Number(m[1]);
    const event = m[2];
    if (event === "message begin") {
      current = { method: "", url: "", headers: [], trailers: [], body: "", complete: false };
      fields = current.headers;
      messages.push(current);
      lastSpan = "";
      continue;
    }
    const err = /^error code=(\d+) reason="(.*)"$/.exec(event);
    // HPE_PAUSED_UPGRADE (22): not an error, llhttp hands the connection over (CONNECT, Upgrade).
    if (err !== null && Number(err[1]) === 22) {
      upgraded = true;
      break;
    }
    if (err !== null) {
      error = { offset, code: Number(err[1]), reason: err[2] };
      break;
    }
    if (current === null) continue;
    if (event === "message complete") {
      current.complete = true;
      continue;
    }
    if (event.startsWith("headers complete")) {
      fields = current.trailers;
      lastSpan = "";
      continue;
    }
    const span = /^len=\d+ span\[(\w+)\]="(.*)"$/.exec(event);
    if (span === null) {
      if (/ complete$/.test(event)) lastSpan = ""; // a field or value ended: the next span starts a new one
      continue;
    }
    const [, kind, quoted] = span;
    const text = unquote(quoted);
    if (kind === "method") current.method += text;
    else if (kind === "url") current.url += text;
    else if (kind === "body") current.body += text;
    else if (kind === "header_field") {
      if (lastSpan === "header_field") fields[fields.length - 1][0] += text;
      else fields.push([text, ""]);
    } else if (kind === "header_value") {
      if (fields.length === 0) fields.push(["", ""]);
      fields[fields.length - 1][1] += text;
    }
    lastSpan = kind;
  }
  return { messages, error, upgraded };
}

/** Every case of every .md file of the corpus, in file order. */
export function loadCorpus(dir = CORPUS_DIR): LlhttpCase[] {
  const cases: LlhttpCase[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".md")).sort()) {
    const lines = readFileSync(join(dir, file), "utf8").split("\n");
    let heading = "";
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const h = /^#{2,}\s+(.*)$/.exec(line);
      if (h !== null) {
        heading = h[1].trim();
        continue;
      }
      const meta = /^<!--\s*meta=(\{.*\})\s*-->\s*$/.exec(line);
      if (meta === null || lines[i + 1]?.trim() !== "```http") continue;
      const settings = JSON.parse(meta[1]) as Record<string, unknown>;
      const at = i;
      let j = i + 2;
      const http: string[] = [];
      while (j < lines.length && lines[j] !== "```") http.push(lines[j++]);
      while (j < lines.length && lines[j].trim() !== "```log") j++;
      const log: string[] = [];
      for (j++; j < lines.length && lines[j] !== "```"; j++) log.push(lines[j]);
      i = j;
      const { type, ...rest } = settings;
      cases.push({
        name: `${file}:${at + 1} ${heading}`,
        file,
        heading,
        line: at + 1,
        type: String(type),
        meta: rest,
        input: llhttpInput(http.join("\n") + "\n"),
        ...readLog(log.join("\n")),
      });
    }
  }
  return cases;
}
