// lib/internet/work-loader.ts: the one loader of what a WorkRef names (workers and the CLI).
import { expect } from "chai";
import { describeExports, exportOf, importModule, isModuleNotFound, loadFunction } from "../../lib/internet/work-loader.js";
import { workRef } from "../../lib/internet/work-ref.js";

const WORK = new URL("../fixtures/thread-work.js", import.meta.url).href;

describe("internet/work-loader", () => {
  it("importModule imports a module once: two calls share one namespace", async () => {
    const [a, b] = await Promise.all([importModule(WORK), importModule(WORK)]);
    expect(a).to.equal(b);
    expect(typeof exportOf(a, "add")).to.equal("function");
    expect(exportOf(a, "noSuchExport")).to.equal(undefined);
  });

  it("loadFunction returns the named function, callable here", async () => {
    const add = await loadFunction(workRef(WORK, "add"));
    expect(add(2, 3)).to.equal(5);
  });

  it("a missing export is a TypeError naming it and what the module exports instead", async () => {
    const err = await loadFunction(workRef(WORK, "noSuchExport")).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TypeError);
    expect((err as Error).message).to.match(/has no export named "noSuchExport" \(it exports: .*add/);
  });

  it("an export that is not a function is a TypeError that says so", async () => {
    const err = await loadFunction(workRef(WORK, "notAFunction")).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.match(/export "notAFunction" of .* is not a function/);
  });

  it("a module that is not there fails as not found, and is tried again by the next call", async () => {
    const missing = new URL("../fixtures/no-such-module.js", import.meta.url).href;
    for (let i = 0; i < 2; i++) {
      const err = await importModule(missing).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isModuleNotFound(err)).to.equal(true);
    }
    expect(isModuleNotFound(new Error("boom"))).to.equal(false);
  });

  it("describeExports lists at most eight names", () => {
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`e${i}`, i]));
    expect(describeExports(many)).to.equal(" (it exports: e0, e1, e2, e3, e4, e5, e6, e7, ...)");
    expect(describeExports({})).to.equal("");
  });
});
