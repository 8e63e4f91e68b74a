/**
 * The demo's page shell: one stylesheet, a navigation bar, and an HTML escaper. Every page of
 * the demo site is built with page() so they look alike; no page takes markup from a request.
 */

import { escapeHtml } from "torsion";

export { escapeHtml };

export const NAV: readonly (readonly [href: string, label: string])[] = [
  ["/", "Home"],
  ["/docs/", "Docs"],
  ["/stream", "Stream"],
  ["/wsgi/", "WSGI"],
  ["/stats", "Stats"],
];

export const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dee8; --accent: #7a3cc8; --bg: #fbfbfd; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { background: #241a3a; color: #fff; padding: .6rem 1.2rem; display: flex; align-items: baseline; gap: 1.5rem; flex-wrap: wrap; }
header .brand { font-weight: 700; font-size: 1.25rem; letter-spacing: .02em; color: #fff; text-decoration: none; }
header nav a { color: #d9c8ff; margin-right: 1rem; text-decoration: none; }
header nav a.active, header nav a:hover { color: #fff; text-decoration: underline; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
h1, h2, h3 { line-height: 1.25; }
a { color: var(--accent); }
code { font: .9em/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #eef0f5; padding: .05em .3em; border-radius: 3px; }
pre { background: #1f2330; color: #e8eaf0; padding: .8rem 1rem; overflow-x: auto; border-radius: 6px; }
pre code { background: none; padding: 0; color: inherit; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid var(--line); padding: .3rem .6rem; vertical-align: top; }
th { background: #eef0f5; text-align: left; }
blockquote { margin: 1rem 0; padding: .2rem 1rem; border-left: 4px solid var(--line); color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; margin: 1.5rem 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; background: #fff; }
.card h3 { margin: .2rem 0 .4rem; }
.muted { color: var(--muted); }
.ticks { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9rem; }
.stats td.n { text-align: right; font-variant-numeric: tabular-nums; min-width: 5rem; }
.stats caption { text-align: left; font-weight: 600; padding: .3rem 0; }
footer { color: var(--muted); font-size: .85rem; text-align: center; padding: 1rem; }
`;

export interface PageOptions {
  /** The NAV href to mark as the current section. */
  active?: string;
  /** Seconds after which the browser reloads the page. */
  refresh?: number;
}

/** The head of a page and its header, up to and including `<main>` (a streamed page sends this first). */
export function pageHead(title: string, options: PageOptions = {}): string {
  const nav = NAV.map(([href, label]) => {
    const cls = href === options.active ? ' class="active"' : "";
    return `<a href="${href}"${cls}>${label}</a>`;
  }).join("");
  const refresh = options.refresh !== undefined ? `<meta http-equiv="refresh" content="${Number(options.refresh)}">` : "";
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n${refresh}` +
    `<title>${escapeHtml(title)} · torsion demo</title>\n<style>${STYLE}</style>\n</head>\n<body>\n` +
    `<header><a class="brand" href="/">torsion</a><nav>${nav}</nav></header>\n<main>\n`
  );
}

export const PAGE_TAIL = `</main>\n<footer>torsion demo · served by torsion's own HTTP server</footer>\n</body>\n</html>\n`;

/** A whole page: `body` is trusted HTML made by the demo itself. */
export function page(title: string, body: string, options: PageOptions = {}): string {
  return pageHead(title, options) + body + PAGE_TAIL;
}
