// The channel of one WSGI response (lib/web/wsgi/channel.ts): records come out in the order they
// went in, across the end of the ring; room is what the reader has released; the last record
// always fits; the flags and wake-ups reach the other side. Both halves on this thread here; the
// resource specs run them across threads.

import { expect } from "chai";
import {
  CAPACITY,
  CHUNK,
  ChannelReader,
  ChannelWriter,
  DISCONNECTED,
  ERRORS,
  HEAD,
  MAX_PAYLOAD,
  RESERVE,
  RESULT,
  STOPPING,
  allocateChannel,
  resetChannel,
} from "../../../lib/web/wsgi/channel.js";
import { within } from "../../support/wait.js";

function pair(): { writer: ChannelWriter; reader: ChannelReader; buffer: SharedArrayBuffer } {
  const buffer = allocateChannel();
  return { writer: new ChannelWriter(buffer), reader: new ChannelReader(buffer), buffer };
}

function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

describe("the WSGI response channel", () => {
  it("gives back each record's kind and payload, in order", () => {
    const { writer, reader } = pair();
    writer.put(HEAD, Buffer.from("200 OK\0content-type\0text/plain", "latin1"));
    writer.put(CHUNK, bytes(3, 1));
    writer.put(CHUNK, new Uint8Array(0));
    writer.put(ERRORS, Buffer.from("café", "utf8"));
    writer.put(RESULT, Buffer.from("0"));
    const seen: [number, string][] = [];
    while (reader.next()) seen.push([reader.kind, reader.kind === ERRORS ? reader.text() : reader.latin1()]);
    expect(seen).to.deep.equal([
      [HEAD, "200 OK\0content-type\0text/plain"],
      [CHUNK, "\x01\x01\x01"],
      [CHUNK, ""],
      [ERRORS, "café"],
      [RESULT, "0"],
    ]);
  });

  it("carries records across the end of the ring, many times over, unchanged", () => {
    const { writer, reader } = pair();
    // Odd sizes, so that headers and payloads land at every offset; 40 laps of the ring.
    let written = 0;
    let read = 0;
    for (let i = 0; written < 40 * CAPACITY; i++) {
      const size = 1 + ((i * 7919) % MAX_PAYLOAD);
      while (!writer.hasRoom(size)) {
        expect(reader.next()).to.equal(true);
        const payload = reader.payload();
        expect(payload.length).to.equal(1 + ((read * 7919) % MAX_PAYLOAD));
        expect(payload.every((b) => b === read % 251)).to.equal(true);
        read++;
        reader.release();
      }
      writer.put(CHUNK, bytes(size, i % 251));
      written += size;
    }
    while (reader.next()) read++;
    expect(read).to.be.greaterThan(100);
  });

  it("has room only for what the reader has released, keeping RESERVE for the last record", () => {
    const { writer, reader } = pair();
    let n = 0;
    while (writer.hasRoom(MAX_PAYLOAD)) {
      writer.put(CHUNK, bytes(MAX_PAYLOAD, 1));
      n++;
    }
    expect(n).to.equal(Math.floor((CAPACITY - RESERVE) / (MAX_PAYLOAD + 8)));
    // The result still fits, whatever the reader does.
    expect(writer.hasRoom(RESERVE - 8, true)).to.equal(true);
    writer.put(RESULT, bytes(RESERVE - 64, 2));
    expect(reader.next()).to.equal(true);
    expect(writer.hasRoom(MAX_PAYLOAD)).to.equal(false);
    reader.release();
    expect(writer.hasRoom(MAX_PAYLOAD)).to.equal(true);
  });

  it("shows the reader's flags to the writer, and wakes a writer waiting for room", () => {
    const { writer, reader } = pair();
    expect(writer.flags).to.equal(0);
    const seen = writer.wakeSeen();
    reader.setFlags(DISCONNECTED);
    reader.setFlags(STOPPING);
    expect(writer.flags).to.equal(DISCONNECTED | STOPPING);
    // The wake word moved: a wait begun with what was seen before returns at once.
    const start = Date.now();
    writer.wait(seen, 5000);
    expect(Date.now() - start).to.be.lessThan(4000);
  });

  it("calls back the reader once the writer has written and flushed", async () => {
    const { writer, reader } = pair();
    const woken = new Promise<void>((resolve) => reader.whenWritten(resolve));
    writer.put(CHUNK, bytes(10, 3));
    writer.flush();
    await within(woken, 5, "the reader to be woken");
    expect(reader.next()).to.equal(true);
    expect(reader.payload().length).to.equal(10);
  });

  it("calls back at once when records are already there, and cancelWait ends a pending wait", async () => {
    const { writer, reader } = pair();
    const pending = new Promise<void>((resolve) => reader.whenWritten(resolve));
    reader.cancelWait();
    await within(pending, 5, "the cancelled wait to end");
    writer.put(CHUNK, bytes(1, 1));
    await within(new Promise<void>((resolve) => reader.whenWritten(resolve)), 5, "an immediate callback");
  });

  it("resetChannel readies a used buffer for the next response", () => {
    const { writer, reader, buffer } = pair();
    writer.put(CHUNK, bytes(100, 1));
    reader.setFlags(DISCONNECTED);
    resetChannel(buffer);
    const again = new ChannelReader(buffer);
    expect(again.next()).to.equal(false);
    expect(new ChannelWriter(buffer).flags).to.equal(0);
  });
});
