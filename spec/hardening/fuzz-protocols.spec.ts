/**
 * Fuzzing the basic receivers (lib/protocols): LineReceiver, LineOnlyReceiver, the IntN
 * receivers and NetstringReceiver. Random splits deliver the same lines and strings as the
 * whole; over-long input goes to lineLengthExceeded/lengthLimitExceeded (or a parse error and a
 * close for netstrings); nothing ever throws out of dataReceived.
 */

import { expect } from "chai";
import fc from "fast-check";
import { StringTransport } from "../../lib/internet/testing.js";
import { LineOnlyReceiver, LineReceiver } from "../../lib/protocols/basic.js";
import { Int16StringReceiver, Int32StringReceiver, Int8StringReceiver, type IntNStringReceiver } from "../../lib/protocols/int-n-string.js";
import { NetstringReceiver } from "../../lib/protocols/netstring.js";
import { check, cutPoints, cutsArb, splitAt } from "./fuzz-config.js";

const MAX = 40;

/** What LineReceiver and LineOnlyReceiver have in common here. */
interface LineProtocol {
  MAX_LENGTH: number;
  lineReceived(line: Buffer): unknown;
  lineLengthExceeded(line: Buffer): unknown;
}

/** `Base` with MAX_LENGTH = MAX, keeping the lines it is given and the over-long ones (a mixin). */
function recordingLines<B extends new (...args: any[]) => LineProtocol>(Base: B) {
  return class extends Base {
    lines: string[] = [];
    exceeded: string[] = [];
    override MAX_LENGTH = MAX;
    override lineReceived(line: Buffer): void {
      this.lines.push(line.toString("latin1"));
    }
    override lineLengthExceeded(line: Buffer): unknown {
      this.exceeded.push(line.toString("latin1"));
      return super.lineLengthExceeded(line);
    }
  };
}

const Lines = recordingLines(LineReceiver);
const OnlyLines = recordingLines(LineOnlyReceiver);

/** Feed chunks as a real transport does: nothing is delivered once the protocol closed it. */
function feed(p: { dataReceived(data: Uint8Array): unknown }, transport: StringTransport, chunks: readonly Uint8Array[]): void {
  for (const chunk of chunks) {
    if (transport.disconnecting) return;
    p.dataReceived(chunk);
  }
}

function connect<P extends { makeConnection(t: StringTransport): void }>(p: P): [P, StringTransport] {
  const transport = new StringTransport({ lenient: true });
  p.makeConnection(transport);
  return [p, transport];
}

/** Text with no CR or LF, up to `max` bytes. */
const lineArb = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b.filter((c) => c !== 10 && c !== 13)).toString("latin1"));

