import { expect } from "chai";
import type { Bytes, ITransport } from "../../lib/internet/interfaces.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport } from "../../lib/internet/testing.js";
import {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  IntNStringReceiver,
  LineOnlyReceiver,
  LineReceiver,
  NetstringReceiver,
  StringTooLongError,
} from "../../lib/protocols/basic.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");
const strs = (bufs: Buffer[]): string[] => bufs.map((x) => x.toString("latin1"));

/** Feed `data` to `receive` in pieces of `size` bytes, as Twisted's tests do. */
function feed(data: Buffer, size: number, receive: (chunk: Buffer) => unknown): void {
  for (let i = 0; i < Math.floor(data.length / size) + 1; i++) {
    const chunk = data.subarray(i * size, (i + 1) * size);
    receive(chunk);
  }
}

/** Each byte separately, as Twisted's iterbytes. */
function byteByByte(data: Buffer, receive: (chunk: Buffer) => unknown): void {
  for (let i = 0; i < data.length; i++) receive(data.subarray(i, i + 1));
}

/** A line receiver that flips between line and raw mode after one byte (FlippingLineTester). */
class FlippingLineTester extends LineReceiver {
  override delimiter = b("\n");
  lines: Buffer[] = [];
  override lineReceived(line: Buffer): void {
    this.lines.push(Buffer.from(line));
    this.setRawMode();
  }
  override rawDataReceived(data: Buffer): void {
    this.setLineMode(data.subarray(1));
  }
}

