/**
 * Fuzzing the endpoint description parser (lib/internet/endpoints.ts): any string gives an
 * endpoint or an EndpointDescriptionError, never another exception; quoteStringArgument
 * round-trips any string through a description.
 */

import { expect } from "chai";
import fc from "fast-check";
import { clientFromString, quoteStringArgument, serverFromString } from "../../lib/internet/endpoint-descriptions.js";
import { EndpointDescriptionError } from "../../lib/internet/error.js";
import { Factory, ClientFactory } from "../../lib/internet/protocol.js";
import { MemoryReactor } from "../../lib/internet/testing.js";
import { check } from "./fuzz-config.js";

/** Strings made of the description's own syntax and the words its parsers know. */
const descriptionArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc
    .array(
      fc.constantFrom(
        "tcp", "tcp6", "unix", "ssl", "tls", "TCP", ":", "=", "\\", "\\:", "\\=", "\\\\", "80", "0", "65535", "65536", "-1",
        "port", "interface", "backlog", "host", "timeout", "bindAddress", "mode", "lockfile", "checkPID", "path", "address",
        "127.0.0.1", "::1", "0o660", "660", "1.5", "x", "", " ", "\0", "é", "\u{1F600}",
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.join("")),
);

function parseOrError(parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    expect(err, `${String(err)}`).to.be.instanceOf(EndpointDescriptionError);
  }
}

describe("hardening: endpoint description fuzzing", () => {
  it("serverFromString: any string gives an endpoint or an EndpointDescriptionError", () => {
    check(
      fc.property(descriptionArb, (description) => {
        parseOrError(() => serverFromString(new MemoryReactor(), description));
      }),
      2000,
    );
  });

  it("clientFromString: any string gives an endpoint or an EndpointDescriptionError", () => {
    check(
      fc.property(descriptionArb, (description) => {
        parseOrError(() => clientFromString(new MemoryReactor(), description));
      }),
      2000,
    );
  });

  it("a description made only of keywords (no type) is an EndpointDescriptionError", () => {
    for (const description of ["=", "=x", "a=b", "a=b:c=d", "=:", "\\=x=y"]) {
      expect(() => serverFromString(new MemoryReactor(), description), description).to.throw(EndpointDescriptionError);
      expect(() => clientFromString(new MemoryReactor(), description), description).to.throw(EndpointDescriptionError);
    }
  });

  it("quoteStringArgument round-trips any UNIX path, positional or keyword", () => {
    check(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.boolean(), (path, keyword) => {
        const reactor = new MemoryReactor();
        const endpoint = serverFromString(reactor, `unix:${keyword ? "address=" : ""}${quoteStringArgument(path)}:lockfile=0`);
        endpoint.listen(new Factory());
        expect(reactor.unixServers.map((r) => r[0])).to.deep.equal([path]);
        const client = clientFromString(reactor, `unix:${keyword ? "path=" : ""}${quoteStringArgument(path)}`);
        client.connect(new ClientFactory()).addErrback(() => null);
        expect(reactor.unixClients.map((r) => r[0])).to.deep.equal([path]);
      }),
      500,
    );
  });

  it("quoteStringArgument round-trips any TCP interface and host", () => {
    check(
      fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 65535 }), (host, port) => {
        const reactor = new MemoryReactor();
        serverFromString(reactor, `tcp:${port}:interface=${quoteStringArgument(host)}`).listen(new Factory());
        expect(reactor.tcpServers.map((r) => [r[0], r[2].interface])).to.deep.equal([[port, host]]);
        if (host !== "") {
          clientFromString(reactor, `tcp:host=${quoteStringArgument(host)}:port=${port}`).connect(new ClientFactory()).addErrback(() => null);
          expect(reactor.tcpClients.map((r) => [r[0], r[1]])).to.deep.equal([[host, port]]);
        }
      }),
      500,
    );
  });
});
