import { expect } from "chai";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { LoadError, importExport, oneLine, parseReference } from "../../lib/cli/load.js";
import { UsageError } from "../../lib/cli/options.js";
import { hello } from "../fixtures/cli-resources.js";
import { ROOT } from "./cli-helpers.js";

const RESOURCES = "./build/spec/fixtures/cli-resources.js";

async function loadError(text: string): Promise<string> {
  try {
    await importExport("--resource", text, parseReference("--resource", text, ROOT), ROOT);
  } catch (err) {
    expect(err).to.be.instanceOf(LoadError);
    return (err as Error).message;
  }
  throw new Error(`${text} loaded`);
}

describe("load (lib/cli/load.ts)", () => {
  it("parseReference reads MODULE:EXPORT relative to the directory given", () => {
    expect(parseReference("--resource", `${RESOURCES}:hello`, ROOT)).to.deep.equal({
      module: pathToFileURL(join(ROOT, "build/spec/fixtures/cli-resources.js")).href,
      export: "hello",
    });
    expect(parseReference("--wsgi", "some-package:app", ROOT)).to.deep.equal({ module: "some-package", export: "app" });
    expect(() => parseReference("--wsgi", "noexport", ROOT)).to.throw(UsageError, /^--wsgi noexport: expected MODULE:EXPORT/);
  });

  it("importExport returns the export itself", async () => {
    const value = await importExport("--resource", `${RESOURCES}:hello`, parseReference("--resource", `${RESOURCES}:hello`, ROOT), ROOT);
    expect(value).to.equal(hello);
  });

  it("says which of module, import and export is the problem, in one line", async () => {
    expect(await loadError("./nowhere.js:x")).to.equal(`--resource ./nowhere.js:x: cannot find module ${join(ROOT, "nowhere.js")}`);
    expect(await loadError("no-such-package-here:x")).to.equal("--resource no-such-package-here:x: cannot find module no-such-package-here");
    expect(await loadError("./build/spec/fixtures/cli-broken.js:root")).to.equal(
      "--resource ./build/spec/fixtures/cli-broken.js:root: importing the module failed: this module is broken",
    );
    expect(await loadError(`${RESOURCES}:missing`)).to.match(/: the module has no export named "missing" \(it exports: RootClass, crashingRoot, .*, \.\.\.\)$/);
  });

  it("oneLine keeps the first line of a message, with the error's name unless it is plain Error", () => {
    expect(oneLine(new Error("first\nsecond"))).to.equal("first");
    expect(oneLine(new TypeError("bad"))).to.equal("TypeError: bad");
    expect(oneLine("thrown string\nmore")).to.equal("thrown string");
  });
});
