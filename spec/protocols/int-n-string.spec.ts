// lib/protocols/int-n-string.ts (twisted/protocols/test/test_basic.py's Int32Tests, Int16Tests, Int8Tests).
import { expect } from "chai";
import { StringTransport } from "../../lib/internet/testing.js";
import { Int16StringReceiver, Int32StringReceiver, Int8StringReceiver, IntNStringReceiver, StringTooLongError } from "../../lib/protocols/int-n-string.js";
import { b, byteByByte, strs } from "../support/feeding.js";

interface Received {
  received: Buffer[];
}

function intNTests(
  name: string,
  Base: new () => IntNStringReceiver,
  spec: { strings: string[]; illegalStrings: string[]; partialStrings: string[]; data: [string, string] },
): void {
  class Tester extends (Base as unknown as typeof Int32StringReceiver) implements Received {
    received: Buffer[] = [];
    override MAX_LENGTH = 50;
    override stringReceived(s: Buffer): void {
      this.received.push(Buffer.from(s));
    }
  }
  const getProtocol = (): Tester & { transport: StringTransport } => {
    const p = new Tester();
    p.makeConnection(new StringTransport());
    return p as Tester & { transport: StringTransport };
  };
  const prefix = (p: IntNStringReceiver, n: number): Buffer => {
    const buf = Buffer.alloc(p.prefixLength);
    buf.writeUIntBE(n, 0, p.prefixLength);
    return buf;
  };
  const makeMessage = (p: IntNStringReceiver, data: Buffer): Buffer => Buffer.concat([prefix(p, data.length), data]);

  describe(name, () => {
    it("test_illegal: drops the connection on a length over MAX_LENGTH", () => {
      for (const s of spec.illegalStrings) {
        const r = getProtocol();
        byteByByte(b(s), (c) => r.dataReceived(c));
        expect(r.transport.disconnecting).to.equal(true);
      }
    });

    it("test_receive: receives the strings sent, byte by byte", () => {
      const r = getProtocol();
      for (const s of spec.strings) byteByByte(makeMessage(r, b(s)), (c) => r.dataReceived(c));
      expect(strs(r.received)).to.deep.equal(spec.strings);
    });

    it("test_partial: delivers nothing for partial data", () => {
      for (const s of spec.partialStrings) {
        const r = getProtocol();
        byteByByte(b(s), (c) => r.dataReceived(c));
        expect(r.received).to.deep.equal([]);
      }
    });

    it("test_send: sendString writes the prefix and the string", () => {
      const r = getProtocol();
      r.sendString(b("b".repeat(16)));
      expect(r.transport.value()).to.deep.equal(Buffer.concat([prefix(r, 16), b("b".repeat(16))]));
    });

    it("test_lengthLimitExceeded: calls lengthLimitExceeded with a length over MAX_LENGTH", () => {
      const lengths: number[] = [];
      const r = getProtocol();
      r.lengthLimitExceeded = (n: number) => void lengths.push(n);
      r.MAX_LENGTH = 10;
      r.dataReceived(prefix(r, 11));
      expect(lengths).to.deep.equal([11]);
    });

    it("test_longStringNotDelivered: does not deliver a string over MAX_LENGTH", () => {
      const r = getProtocol();
      r.MAX_LENGTH = 10;
      r.dataReceived(Buffer.concat([prefix(r, 11), b("x".repeat(11))]));
      expect(r.received).to.deep.equal([]);
      expect(r.transport.disconnecting).to.equal(true);
    });

    it("test_stringReceivedNotImplemented: stringReceived throws unless overridden", () => {
      const bare = new Base();
      expect(() => bare.stringReceived(b("foo"))).to.throw(Error, "not implemented");
    });

    it("test_recvdContainsRemainingData: recvd holds the data after the current string", () => {
      const result: Buffer[] = [];
      const r = getProtocol();
      r.stringReceived = () => void result.push(Buffer.from(r.recvd));
      const complete = makeMessage(r, b("aaaaa"));
      const incomplete = Buffer.concat([prefix(r, 5), b("bbbb")]);
      r.dataReceived(Buffer.concat([complete, incomplete]));
      expect(result).to.deep.equal([incomplete]);
    });

    it("test_recvdChanged: parsing continues from recvd when stringReceived changes it", () => {
      const r = getProtocol();
      const result: string[] = [];
      const messageC = makeMessage(r, b("ccccc"));
      r.stringReceived = (s: Buffer) => {
        if (!result.length) r.recvd = messageC;
        result.push(s.toString());
      };
      r.dataReceived(Buffer.concat([makeMessage(r, b("aaaaa")), makeMessage(r, b("bbbbb"))]));
      expect(result).to.deep.equal(["aaaaa", "ccccc"]);
    });

    it("test_switching: data consumed from recvd by stringReceived is not parsed again", () => {
      const proto = getProtocol();
      const SWITCH = b("\x00\x00\x00\x00");
      const mix: Buffer[] = [];
      for (const s of spec.strings) mix.push(makeMessage(proto, b(s)), SWITCH);
      const result: string[] = [];
      proto.stringReceived = (s: Buffer) => {
        result.push(s.toString());
        proto.recvd = proto.recvd.subarray(SWITCH.length);
      };
      proto.dataReceived(Buffer.concat(mix));
      proto.dataReceived(b("\x01"));
      expect(result).to.deep.equal(spec.strings);
      expect(proto.recvd).to.deep.equal(b("\x01"));
    });

    it("test_recvdInLengthLimitExceeded: recvd holds all unprocessed data in lengthLimitExceeded", () => {
      const proto = getProtocol();
      const DATA = b("too long");
      proto.MAX_LENGTH = DATA.length - 1;
      const message = makeMessage(proto, DATA);
      const result: unknown[] = [];
      proto.lengthLimitExceeded = (length: number) => {
        result.push(length, Buffer.from(proto.recvd));
      };
      proto.dataReceived(message);
      expect(result[0]).to.equal(DATA.length);
      expect(result[1]).to.deep.equal(message);
    });

    it("test_data: sends and receives with the right prefix", () => {
      const r = getProtocol();
      r.sendString(b("foo"));
      expect(r.transport.value()).to.deep.equal(b(spec.data[0]));
      r.dataReceived(b(spec.data[1]));
      expect(strs(r.received)).to.deep.equal(["ubar"]);
    });

    if (Base !== Int32StringReceiver) {
      it("test_tooLongSend: sendString refuses a string too long for the prefix", () => {
        const r = getProtocol();
        const tooSend = Buffer.alloc(2 ** (r.prefixLength * 8) + 1, "b");
        expect(() => r.sendString(tooSend)).to.throw(StringTooLongError);
      });
    }

    it("stops delivering strings while paused, and delivers them on resume", () => {
      const r = getProtocol();
      r.stringReceived = (s: Buffer) => {
        r.received.push(Buffer.from(s));
        r.pauseProducing();
      };
      r.dataReceived(Buffer.concat([makeMessage(r, b("one")), makeMessage(r, b("two"))]));
      expect(strs(r.received)).to.deep.equal(["one"]);
      expect(r.transport.producerState).to.equal("paused");
      r.resumeProducing();
      expect(strs(r.received)).to.deep.equal(["one", "two"]);
    });
  });
}

intNTests("Int32Tests", Int32StringReceiver, {
  strings: ["a", "b".repeat(16)],
  illegalStrings: ["\x10\x00\x00\x00aaaaaa"],
  partialStrings: ["\x00\x00\x00", "hello there", ""],
  data: ["\x00\x00\x00\x03foo", "\x00\x00\x00\x04ubar"],
});

intNTests("Int16Tests", Int16StringReceiver, {
  strings: ["a", "b".repeat(16)],
  illegalStrings: ["\x10\x00aaaaaa"],
  partialStrings: ["\x00", "hello there", ""],
  data: ["\x00\x03foo", "\x00\x04ubar"],
});

intNTests("Int8Tests", Int8StringReceiver, {
  strings: ["a", "b".repeat(16)],
  illegalStrings: ["\x00\x00aaaaaa"],
  partialStrings: ["\x08", "dzadz", ""],
  data: ["\x03foo", "\x04ubar"],
});
