/**
 * A small, safe Markdown-to-HTML renderer for the demo's /docs pages: ATX headings, paragraphs,
 * bullet and numbered lists (nested by indentation), fenced and indented code blocks, block
 * quotes, rules, GitHub-style tables, and inline code, links, images, autolinks, **strong** and
 * *emphasis*.
 *
 * Safe means: every character of the source reaches the page escaped. Raw HTML in the source is
 * shown as text, never passed through, and a link or image is only made for a relative URL or an
 * http:, https: or mailto: one (a `javascript:` link is rendered as its text), so a document
 * cannot inject markup or script into the site.
 */

import { escapeHtml } from "torsion";

export interface MarkdownOptions {
  /** Rewrite the href of each link (after the safety check), e.g. "threads.md" -> "threads". */
  rewriteLink?: (href: string) => string;
}

export interface Heading {
  level: number;
  /** The heading as plain text. */
  text: string;
  /** Its anchor (GitHub's slug rules), unique within the document. */
  id: string;
}

export interface RenderedMarkdown {
  html: string;
  /** The text of the first level-1 heading, or null. */
  title: string | null;
  headings: Heading[];
}

export { escapeHtml };

/** A URL is safe when it has no scheme (relative) or one of these (checked case-insensitively, after removing controls and spaces). */
const SAFE_SCHEME = /^(?:https?|mailto):/i;
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

export function isSafeUrl(url: string): boolean {
  // Browsers ignore tabs, newlines and leading controls in a scheme ("java\tscript:"): so must we.
  const squeezed = url.replace(/[\u0000-\u0020\u007f]/g, "");
  return !HAS_SCHEME.test(squeezed) || SAFE_SCHEME.test(squeezed);
}

// --- blocks --------------------------------------------------------------------------------

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const TABLE_DELIMITER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const BLANK = /^[ \t]*$/;

class Renderer {
  readonly headings: Heading[] = [];
  private readonly ids = new Map<string, number>();

  constructor(private readonly options: MarkdownOptions) {}