describe("hardening: LineReceiver / LineOnlyReceiver fuzzing", () => {
  // Unterminated input is refused once it is this long: LineReceiver waits for MAX_LENGTH plus
  // the delimiter, LineOnlyReceiver refuses anything over MAX_LENGTH (both as Twisted).
  for (const [name, make, unterminatedLimit] of [
    ["LineReceiver", () => new Lines(), MAX + 2],
    ["LineOnlyReceiver", () => new OnlyLines(), MAX + 1],
  ] as const) {
    it(`${name}: random splits of lines give the same lines`, () => {
      check(
        fc.property(fc.array(lineArb(MAX), { maxLength: 12 }), cutsArb, (lines, rawCuts) => {
          const data = Buffer.from(lines.map((l) => l + "\r\n").join(""), "latin1");
          const [p, transport] = connect(make());
          for (const chunk of splitAt(data, cutPoints(data.length, rawCuts))) p.dataReceived(chunk);
          expect(p.lines).to.deep.equal(lines);
          expect(p.exceeded).to.deep.equal([]);
          expect(transport.disconnecting).to.equal(false);
        }),
        200,
      );
    });

    it(`${name}: random bytes never throw; a line over MAX_LENGTH goes to lineLengthExceeded and closes`, () => {
      check(
        fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 8 }), (chunks) => {
          const [p, transport] = connect(make());
          feed(p, transport, chunks);
          for (const line of p.lines) expect(line.length).to.be.at.most(MAX);
          expect(p.exceeded.length).to.be.at.most(1);
          if (p.exceeded.length > 0) expect(transport.disconnecting).to.equal(true);
          // Anything delivered is a prefix of the input's lines, in order.
          const all = Buffer.concat(chunks).toString("latin1");
          let pos = 0;
          for (const line of p.lines) {
            expect(all.startsWith(line + "\r\n", pos)).to.equal(true);
            pos += line.length + 2;
          }
          // Without an over-long line, every complete line was delivered.
          if (p.exceeded.length === 0) {
            const parts = all.split("\r\n");
            expect(p.lines).to.deep.equal(parts.slice(0, -1));
            // and what is left over could still become a line of MAX_LENGTH (Twisted's rule:
            // unterminated input is refused once it reaches MAX_LENGTH + the delimiter)
            expect(parts[parts.length - 1].length).to.be.below(unterminatedLimit);
          }
        }),
        300,
      );
    });

    it(`${name}: a line longer than MAX_LENGTH in any split is refused, never delivered`, () => {
      check(
        fc.property(fc.integer({ min: MAX + 1, max: 4 * MAX }), fc.boolean(), cutsArb, (length, terminated, rawCuts) => {
          const data = Buffer.from("ok\r\n" + "x".repeat(length) + (terminated ? "\r\nafter\r\n" : ""), "latin1");
          const [p, transport] = connect(make());
          feed(p, transport, splitAt(data, cutPoints(data.length, rawCuts)));
          expect(p.lines).to.deep.equal(["ok"]);
          // Unterminated, it is refused once it cannot be a line of MAX_LENGTH any more.
          const refused = terminated || length >= unterminatedLimit;
          expect(p.exceeded.length).to.equal(refused ? 1 : 0);
          expect(transport.disconnecting).to.equal(refused);
        }),
        200,
      );
    });
  }

  it("LineReceiver: raw mode switches at random points keep every byte, in order", () => {
    class Switching extends LineReceiver {
      out: string[] = [];
      constructor(private readonly switches: boolean[]) {
        super();
      }
      override lineReceived(line: Buffer): void {
        this.out.push("L:" + line.toString("latin1"));
        if (this.switches.shift()) this.setRawMode();
      }
      override rawDataReceived(data: Buffer): void {
        this.out.push("R:" + data.toString("latin1"));
        this.setLineMode();
      }
    }
    check(
      fc.property(fc.array(lineArb(10), { maxLength: 8 }), fc.array(fc.boolean(), { maxLength: 8 }), cutsArb, (lines, switches, rawCuts) => {
        const data = Buffer.from(lines.map((l) => l + "\r\n").join(""), "latin1");
        const p = new Switching(switches.slice());
        p.makeConnection(new StringTransport());
        expect(() => {
          for (const chunk of splitAt(data, cutPoints(data.length, rawCuts))) p.dataReceived(chunk);
        }).not.to.throw();
        // Every byte came out at most once, in order, as lines or raw data; what is left is
        // an incomplete line.
        let rebuilt = "";
        for (const o of p.out) rebuilt += o.startsWith("L:") ? o.slice(2) + "\r\n" : o.slice(2);
        const text = data.toString("latin1");
        expect(text.startsWith(rebuilt)).to.equal(true);
        expect(text.slice(rebuilt.length)).not.to.include("\r\n");
      }),
      200,
    );
  });
});

// --- IntN ----------------------------------------------------------------------------------------

type Recording = IntNStringReceiver & { strings: string[]; limits: number[] };

function intN(kind: 1 | 2 | 4, max: number): Recording {
  const p = (kind === 1 ? new Int8StringReceiver() : kind === 2 ? new Int16StringReceiver() : new Int32StringReceiver()) as Recording;
  p.strings = [];
  p.limits = [];
  p.stringReceived = (s: Buffer) => {
    p.strings.push(s.toString("latin1"));
  };
  const limitExceeded = p.lengthLimitExceeded.bind(p);
  p.lengthLimitExceeded = (length: number) => {
    p.limits.push(length);
    limitExceeded(length);
  };
  p.MAX_LENGTH = max;
  return p;
}

function prefixed(kind: 1 | 2 | 4, s: Buffer): Buffer {
  const prefix = Buffer.alloc(kind);
  prefix.writeUIntBE(s.length, 0, kind);
  return Buffer.concat([prefix, s]);
}

describe("hardening: IntNStringReceiver fuzzing", () => {
  for (const kind of [1, 2, 4] as const) {
    it(`Int${kind * 8}StringReceiver: random splits give the same strings`, () => {
      check(
        fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }), cutsArb, (strings, rawCuts) => {
          const data = Buffer.concat(strings.map((s) => prefixed(kind, Buffer.from(s))));
          const p = intN(kind, 200);
          p.makeConnection(new StringTransport());
          for (const chunk of splitAt(data, cutPoints(data.length, rawCuts))) p.dataReceived(chunk);
          expect(p.strings).to.deep.equal(strings.map((s) => Buffer.from(s).toString("latin1")));
          expect(p.limits).to.deep.equal([]);
        }),
        200,
      );
    });

    it(`Int${kind * 8}StringReceiver: random bytes never throw; a length over MAX_LENGTH goes to lengthLimitExceeded and closes`, () => {
      check(
        fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
          const p = intN(kind, 50);
          const transport = new StringTransport({ lenient: true });
          p.makeConnection(transport);
          feed(p, transport, chunks);
          for (const s of p.strings) expect(s.length).to.be.at.most(50);
          for (const n of p.limits) expect(n).to.be.above(50);
          if (p.limits.length > 0) expect(transport.disconnecting).to.equal(true);
          // The strings delivered are the input's, in order.
          const all = Buffer.concat(chunks);
          let pos = 0;
          for (const s of p.strings) {
            expect(all.readUIntBE(pos, kind)).to.equal(s.length);
            expect(all.subarray(pos + kind, pos + kind + s.length).toString("latin1")).to.equal(s);
            pos += kind + s.length;
          }
        }),
        300,
      );
    });
  }
});

