import { expect } from "chai";
import { InvalidLogLevelError, LogLevel } from "../../../lib/internet/log.js";

describe("logger/levels: LogLevel", () => {
  it("test_levelWithName: levelWithName returns the level of each name", () => {
    for (const name of ["debug", "info", "warn", "error", "critical"] as const) {
      expect(LogLevel.levelWithName(name)).to.equal(LogLevel[name]);
    }
  });

  it("test_levelWithInvalidName: levelWithName of an unknown name throws InvalidLogLevelError naming it", () => {
    expect(() => LogLevel.levelWithName("spaghetti")).to.throw(InvalidLogLevelError, /"spaghetti"/);
  });

  it("levels are ordered debug < info < warn < error < critical", () => {
    const levels = LogLevel.iterconstants();
    expect(levels).to.deep.equal([...levels].sort((a, b) => a - b));
    expect(levels.map((l) => LogLevel[l])).to.deep.equal(["debug", "info", "warn", "error", "critical"]);
  });
});
