// lib/web/iweb.ts: the web contracts (IRequest, IResource) and NOT_DONE_YET beside them.
import { expect } from "chai";
import * as iweb from "../../lib/web/iweb.js";
import * as server from "../../lib/web/server.js";

describe("web/iweb", () => {
  it("its one value is NOT_DONE_YET; the rest is types", () => {
    expect(Object.keys(iweb)).to.deep.equal(["NOT_DONE_YET"]);
    expect(typeof iweb.NOT_DONE_YET).to.equal("symbol");
  });

  it("server.NOT_DONE_YET (where Twisted's users look) is the same value", () => {
    expect(server.NOT_DONE_YET).to.equal(iweb.NOT_DONE_YET);
  });
});
