/**
 * /docs/: the project's docs/*.md rendered as HTML pages with the demo's Markdown renderer.
 *
 * /docs/ is docs/README.md (the index) followed by a list of every guide; /docs/<name> is
 * docs/<name>.md (/docs/<name>.md answers too, so links copied from GitHub work). Only names
 * found by listing the directory are served, so a request path never reaches the file system:
 * no "..", no absolute path, no symlink games. A page is rendered once per change of the file.
 */

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { NoResource, Resource, type IRequest, type IResource, type RenderResult } from "torsion";
import { escapeHtml, page } from "./layout.js";
import { renderMarkdown } from "./markdown.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Relative links between guides ("threads.md#pools") lose ".md"; README.md is the index. */
export function rewriteDocLink(href: string): string {
  if (/^[a-z][a-z0-9+.-]*:|^\/|^#/i.test(href)) return href;
  const m = /^(?:\.\/)?([A-Za-z0-9_-]+)\.md(#.*)?$/.exec(href);
  if (m === null) return href;
  return (m[1] === "README" ? "./" : m[1]) + (m[2] ?? "");
}

interface Cached {
  mtimeMs: number;
  title: string;
  html: string;
}

export class DocsResource extends Resource {
  private readonly cache = new Map<string, Cached>();

  constructor(readonly directory: string) {
    super();
  }

  override getChild(path: string, _request: IRequest): IResource {
    const name = path === "" ? "README" : path.endsWith(".md") ? path.slice(0, -3) : path;
    if (!NAME.test(name)) return new NoResource("No such guide.");
    return new DocPage(this, name);
  }

  /** Without the trailing slash, /docs sends the browser to /docs/ so relative links resolve. */
  render_GET(request: IRequest): RenderResult {
    request.redirect("/docs/");
    return "";
  }

  /** The guides' names (without .md), README first. */
  async names(): Promise<string[]> {
    const entries = await readdir(this.directory);
    const names = entries.filter((f) => f.endsWith(".md") && NAME.test(f.slice(0, -3))).map((f) => f.slice(0, -3));
    names.sort((a, b) => (a === "README" ? -1 : b === "README" ? 1 : a.localeCompare(b)));
    return names;
  }

  /** The rendered page for `name`, or null when there is no such guide. */
  async load(name: string): Promise<Cached | null> {
    if (!(await this.names()).includes(name)) return null;
    const file = join(this.directory, `${name}.md`);
    const info = await stat(file);
    const cached = this.cache.get(name);
    if (cached !== undefined && cached.mtimeMs === info.mtimeMs) return cached;
    const source = await readFile(file, "utf8");
    const rendered = renderMarkdown(source, { rewriteLink: rewriteDocLink });
    const entry = { mtimeMs: info.mtimeMs, title: rendered.title ?? name, html: rendered.html };
    this.cache.set(name, entry);
    return entry;
  }
}

class DocPage extends Resource {
  override isLeaf = true;

  constructor(
    private readonly docs: DocsResource,
    private readonly name: string,
  ) {
    super();
  }

  async render_GET(request: IRequest): Promise<string> {
    if (request.postpath.length > 0) return this.notFound(request);
    const doc = await this.docs.load(this.name);
    if (doc === null) return this.notFound(request);
    request.setHeader("content-type", "text/html; charset=utf-8");
    let body = doc.html;
    if (this.name === "README") {
      const titles = await Promise.all(
        (await this.docs.names()).filter((n) => n !== "README").map(async (n) => [n, (await this.docs.load(n))?.title ?? n] as const),
      );
      body +=
        `<h2 id="all-guides">All guides</h2>\n<ul>\n` +
        titles.map(([n, t]) => `<li><a href="${escapeHtml(n)}">${escapeHtml(t)}</a> <span class="muted">(${escapeHtml(n)}.md)</span></li>`).join("\n") +
        `\n</ul>\n`;
    } else {
      body = `<p class="muted"><a href="./">← all guides</a> · docs/${escapeHtml(this.name)}.md</p>\n` + body;
    }
    return page(doc.title, body, { active: "/docs/" });
  }

  private notFound(request: IRequest): string {
    request.setResponseCode(404);
    request.setHeader("content-type", "text/html; charset=utf-8");
    return page("No such guide", `<h1>No such guide</h1>\n<p>See <a href="/docs/">the list of guides</a>.</p>\n`, { active: "/docs/" });
  }
}
