// Encoding frames. Names follow the ws library's test/sender.test.js where a case is theirs.
import { expect } from "chai";
import { applyMask, closePayload, encodeFrame, isValidCloseCode, Opcode } from "../../../lib/web/websocket/frames.js";

const join = (parts: Buffer[]): Buffer => Buffer.concat(parts);

describe("frames", () => {
  describe("encodeFrame", () => {
    it("does not mutate the input buffer when masking", () => {
      const data = Buffer.from("hi");
      const out = join(encodeFrame(Opcode.text, data, { mask: true }));
      expect(data.toString()).to.equal("hi");
      expect(out[1]! & 0x80).to.equal(0x80);
      const key = out.subarray(2, 6);
      const body = Buffer.from(out.subarray(6));
      applyMask(body, key);
      expect(body.toString()).to.equal("hi");
    });

    it("honors the `rsv1` option", () => {
      expect(join(encodeFrame(Opcode.text, Buffer.alloc(0), { rsv1: true }))[0]).to.equal(0xc1);
      expect(join(encodeFrame(Opcode.text, Buffer.alloc(0)))[0]).to.equal(0x81);
    });

    it("clears FIN for a fragment that is not the last", () => {
      expect(join(encodeFrame(Opcode.binary, Buffer.alloc(1), { fin: false }))[0]).to.equal(0x02);
    });

    it("uses the 7-bit, 16-bit and 64-bit lengths at their bounds (RFC 6455 §5.2)", () => {
      expect(join(encodeFrame(Opcode.binary, Buffer.alloc(125)))[1]).to.equal(125);
      const mid = join(encodeFrame(Opcode.binary, Buffer.alloc(126)));
      expect([mid[1], mid.readUInt16BE(2)]).to.deep.equal([126, 126]);
      const top16 = join(encodeFrame(Opcode.binary, Buffer.alloc(0xffff)));
      expect([top16[1], top16.readUInt16BE(2)]).to.deep.equal([126, 0xffff]);
      const big = join(encodeFrame(Opcode.binary, Buffer.alloc(0x10000)));
      expect([big[1], big.readUInt32BE(2), big.readUInt32BE(6)]).to.deep.equal([127, 0, 0x10000]);
    });

    it("returns the unmasked payload itself, uncopied, for large messages", () => {
      const payload = Buffer.alloc(1 << 20);
      const [, body] = encodeFrame(Opcode.binary, payload);
      expect(body.buffer).to.equal(payload.buffer);
    });
  });

  describe("applyMask", () => {
    it("masks word by word and byte by byte alike, at any length and offset", () => {
      const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
      for (const n of [0, 1, 3, 4, 7, 8, 9, 31, 1000]) {
        const data = Buffer.alloc(n);
        for (let i = 0; i < n; i++) data[i] = (i * 7) & 0xff;
        const expected = Buffer.from(data.map((b, i) => b ^ key[i & 3]!));
        const aligned = Buffer.from(data);
        applyMask(aligned, key);
        expect(aligned.equals(expected)).to.equal(true);
        const unaligned = Buffer.alloc(n + 1).subarray(1);
        data.copy(unaligned);
        applyMask(unaligned, key);
        expect(Buffer.from(unaligned).equals(expected)).to.equal(true);
      }
    });
  });

  describe("close payloads", () => {
    it("carries the code and the UTF-8 reason", () => {
      const p = closePayload(1000, "bye");
      expect(p.readUInt16BE(0)).to.equal(1000);
      expect(p.subarray(2).toString()).to.equal("bye");
      expect(closePayload(null).length).to.equal(0);
    });

    it("throws an error if the message is greater than 123 bytes", () => {
      expect(() => closePayload(1000, "a".repeat(124))).to.throw(RangeError, /123 bytes/);
    });

    it("knows which codes may be sent (RFC 6455 §7.4)", () => {
      expect([1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999].every(isValidCloseCode)).to.equal(true);
      expect([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000].some(isValidCloseCode)).to.equal(false);
    });
  });
});
