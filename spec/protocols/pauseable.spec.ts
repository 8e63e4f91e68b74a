// lib/protocols/pauseable.ts: the producer side of the receivers (Twisted's _PauseableMixin)
// and the byte helpers they share.
import { expect } from "chai";
import { StringTransport } from "../../lib/internet/testing.js";
import { PauseableProtocol, asBuffer, mustBeBytes, retain } from "../../lib/protocols/pauseable.js";

class Collector extends PauseableProtocol {
  pending: Buffer[] = [];
  delivered: string[] = [];
  override dataReceived(data: Uint8Array): void {
    if (data.length > 0) this.pending.push(Buffer.from(data));
    if (this.paused) return;
    for (const chunk of this.pending.splice(0)) this.delivered.push(chunk.toString());
  }
}

describe("protocols/pauseable", () => {
  it("pausing pauses the transport too; resuming resumes it and delivers what was held", () => {
    const transport = new StringTransport();
    const p = new Collector();
    p.makeConnection(transport);
    p.pauseProducing();
    expect(transport.producerState).to.equal("paused");
    p.dataReceived(Buffer.from("held"));
    expect(p.delivered).to.deep.equal([]);
    p.resumeProducing();
    expect(transport.producerState).to.equal("producing");
    expect(p.delivered).to.deep.equal(["held"]);
  });

  it("stopProducing stops the transport and delivers nothing more", () => {
    const transport = new StringTransport();
    const p = new Collector();
    p.makeConnection(transport);
    p.stopProducing();
    p.dataReceived(Buffer.from("late"));
    expect([transport.producerState, p.delivered.length]).to.deep.equal(["stopped", 0]);
  });

  it("retain copies a tail that shares memory with the caller's buffer, and keeps one that does not", () => {
    const data = Buffer.from("abcdef");
    const tail = data.subarray(3);
    const kept = retain(tail, data);
    expect(kept.toString()).to.equal("def");
    data.fill(0); // the caller reuses its buffer once dataReceived returns
    expect(kept.toString()).to.equal("def");
    const own = Buffer.alloc(3, "x"); // its own memory (Buffer.from of a short string may share the pool)
    expect(retain(own, data)).to.equal(own);
  });

  it("asBuffer views a Uint8Array without copying; mustBeBytes refuses a string by name", () => {
    const u8 = new Uint8Array([104, 105]);
    const view = asBuffer(u8);
    u8[0] = 72;
    expect(view.toString()).to.equal("Hi");
    expect(() => mustBeBytes("text", "sendLine's argument")).to.throw(TypeError, "sendLine's argument must be bytes (a Buffer or Uint8Array), not a string");
  });
});
