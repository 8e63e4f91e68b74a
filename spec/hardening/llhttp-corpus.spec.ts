/**
 * llhttp's request corpus (test/request/*.md of nodejs/llhttp, vendored in spec/fixtures/llhttp
 * with its MIT LICENSE) fed to HTTPChannel: every strict-mode case (type "request") is turned
 * into bytes as llhttp's runner does, fed to a channel whole, and the outcome checked against
 * llhttp's log: the requests it parsed (method, target, headers, body) reach the application
 * the same, and where llhttp refuses the input torsion does too (answering 4xx/5xx, or closing
 * without reading on). The deliberate differences are listed below with their RFC clause.
 *
 * The channel runs with allowMissingHost: most cases send no Host, and the Host rule (RFC 9112
 * 3.2, its own specs in spec/web/http-channel.spec.ts) would refuse them before their framing
 * is tried.
 */

import { expect } from "chai";
import { feedChannel, parseResponses, type Outcome } from "./http-harness.js";
import { loadCorpus, type LlhttpCase } from "./llhttp-corpus.js";

/** Where torsion deliberately answers differently from llhttp's strict mode, and why. */
export const DIFFERENCES: ReadonlyMap<string, string> = new Map([
  // RFC 9110 9.1: a method the server does not implement is 501. torsion knows RFC 9110's,
  // PATCH and WebDAV's (DEFAULT_METHODS); llhttp also parses SSDP's, RTSP's, ICE's and others.
  ["method.md:137 M-SEARCH request", "501 for SSDP's M-SEARCH (RFC 9110 9.1)"],
  ["method.md:219 PURGE request", "501 for PURGE (RFC 9110 9.1)"],
  ["method.md:275 LINK request", "501 for LINK (RFC 9110 9.1; RFC 2068's LINK was dropped)"],
  ["method.md:313 LINK request", "501 for UNLINK (RFC 9110 9.1)"],
  ["method.md:346 SOURCE request", "501 for ICE's SOURCE (RFC 9110 9.1)"],
  ["method.md:374 SOURCE request with ICE", "501 for SOURCE with ICE/1.0 (RFC 9110 9.1; ICE is not HTTP)"],
  ["method.md:432 ANNOUNCE request with RTSP", "501 for RTSP's ANNOUNCE (RFC 9110 9.1; RTSP is not HTTP)"],
  ["method.md:484 QUERY request", "501 for QUERY, still a draft (RFC 9110 9.1)"],
  // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; RTSP/1.0 is another protocol.
  ["method.md:404 OPTIONS request with RTSP", "400 for RTSP/1.0 (RFC 9112 2.3)"],
  // RFC 9112 3 and Appendix C.1: a request-line has a version; HTTP/0.9 is not spoken.
  ["sample.md:316 No HTTP version", "400 for HTTP/0.9 (RFC 9112 3, C.1)"],
  // RFC 9112 6.1: a transfer coding the server does not implement is 501 (torsion decodes chunked only).
  ["transfer-encoding.md:753 POST with `chunked` as last transfer-encoding", "501 for a coding before chunked (RFC 9112 6.1)"],
  ["transfer-encoding.md:795 POST with `chunked` as last transfer-encoding (multiple headers)", "501 for a coding before chunked (RFC 9112 6.1)"],
  // RFC 9110 4.2.4: userinfo in an http(s) URI is to be treated as an error.
  ["uri.md:224 `host:port` and basic auth", "400 for userinfo in the target (RFC 9110 4.2.4)"],
  // RFC 9110 9.3.6: torsion has no tunnel, so a CONNECT's Content-Length frames a body (llhttp
  // stops at the head and hands the connection over).
  ["method.md:98 CONNECT with body", "reads a CONNECT's body (no tunnel; RFC 9110 9.3.6)"],
  // RFC 9110 7.8: a server may ignore Upgrade. HTTPChannel does, so the bytes llhttp hands to
  // the new protocol are read as the next request ("Hot diggity dogg": 501 for the method Hot).
  ["connection.md:544 Multiple tokens with folding and LWS", "Upgrade ignored, what follows read as HTTP (RFC 9110 7.8)"],
  ["connection.md:755 Upgrade GET request", "Upgrade ignored, what follows read as HTTP (RFC 9110 7.8)"],
  ["connection.md:814 Upgrade POST request", "Upgrade ignored, what follows read as HTTP (RFC 9110 7.8)"],
]);

