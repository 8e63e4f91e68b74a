/**
 * Query strings and form bodies (application/x-www-form-urlencoded), as twisted.web.http's
 * parse_qs and urllib's unquote_plus, giving strings: the percent-decoded bytes are decoded
 * as UTF-8 (invalid sequences become U+FFFD).
 */

/**
 * Parse an application/x-www-form-urlencoded string (a query string) into `into`: '&'
 * separates pairs, '+' is a space, %XX are bytes, and the bytes are decoded as UTF-8. A name
 * without '=' gets the value "" (Python's keep_blank_values).
 */
export function parseQs(qs: string, into: Map<string, string[]> = new Map()): Map<string, string[]> {
  if (qs.length === 0) return into;
  for (const pair of qs.split("&")) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf("=");
    const name = unquotePlus(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : unquotePlus(pair.slice(eq + 1));
    const values = into.get(name);
    if (values === undefined) into.set(name, [value]);
    else values.push(value);
  }
  return into;
}

/** Undo form encoding of a latin1 string: '+' -> ' ', %XX -> byte, then UTF-8 decode. */
export function unquotePlus(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 43 || c === 37 || c > 127) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const bytes = Buffer.allocUnsafe(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 43) bytes[n++] = 32;
    else if (c === 37 && i + 2 < s.length + 0 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes[n++] = parseInt(s.substr(i + 1, 2), 16);
      i += 2;
    } else bytes[n++] = c & 0xff;
  }
  return bytes.toString("utf8", 0, n);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
