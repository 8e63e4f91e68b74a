// The frame parser, case by case. Names follow the ws library's test/receiver.test.js, whose
// frames and verdicts these are (ported: written anew against torsion's receiver).
import { expect } from "chai";
import { CloseCode, encodeFrame, Opcode } from "../../../lib/web/websocket/frames.js";
import { PerMessageDeflate } from "../../../lib/web/websocket/permessage-deflate.js";
import { FrameReceiver, type ReceiverHandler, type ReceiverOptions } from "../../../lib/web/websocket/receiver.js";
import { within } from "../../support/wait.js";

type Event = [string, ...unknown[]];

/** A handler that records every event. */
class Recording implements ReceiverHandler {
  readonly events: Event[] = [];
  textReceived(text: string): void {
    this.events.push(["text", text]);
  }
  bytesReceived(data: Buffer): void {
    this.events.push(["bytes", Buffer.from(data)]);
  }
  pingReceived(payload: Buffer): void {
    this.events.push(["ping", payload.toString("latin1")]);
  }
  pongReceived(payload: Buffer): void {
    this.events.push(["pong", payload.toString("latin1")]);
  }
  closeReceived(code: number, reason: string): void {
    this.events.push(["close", code, reason]);
  }
  receiveFailed(code: number, message: string): void {
    this.events.push(["fail", code, message]);
  }
  get failure(): [number, string] | null {
    const f = this.events.find((e) => e[0] === "fail");
    return f ? [f[1] as number, f[2] as string] : null;
  }
}

