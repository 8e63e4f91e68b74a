// lib/index.ts: the package root, which re-exports the public names of every layer.
import { expect } from "chai";
import * as root from "../lib/index.js";
import { Deferred } from "../lib/internet/deferred.js";
import { ConnectionDone } from "../lib/internet/error.js";
import { reactor } from "../lib/internet/reactor.js";
import { LineReceiver } from "../lib/protocols/basic.js";
import { AddHeadersResource } from "../lib/web/add-headers-resource.js";
import { NOT_DONE_YET } from "../lib/web/iweb.js";
import { Site } from "../lib/web/server.js";

describe("the package root (lib/index.ts)", () => {
  it("every export is defined (no name re-exported from a module that lacks it)", () => {
    const missing = Object.entries(root)
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    expect(missing).to.deep.equal([]);
  });

  it("names from each layer are the modules' own objects", () => {
    expect(root.Deferred).to.equal(Deferred);
    expect(root.ConnectionDone).to.equal(ConnectionDone);
    expect(root.reactor).to.equal(reactor);
    expect(root.LineReceiver).to.equal(LineReceiver);
    expect(root.Site).to.equal(Site);
    expect(root.NOT_DONE_YET).to.equal(NOT_DONE_YET);
    expect(root.AddHeadersResource).to.equal(AddHeadersResource);
  });
});
