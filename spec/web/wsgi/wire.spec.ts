// What crosses with a WSGI task and in the channel's records (lib/web/wsgi/wire.ts): the environ
// as one string (an array when a value holds a NUL), the head, the result (a long error cut to fit).

import { expect } from "chai";
import { EnvironEncoder, decodeEnviron, decodeHead, decodeResult, encodeHead, encodeResult } from "../../../lib/web/wsgi/wire.js";

describe("the WSGI wire", () => {
  it("sends the environ as one joined string, and gets back the same names and values", () => {
    const encoder = new EnvironEncoder();
    encoder.add("REQUEST_METHOD", "GET");
    encoder.add("QUERY_STRING", "");
    encoder.add("HTTP_X_CAFE", "caf\u00e9");
    const wire = encoder.done();
    expect(typeof wire).to.equal("string");
    const environ: Record<string, unknown> = {};
    decodeEnviron(wire, environ);
    expect(environ).to.deep.equal({ REQUEST_METHOD: "GET", QUERY_STRING: "", HTTP_X_CAFE: "caf\u00e9" });
  });

  it("sends an array instead once a value holds a NUL (a percent-decoded %00), losing nothing", () => {
    const encoder = new EnvironEncoder();
    encoder.add("REQUEST_METHOD", "GET");
    encoder.add("PATH_INFO", "/a\0b");
    encoder.add("HTTP_HOST", "example");
    const wire = encoder.done();
    expect(Array.isArray(wire)).to.equal(true);
    const environ: Record<string, unknown> = {};
    decodeEnviron(wire, environ);
    expect(environ).to.deep.equal({ REQUEST_METHOD: "GET", PATH_INFO: "/a\0b", HTTP_HOST: "example" });
  });

  it("encodes the head as status and header pairs", () => {
    const head = decodeHead(encodeHead("404 Not Found", [["Content-Type", "text/plain"], ["X-Empty", ""]]));
    expect(head).to.deep.equal({ status: "404 Not Found", headers: [["Content-Type", "text/plain"], ["X-Empty", ""]] });
    expect(decodeHead(encodeHead("204 No Content", []))).to.deep.equal({ status: "204 No Content", headers: [] });
  });

  it("encodes the result's flags and error, and cuts a long stack to fit", () => {
    const plain = { error: null, stopped: true, drained: false, closed: true };
    expect(decodeResult(encodeResult(plain, 1000))).to.deep.equal(plain);
    const error = { name: "Error", className: "Error", message: "boom", stack: "Error: boom\n" + "    at frame\n".repeat(10_000) };
    const text = encodeResult({ error, stopped: false, drained: true, closed: false }, 4000);
    expect(text.length).to.be.at.most(4000);
    const back = decodeResult(text);
    expect(back).to.include({ stopped: false, drained: true, closed: false });
    expect(back.error).to.include({ name: "Error", className: "Error", message: "boom" });
    expect(back.error!.stack).to.match(/^Error: boom\n/);
  });
});