  blocks(lines: string[]): string {
    const out: string[] = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (BLANK.test(line)) {
        i++;
        continue;
      }
      let m: RegExpExecArray | null;
      if ((m = FENCE.exec(line)) !== null) {
        i = this.fence(lines, i, m, out);
      } else if ((m = ATX.exec(line)) !== null) {
        out.push(this.heading(m[1].length, m[2] ?? ""));
        i++;
      } else if (RULE.test(line)) {
        out.push("<hr>");
        i++;
      } else if (QUOTE.test(line)) {
        const inner: string[] = [];
        while (i < lines.length && (m = QUOTE.exec(lines[i])) !== null) {
          inner.push(m[1]);
          i++;
        }
        out.push(`<blockquote>\n${this.blocks(inner)}</blockquote>`);
      } else if (LIST_ITEM.test(line)) {
        i = this.list(lines, i, out);
      } else if (line.startsWith("    ") || line.startsWith("\t")) {
        i = this.indentedCode(lines, i, out);
      } else if (line.includes("|") && i + 1 < lines.length && TABLE_DELIMITER.test(lines[i + 1]) && lines[i + 1].includes("-")) {
        i = this.table(lines, i, out);
      } else {
        i = this.paragraph(lines, i, out);
      }
    }
    return out.length === 0 ? "" : out.join("\n") + "\n";
  }

  private fence(lines: string[], start: number, open: RegExpExecArray, out: string[]): number {
    const indent = open[1].length;
    const marker = open[2];
    const lang = open[3];
    const body: string[] = [];
    let i = start + 1;
    for (; i < lines.length; i++) {
      const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
      if (close !== null && close[1][0] === marker[0] && close[1].length >= marker.length) {
        i++;
        break;
      }
      // Lines of an indented fence lose up to that much indentation (CommonMark 4.5).
      let text = lines[i];
      let strip = 0;
      while (strip < indent && text[strip] === " ") strip++;
      body.push(text.slice(strip));
    }
    const cls = lang !== "" ? ` class="language-${escapeHtml(lang)}"` : "";
    out.push(`<pre><code${cls}>${escapeHtml(body.join("\n"))}${body.length > 0 ? "\n" : ""}</code></pre>`);
    return i;
  }

  private indentedCode(lines: string[], start: number, out: string[]): number {
    const body: string[] = [];
    let i = start;
    for (; i < lines.length; i++) {
      const line = lines[i];
      if (line.startsWith("    ")) body.push(line.slice(4));
      else if (line.startsWith("\t")) body.push(line.slice(1));
      else if (BLANK.test(line)) body.push("");
      else break;
    }
    while (body.length > 0 && body[body.length - 1] === "") body.pop();
    out.push(`<pre><code>${escapeHtml(body.join("\n"))}\n</code></pre>`);
    return i;
  }

  private heading(level: number, raw: string): string {
    const text = plainText(raw);
    let id = slug(text);
    const seen = this.ids.get(id);
    this.ids.set(id, (seen ?? 0) + 1);
    if (seen !== undefined) id = `${id}-${seen}`;
    this.headings.push({ level, text, id });
    return `<h${level} id="${escapeHtml(id)}">${this.inline(raw.trim())}</h${level}>`;
  }

  /** Does this line end a paragraph by starting another block? */
  private interrupts(line: string): boolean {
    return BLANK.test(line) || FENCE.test(line) || ATX.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line);
  }

  private paragraph(lines: string[], start: number, out: string[]): number {
    const text: string[] = [lines[start].trim()];
    let i = start + 1;
    while (i < lines.length && !this.interrupts(lines[i])) {
      if (lines[i].includes("|") && i + 1 < lines.length && TABLE_DELIMITER.test(lines[i + 1]) && lines[i + 1].includes("-")) break;
      text.push(lines[i].trim());
      i++;
    }
    out.push(`<p>${this.inline(text.join("\n"))}</p>`);
    return i;
  }

  private list(lines: string[], start: number, out: string[]): number {
    const first = LIST_ITEM.exec(lines[start])!;
    const ordered = /\d/.test(first[2]);
    const bullet = first[2].slice(-1);
    const items: string[][] = [];
    let loose = false;
    let i = start;
    let sawBlank = false;
    while (i < lines.length) {
      const m = LIST_ITEM.exec(lines[i]);
      if (m === null || /\d/.test(m[2]) !== ordered || m[2].slice(-1) !== bullet) break;
      if (sawBlank) loose = true;
      // Content lines belong to the item when indented to its content column.
      const contentIndent = m[1].length + m[2].length + Math.min(Math.max(m[3].length, 1), 4);
      const body = [m[4]];
      i++;
      sawBlank = false;
      while (i < lines.length) {
        const line = lines[i];
        if (BLANK.test(line)) {
          // A blank line ends the item unless an indented continuation follows.
          let j = i + 1;
          while (j < lines.length && BLANK.test(lines[j])) j++;
          if (j < lines.length && indentOf(lines[j]) >= contentIndent) {
            for (; i < j; i++) body.push("");
            loose = loose || !LIST_ITEM.test(lines[j].slice(contentIndent));
            continue;
          }
          sawBlank = true;
          i = j;
          break;
        }
        if (indentOf(line) >= contentIndent) {
          body.push(stripIndent(line, contentIndent));
          i++;
          continue;
        }
        // A lazy continuation of the item's paragraph.
        if (!this.interrupts(line) && body.length > 0 && !BLANK.test(body[body.length - 1])) {
          body.push(line.trim());
          i++;
          continue;
        }
        break;
      }
      items.push(body);
    }
    const tag = ordered ? "ol" : "ul";
    const startNumber = ordered ? parseInt(first[2], 10) : 1;
    const attrs = ordered && startNumber !== 1 ? ` start="${startNumber}"` : "";
    const rendered = items.map((body) => {
      let html = this.blocks(body).trimEnd();
      if (!loose) html = html.replace(/^<p>([\s\S]*?)<\/p>(?=\n|$)/, "$1");
      return `<li>${html}</li>`;
    });
    out.push(`<${tag}${attrs}>\n${rendered.join("\n")}\n</${tag}>`);
    return i;
  }

  private table(lines: string[], start: number, out: string[]): number {
    const header = splitRow(lines[start]);
    const aligns = splitRow(lines[start + 1]).map((cell) => {
      const left = cell.startsWith(":");
      const right = cell.endsWith(":");
      return left && right ? "center" : right ? "right" : left ? "left" : null;
    });
    const cell = (tag: string, text: string, col: number): string => {
      const align = aligns[col] ?? null;
      return `<${tag}${align !== null ? ` style="text-align:${align}"` : ""}>${this.inline(text)}</${tag}>`;
    };
    const rows: string[] = [];
    let i = start + 2;
    while (i < lines.length && !BLANK.test(lines[i]) && lines[i].includes("|")) {
      const cells = splitRow(lines[i]);
      const tds: string[] = [];
      for (let c = 0; c < header.length; c++) tds.push(cell("td", cells[c] ?? "", c));
      rows.push(`<tr>${tds.join("")}</tr>`);
      i++;
    }
    const ths = header.map((h, c) => cell("th", h, c)).join("");
    out.push(`<table>\n<thead><tr>${ths}</tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody>\n</table>`);
    return i;
  }

  // --- inline ------------------------------------------------------------------------------

  /**
   * Inline markup. Code spans, escapes, links and autolinks are rendered first and parked as
   * placeholders (NUL-delimited indexes: NUL cannot occur in the source, see renderMarkdown),
   * then the remaining text is escaped and emphasis applied to it, then the parked HTML returns.
   */
  inline(text: string): string {
    const parked: string[] = [];
    const park = (html: string): string => `\u0000${parked.push(html) - 1}\u0000`;
    let rest = "";
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === "\\" && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1])) {
        rest += park(escapeHtml(text[i + 1]));
        i += 2;
      } else if (c === "`") {
        let n = 1;
        while (text[i + n] === "`") n++;
        const fence = "`".repeat(n);
        let close = text.indexOf(fence, i + n);
        while (close !== -1 && text[close + n] === "`") close = text.indexOf(fence, close + n + 1);
        if (close === -1) {
          rest += park(escapeHtml(fence));
          i += n;
          continue;
        }
        let code = text.slice(i + n, close).replace(/\n/g, " ");
        if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim() !== "") code = code.slice(1, -1);
        rest += park(`<code>${escapeHtml(code)}</code>`);
        i = close + n;
      } else if (c === "<") {
        const auto = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(text.slice(i));
        if (auto !== null) {
          rest += park(`<a href="${escapeHtml(this.href(auto[1]))}">${escapeHtml(auto[1])}</a>`);
          i += auto[0].length;
        } else {
          rest += c;
          i++;
        }
      } else if (c === "[" || (c === "!" && text[i + 1] === "[")) {
        const link = parseLink(text, c === "!" ? i + 1 : i);
        if (link === null) {
          rest += c;
          i++;
          continue;
        }
        const safe = isSafeUrl(link.url);
        if (c === "!") {
          rest += safe ? park(`<img src="${escapeHtml(link.url)}" alt="${escapeHtml(plainText(link.text))}">`) : park(escapeHtml(plainText(link.text)));
        } else if (safe) {
          const title = link.title !== null ? ` title="${escapeHtml(link.title)}"` : "";
          rest += park(`<a href="${escapeHtml(this.href(link.url))}"${title}>${this.inline(link.text)}</a>`);
        } else {
          rest += park(this.inline(link.text));
        }
        i = link.end;
      } else {
        rest += c;
        i++;
      }
    }
    let html = emphasis(escapeHtml(rest)).replace(/ {2,}\n/g, "<br>\n");
    // Parked HTML may itself hold placeholders of an inner inline() call: those were restored there.
    html = html.replace(/\u0000(\d+)\u0000/g, (_, n: string) => parked[Number(n)]);
    return html;
  }

  private href(url: string): string {
    return this.options.rewriteLink !== undefined ? this.options.rewriteLink(url) : url;
  }
}

