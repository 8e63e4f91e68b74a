// Tests of lib/internet/process-protocol.ts: the dispatch of ProcessProtocol's childDataReceived
// and childConnectionLost. Ports of twisted/test/test_process.py's ProcessProtocolTests.

import { expect } from "chai";
import type { Bytes } from "../../lib/internet/interfaces.js";
import { ProcessProtocol } from "../../lib/internet/process-protocol.js";

describe("ProcessProtocolTests", () => {
  it("test_outReceived: childDataReceived(1, data) goes to outReceived", () => {
    const got: Bytes[] = [];
    const p = new (class extends ProcessProtocol {
      override outReceived(data: Bytes): void {
        got.push(data);
      }
    })();
    p.childDataReceived(1, Buffer.from("bytes"));
    p.childDataReceived(2, Buffer.from("not these"));
    expect(got.map((b) => Buffer.from(b).toString())).to.deep.equal(["bytes"]);
  });

  it("test_errReceived: childDataReceived(2, data) goes to errReceived", () => {
    const got: Bytes[] = [];
    const p = new (class extends ProcessProtocol {
      override errReceived(data: Bytes): void {
        got.push(data);
      }
    })();
    p.childDataReceived(2, Buffer.from("bytes"));
    p.childDataReceived(1, Buffer.from("not these"));
    expect(got.map((b) => Buffer.from(b).toString())).to.deep.equal(["bytes"]);
  });

  for (const [fd, method] of [
    [0, "inConnectionLost"],
    [1, "outConnectionLost"],
    [2, "errConnectionLost"],
  ] as const) {
    it(`test_${method}: childConnectionLost(${fd}) calls ${method}`, () => {
      const calls: string[] = [];
      const p = new ProcessProtocol();
      for (const m of ["inConnectionLost", "outConnectionLost", "errConnectionLost"] as const) p[m] = () => void calls.push(m);
      p.childConnectionLost(fd);
      p.childConnectionLost(7); // another descriptor: none of the three
      expect(calls).to.deep.equal([method]);
    });
  }

  it("makeConnection sets transport and connected, then calls connectionMade; processEnded clears connected", () => {
    const calls: string[] = [];
    const p = new (class extends ProcessProtocol {
      override connectionMade(): void {
        calls.push(`connectionMade ${this.connected}`);
      }
    })();
    const transport = {} as never;
    p.makeConnection(transport);
    expect(p.transport).to.equal(transport);
    expect(calls).to.deep.equal(["connectionMade true"]);
    p.processEnded(null as never);
    expect(p.connected).to.equal(false);
  });
});
