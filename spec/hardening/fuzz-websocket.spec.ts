// Fuzzing the WebSocket frame parser: random bytes, valid frames mutated, any split. The
// receiver never throws out of feed(), its verdict does not depend on how the bytes were split,
// and a failure always carries one of the close codes a receiver may send.
import { expect } from "chai";
import fc from "fast-check";
import { encodeFrame, Opcode } from "../../lib/web/websocket/frames.js";
import { FrameReceiver, type ReceiverHandler } from "../../lib/web/websocket/receiver.js";
import { check } from "./fuzz-config.js";

const FAIL_CODES = new Set([1002, 1007, 1009]);

function run(chunks: Buffer[], isServer: boolean): string[] {
  const events: string[] = [];
  const h: ReceiverHandler = {
    textReceived: (t) => events.push(`text:${t}`),
    bytesReceived: (d) => events.push(`bytes:${d.toString("hex")}`),
    pingReceived: (p) => events.push(`ping:${p.toString("hex")}`),
    pongReceived: (p) => events.push(`pong:${p.toString("hex")}`),
    closeReceived: (c, r) => events.push(`close:${c}:${r}`),
    receiveFailed: (c) => events.push(`fail:${c}`),
  };
  const r = new FrameReceiver(h, { isServer, maxMessageSize: 4096, maxFragments: 8 });
  for (const c of chunks) r.feed(Buffer.from(c));
  return events;
}

/** Split `data` at the given cut points. */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

const opcode = fc.constantFrom(Opcode.text, Opcode.binary, Opcode.continuation, Opcode.ping, Opcode.pong, Opcode.close, 3, 0xb);
const validish = fc.array(
  fc.record({
    opcode,
    payload: fc.uint8Array({ maxLength: 300 }),
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    mask: fc.boolean(),
  }),
  { maxLength: 8 },
).map((frames) => Buffer.concat(frames.flatMap((f) => encodeFrame(f.opcode as Opcode, f.payload, f))));

describe("fuzz: WebSocket frame parser", () => {
  it("never throws, and its verdict does not depend on the split (random bytes and mutated frames)", () => {
    check(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), validish),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.boolean(),
        (data, cuts, mutations, isServer) => {
          const bytes = Buffer.from(data);
          for (const [at, value] of mutations) if (bytes.length > 0) bytes[at % bytes.length] = value;
          const whole = run([bytes], isServer);
          const pieces = run(split(bytes, cuts), isServer);
          expect(pieces).to.deep.equal(whole);
          const last = whole.at(-1);
          if (last?.startsWith("fail:")) expect(FAIL_CODES.has(Number(last.slice(5)))).to.equal(true);
          // Nothing after a close or a failure.
          const end = whole.findIndex((e) => e.startsWith("fail:") || e.startsWith("close:"));
          if (end >= 0) expect(end).to.equal(whole.length - 1);
        },
      ),
      300,
    );
  });
});