function emphasis(escaped: string): string {
  return escaped
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, "$1<strong>$2</strong>")
    .replace(/\*(?=[^\s*])([^*]*?[^\s*])\*/g, "<em>$1</em>")
    .replace(/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, "$1<em>$2</em>");
}

interface Link {
  text: string;
  url: string;
  title: string | null;
  /** Index just past the link. */
  end: number;
}

/** `[text](url "title")` at `open` (the "["), with nested brackets in the text; else null. */
function parseLink(text: string, open: number): Link | null {
  let depth = 0;
  let close = -1;
  for (let j = open; j < text.length; j++) {
    const c = text[j];
    if (c === "\\") {
      j++;
    } else if (c === "`") {
      // A code span may hold brackets: skip it.
      const end = text.indexOf("`", j + 1);
      if (end !== -1) j = end;
    } else if (c === "[") {
      depth++;
    } else if (c === "]" && --depth === 0) {
      close = j;
      break;
    }
  }
  if (close === -1 || text[close + 1] !== "(") return null;
  const m = /^\(\s*(<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+("[^"]*"|'[^']*'))?\s*\)/.exec(text.slice(close + 1));
  if (m === null) return null;
  let url = m[1];
  if (url.startsWith("<")) url = url.slice(1, -1);
  return {
    text: text.slice(open + 1, close),
    url,
    title: m[2] !== undefined ? m[2].slice(1, -1) : null,
    end: close + 1 + m[0].length,
  };
}

/** The cells of a table row, split on pipes that are not escaped or inside a code span. */
function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells: string[] = [];
  let cell = "";
  let inCode = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && s[i + 1] === "|") {
      cell += "\\|";
      i++;
    } else if (c === "`") {
      let n = 1;
      while (s[i + n] === "`") n++;
      inCode = inCode === 0 ? n : inCode === n ? 0 : inCode;
      cell += "`".repeat(n);
      i += n - 1;
    } else if (c === "|" && inCode === 0) {
      cells.push(cell.trim());
      cell = "";
    } else {
      cell += c;
    }
  }
  cells.push(cell.trim());
  return cells;
}

