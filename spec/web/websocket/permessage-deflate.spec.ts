// Negotiating permessage-deflate (RFC 7692 §5, §7.1) and the engine. Names follow the ws
// library's test/permessage-deflate.test.js where a case is theirs.
import { expect } from "chai";
import {
  acceptOffer,
  acceptResponse,
  clientOffer,
  parseExtensions,
  PerMessageDeflate,
} from "../../../lib/web/websocket/permessage-deflate.js";
import { within } from "../../support/wait.js";

const offers = (header: string) => parseExtensions(header)!;

describe("permessage-deflate", () => {
  describe("parseExtensions", () => {
    it("parses a list of extensions with parameters, quoted values included", () => {
      const parsed = offers('permessage-deflate; client_max_window_bits; server_max_window_bits="10", foo');
      expect(parsed.map((o) => o.name)).to.deep.equal(["permessage-deflate", "foo"]);
      expect([...parsed[0]!.params]).to.deep.equal([["client_max_window_bits", true], ["server_max_window_bits", "10"]]);
    });

    it("refuses a malformed header (a duplicate parameter, a bad token)", () => {
      expect(parseExtensions("permessage-deflate; a; a")).to.equal(null);
      expect(parseExtensions("permessage deflate")).to.equal(null);
    });
  });

  describe("#accept (server)", () => {
    it("accepts an offer with no parameters", () => {
      const r = acceptOffer(offers("permessage-deflate"))!;
      expect(r.response).to.equal("permessage-deflate");
      expect(r.params).to.deep.equal({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });
    });

    it("accepts an offer with parameters, and answers what it agreed", () => {
      const r = acceptOffer(offers("permessage-deflate; server_no_context_takeover; client_max_window_bits=10; server_max_window_bits=12"))!;
      expect(r.params).to.deep.equal({ serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 12, clientMaxWindowBits: 10 });
      expect(r.response).to.equal("permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10");
    });

    it("picks the first acceptable offer, skipping invalid ones", () => {
      const r = acceptOffer(offers("permessage-deflate; server_max_window_bits=7, permessage-deflate; unknown=1, permessage-deflate; client_no_context_takeover"))!;
      expect(r.params.clientNoContextTakeover).to.equal(true);
    });

    it("declines a server window of 8 bits (zlib would raise it to 9)", () => {
      expect(acceptOffer(offers("permessage-deflate; server_max_window_bits=8"))).to.equal(null);
    });

    it("imposes the server's own no-context-takeover preference", () => {
      expect(acceptOffer(offers("permessage-deflate"), { serverNoContextTakeover: true })!.response).to.equal("permessage-deflate; server_no_context_takeover");
    });
  });

  describe("#accept (client)", () => {
    it("offers client_max_window_bits so the server may limit it", () => {
      expect(clientOffer()).to.equal("permessage-deflate; client_max_window_bits");
    });

    it("accepts a valid response and refuses an unknown parameter or extension", () => {
      expect(acceptResponse(offers("permessage-deflate; server_no_context_takeover"))).to.deep.equal({
        serverNoContextTakeover: true,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      });
      expect(acceptResponse(offers("permessage-deflate; foo"))).to.be.a("string");
      expect(acceptResponse(offers("x-webkit-deflate-frame"))).to.be.a("string");
    });
  });

  describe("compress and decompress", () => {
    const params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
    const deflate = (e: PerMessageDeflate, d: Buffer) => new Promise<Buffer>((res, rej) => e.deflate(d, (err, out) => (err ? rej(err) : res(out!))));
    const inflate = (e: PerMessageDeflate, d: Buffer, limit = 1 << 20) =>
      new Promise<Buffer>((res, rej) => e.inflate(d, true, limit, (err, out) => (err ? rej(err) : res(out!))));

    it("round-trips messages with context takeover: a repeated message shrinks", async () => {
      const server = new PerMessageDeflate(params, true);
      const client = new PerMessageDeflate(params, false);
      const msg = Buffer.from("a message that repeats, a message that repeats".repeat(20));
      const first = await within(deflate(server, msg), 2, "deflate");
      const second = await within(deflate(server, msg), 2, "deflate");
      expect(second.length).to.be.lessThan(first.length);
      expect((await inflate(client, first)).equals(msg)).to.equal(true);
      expect((await inflate(client, second)).equals(msg)).to.equal(true);
    });

    it("without context takeover each message stands alone", async () => {
      const p = { ...params, serverNoContextTakeover: true };
      const server = new PerMessageDeflate(p, true);
      const msg = Buffer.from("abcabcabc".repeat(100));
      const first = await deflate(server, msg);
      const second = await deflate(server, msg);
      expect(second.equals(first)).to.equal(true);
      // A fresh inflater reads the second, as it must when the context is not taken over.
      expect((await inflate(new PerMessageDeflate(p, false), second)).equals(msg)).to.equal(true);
    });

    it("compresses an empty message", async () => {
      const server = new PerMessageDeflate(params, true);
      const out = await deflate(server, Buffer.alloc(0));
      expect((await inflate(new PerMessageDeflate(params, false), out)).length).to.equal(0);
    });

    it("fails with a RangeError past the limit", async () => {
      const server = new PerMessageDeflate(params, true);
      const out = await deflate(server, Buffer.alloc(100000));
      const error = await inflate(new PerMessageDeflate(params, false), out, 1000).then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(RangeError);
    });
  });
});