/**
 * Cases of type "request" that test llhttp's runner rather than the bytes: skipBody has the
 * callback tell llhttp to skip the body (as for a response to HEAD), which a request cannot.
 * (Type "request-finish" cases test llhttp_finish at the end of input: torsion's counterpart is
 * the half-close specs; the lenient types test flags torsion does not have.)
 */
function runnerOnly(c: LlhttpCase): boolean {
  return c.meta.skipBody === true;
}

/** What torsion did with a case, reduced to what can be compared with llhttp's log. */
export interface Verdict {
  /** Requests the application saw. */
  processed: number;
  /** The first error status answered (4xx/5xx), or 0. */
  refusedWith: number;
}

export function verdictOf(outcome: Outcome): Verdict {
  const responses = parseResponses(outcome.output, outcome.seen.map((r) => r.method));
  const refused = responses.find((r) => r.status >= 400);
  return { processed: outcome.seen.length, refusedWith: refused?.status ?? 0 };
}

/** The cases llhttp runs without lenient flags. */
export const STRICT_CASES: readonly LlhttpCase[] = loadCorpus().filter((c) => c.type === "request" && !runnerOnly(c));

/** Why `c` and `outcome` disagree, or null if they agree. */
export function disagreement(c: LlhttpCase, outcome: Outcome): string | null {
  const verdict = verdictOf(outcome);
  const complete = c.messages.filter((m) => m.complete);
  const n = Math.min(complete.length, outcome.seen.length);
  for (let i = 0; i < n; i++) {
    const theirs = complete[i];
    const ours = outcome.seen[i];
    if (ours.method !== theirs.method) return `request ${i}: method ${ours.method} vs llhttp's ${theirs.method}`;
    if (ours.uri !== theirs.url) return `request ${i}: target ${JSON.stringify(ours.uri)} vs llhttp's ${JSON.stringify(theirs.url)}`;
    if (ours.body !== theirs.body) return `request ${i}: body ${JSON.stringify(ours.body)} vs llhttp's ${JSON.stringify(theirs.body)}`;
    const expected = new Map<string, string[]>();
    for (const [name, value] of theirs.headers) {
      const key = name.toLowerCase();
      if (!expected.has(key)) expected.set(key, []);
      expected.get(key)!.push(value.replace(/^[ \t]+|[ \t]+$/g, ""));
    }
    const seen = new Map<string, string[]>();
    for (const [name, values] of ours.headers) seen.set(name.toLowerCase(), values);
    // An absolute-form target's authority replaces Host (RFC 9112 3.2.2).
    if (/^https?:\/\//i.test(ours.uri)) {
      expected.delete("host");
      seen.delete("host");
    }
    if (JSON.stringify([...seen]) !== JSON.stringify([...expected])) {
      return `request ${i}: headers ${JSON.stringify([...seen])} vs llhttp's ${JSON.stringify([...expected])}`;
    }
  }
  if (c.error !== null) {
    if (outcome.seen.length > complete.length) return `processed ${outcome.seen.length} requests; llhttp refused after ${complete.length} (${c.error.reason})`;
    if (outcome.seen.length < complete.length) return `processed ${outcome.seen.length} requests; llhttp parsed ${complete.length} before its error`;
    if (verdict.refusedWith === 0 && !outcome.closed) return `accepted what llhttp refuses (${c.error.reason})`;
    return null;
  }
  // Where llhttp waits for more input, the harness then lets every deadline pass, and torsion
  // answers 408 (headersTimeout, bodyTimeout): the same verdict.
  if (verdict.refusedWith !== 0 && verdict.refusedWith !== 408) return `answered ${verdict.refusedWith}; llhttp accepts it`;
  if (outcome.seen.length !== complete.length) return `processed ${outcome.seen.length} requests; llhttp parsed ${complete.length}`;
  return null;
}

describe("hardening: llhttp's request corpus, fed to HTTPChannel", () => {
  it("the corpus is there: strict cases of every file", () => {
    expect(STRICT_CASES.length).to.be.greaterThan(100);
    expect(new Set(STRICT_CASES.map((c) => c.file)).size).to.be.greaterThan(8);
  });

  for (const c of STRICT_CASES) {
    const difference = DIFFERENCES.get(c.name);
    it(`${c.name}${difference !== undefined ? ` (differs: ${difference})` : ""}`, () => {
      const outcome = feedChannel([c.input]);
      const why = disagreement(c, outcome);
      if (difference !== undefined) {
        expect(why, "listed as a difference, but torsion agrees with llhttp: take it off the list").to.not.equal(null);
      } else {
        expect(why).to.equal(null);
      }
    });
  }
});
