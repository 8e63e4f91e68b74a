import { expect } from "chai";
import { DNSLookupError } from "../../lib/internet/error.js";
import type { IPv4Address } from "../../lib/internet/interfaces.js";
import { MemoryReactor } from "../../lib/internet/memory-reactor.js";
import { GAIResolver, type IHostResolution, resolveAll, StaticResolver } from "../../lib/internet/resolver.js";
import { failureResultOf, successResultOf } from "../support/deferred-helpers.js";
import { within } from "../support/wait.js";

describe("name resolution (twisted.internet.test.test_resolver)", () => {
  it("GAIResolver test_resolveOneHost: the receiver hears began, each address with the port, complete", async () => {
    const events: string[] = [];
    await within(
      new Promise<void>((resolve) => {
        new GAIResolver().resolveHostName(
          {
            resolutionBegan: (r: IHostResolution) => events.push(`began ${r.name}`),
            addressResolved: (a: IPv4Address) => events.push(`${a.family} ${a.host} ${a.port}`),
            resolutionComplete: () => {
              events.push("complete");
              resolve();
            },
          },
          "localhost",
          80,
        );
      }),
      5,
      "localhost to resolve",
    );
    expect(events[0]).to.equal("began localhost");
    expect(events.at(-1)).to.equal("complete");
    expect(events.slice(1, -1).some((e) => e === "IPv4 127.0.0.1 80" || e === "IPv6 ::1 80")).to.equal(true);
  });

  it("test_resolveOnlyIPv4 / address types: only the families asked for", async () => {
    const found = await within(resolveAll(new GAIResolver(), "localhost", 0, ["IPv4"]), 5, "localhost to resolve");
    expect(found.every((a) => a.family === "IPv4")).to.equal(true);
  });

  it("an unknown name resolves to no address (not an error); an IP literal to itself without a lookup", async () => {
    expect(await within(resolveAll(new GAIResolver(), "nonexistent.invalid"), 10, "the lookup")).to.deep.equal([]);
    expect(successResultOf(resolveAll(new GAIResolver(), "::1")).map((a) => a.host)).to.deep.equal(["::1"]);
  });

  it("MemoryReactor's installNameResolver: resolve() uses the installed resolver, preferring IPv4; none is DNSLookupError", () => {
    const reactor = new MemoryReactor();
    reactor.installNameResolver(new StaticResolver({ both: ["::2", "10.0.0.2"] }));
    expect(successResultOf(reactor.resolve("both"))).to.equal("10.0.0.2");
    failureResultOf(reactor.resolve("missing"), DNSLookupError);
    expect(() => reactor.installNameResolver({} as never)).to.throw(TypeError);
  });
});