function indentOf(line: string): number {
  let n = 0;
  for (const c of line) {
    if (c === " ") n++;
    else if (c === "\t") n += 4 - (n % 4);
    else break;
  }
  return n;
}

function stripIndent(line: string, count: number): string {
  let n = 0;
  let i = 0;
  while (i < line.length && n < count) {
    if (line[i] === " ") n++;
    else if (line[i] === "\t") n += 4 - (n % 4);
    else break;
    i++;
  }
  return line.slice(i);
}

/** Inline source as plain text: markup characters of code, links and emphasis dropped. */
function plainText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`+([^`]*)`+/g, "$1")
    .replace(/\\([!-/:-@[-`{-~])/g, "$1")
    .replace(/(\*\*|__|\*|_)(\S[\s\S]*?)\1/g, "$2")
    .trim();
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .trim()
    .replace(/\s/g, "-");
}

/** Render a Markdown document to HTML (a fragment: no html/head/body). */
export function renderMarkdown(source: string, options: MarkdownOptions = {}): RenderedMarkdown {
  // NUL is the placeholder delimiter of inline(); CommonMark replaces it with U+FFFD anyway.
  const lines = source.replace(/\u0000/g, "\ufffd").replace(/\r\n?/g, "\n").split("\n");
  const renderer = new Renderer(options);
  const html = renderer.blocks(lines);
  const h1 = renderer.headings.find((h) => h.level === 1);
  return { html, title: h1?.text ?? null, headings: renderer.headings };
}
