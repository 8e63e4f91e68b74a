import { expect } from "chai";
import { acceptKey, headerTokens, isValidKey, isValidSubprotocol, newKey, subprotocolList } from "../../../lib/web/websocket/handshake.js";

describe("handshake", () => {
  it("computes RFC 6455's sample accept value (§1.3)", () => {
    expect(acceptKey("dGhlIHNhbXBsZSBub25jZQ==")).to.equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("makes fresh 16-byte keys, and knows a valid one", () => {
    const a = newKey();
    expect(isValidKey(a)).to.equal(true);
    expect(Buffer.from(a, "base64")).to.have.length(16);
    expect(newKey()).to.not.equal(a);
    expect(isValidKey("dGhlIHNhbXBsZSBub25jZQ")).to.equal(false);
    expect(isValidKey("c2hvcnQ=")).to.equal(false);
  });

  it("reads header tokens case-insensitively across lines, and subprotocols as sent", () => {
    expect(headerTokens(["keep-alive, Upgrade", "x"])).to.deep.equal(["keep-alive", "upgrade", "x"]);
    expect(subprotocolList(["Chat.V1, chat.v2"])).to.deep.equal(["Chat.V1", "chat.v2"]);
    expect(isValidSubprotocol("chat.v1")).to.equal(true);
    expect(isValidSubprotocol("chat v1")).to.equal(false);
  });
});
