import { expect } from "chai";
import { mkdirSync, readdirSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { getChildForRequest } from "../../lib/web/resource.js";
import { DirectoryLister, formatFileSize } from "../../lib/web/static-listing.js";
import { File } from "../../lib/web/static.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { header, makeDir, makeFile, mktemp, removeTempRoot, renderAndWait } from "./static-helpers.js";

describe("twisted.web.static DirectoryLister", () => {
  after(() => {
    removeTempRoot();
  });

  describe("DirectoryListerTests", () => {
    function requestFor(uri: string): DummyRequest {
      const request = new DummyRequest([""]);
      request.uri = uri;
      return request;
    }
    const listing = (lister: DirectoryLister, uri: string): string => (lister.render(requestFor(uri)) as Buffer).toString("utf8");

    it("test_renderHeader: the URI is the title and heading", () => {
      const data = listing(new DirectoryLister(makeDir()), "foo");
      expect(data).to.include("<h1>Directory listing for foo</h1>");
      expect(data).to.include("<title>Directory listing for foo</title>");
    });

    it("test_renderUnquoteHeader: the URI is unquoted", () => {
      expect(listing(new DirectoryLister(makeDir()), "foo%20bar")).to.include("<h1>Directory listing for foo bar</h1>");
    });

    it("test_escapeHeader: the unquoted URI is HTML-escaped", () => {
      const data = listing(new DirectoryLister(makeDir()), "foo%26bar");
      expect(data).to.include("<h1>Directory listing for foo&amp;bar</h1>");
      expect(data).to.include("<title>Directory listing for foo&amp;bar</title>");
      expect(listing(new DirectoryLister(makeDir()), "%3Cscript%3E")).to.not.include("<script>");
    });

    it("test_renderFiles: files are listed with size and type", () => {
      const path = makeDir();
      makeFile("content1", join(path, "file1"));
      makeFile("content2".repeat(1000), join(path, "file2"));
      const lister = new DirectoryLister(path, null, File.contentTypes, File.contentEncodings, "text/html");
      expect(listing(lister, "foo")).to.include(
        '<tr class="odd">\n    <td><a href="file1">file1</a></td>\n    <td>8B</td>\n    <td>[text/html]</td>\n    <td></td>\n</tr>\n' +
          '<tr class="even">\n    <td><a href="file2">file2</a></td>\n    <td>7K</td>\n    <td>[text/html]</td>\n    <td></td>\n</tr>',
      );
    });

    it("test_renderDirectories: directories are listed, names escaped and links quoted", () => {
      const path = makeDir();
      mkdirSync(join(path, "dir1"));
      mkdirSync(join(path, "dir2 & 3"));
      expect(listing(new DirectoryLister(path), "foo")).to.include(
        '<tr class="odd">\n    <td><a href="dir1/">dir1/</a></td>\n    <td></td>\n    <td>[Directory]</td>\n    <td></td>\n</tr>\n' +
          '<tr class="even">\n    <td><a href="dir2%20%26%203/">dir2 &amp; 3/</a></td>\n    <td></td>\n    <td>[Directory]</td>\n    <td></td>\n</tr>',
      );
    });

    it("test_renderFiltered: dirs limits what is listed", () => {
      const path = makeDir();
      for (const d of ["dir1", "dir2", "dir3"]) mkdirSync(join(path, d));
      const data = listing(new DirectoryLister(path, ["dir1", "dir3"]), "foo");
      expect(data).to.include('<a href="dir1/">');
      expect(data).to.include('<a href="dir3/">');
      expect(data).to.not.include('<a href="dir2/">');
    });

    it("test_oddAndEven: rows alternate odd and even", () => {
      const rows = new DirectoryLister("/nonexistent")._buildTableContent(
        Array.from({ length: 5 }, () => ({ href: "", text: "", size: "", type: "", encoding: "" })),
      );
      expect(rows.map((r) => r.slice(0, 17))).to.deep.equal(['<tr class="odd">\n', '<tr class="even">', '<tr class="odd">\n', '<tr class="even">', '<tr class="odd">\n']);
    });

    it("test_contentType: the listing is HTML in UTF-8", () => {
      const request = requestFor("");
      new DirectoryLister(makeDir()).render(request);
      expect(header(request, "content-type")).to.equal("text/html; charset=utf-8");
    });

    it("test_mimeTypeAndEncodings: types and encodings come from the extensions", () => {
      const path = makeDir();
      makeFile("file1", join(path, "file1.txt"));
      makeFile("python", join(path, "file2.py"));
      makeFile("conf compressed", join(path, "file3.conf.gz"));
      makeFile("diff compressed", join(path, "file4.diff.bz2"));
      const contentTypes = new Map([
        [".txt", "text/plain"],
        [".py", "text/python"],
        [".conf", "text/configuration"],
        [".diff", "text/diff"],
      ]);
      const lister = new DirectoryLister(path, null, contentTypes);
      const [dirs, files] = lister._getFilesAndDirectories(readdirSync(path).sort());
      expect(dirs).to.deep.equal([]);
      expect(files).to.deep.equal([
        { encoding: "", href: "file1.txt", size: "5B", text: "file1.txt", type: "[text/plain]" },
        { encoding: "", href: "file2.py", size: "6B", text: "file2.py", type: "[text/python]" },
        { encoding: "[gzip]", href: "file3.conf.gz", size: "15B", text: "file3.conf.gz", type: "[text/configuration]" },
        { encoding: "[bzip2]", href: "file4.diff.bz2", size: "15B", text: "file4.diff.bz2", type: "[text/diff]" },
      ]);
    });

    it("test_brokenSymlink: a broken symlink is left out", () => {
      const path = makeDir();
      const file1 = makeFile("file1", join(path, "file1"));
      symlinkSync(file1, join(path, "file2"));
      unlinkSync(file1);
      const [dirs, files] = new DirectoryLister(path)._getFilesAndDirectories(readdirSync(path).sort());
      expect(dirs).to.deep.equal([]);
      expect(files).to.deep.equal([]);
    });

    it("test_childrenNotFound: any child of a listing is 404", async () => {
      const lister = new DirectoryLister(makeDir());
      const request = new DummyRequest(["x"]);
      await renderAndWait(getChildForRequest(lister, request), request);
      expect(request.responseCode).to.equal(404);
    });

    it("test_repr: toString gives the path", () => {
      const path = mktemp();
      expect(String(new DirectoryLister(path))).to.equal(`<DirectoryLister of ${JSON.stringify(path)}>`);
    });

    it("test_formatFileSize: bytes become B, K, M, G", () => {
      expect([0, 123, 4567, 8900000, 1234000000, 1234567890000].map(formatFileSize)).to.deep.equal(["0B", "123B", "4K", "8M", "1G", "1149G"]);
    });
  });
});
