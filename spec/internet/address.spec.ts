// lib/internet/address.ts (twisted.internet.address: IPv4Address, IPv6Address, UNIXAddress).
import { expect } from "chai";
import { ipAddress, unixAddress } from "../../lib/internet/address.js";

describe("internet/address", () => {
  it("ipAddress infers the family from the host, or takes the one given", () => {
    expect(ipAddress("127.0.0.1", 80)).to.deep.equal({ type: "TCP", family: "IPv4", host: "127.0.0.1", port: 80 });
    expect(ipAddress("::1", 443)).to.deep.equal({ type: "TCP", family: "IPv6", host: "::1", port: 443 });
    expect(ipAddress("localhost", 1, "IPv6").family).to.equal("IPv6");
  });

  it("addresses are frozen: a receiver cannot change the transport's address", () => {
    const a = ipAddress("10.0.0.1", 8080);
    expect(Object.isFrozen(a)).to.equal(true);
    expect(() => {
      (a as { port: number }).port = 1;
    }).to.throw(TypeError);
    expect(Object.isFrozen(unixAddress("/tmp/s"))).to.equal(true);
  });

  it("unixAddress keeps the socket path, or null for an unnamed socket", () => {
    expect(unixAddress("/run/app.sock")).to.deep.equal({ type: "UNIX", name: "/run/app.sock" });
    expect(unixAddress(null).name).to.equal(null);
  });
});
