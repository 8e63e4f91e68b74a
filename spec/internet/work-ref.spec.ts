import { expect } from "chai";
import { pathToFileURL } from "node:url";
import { isThreadable, parseWorkRef, threadable, toWorkRef, workRef } from "../../lib/internet/work-ref.js";

describe("WorkRef", () => {
  it("parseWorkRef reads MODULE:EXPORT with paths, file URLs and package specifiers", () => {
    expect(parseWorkRef("/srv/app.js:application")).to.deep.equal({ module: "file:///srv/app.js", export: "application" });
    expect(parseWorkRef("./app.js:app", "/srv/site")).to.deep.equal({ module: "file:///srv/site/app.js", export: "app" });
    expect(parseWorkRef("../lib/app.js:app", "/srv/site")).to.deep.equal({ module: "file:///srv/lib/app.js", export: "app" });
    expect(parseWorkRef("file:///srv/app.js:handler")).to.deep.equal({ module: "file:///srv/app.js", export: "handler" });
    expect(parseWorkRef("pkg:export")).to.deep.equal({ module: "pkg", export: "export" });
    expect(parseWorkRef("@scope/pkg/sub:$run")).to.deep.equal({ module: "@scope/pkg/sub", export: "$run" });
    expect(parseWorkRef("/odd:dir/app.js:app")).to.deep.equal({ module: "file:///odd:dir/app.js", export: "app" });
    expect(parseWorkRef("/a b/app.js:app").module).to.equal(pathToFileURL("/a b/app.js").href);
  });

  it("parseWorkRef refuses what has no export, or an export that is not an identifier", () => {
    for (const bad of ["app.js", "app.js:", ":app", "file:///srv/app.js", "pkg:not-an-identifier", "pkg:1st"]) {
      expect(() => parseWorkRef(bad), bad).to.throw(TypeError, /MODULE:EXPORT/);
    }
  });

  it("workRef takes a file URL, a URL object or a path", () => {
    expect(workRef("file:///srv/w.js", "fib")).to.deep.equal({ module: "file:///srv/w.js", export: "fib" });
    expect(workRef(new URL("file:///srv/w.js"), "fib").module).to.equal("file:///srv/w.js");
    expect(workRef("/srv/w.js", "fib").module).to.equal("file:///srv/w.js");
    expect(() => workRef("/srv/w.js", "not valid")).to.throw(TypeError);
  });

  it("threadable returns the function itself, still callable, marked with its WorkRef", () => {
    const fn = (n: number): number => n + 1;
    const marked = threadable("file:///srv/w.js", "inc", fn);
    expect(marked).to.equal(fn);
    expect(marked(1)).to.equal(2);
    expect(isThreadable(marked)).to.equal(true);
    expect(toWorkRef(marked)).to.deep.equal({ module: "file:///srv/w.js", export: "inc" });
    expect(Object.keys(marked)).to.deep.equal([]);
  });

  it("toWorkRef refuses a plain function with a message saying what to do, and normalizes a plain object", () => {
    expect(() => toWorkRef(function compute() {})).to.throw(TypeError, /threadable\(import\.meta\.url, "compute", fn\)/);
    expect(toWorkRef({ module: "/srv/w.js", export: "run" })).to.deep.equal({ module: "file:///srv/w.js", export: "run" });
    expect(() => toWorkRef({ module: 1, export: "x" } as never)).to.throw(TypeError);
  });
});
