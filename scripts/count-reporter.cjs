// The spec reporter, plus a file with the counts so scripts/test.mjs can print the closing
// "N passed, M failed" line after c8's coverage summary.
"use strict";
const fs = require("node:fs");
const Mocha = require("mocha");

class CountReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.TORSION_TEST_COUNTS;
      if (file) fs.writeFileSync(file, JSON.stringify(runner.stats));
    });
  }
}
module.exports = CountReporter;
