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
import * as intN from "../../lib/protocols/int-n-string.js";
import * as netstring from "../../lib/protocols/netstring.js";
import { b, byteByByte, feed, strs } from "../support/feeding.js";


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

describe("twisted.protocols.basic as one module", () => {
  it("basic re-exports the netstring and int-prefixed receivers as themselves (their specs: netstring.spec, int-n-string.spec)", () => {
    expect(NetstringReceiver).to.equal(netstring.NetstringReceiver);
    expect([Int8StringReceiver, Int16StringReceiver, Int32StringReceiver, IntNStringReceiver, StringTooLongError]).to.deep.equal([
      intN.Int8StringReceiver,
      intN.Int16StringReceiver,
      intN.Int32StringReceiver,
      intN.IntNStringReceiver,
      intN.StringTooLongError,
    ]);
  });
});
