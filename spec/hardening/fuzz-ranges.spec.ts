/**
 * Fuzzing the Range support of static File (lib/web/static.ts, static-producer.ts): random
 * Range values give 200, 206 or 416 only, never a 500 or a throw, and the bytes sent are the
 * file's bytes the answer says they are.
 */

import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogEvents } from "../../lib/internet/log.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport, ipAddress } from "../../lib/internet/testing.js";
import { Site } from "../../lib/web/server.js";
import { File, parseRangeHeader, rangeToOffsetAndSize } from "../../lib/web/static.js";
import { check, checkAsync } from "./fuzz-config.js";
import { parseResponses } from "./http-harness.js";

const SIZE = 100;
const CONTENT = Buffer.from(Array.from({ length: SIZE }, (_, i) => 0x41 + (i % 26)));

/** Range header values: free text over the grammar's alphabet, and structured lists of specs. */
const numberText = fc.oneof(
  fc.integer({ min: 0, max: 2 * SIZE }).map(String),
  fc.constantFrom("", "0", "00", "99", "100", "101", "9007199254740993", "1e3", "0x10", "-1", " 5", "18446744073709551616", "9".repeat(400)),
);
const specText = fc.oneof(
  fc.tuple(numberText, numberText).map(([a, b]) => `${a}-${b}`),
  fc.string({ unit: fc.constantFrom(..."0123456789-, \t;=".split("")), maxLength: 12 }),
);
const wellFormedSpec = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 * SIZE }), fc.nat({ max: SIZE })).map(([a, n]) => `${a}-${a + n}`),
  fc.integer({ min: 0, max: 2 * SIZE }).map((a) => `${a}-`),
  fc.integer({ min: 0, max: 2 * SIZE }).map((n) => `-${n}`),
);
const rangeValueArb = fc.oneof(
  { arbitrary: fc.array(wellFormedSpec, { minLength: 1, maxLength: 3 }).map((specs) => "bytes=" + specs.join(",")), weight: 3 },
  { arbitrary: wellFormedSpec.map((spec) => "bytes=" + spec), weight: 3 },
  fc
    .tuple(
      fc.constantFrom("bytes=", "bytes=", "bytes =", "Bytes=", "bytes= ", "items=", "bytes", "=", ""),
      fc.array(specText, { maxLength: 40 }),
      fc.constantFrom(",", ", ", " ,", ",,"),
    )
    .map(([unit, specs, separator]) => unit + specs.join(separator)),
  fc.string({ unit: fc.constantFrom(..."bytes=0123456789-, \t;xX".split("")), maxLength: 40 }),
);

describe("hardening: Range header fuzzing (parser)", () => {
  it("parseRangeHeader either throws RangeError or gives ranges that rangeToOffsetAndSize keeps inside the file", () => {
    check(
      fc.property(rangeValueArb, fc.integer({ min: 0, max: 3 * SIZE }), (value, size) => {
        let ranges;
        try {
          ranges = parseRangeHeader(value);
        } catch (err) {
          expect(err).to.be.instanceOf(RangeError);
          return;
        }
        expect(ranges.length).to.be.above(0);
        for (const range of ranges) {
          const [offset, length] = rangeToOffsetAndSize(range, size);
          expect(Number.isInteger(offset) && Number.isInteger(length)).to.equal(true);
          expect(offset).to.be.at.least(0);
          expect(length).to.be.at.least(0);
          expect(offset + length).to.be.at.most(size);
        }
      }),
      2000,
    );
  });
});

describe("hardening: Range header fuzzing (File over a channel)", () => {
  let dir: string;
  let site: Site;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "torsion-ranges-"));
    writeFileSync(join(dir, "f.txt"), CONTENT);
    writeFileSync(join(dir, "empty.txt"), Buffer.alloc(0));
    site = new Site(new File(dir), { serverVersion: null, sendDate: false, reactor: new Clock() });
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** GET `path` with `range`, Connection: close; resolves once the channel closed (bounded). */
  async function get(path: string, range: string): Promise<string> {
    const channel = site.buildProtocol(null);
    const transport = new StringTransport({ hostAddress: ipAddress("127.0.0.1", 80), peerAddress: ipAddress("127.0.0.1", 5000), lenient: true });
    channel.makeConnection(transport);
    channel.dataReceived(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: a\r\nRange: ${range}\r\nConnection: close\r\n\r\n`, "latin1"));
    const deadline = Date.now() + 5000;
    while (!transport.disconnecting) {
      if (Date.now() > deadline) throw new Error(`no complete response to Range ${JSON.stringify(range)} within 5 s`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return transport.value().toString("latin1");
  }

  it("random Range values give 200, 206 or 416 with exactly the bytes announced", async function () {
    this.timeout(60000);
    const logs = captureLogEvents();
    const statuses = new Set<number>();
    try {
      await checkAsync(
        fc.asyncProperty(rangeValueArb, fc.constantFrom("/f.txt", "/empty.txt"), async (value, path) => {
          const size = path === "/f.txt" ? SIZE : 0;
          const content = path === "/f.txt" ? CONTENT.toString("latin1") : "";
          const responses = parseResponses(await get(path, value), ["GET"]);
          expect(responses.length).to.equal(1);
          const { status, headers, body } = responses[0];
          expect([200, 206, 416], `status for ${JSON.stringify(value)}`).to.include(status);
          statuses.add(status);
          if (status === 200) {
            expect(body).to.equal(content);
          } else if (status === 416) {
            expect(headers.get("content-range")).to.equal(`bytes */${size}`);
          } else if (!(headers.get("content-type") ?? "").startsWith("multipart/byteranges")) {
            const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers.get("content-range") ?? "");
            expect(m, "content-range").not.to.equal(null);
            const [first, last, total] = [Number(m![1]), Number(m![2]), Number(m![3])];
            expect(total).to.equal(size);
            expect(body).to.equal(content.slice(first, last + 1));
          } else {
            // Each part is the slice its Content-range names.
            const parts = body.split(/\r\n--[0-9a-f]+(?:--)?\r\n/).filter((p) => p !== "");
            expect(parts.length).to.be.above(0);
            for (const part of parts) {
              const [head, data] = part.split("\r\n\r\n");
              const m = /Content-range: bytes (\d+)-(\d+)\/(\d+)/.exec(head);
              expect(m, `part head ${JSON.stringify(head)}`).not.to.equal(null);
              expect(data).to.equal(content.slice(Number(m![1]), Number(m![2]) + 1));
            }
          }
          // A single well-formed range matches the RFC 9110 reading.
          const single = /^bytes=(\d*)-(\d*)$/.exec(value);
          if (single !== null && (single[1] !== "" || single[2] !== "")) {
            const [a, b] = [single[1] === "" ? null : Number(single[1]), single[2] === "" ? null : Number(single[2])];
            let expected: number;
            if (a !== null && b !== null && a > b) expected = 200; // invalid: ignored
            else if (a === null) expected = b! > 0 && size > 0 ? 206 : 416;
            else expected = a < size ? 206 : 416;
            expect(status, `Range ${value} on ${size} bytes`).to.equal(expected);
          }
        }),
        60,
      );
      // The generators reach every kind of answer (else this spec would prove little).
      expect([...statuses].sort()).to.deep.equal([200, 206, 416]);
    } finally {
      logs.stop();
    }
  });
});