function receiver(options: Partial<ReceiverOptions> = {}): { r: FrameReceiver; h: Recording } {
  const h = new Recording();
  return { r: new FrameReceiver(h, { isServer: false, ...options }), h };
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** A frame as a client would send it (masked) or a server (not), joined. */
function frame(opcode: Opcode, payload: Buffer | string, options: { fin?: boolean; mask?: boolean; rsv1?: boolean } = {}): Buffer {
  return Buffer.concat(encodeFrame(opcode, typeof payload === "string" ? Buffer.from(payload) : payload, options));
}

/** Feed `data` whole, and again one byte at a time (large ones in odd pieces): the verdict must not depend on the split. */
function bothWays(data: Buffer, options: Partial<ReceiverOptions> = {}): Event[] {
  // Copies: a receiver unmasks in place, in bytes it was given (as a transport's reads are its own).
  const whole = receiver(options);
  whole.r.feed(Buffer.from(data));
  const bytewise = receiver(options);
  const step = data.length > 64 * 1024 ? 997 : 1;
  for (let i = 0; i < data.length; i += step) bytewise.r.feed(Buffer.from(data.subarray(i, i + step)));
  expect(bytewise.h.events).to.deep.equal(whole.h.events);
  return whole.h.events;
}

describe("FrameReceiver", () => {
  it("parses an unmasked text message", () => {
    expect(bothWays(hex("8105 48656c6c6f"))).to.deep.equal([["text", "Hello"]]);
  });

  it("parses a close message", () => {
    expect(bothWays(hex("8800"))).to.deep.equal([["close", CloseCode.noStatus, ""]]);
  });

  it("parses a close message spanning multiple writes", () => {
    const { r, h } = receiver();
    r.feed(hex("8812 03e8"));
    r.feed(Buffer.from("DONE!!!!!!!!!!!!"));
    expect(h.events).to.deep.equal([["close", 1000, "DONE!!!!!!!!!!!!"]]);
  });

  it("parses a masked text message", () => {
    expect(bothWays(hex("8185 37fa213d 7f9f4d5158"), { isServer: true })).to.deep.equal([["text", "Hello"]]);
  });

  it("parses a masked text message longer than 125 B", () => {
    const text = "A".repeat(200);
    expect(bothWays(frame(Opcode.text, text, { mask: true }), { isServer: true })).to.deep.equal([["text", text]]);
  });

  it("parses a really long masked text message", () => {
    const text = "A".repeat(64 * 1024);
    const events = bothWays(frame(Opcode.text, text, { mask: true }), { isServer: true });
    expect(events).to.deep.equal([["text", text]]);
  });

  it("parses a 300 B fragmented masked text message", () => {
    const text = "A".repeat(300);
    const data = Buffer.concat([
      frame(Opcode.text, text.slice(0, 150), { fin: false, mask: true }),
      frame(Opcode.continuation, text.slice(150), { mask: true }),
    ]);
    expect(bothWays(data, { isServer: true })).to.deep.equal([["text", text]]);
  });

  it("parses a ping message", () => {
    expect(bothWays(frame(Opcode.ping, "Hello", { mask: true }), { isServer: true })).to.deep.equal([["ping", "Hello"]]);
  });

  it("parses a ping message with no data", () => {
    expect(bothWays(hex("8900"))).to.deep.equal([["ping", ""]]);
  });

  it("parses a 300 B fragmented masked text message with a ping in the middle (1/2)", () => {
    const text = "A".repeat(300);
    const data = Buffer.concat([
      frame(Opcode.text, text.slice(0, 150), { fin: false, mask: true }),
      frame(Opcode.ping, "Hello", { mask: true }),
      frame(Opcode.continuation, text.slice(150), { mask: true }),
    ]);
    expect(bothWays(data, { isServer: true })).to.deep.equal([["ping", "Hello"], ["text", text]]);
  });

  it("parses a 300 B fragmented masked text message with a ping in the middle (2/2)", () => {
    const text = "A".repeat(300);
    const data = Buffer.concat([
      frame(Opcode.text, text.slice(0, 100), { fin: false, mask: true }),
      frame(Opcode.ping, "Hello", { mask: true }),
      frame(Opcode.continuation, text.slice(100, 200), { fin: false, mask: true }),
      frame(Opcode.pong, "World", { mask: true }),
      frame(Opcode.continuation, text.slice(200), { mask: true }),
    ]);
    expect(bothWays(data, { isServer: true })).to.deep.equal([["ping", "Hello"], ["pong", "World"], ["text", text]]);
  });

  for (const size of [100, 256, 200 * 1024]) {
    it(`parses a ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} masked binary message`, () => {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = i & 0xff;
      const events = bothWays(frame(Opcode.binary, data, { mask: true }), { isServer: true });
      expect(events).to.have.length(1);
      expect((events[0]![1] as Buffer).equals(data)).to.equal(true);
    });
  }

  it("parses a 200 KiB unmasked binary message", () => {
    const data = Buffer.alloc(200 * 1024, 0x5a);
    const { r, h } = receiver();
    r.feed(frame(Opcode.binary, data));
    expect((h.events[0]![1] as Buffer).equals(data)).to.equal(true);
  });

  it("parses a buffer with thousands of frames", () => {
    const one = hex("8105 48656c6c6f");
    const { r, h } = receiver();
    r.feed(Buffer.concat(Array.from({ length: 5000 }, () => one)));
    expect(h.events).to.have.length(5000);
    expect(h.events.every((e) => e[0] === "text" && e[1] === "Hello")).to.equal(true);
  });

  it("ignores any data after a close frame", () => {
    const { r, h } = receiver();
    r.feed(Buffer.concat([hex("8800"), hex("8105 48656c6c6f")]));
    r.feed(hex("8105 48656c6c6f"));
    expect(h.events).to.deep.equal([["close", 1005, ""]]);
    expect(r.finished).to.equal(true);
  });

  const failures: Array<[string, string, number, Partial<ReceiverOptions>?]> = [
    ["emits an error if RSV1 is on and permessage-deflate is disabled", "c2 80 00000000", CloseCode.protocolError, { isServer: true }],
    ["emits an error if RSV2 is on", "a2 00", CloseCode.protocolError],
    ["emits an error if RSV3 is on", "92 00", CloseCode.protocolError],
    ["emits an error if the first frame in a fragmented message has opcode 0", "00 00", CloseCode.protocolError],
    ["emits an error if a frame has opcode 1 in the middle of a fragmented message", "01 00 01 00", CloseCode.protocolError],
    ["emits an error if a frame has opcode 2 in the middle of a fragmented message", "01 00 02 00", CloseCode.protocolError],
    ["emits an error if a control frame has the FIN bit off", "09 00", CloseCode.protocolError],
    ["emits an error if a control frame has the RSV1 bit on", "c9 00", CloseCode.protocolError],
    ["emits an error if a frame has the MASK bit off (server mode)", "81 02 6869", CloseCode.protocolError, { isServer: true }],
    ["emits an error if a frame has the MASK bit on (client mode)", "81 82 56 3a ac 80 3e 53", CloseCode.protocolError],
    ["emits an error if a control frame has a payload bigger than 125 B", "89 7e 007e", CloseCode.protocolError],
    ["emits an error if a data frame has a payload bigger than 2^53 - 1 B", "82 7f 0020000000000000", CloseCode.messageTooBig],
    ["emits an error if a text frame contains invalid UTF-8 data (1/2)", "81 04 cebae1bd", CloseCode.invalidPayload],
    ["emits an error if a close frame has a payload of 1 B", "88 01 00", CloseCode.protocolError],
    ["emits an error if a close frame contains an invalid close code", "88 02 0000", CloseCode.protocolError],
    ["emits an error if a close frame contains invalid UTF-8 data", "88 06 03e8 cebae1bd", CloseCode.invalidPayload],
    ["emits an error on a reserved opcode (3)", "83 00", CloseCode.protocolError],
    ["emits an error on a reserved control opcode (0xB)", "8b 00", CloseCode.protocolError],
    ["emits an error if a close frame carries the reserved code 1005", "88 02 03ed", CloseCode.protocolError],
  ];
  for (const [name, bytes, code, options] of failures) {
    it(name, () => {
      const events = bothWays(hex(bytes), options);
      expect(events.at(-1)![0]).to.equal("fail");
      expect(events.at(-1)![1]).to.equal(code);
    });
  }

  it("emits an error if a text frame contains invalid UTF-8 data, before the message is whole (fail fast)", () => {
    const { r, h } = receiver();
    // The first fragment is already not UTF-8 (0xff can start nothing): fail without waiting for the end.
    r.feed(hex("01 02 41ff"));
    expect(h.failure?.[0]).to.equal(CloseCode.invalidPayload);
  });

  it("accepts a UTF-8 character split across fragments", () => {
    // "κ" is ce ba: split between two fragments.
    expect(bothWays(hex("01 01 ce 80 01 ba"))).to.deep.equal([["text", "κ"]]);
  });

  it("emits an error if a frame payload length is bigger than `maxPayload` (from its head, before buffering it)", () => {
    const { r, h } = receiver({ maxMessageSize: 20 * 1024 });
    r.feed(hex("82 7e 5001"));
    expect(h.failure?.[0]).to.equal(CloseCode.messageTooBig);
  });

  it("emits an error if the message length exceeds `maxPayload`", () => {
    const { r, h } = receiver({ maxMessageSize: 20 * 1024 });
    r.feed(frame(Opcode.binary, Buffer.alloc(20 * 1024 + 1)));
    expect(h.failure?.[0]).to.equal(CloseCode.messageTooBig);
  });

  it("emits an error if the sum of fragment lengths exceeds `maxPayload`", () => {
    const { r, h } = receiver({ maxMessageSize: 20 * 1024 });
    r.feed(frame(Opcode.binary, Buffer.alloc(10 * 1024), { fin: false }));
    expect(h.failure).to.equal(null);
    r.feed(frame(Opcode.continuation, Buffer.alloc(10 * 1024 + 1)));
    expect(h.failure?.[0]).to.equal(CloseCode.messageTooBig);
  });

  it("emits an error if there are too many message fragments", () => {
    const { r, h } = receiver({ maxFragments: 3 });
    r.feed(Buffer.concat([frame(Opcode.text, "a", { fin: false }), frame(Opcode.continuation, "b", { fin: false }), frame(Opcode.continuation, "c", { fin: false })]));
    expect(h.failure).to.equal(null);
    r.feed(frame(Opcode.continuation, "d"));
    expect(h.failure?.[0]).to.equal(CloseCode.messageTooBig);
  });

  it("pause() holds every event until resume(), keeping their order", () => {
    const { r, h } = receiver();
    r.pause();
    r.feed(Buffer.concat([hex("8105 48656c6c6f"), hex("8900")]));
    expect(h.events).to.deep.equal([]);
    r.resume();
    expect(h.events).to.deep.equal([["text", "Hello"], ["ping", ""]]);
  });

  describe("compressed messages", () => {
    function deflater(level = 1): PerMessageDeflate {
      return new PerMessageDeflate({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, true, { threshold: 0, level });
    }
    function compress(d: PerMessageDeflate, data: Buffer): Promise<Buffer> {
      return new Promise((resolve, reject) => d.deflate(data, (e, out) => (e ? reject(e) : resolve(out!))));
    }
    async function settle(h: Recording, n: number): Promise<void> {
      const start = Date.now();
      while (h.events.length < n && Date.now() - start < 2000) await new Promise((resolve) => setImmediate(resolve));
    }

    it("parses a compressed message", async () => {
      const sender = deflater();
      const body = await compress(sender, Buffer.from("Hello"));
      const { r, h } = receiver({ inflater: deflater() });
      r.feed(frame(Opcode.text, body, { rsv1: true }));
      await within(settle(h, 1), 3, "the message");
      expect(h.events).to.deep.equal([["text", "Hello"]]);
    });

    it("parses a compressed and fragmented message, and keeps later frames in order behind it", async () => {
      const sender = deflater();
      const body = await compress(sender, Buffer.from("A".repeat(3000) + "B".repeat(3000)));
      const half = Math.floor(body.length / 2);
      const { r, h } = receiver({ inflater: deflater() });
      r.feed(Buffer.concat([
        frame(Opcode.text, body.subarray(0, half), { rsv1: true, fin: false }),
        frame(Opcode.continuation, body.subarray(half)),
        hex("8900"),
      ]));
      await within(settle(h, 2), 3, "both events");
      expect(h.events).to.deep.equal([["text", "A".repeat(3000) + "B".repeat(3000)], ["ping", ""]]);
    });

    it("emits an error if RSV1 is on and opcode is 0", () => {
      const { r, h } = receiver({ inflater: deflater() });
      r.feed(Buffer.concat([frame(Opcode.text, Buffer.alloc(1), { rsv1: true, fin: false }), frame(Opcode.continuation, Buffer.alloc(1), { rsv1: true })]));
      return within(settle(h, 1), 3, "the verdict").then(() => expect(h.failure?.[0]).to.equal(CloseCode.protocolError));
    });

    it("emits an error if a text frame contains invalid UTF-8 data (2/2: compressed)", async () => {
      const body = await compress(deflater(), hex("cebae1bd"));
      const { r, h } = receiver({ inflater: deflater() });
      r.feed(frame(Opcode.text, body, { rsv1: true }));
      await within(settle(h, 1), 3, "the verdict");
      expect(h.failure?.[0]).to.equal(CloseCode.invalidPayload);
    });

    it("a zip bomb (64 MiB of zeros in 64 KiB) stops at the 1 MiB limit: 1009", async () => {
      const body = await compress(deflater(9), Buffer.alloc(64 * 1024 * 1024));
      // 64 MiB of zeros in a frame of about 64 KiB: within the 1 MiB limit on the wire.
      expect(body.length).to.be.lessThan(128 * 1024);
      const { r, h } = receiver({ inflater: deflater(), maxMessageSize: 1024 * 1024 });
      r.feed(frame(Opcode.binary, body, { rsv1: true }));
      await within(settle(h, 1), 3, "the verdict");
      expect(h.failure?.[0]).to.equal(CloseCode.messageTooBig);
    });
  });
});
