// lib/internet/interfaces.ts: the contracts. They are types only, so importing them loads no
// code and anything may import them (docs/design.md, "Which way imports go").
import { expect } from "chai";
import type { IProtocol, ITransport } from "../../lib/internet/interfaces.js";
import { Protocol } from "../../lib/internet/protocol.js";
import { StringTransport } from "../../lib/internet/testing.js";

describe("internet/interfaces", () => {
  it("has no runtime exports: the module is contracts only", async () => {
    const module = await import("../../lib/internet/interfaces.js");
    expect(Object.keys(module)).to.deep.equal([]);
  });

  it("the core's classes satisfy the contracts they name (a Protocol is an IProtocol, a StringTransport an ITransport)", () => {
    const protocol: IProtocol = new Protocol();
    const transport: ITransport = new StringTransport();
    protocol.makeConnection(transport);
    transport.write(Buffer.from("x"));
    expect((transport as StringTransport).value().toString()).to.equal("x");
  });
});
