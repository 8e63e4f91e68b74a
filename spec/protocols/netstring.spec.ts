// lib/protocols/netstring.ts (twisted/protocols/test/test_basic.py's NetstringReceiverTests).
import { expect } from "chai";
import { StringTransport } from "../../lib/internet/testing.js";
import { NetstringReceiver } from "../../lib/protocols/netstring.js";
import { b, byteByByte, feed, strs } from "../support/feeding.js";

class TestNetstring extends NetstringReceiver {
  received: Buffer[] = [];
  override MAX_LENGTH = 50;
  override stringReceived(s: Buffer): void {
    this.received.push(Buffer.from(s));
    this.transport!.write(s);
  }
}

describe("NetstringReceiverTests", () => {
  const strings = ["hello", "world", "how", "are", "you123", ":today", "a".repeat(515)];
  const illegalStrings = [
    "9999999999999999999999",
    "abc",
    "4:abcde",
    "51:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,",
  ];
  let t: StringTransport;
  let receiver: TestNetstring;
  beforeEach(() => {
    t = new StringTransport();
    receiver = new TestNetstring();
    receiver.makeConnection(t);
  });

  it("test_illegal: drops the connection on each kind of malformed netstring", () => {
    for (const s of illegalStrings) {
      const tr = new StringTransport();
      const r = new TestNetstring();
      r.makeConnection(tr);
      byteByByte(b(s), (c) => r.dataReceived(c));
      expect(tr.disconnecting, s).to.equal(true);
      expect(r.brokenPeer).to.equal(true);
    }
  });

  it("test_buffer: receives strings split in chunks of any length", () => {
    for (let size = 1; size < 10; size++) {
      const tr = new StringTransport();
      const a = new TestNetstring();
      a.MAX_LENGTH = 699;
      a.makeConnection(tr);
      for (const s of strings) a.sendString(b(s));
      const out = Buffer.from(tr.value());
      feed(out, size, (s) => s.length && a.dataReceived(s));
      expect(strs(a.received)).to.deep.equal(strings);
    }
  });

  it("test_receiveEmptyNetstring: receives an empty netstring", () => {
    receiver.dataReceived(b("0:,"));
    expect(strs(receiver.received)).to.deep.equal([""]);
  });

  it("test_receiveOneCharacter: receives a one-character netstring", () => {
    receiver.dataReceived(b("1:a,"));
    expect(strs(receiver.received)).to.deep.equal(["a"]);
  });

  it("test_receiveTwoCharacters: receives a two-character netstring", () => {
    receiver.dataReceived(b("2:ab,"));
    expect(strs(receiver.received)).to.deep.equal(["ab"]);
  });

  it("test_receiveNestedNetstring: is not confused by ':' and ',' inside the data", () => {
    receiver.dataReceived(b("4:1:a,,"));
    expect(strs(receiver.received)).to.deep.equal(["1:a,"]);
  });

  it("test_moreDataThanSpecified: refuses a netstring longer than its length says", () => {
    receiver.dataReceived(b("2:aaa,"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_moreDataThanSpecifiedBorderCase: refuses data in a netstring of length 0", () => {
    receiver.dataReceived(b("0:a,"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_missingNumber: refuses a netstring with no length", () => {
    receiver.dataReceived(b(":aaa,"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_missingColon: refuses a netstring with no colon", () => {
    receiver.dataReceived(b("3aaa,"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_missingNumberAndColon: refuses a netstring with neither length nor colon", () => {
    receiver.dataReceived(b("aaa,"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_onlyData: refuses bare data", () => {
    receiver.dataReceived(b("aaa"));
    expect(t.disconnecting).to.equal(true);
  });

  it("refuses a length with a leading zero", () => {
    receiver.dataReceived(b("01:a,"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_receiveNetstringPortions_1: receives a netstring in two portions", () => {
    receiver.dataReceived(b("4:aa"));
    receiver.dataReceived(b("aa,"));
    expect(strs(receiver.received)).to.deep.equal(["aaaa"]);
  });

  it("test_receiveNetstringPortions_2: receives a netstring whose length is split", () => {
    for (const part of ["1", "0:01234", "56789", ","]) receiver.dataReceived(b(part));
    expect(strs(receiver.received)).to.deep.equal(["0123456789"]);
  });

  it("test_receiveNetstringPortions_3: receives a netstring one byte at a time", () => {
    for (const part of ["2", ":", "a", "b", ","]) receiver.dataReceived(b(part));
    expect(strs(receiver.received)).to.deep.equal(["ab"]);
  });

  it("test_receiveTwoNetstrings: receives a netstring and the start of the next", () => {
    receiver.dataReceived(b("1:a,1"));
    expect(strs(receiver.received)).to.deep.equal(["a"]);
    receiver.dataReceived(b(":b,"));
    expect(strs(receiver.received)).to.deep.equal(["a", "b"]);
  });

  it("test_maxReceiveLimit: refuses a length over MAX_LENGTH", () => {
    const tooLong = receiver.MAX_LENGTH + 1;
    receiver.dataReceived(b(`${tooLong}:${"a".repeat(tooLong)}`));
    expect(t.disconnecting).to.equal(true);
    expect(receiver.received).to.deep.equal([]);
  });

  it("test_consumeLengthBorderCase1: accepts a length equal to MAX_LENGTH", () => {
    receiver.MAX_LENGTH = 12;
    receiver.dataReceived(b(`12:${"x".repeat(12)},`));
    expect(t.disconnecting).to.equal(false);
    expect(strs(receiver.received)).to.deep.equal(["x".repeat(12)]);
  });

  it("test_consumeLengthBorderCase2: refuses a length of MAX_LENGTH + 1", () => {
    receiver.MAX_LENGTH = 11;
    receiver.dataReceived(b("12:"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_consumeLengthBorderCase3: refuses a length far over MAX_LENGTH", () => {
    receiver.MAX_LENGTH = 11;
    receiver.dataReceived(b("1000:"));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_stringReceivedNotImplemented: stringReceived throws unless overridden", () => {
    expect(() => new NetstringReceiver().stringReceived(b("foo"))).to.throw(Error, "not implemented");
  });

  it("sendString writes length, colon, data and comma", () => {
    receiver.sendString(b("hello"));
    expect(t.value().toString()).to.equal("5:hello,");
  });
});
