import { expect } from "chai";
import fc from "fast-check";
import { datetimeToLogString, datetimeToString, stringToDatetime } from "../../lib/web/http-dates.js";

describe("twisted.web.http dates", () => {
  describe("DateTimeTests", () => {
    it("testRoundtrip: datetimeToString and stringToDatetime are inverses", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2000000000 }), (t) => {
          expect(stringToDatetime(datetimeToString(t))).to.equal(t);
        }),
        { numRuns: 1000, seed: 3 },
      );
    });

    it("testStringToDatetime: all three HTTP date formats, weekday optional", () => {
      const expected = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
      for (const s of [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "06-Nov-1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Nov  6 08:49:37 1994",
      ]) {
        expect(stringToDatetime(s), s).to.equal(expected);
      }
      expect(stringToDatetime("Thursday, 29-Sep-16 17:15:29 GMT")).to.equal(Date.UTC(2016, 8, 29, 17, 15, 29) / 1000);
    });

    it("stringToDatetime throws a RangeError on anything else", () => {
      for (const s of ["yesterday", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", ""]) {
        expect(() => stringToDatetime(s), s).to.throw(RangeError);
      }
    });
  });

  it("datetimeToString writes IMF-fixdate", () => {
    expect(datetimeToString(784111777)).to.equal("Sun, 06 Nov 1994 08:49:37 GMT");
    expect(datetimeToString(0)).to.equal("Thu, 01 Jan 1970 00:00:00 GMT");
  });

  it("datetimeToLogString writes the access-log form", () => {
    expect(datetimeToLogString(784111777)).to.equal("[06/Nov/1994:08:49:37 +0000]");
  });
});
