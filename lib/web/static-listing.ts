/**
 * DirectoryLister, the HTML listing of a directory, as twisted.web.static.DirectoryLister.
 * Re-exported by static.ts.
 */

import { readdirSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { IRequest, RenderResult } from "./iweb.js";
import { Resource, escapeHtml } from "./resource.js";
import { unquoteSegment } from "./path-segments.js";
import { DEFAULT_CONTENT_ENCODINGS, DEFAULT_CONTENT_TYPES, getTypeAndEncoding } from "./static-mime.js";

export function formatFileSize(size: number): string {
  if (size < 1024) return `${Math.trunc(size)}B`;
  if (size < 1024 ** 2) return `${Math.trunc(size / 1024)}K`;
  if (size < 1024 ** 3) return `${Math.trunc(size / 1024 ** 2)}M`;
  return `${Math.trunc(size / 1024 ** 3)}G`;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

interface ListingLine {
  text: string;
  href: string;
  size: string;
  type: string;
  encoding: string;
}

const LISTING_STYLE = `.even-dir { background-color: #efe0ef }
.even { background-color: #eee }
.odd-dir {background-color: #f0d0ef }
.odd { background-color: #dedede }
.icon { text-align: center }
.listing {
    margin-left: auto;
    margin-right: auto;
    width: 50%;
    padding: 0.1em;
    }
body { border: 0; padding: 0; margin: 0; background-color: #efefef; }
h1 {padding: 0.1em; background-color: #777; color: white; border-bottom: thin white dashed;}`;

/**
 * An HTML listing of a directory (twisted.web.static.DirectoryLister): directories first, then
 * files, with size, type and encoding; names and the header are HTML-escaped, links are
 * percent-encoded. Broken symbolic links are left out.
 */
export class DirectoryLister extends Resource {
  constructor(
    public path: string,
    /** The names to list; null lists what is in the directory. */
    public dirs: string[] | null = null,
    public contentTypes: ReadonlyMap<string, string> = DEFAULT_CONTENT_TYPES,
    public contentEncodings: ReadonlyMap<string, string> = DEFAULT_CONTENT_ENCODINGS,
    public defaultType = "application/octet-stream",
  ) {
    super();
  }

  /** [directories, files] of `names`, as lines of the table. */
  _getFilesAndDirectories(names: readonly string[]): [ListingLine[], ListingLine[]] {
    const dirs: ListingLine[] = [];
    const files: ListingLine[] = [];
    for (const name of names) {
      const url = encodeURIComponent(name);
      const text = escapeHtml(name);
      const st = statOrNull(join(this.path, name));
      if (st === null) continue;
      if (st.isDirectory()) {
        dirs.push({ text: text + "/", href: url + "/", size: "", type: "[Directory]", encoding: "" });
      } else {
        const [type, encoding] = getTypeAndEncoding(name, this.contentTypes, this.contentEncodings, this.defaultType);
        files.push({
          text,
          href: url,
          size: formatFileSize(st.size),
          type: `[${escapeHtml(type)}]`,
          encoding: encoding ? `[${escapeHtml(encoding)}]` : "",
        });
      }
    }
    return [dirs, files];
  }

  /** Table rows, alternating "odd" and "even" classes. */
  _buildTableContent(lines: readonly ListingLine[]): string[] {
    return lines.map(
      (l, i) =>
        `<tr class="${i % 2 === 0 ? "odd" : "even"}">\n    <td><a href="${l.href}">${l.text}</a></td>\n` +
        `    <td>${l.size}</td>\n    <td>${l.type}</td>\n    <td>${l.encoding}</td>\n</tr>\n`,
    );
  }

  override render(request: IRequest): RenderResult {
    request.setHeader("content-type", "text/html; charset=utf-8");
    let names: string[];
    if (this.dirs === null) {
      try {
        names = readdirSync(this.path).sort();
      } catch {
        names = [];
      }
    } else {
      names = this.dirs;
    }
    const [dirs, files] = this._getFilesAndDirectories(names);
    const table = this._buildTableContent([...dirs, ...files]).join("");
    const header = `Directory listing for ${escapeHtml(unquoteSegment(request.uri))}`;
    const html =
      `<html>\n<head>\n<title>${header}</title>\n<style>\n${LISTING_STYLE}\n</style>\n</head>\n<body>\n<h1>${header}</h1>\n` +
      `<table>\n    <thead>\n        <tr>\n            <th>Filename</th>\n            <th>Size</th>\n` +
      `            <th>Content type</th>\n            <th>Content encoding</th>\n        </tr>\n    </thead>\n` +
      `    <tbody>\n${table}\n    </tbody>\n</table>\n</body>\n</html>\n`;
    return Buffer.from(html, "utf8");
  }

  override toString(): string {
    return `<DirectoryLister of ${JSON.stringify(this.path)}>`;
  }
}