describe("hardening: IntNStringReceiver after lengthLimitExceeded", () => {
  it("a lengthLimitExceeded that keeps the connection open never gets the strings before it again", () => {
    // Found by the fuzzing above (Twisted has the same behaviour): the strings delivered before
    // an over-long prefix were parsed again by the next dataReceived.
    class Lenient extends Int8StringReceiver {
      strings: string[] = [];
      limits: number[] = [];
      override stringReceived(s: Buffer): void {
        this.strings.push(s.toString("latin1"));
      }
      override lengthLimitExceeded(length: number): void {
        this.limits.push(length);
        this.recvd; // readable here: the data from the long prefix on
      }
    }
    const p = new Lenient();
    p.MAX_LENGTH = 50;
    p.makeConnection(new StringTransport());
    p.dataReceived(Buffer.from([2, 0x61, 0x62, 0, 51]));
    expect(p.strings).to.deep.equal(["ab", ""]);
    expect(p.limits).to.deep.equal([51]);
    p.dataReceived(Buffer.from([]));
    p.dataReceived(Buffer.from([1]));
    expect(p.strings).to.deep.equal(["ab", ""]);
    expect(p.limits).to.deep.equal([51, 51, 51]);
  });

  it("recvd during lengthLimitExceeded is the data from the long prefix on", () => {
    let seen: string | null = null;
    class Probe extends Int8StringReceiver {
      override stringReceived(): void {}
      override lengthLimitExceeded(): void {
        seen = this.recvd.toString("hex");
      }
    }
    const p = new Probe();
    p.MAX_LENGTH = 10;
    p.makeConnection(new StringTransport());
    p.dataReceived(Buffer.from([1, 0x61, 20, 0x62]));
    expect(seen).to.equal("1462");
  });
});

// --- netstrings ------------------------------------------------------------------------------------

class Netstrings extends NetstringReceiver {
  strings: string[] = [];
  override MAX_LENGTH = 100;
  override stringReceived(s: Buffer): void {
    this.strings.push(s.toString("latin1"));
  }
}

describe("hardening: NetstringReceiver fuzzing", () => {
  it("random splits of netstrings give the same strings", () => {
    check(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }), cutsArb, (strings, rawCuts) => {
        const data = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from(`${s.length}:`), s, Buffer.from(",")])));
        const p = new Netstrings();
        const transport = new StringTransport();
        p.makeConnection(transport);
        for (const chunk of splitAt(data, cutPoints(data.length, rawCuts))) p.dataReceived(chunk);
        expect(p.strings).to.deep.equal(strings.map((s) => Buffer.from(s).toString("latin1")));
        expect(p.brokenPeer).to.equal(false);
        expect(transport.disconnecting).to.equal(false);
      }),
      200,
    );
  });

  it("random bytes never throw; what is not a netstring marks the peer broken and closes", () => {
    const soup = fc.array(fc.constantFrom("0", "1", "5", "9", "00", "100", "101", "999999", ":", ",", "a", "hello", "-", " ", "\0", "\xff"), {
      maxLength: 20,
    });
    check(
      fc.property(fc.oneof(soup.map((p) => Buffer.from(p.join(""), "latin1")), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))), cutsArb, (data, rawCuts) => {
        const p = new Netstrings();
        const transport = new StringTransport({ lenient: true });
        p.makeConnection(transport);
        feed(p, transport, splitAt(data, cutPoints(data.length, rawCuts)));
        for (const s of p.strings) expect(s.length).to.be.at.most(100);
        expect(transport.disconnecting).to.equal(p.brokenPeer);
        // What was delivered is the input's netstrings, in order.
        let rebuilt = "";
        for (const s of p.strings) rebuilt += `${s.length}:${s},`;
        expect(data.toString("latin1").startsWith(rebuilt)).to.equal(true);
      }),
      400,
    );
  });
});
