// Tests of lib/internet/datagram-protocol.ts: startProtocol and stopProtocol on the first and
// the last port, as Twisted's AbstractDatagramProtocol counts them (numPorts).

import { expect } from "chai";
import { DatagramProtocol } from "../../lib/internet/datagram-protocol.js";
import { FakeDatagramPort } from "../../lib/internet/fake-datagram-port.js";
import { captureLogsOfEachTest } from "../support/logs.js";

class Counting extends DatagramProtocol {
  readonly calls: string[] = [];
  override startProtocol(): void {
    this.calls.push("start");
  }
  override stopProtocol(): void {
    this.calls.push("stop");
  }
}

describe("DatagramProtocol", () => {
  const logs = captureLogsOfEachTest();

  it("startProtocol runs for the first port only, stopProtocol when the last one stops", () => {
    const p = new Counting();
    const a = new FakeDatagramPort("0.0.0.0", 1);
    const b = new FakeDatagramPort("0.0.0.0", 2);
    p.makeConnection(a);
    p.makeConnection(b);
    expect([p.calls, p.numPorts, p.transport]).to.deep.equal([["start"], 2, b]);
    p.doStop();
    expect(p.calls).to.deep.equal(["start"]);
    p.doStop();
    expect([p.calls, p.numPorts, p.transport]).to.deep.equal([["start", "stop"], 0, null]);
    p.doStop(); // unbalanced: ignored, as Factory.doStop
    expect(p.calls).to.deep.equal(["start", "stop"]);
  });

  it("a noisy protocol logs its start and stop; a quiet one (the default) does not", () => {
    const quiet = new Counting();
    quiet.makeConnection(new FakeDatagramPort("0.0.0.0", 1));
    quiet.doStop();
    expect(logs.messages()).to.deep.equal([]);
    const noisy = new Counting();
    noisy.noisy = true;
    noisy.makeConnection(new FakeDatagramPort("0.0.0.0", 1));
    noisy.doStop();
    expect(logs.messages()).to.deep.equal(["Starting protocol Counting", "Stopping protocol Counting"]);
  });

  it("the default handlers accept datagrams and refusals and do nothing", () => {
    const p = new DatagramProtocol();
    p.datagramReceived(Buffer.from("x"), ["127.0.0.1", 9]);
    p.connectionRefused();
    expect(p.logPrefix()).to.equal("DatagramProtocol");
  });
});