/** Twisted's LineTester: acts on some lines (pause, rawpause, stop, len N, produce, unproduce). */
class LineTester extends LineReceiver {
  override delimiter = b("\n");
  override MAX_LENGTH = 64;
  received: Buffer[] = [];
  length = 0;
  constructor(readonly clock: Clock | null = null) {
    super();
  }
  override connectionMade(): void {
    this.received = [];
  }
  override lineReceived(line: Buffer): void {
    const text = line.toString("latin1");
    this.received.push(Buffer.from(line));
    if (text === "") {
      this.setRawMode();
    } else if (text === "pause") {
      this.pauseProducing();
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (text === "rawpause") {
      this.pauseProducing();
      this.setRawMode();
      this.received.push(b(""));
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (text === "stop") {
      this.stopProducing();
    } else if (text.startsWith("len ")) {
      this.length = Number(text.slice(4));
    } else if (text.startsWith("produce")) {
      (this.transport as StringTransport).registerProducer(this, false);
    } else if (text.startsWith("unproduce")) {
      (this.transport as StringTransport).unregisterProducer();
    }
  }
  override rawDataReceived(data: Buffer): void {
    const mine = data.subarray(0, this.length);
    const rest = data.subarray(this.length);
    this.length -= mine.length;
    this.received[this.received.length - 1] = Buffer.concat([this.received[this.received.length - 1]!, mine]);
    if (this.length === 0) this.setLineMode(rest);
  }
  override lineLengthExceeded(line: Buffer): void {
    if (line.length > this.MAX_LENGTH + 1) this.setLineMode(line.subarray(this.MAX_LENGTH + 1));
  }
}

/** A StringTransport that lets pausing and resuming go on after a close, as FileWrapper does. */
const transport = (): StringTransport => new StringTransport({ lenient: true });

describe("LineReceiverTests", () => {
  const buffer = b(
    "len 10\n\n0123456789len 5\n\n1234\nlen 20\nfoo 123\n\n0123456789\n012345678len 0\nfoo 5\n\n" +
      "1234567890123456789012345678901234567890123456789012345678901234567890\nlen 1\n\na",
  );
  const output = [
    "len 10", "0123456789", "len 5", "1234\n", "len 20", "foo 123", "0123456789\n012345678",
    "len 0", "foo 5", "", "67890", "len 1", "a",
  ];

  it("test_buffer: delivers the same lines and raw data whatever the packet size", () => {
    for (let size = 1; size < 10; size++) {
      const a = new LineTester();
      a.makeConnection(transport());
      feed(buffer, size, (s) => a.dataReceived(s));
      expect(strs(a.received), `packet size ${size}`).to.deep.equal(output);
    }
  });

  it("test_pausing: stops delivering lines while paused and resumes on resumeProducing", () => {
    const pauseBuf = b("twiddle1\ntwiddle2\npause\ntwiddle3\n");
    for (let size = 1; size < 10; size++) {
      const clock = new Clock();
      const a = new LineTester(clock);
      a.makeConnection(transport());
      feed(pauseBuf, size, (s) => a.dataReceived(s));
      expect(strs(a.received)).to.deep.equal(["twiddle1", "twiddle2", "pause"]);
      clock.advance(0);
      expect(strs(a.received)).to.deep.equal(["twiddle1", "twiddle2", "pause", "twiddle3"]);
    }
  });

  it("test_rawPausing: pausing also holds raw data", () => {
    const rawpauseBuf = b("twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n");
    for (let size = 1; size < 10; size++) {
      const clock = new Clock();
      const a = new LineTester(clock);
      a.makeConnection(transport());
      feed(rawpauseBuf, size, (s) => a.dataReceived(s));
      expect(strs(a.received)).to.deep.equal(["twiddle1", "twiddle2", "len 5", "rawpause", ""]);
      clock.advance(0);
      expect(strs(a.received)).to.deep.equal(["twiddle1", "twiddle2", "len 5", "rawpause", "12345", "twiddle3"]);
    }
  });

  it("test_stopProducing: delivers nothing after stopProducing", () => {
    const stopBuf = b("twiddle1\ntwiddle2\nstop\nmore\nstuff\n");
    for (let size = 1; size < 10; size++) {
      const a = new LineTester();
      const t = transport();
      a.makeConnection(t);
      feed(stopBuf, size, (s) => a.dataReceived(s));
      expect(strs(a.received)).to.deep.equal(["twiddle1", "twiddle2", "stop"]);
      expect(t.producerState).to.equal("stopped");
    }
  });

  it("test_lineReceiverAsProducer: can register itself as its transport's producer", () => {
    const a = new LineTester();
    const t = transport();
    a.makeConnection(t);
    a.dataReceived(b("produce\nhello world\nunproduce\ngoodbye\n"));
    expect(strs(a.received)).to.deep.equal(["produce", "hello world", "unproduce", "goodbye"]);
    expect(t.producer).to.equal(null);
  });

  it("test_clearLineBuffer: returns and drops the buffered data, from inside lineReceived", () => {
    class ClearingReceiver extends LineReceiver {
      line: Buffer = b("");
      rest: Buffer = b("");
      override lineReceived(line: Buffer): void {
        this.line = Buffer.from(line);
        this.rest = Buffer.from(this.clearLineBuffer());
      }
    }
    const protocol = new ClearingReceiver();
    protocol.dataReceived(b("foo\r\nbar\r\nbaz"));
    expect(protocol.line.toString()).to.equal("foo");
    expect(protocol.rest.toString()).to.equal("bar\r\nbaz");
    protocol.dataReceived(b("quux\r\n"));
    expect(protocol.line.toString()).to.equal("quux");
    expect(protocol.rest.toString()).to.equal("");
  });

  it("test_stackRecursion: switches modes many times on one chunk without recursing", () => {
    const proto = new FlippingLineTester();
    proto.makeConnection(transport());
    const limit = 20000;
    proto.dataReceived(b("x\nx".repeat(limit)));
    expect(Buffer.concat(proto.lines).toString()).to.equal("x".repeat(limit));
  });

  it("test_maximumLineLength: drops the connection on a line longer than MAX_LENGTH", () => {
    const proto = new LineReceiver();
    const t = new StringTransport();
    proto.makeConnection(t);
    proto.dataReceived(Buffer.concat([Buffer.alloc(proto.MAX_LENGTH + 1, "x"), b("\r\nr")]));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_maximumLineLengthPartialDelimiter: accepts a line of MAX_LENGTH whose delimiter arrives split", () => {
    const proto = new LineTester();
    proto.MAX_LENGTH = 4;
    const t = new StringTransport();
    proto.makeConnection(t);
    const line = b("x".repeat(proto.MAX_LENGTH - 1));
    proto.dataReceived(line);
    proto.dataReceived(proto.delimiter.subarray(0, -1));
    proto.dataReceived(Buffer.concat([proto.delimiter.subarray(-1), line]));
    expect(t.disconnecting).to.equal(false);
    expect(strs(proto.received)).to.deep.equal([line.toString()]);
  });

  it("test_notQuiteMaximumLineLengthUnfinished: keeps a line of MAX_LENGTH plus part of the delimiter", () => {
    const proto = new LineReceiver();
    proto.delimiter = b("\r\n");
    const t = new StringTransport();
    proto.makeConnection(t);
    proto.dataReceived(Buffer.concat([Buffer.alloc(proto.MAX_LENGTH, "x"), b("\r")]));
    expect(t.disconnecting).to.equal(false);
  });

  it("test_rawDataError: dataReceived returns what rawDataReceived returns", () => {
    const oops = new Error("oops");
    class Raw extends LineReceiver {
      override rawDataReceived(): unknown {
        return oops;
      }
    }
    const proto = new Raw();
    proto.makeConnection(new StringTransport());
    proto.setRawMode();
    expect(proto.dataReceived(b("data"))).to.equal(oops);
  });

  it("test_rawDataReceivedNotImplemented: rawDataReceived throws unless overridden", () => {
    expect(() => new LineReceiver().rawDataReceived(b("foo"))).to.throw(Error, "not implemented");
  });

  it("test_lineReceivedNotImplemented: lineReceived throws unless overridden", () => {
    expect(() => new LineReceiver().lineReceived(b("foo"))).to.throw(Error, "not implemented");
  });

  it("sendLine writes the line and the delimiter, and rejects a string", () => {
    const proto = new LineReceiver();
    const t = new StringTransport();
    proto.makeConnection(t);
    proto.sendLine(b("hello"));
    expect(t.value().toString()).to.equal("hello\r\n");
    expect(() => proto.sendLine("hello" as unknown as Bytes)).to.throw(TypeError);
  });

  it("keeps its buffer intact when the caller reuses the chunk it passed", () => {
    class Collect extends LineReceiver {
      lines: string[] = [];
      override lineReceived(line: Buffer): void {
        this.lines.push(line.toString());
      }
    }
    const proto = new Collect();
    proto.makeConnection(new StringTransport());
    const chunk = b("abc");
    proto.dataReceived(chunk);
    chunk.write("zzz");
    proto.dataReceived(b("\r\n"));
    expect(proto.lines).to.deep.equal(["abc"]);
  });

  it("stops delivering lines once lineReceived loses the connection", () => {
    class Quitter extends LineReceiver {
      lines: string[] = [];
      override lineReceived(line: Buffer): void {
        this.lines.push(line.toString());
        if (line.toString() === "quit") this.transport!.loseConnection();
      }
    }
    const proto = new Quitter();
    proto.makeConnection(new StringTransport());
    proto.dataReceived(b("a\r\nquit\r\nb\r\n"));
    expect(proto.lines).to.deep.equal(["a", "quit"]);
  });
});

/** Twisted's ExcessivelyLargeLineCatcher: records what lineLengthExceeded is given. */
class ExcessivelyLargeLineCatcher extends LineReceiver {
  longLines: Buffer[] = [];
  override lineReceived(): void {}
  override lineLengthExceeded(data: Buffer): void {
    this.longLines.push(Buffer.from(data));
  }
}

describe("LineReceiverLineLengthExceededTests", () => {
  let proto: ExcessivelyLargeLineCatcher;
  beforeEach(() => {
    proto = new ExcessivelyLargeLineCatcher();
    proto.MAX_LENGTH = 6;
    proto.makeConnection(new StringTransport());
  });
  const excessiveLine = () => b("x".repeat(proto.MAX_LENGTH * 2 + 2));

  it("test_longUnendedLine: hands over all the bytes of a long line with no delimiter", () => {
    const excessive = excessiveLine();
    proto.dataReceived(excessive);
    expect(strs(proto.longLines)).to.deep.equal([excessive.toString()]);
  });

  it("test_longLineAfterShortLine: hands over the bytes after the short line", () => {
    const excessive = excessiveLine();
    proto.dataReceived(Buffer.concat([b("x"), proto.delimiter, excessive]));
    expect(strs(proto.longLines)).to.deep.equal([excessive.toString()]);
  });

  it("test_longLineWithDelimiter: hands over the whole data when the delimiter comes too late", () => {
    const excessive = Buffer.concat([excessiveLine(), proto.delimiter, excessiveLine()]);
    proto.dataReceived(excessive);
    expect(strs(proto.longLines)).to.deep.equal([excessive.toString()]);
  });

  it("test_multipleLongLines: hands over the whole data with several long lines", () => {
    const one = Buffer.concat([excessiveLine(), proto.delimiter]);
    const excessive = Buffer.concat([one, one]);
    proto.dataReceived(excessive);
    expect(strs(proto.longLines)).to.deep.equal([excessive.toString()]);
  });

  it("test_maximumLineLength: drops the connection on a line longer than MAX_LENGTH", () => {
    const p = new LineReceiver();
    const t = new StringTransport();
    p.makeConnection(t);
    p.dataReceived(Buffer.concat([Buffer.alloc(p.MAX_LENGTH + 1, "x"), b("\r\nr")]));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_maximumLineLengthRemaining: drops the connection on an unfinished line too long", () => {
    const p = new LineReceiver();
    const t = new StringTransport();
    p.makeConnection(t);
    p.dataReceived(Buffer.alloc(p.MAX_LENGTH + p.delimiter.length, "x"));
    expect(t.disconnecting).to.equal(true);
  });
});

class LineOnlyTester extends LineOnlyReceiver {
  override delimiter = b("\n");
  override MAX_LENGTH = 64;
  received: Buffer[] = [];
  override lineReceived(line: Buffer): void {
    this.received.push(Buffer.from(line));
  }
}

describe("LineOnlyReceiverTests", () => {
  const buffer = b("foo\n    bleakness\n    desolation\n    plastic forks\n    ");

  it("test_buffer: delivers every line when fed byte by byte", () => {
    const a = new LineOnlyTester();
    a.makeConnection(new StringTransport());
    byteByByte(buffer, (c) => a.dataReceived(c));
    expect(strs(a.received)).to.deep.equal(buffer.toString().split("\n").slice(0, -1));
  });

  it("test_greaterThanMaximumLineLength: drops the connection on a line too long", () => {
    const proto = new LineOnlyTester();
    const t = new StringTransport();
    proto.makeConnection(t);
    proto.dataReceived(Buffer.concat([Buffer.alloc(proto.MAX_LENGTH + proto.delimiter.length + 1, "x"), b("\r\nr")]));
    expect(t.disconnecting).to.equal(true);
  });

  it("test_lineReceivedNotImplemented: lineReceived throws unless overridden", () => {
    expect(() => new LineOnlyReceiver().lineReceived(b("foo"))).to.throw(Error, "not implemented");
  });

  it("sendLine writes the line and the delimiter", () => {
    const proto = new LineOnlyTester();
    const t = new StringTransport();
    proto.makeConnection(t);
    proto.sendLine(b("hi"));
    expect(t.value().toString()).to.equal("hi\n");
  });

  it("delivers no more lines once the transport is disconnecting", () => {
    class Quitter extends LineOnlyTester {
      override lineReceived(line: Buffer): void {
        super.lineReceived(line);
        this.transport!.loseConnection();
      }
    }
    const proto = new Quitter();
    proto.makeConnection(new StringTransport());
    proto.dataReceived(b("a\nb\nc\n"));
    expect(strs(proto.received)).to.deep.equal(["a"]);
  });
});

// --- Netstrings --------------------------------------------------------------------------------

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

// --- Int-prefixed strings ----------------------------------------------------------------------

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

// --- Producers ---------------------------------------------------------------------------------

/** Twisted's OnlyProducerTransport: records writes and pause/resume. */
class OnlyProducerTransport {
  paused = false;
  disconnecting = false;
  data: string[] = [];
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
  }
  write(bytes: Buffer): void {
    this.data.push(bytes.toString());
  }
}

/** Twisted's ConsumingProtocol: echoes each line, then pauses itself. */
class ConsumingProtocol extends LineReceiver {
  override lineReceived(line: Buffer): void {
    this.transport!.write(line);
    this.pauseProducing();
  }
}

describe("ProducerTests", () => {
  it("test_pauseResume: a paused LineReceiver delivers no lines until resumed", () => {
    const p = new ConsumingProtocol();
    const t = new OnlyProducerTransport();
    p.makeConnection(t as unknown as ITransport);

    p.dataReceived(b("hello, "));
    expect(t.data).to.deep.equal([]);
    expect(t.paused).to.equal(false);
    expect(p.paused).to.equal(false);

    p.dataReceived(b("world\r\n"));
    expect(t.data).to.deep.equal(["hello, world"]);
    expect(t.paused).to.equal(true);
    expect(p.paused).to.equal(true);

    p.resumeProducing();
    expect(t.data).to.deep.equal(["hello, world"]);
    expect(t.paused).to.equal(false);
    expect(p.paused).to.equal(false);

    p.dataReceived(b("hello\r\nworld\r\n"));
    expect(t.data).to.deep.equal(["hello, world", "hello"]);
    expect(t.paused).to.equal(true);
    expect(p.paused).to.equal(true);

    p.resumeProducing();
    expect(t.data).to.deep.equal(["hello, world", "hello", "world"]);
    expect(t.paused).to.equal(true);
    expect(p.paused).to.equal(true);

    p.dataReceived(b("goodbye\r\n"));
    expect(t.data).to.deep.equal(["hello, world", "hello", "world"]);

    p.resumeProducing();
    expect(t.data).to.deep.equal(["hello, world", "hello", "world", "goodbye"]);
    expect(t.paused).to.equal(true);
    expect(p.paused).to.equal(true);

    p.resumeProducing();
    expect(t.data).to.deep.equal(["hello, world", "hello", "world", "goodbye"]);
    expect(t.paused).to.equal(false);
    expect(p.paused).to.equal(false);
  });
});
