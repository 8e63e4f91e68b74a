import { expect } from "chai";
import { File } from "../../lib/web/static.js";
import { getTypeAndEncoding, loadMimeTypes } from "../../lib/web/static-mime.js";
import { makeFile, removeTempRoot } from "./static-helpers.js";

describe("twisted.web.static content types", () => {
  after(() => {
    removeTempRoot();
  });

  describe("LoadMimeTypesTests", () => {
    it("test_extraLocationsWork: mime.types files add and override types", () => {
      const location = makeFile("# comment\napplication/x-torsion  trsn tsn\ntext/x-override css\n");
      const types = loadMimeTypes([location]);
      expect(types.get(".trsn")).to.equal("application/x-torsion");
      expect(types.get(".tsn")).to.equal("application/x-torsion");
      expect(types.get(".css")).to.equal("text/x-override");
      expect(types.get(".html")).to.equal("text/html");
    });

    it("the built-in table has Twisted's extras and common web types", () => {
      const types = loadMimeTypes();
      expect(types.get(".patch")).to.equal("text/plain");
      expect(types.get(".flac")).to.equal("audio/x-flac");
      expect(types.get(".js")).to.equal("text/javascript");
      expect(getTypeAndEncoding("a.tar.gz", types, File.contentEncodings, "x/y")).to.deep.equal(["application/x-tar", "gzip"]);
      expect(getTypeAndEncoding("README", types, File.contentEncodings, "x/y")).to.deep.equal(["x/y", null]);
    });
  });
});
