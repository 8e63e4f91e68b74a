/**
 * Reading HTTP responses as bytes on a wire, for specs that drive a channel or a socket and
 * look at what it wrote: the status, a header, the body (raw or dechunked), and a strict
 * reader of a whole sequence of responses (the fuzz harness's). One home for what many specs
 * wrote for themselves.
 */

/** The status code of the first response in `response`. */
export function httpCode(response: Buffer | string): number {
  const text = typeof response === "string" ? response : response.toString("latin1");
  return Number(text.split("\r\n", 1)[0].split(" ")[1]);
}

/** The value of header `name` in the first response's head (case-insensitive), or null. */
export function httpHeader(response: Buffer | string, name: string): string | null {
  const text = typeof response === "string" ? response : response.toString("latin1");
  const head = text.split("\r\n\r\n", 1)[0].split("\r\n").slice(1);
  for (const line of head) {
    const colon = line.indexOf(":");
    if (line.slice(0, colon).toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return null;
}

/** The body after the head (raw: chunked framing is kept). */
export function httpBody(response: Buffer | string): string {
  const text = typeof response === "string" ? response : response.toString("latin1");
  const i = text.indexOf("\r\n\r\n");
  return i === -1 ? "" : text.slice(i + 4);
}

/** Undo chunked framing of a body. */
export function dechunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    if (eol === -1) return out;
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

export interface ParsedResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * Read the responses in `output` strictly: status line, headers, and a body framed by
 * Content-Length or chunked (none for HEAD requests, 1xx, 204, 304). Interim 1xx responses
 * are skipped. Throws on anything malformed or left over.
 */
export function parseResponses(output: string, methods: readonly string[]): ParsedResponse[] {
  const responses: ParsedResponse[] = [];
  let rest = output;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) throw new Error(`incomplete response head: ${JSON.stringify(rest.slice(0, 200))}`);
    const lines = rest.slice(0, end).split("\r\n");
    rest = rest.slice(end + 4);
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(lines[0]);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const hm = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ?([^\r\n\0]*)$/.exec(line);
      if (hm === null) throw new Error(`bad response header line ${JSON.stringify(line)}`);
      headers.set(hm[1].toLowerCase(), hm[2]);
    }
    if (status >= 100 && status < 200) continue;
    const method = methods[responses.length];
    let body = "";
    if (method !== "HEAD" && status !== 204 && status !== 304) {
      const cl = headers.get("content-length");
      if (cl !== undefined) {
        const n = Number(cl);
        if (rest.length < n) throw new Error("response body shorter than its Content-Length");
        body = rest.slice(0, n);
        rest = rest.slice(n);
      } else if (headers.get("transfer-encoding") === "chunked") {
        for (;;) {
          const le = rest.indexOf("\r\n");
          const size = parseInt(rest.slice(0, le), 16);
          if (le === -1 || Number.isNaN(size)) throw new Error("bad chunk in response");
          body += rest.slice(le + 2, le + 2 + size);
          rest = rest.slice(le + 2 + size + 2);
          if (size === 0) break;
        }
      } else {
        body = rest; // close-delimited
        rest = "";
      }
    }
    responses.push({ status, headers, body });
  }
  return responses;
}
