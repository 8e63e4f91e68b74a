import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import type { IListeningPort } from "../../lib/internet/interfaces.js";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { reactor } from "../../lib/internet/reactor.js";
import { datetimeToString } from "../../lib/web/http-dates.js";
import type { IRequest, IResource, RenderResult } from "../../lib/web/iweb.js";
import { ForbiddenResource, NoResource, Resource, UnsupportedMethod, getChildForRequest } from "../../lib/web/resource.js";
import { Site } from "../../lib/web/server.js";
import { Data, DirectoryLister, File, StaticProducer } from "../../lib/web/static.js";
import { DummyRequest } from "../../lib/web/testing.js";
import { header, makeDir, makeFile, mktemp, openFdsOn, removeTempRoot, renderAndWait, tempRoot } from "./static-helpers.js";
import { until } from "../support/wait.js";

/** The Content-* headers (lower-case names), as test_static.py's contentHeaders. */
function contentHeaders(request: DummyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of request.responseHeaders) if (name.toLowerCase().startsWith("content-")) out[name.toLowerCase()] = values[0];
  return out;
}

/** A File whose opened handles are kept, to check they get closed. */
class TrackingFile extends File {
  static handles: FileHandle[] = [];
  override openForReading(): Promise<FileHandle> {
    return super.openForReading().then((h) => {
      TrackingFile.handles.push(h);
      return h;
    });
  }
}

const PAYLOAD = Buffer.from(
  "f875f3458c37ce009eb66130793053f0efacb7beb5174d1e13366b7b1ebe0c070709d0bc6b59f5490bb8886f5a1d85621acd6bf21d26fd25dd82712f4110598b",
  "hex",
);

describe("twisted.web.static", () => {
  let logs: LogCapture;
  before(() => {
    tempRoot();
  });
  after(() => {
    removeTempRoot();
  });
  beforeEach(() => {
    logs = captureLogEvents();
    TrackingFile.handles = [];
  });
  afterEach(() => {
    logs.stop();
  });

  describe("StaticDataTests", () => {
    it("test_headRequest: Data renders an empty body for HEAD", async () => {
      const request = new DummyRequest([""]);
      request.method = "HEAD";
      await renderAndWait(new Data(Buffer.from("foo"), "bar"), request);
      expect(request.body.toString()).to.equal("");
      expect(header(request, "content-length")).to.equal("3");
    });

    it("test_invalidMethod: Data raises UnsupportedMethod for POST", () => {
      const request = new DummyRequest([""]);
      request.method = "POST";
      expect(() => new Data(Buffer.from("foo"), "bar").render(request)).to.throw(UnsupportedMethod);
    });
  });

  describe("StaticFileTests", () => {
    it("test_ignoredExtTrue / test_allowExt: ignoredExts ['*'] serves any extension of a missing name", async () => {
      const base = makeDir();
      makeFile("x", join(base, "page.html"));
      const file = new File(base, { ignoredExts: ["*"] });
      expect(file.ignoredExts).to.deep.equal(["*"]);
      const request = new DummyRequest(["page"]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.body.toString()).to.equal("x");
    });

    it("test_ignoredExtFalse: ignoredExts defaults to none", () => {
      expect(new File(mktemp()).ignoredExts).to.deep.equal([]);
    });

    it("test_invalidMethod: File raises UnsupportedMethod for POST", () => {
      const request = new DummyRequest([""]);
      request.method = "POST";
      expect(() => new File(makeFile("foo")).render(request)).to.throw(UnsupportedMethod);
    });

    it("test_notFound: a missing child gets 404", async () => {
      const file = new File(makeDir());
      const request = new DummyRequest(["foobar"]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.responseCode).to.equal(404);
    });

    it("test_emptyChild: the '' child of a directory is a DirectoryLister when listings are on", () => {
      const base = makeDir();
      const request = new DummyRequest([""]);
      const child = getChildForRequest(new File(base, { directoryListing: true }), request);
      expect(child).to.be.instanceOf(DirectoryLister);
      expect((child as DirectoryLister).path).to.equal(base);
    });

    it("test_emptyChildUnicodeParent: a listing of a directory with a non-ASCII name renders bytes", () => {
      const base = mktemp() + "-é";
      mkdirSync(base);
      makeFile("", join(base, "text-file"));
      const request = new DummyRequest([""]);
      const child = getChildForRequest(new File(base, { directoryListing: true }), request);
      expect(child).to.be.instanceOf(DirectoryLister);
      expect(child.render(request)).to.be.instanceOf(Buffer);
    });

    it("the '' child of a directory without index is 403 when listings are off (the default)", async () => {
      const request = new DummyRequest([""]);
      const child = getChildForRequest(new File(makeDir()), request);
      expect(child).to.be.instanceOf(ForbiddenResource);
      await renderAndWait(child, request);
      expect(request.responseCode).to.equal(403);
    });

    it("test_securityViolationNotFound: '..' gets 404", async () => {
      const file = new File(makeDir());
      const request = new DummyRequest([".."]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.responseCode).to.equal(404);
    });

    it("segments that could leave the directory get 404: '.', '..', '/', '\\', NUL", () => {
      const base = makeDir();
      makeFile("secret", join(base, "x"));
      const file = new File(join(base));
      for (const segment of [".", "..", "a/b", "../x", "a\\b", "x\0"]) {
        expect(file.getChild(segment, new DummyRequest([])), JSON.stringify(segment)).to.equal(file.childNotFound);
      }
    });

    it("test_forbiddenResource: an unreadable file gets 403", async function () {
      if (process.getuid?.() === 0) this.skip(); // root reads anything
      const base = makeFile("");
      chmodSync(base, 0);
      try {
        const request = new DummyRequest([""]);
        await renderAndWait(new File(base), request);
        expect(request.responseCode).to.equal(403);
      } finally {
        chmodSync(base, 0o700);
      }
    });

    it("test_undecodablePath: a segment that is not UTF-8 gets 404 and is logged", async () => {
      const file = new File(makeDir());
      const request = new DummyRequest(["\ufffd"]); // what %FF decodes to
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.responseCode).to.equal(404);
      expect(logs.messages().some((m) => m.includes("not UTF-8"))).to.equal(true);
    });

    it("test_forbiddenResource_default: File.forbidden is a ForbiddenResource", () => {
      expect(new File(".").forbidden).to.be.instanceOf(ForbiddenResource);
    });

    it("test_forbiddenResource_customize: a subclass's forbidden resource is rendered on EACCES", async () => {
      class CustomForbidden extends Resource {
        override render(_request: IRequest): RenderResult {
          return Buffer.from("custom-forbidden-response");
        }
      }
      class CustomStaticFile extends File {
        override forbidden: IResource = new CustomForbidden();
        override openForReading(): Promise<FileHandle> {
          return Promise.reject(Object.assign(new Error("no"), { code: "EACCES" }));
        }
      }
      const request = new DummyRequest([""]);
      await renderAndWait(new CustomStaticFile(makeFile("")), request);
      expect(request.body.toString()).to.equal("custom-forbidden-response");
    });

    it("test_indexNames: the first existing index name is served for ''", async () => {
      const base = makeDir();
      makeFile("baz", join(base, "foo.bar"));
      const file = new File(base);
      file.indexNames = ["foo.bar"];
      const request = new DummyRequest([""]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.body.toString()).to.equal("baz");
      expect(header(request, "content-length")).to.equal("3");
    });

    it("test_staticFile: a named file is served", async () => {
      const base = makeDir();
      makeFile("baz", join(base, "foo.bar"));
      const request = new DummyRequest(["foo.bar"]);
      await renderAndWait(getChildForRequest(new File(base), request), request);
      expect(request.body.toString()).to.equal("baz");
      expect(header(request, "content-length")).to.equal("3");
    });

    it("test_staticFileUnicodeFileName: a file with a non-ASCII name is served", async () => {
      const base = makeDir();
      const name = "\u20ac";
      makeFile("dummy", join(base, name));
      const request = new DummyRequest([name]);
      await renderAndWait(getChildForRequest(new File(base), request), request);
      expect(request.body.toString()).to.equal("dummy");
      expect(header(request, "content-length")).to.equal("5");
    });

    it("test_staticFileDeletedGetChild: a child of a deleted directory is childNotFound", () => {
      const staticFile = new File(mktemp());
      expect(staticFile.getChild("foo.bar", new DummyRequest([]))).to.equal(staticFile.childNotFound);
    });

    it("test_staticFileDeletedRender: rendering a deleted file is rendering childNotFound", async () => {
      const staticFile = new File(mktemp());
      const request = new DummyRequest(["foo.bar"]);
      await renderAndWait(staticFile, request);
      const request2 = new DummyRequest(["foo.bar"]);
      await renderAndWait(staticFile.childNotFound, request2);
      expect(request.body.toString()).to.equal(request2.body.toString());
      expect(request.responseCode).to.equal(404);
    });

    it("test_getChildChildNotFound_customize: a subclass's childNotFound is used", () => {
      class CustomChildNotFound extends Resource {}
      class CustomStaticFile extends File {
        override childNotFound: IResource = new CustomChildNotFound();
      }
      const file = new CustomStaticFile(makeFile(""));
      expect(file.getChild("no-child.txt", new DummyRequest([]))).to.be.instanceOf(CustomChildNotFound);
    });

    it("test_headRequest: HEAD sends the headers and no body", async () => {
      const request = new DummyRequest([]);
      request.method = "HEAD";
      await renderAndWait(new File(makeFile("baz")), request);
      expect(request.body.toString()).to.equal("");
      expect(header(request, "content-length")).to.equal("3");
    });

    it("test_processors: a processor for an extension makes the child resource", async () => {
      const base = makeDir();
      makeFile("ignored", join(base, "page.md"));
      const file = new File(base);
      file.processors.set(".md", (path) => new Data(Buffer.from(`rendered ${path.endsWith("page.md")}`), "text/plain"));
      const request = new DummyRequest(["page.md"]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.body.toString()).to.equal("rendered true");
    });

    it("test_ignoreExt: ignoreExt adds to ignoredExts", () => {
      const file = new File(".");
      expect(file.ignoredExts).to.deep.equal([]);
      file.ignoreExt(".foo");
      file.ignoreExt(".bar");
      expect(file.ignoredExts).to.deep.equal([".foo", ".bar"]);
    });

    it("test_ignoredExtensionsIgnored: a name without its ignored extension serves the file", async () => {
      const base = makeDir();
      makeFile("baz", join(base, "foo.bar"));
      makeFile("baz", join(base, "foo.quux"));
      const file = new File(base, { ignoredExts: [".bar"] });
      const request = new DummyRequest(["foo"]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.body.toString()).to.equal("baz");
    });

    it("test_directoryWithoutTrailingSlashRedirects: /folder redirects to /folder/ keeping the query", async () => {
      const base = makeDir();
      mkdirSync(join(base, "folder"));
      const request = new DummyRequest(["folder"]);
      request.uri = "http://dummy/folder#baz?foo=bar";
      await renderAndWait(getChildForRequest(new File(base), request), request);
      expect(request.responseCode).to.equal(302);
      expect(header(request, "location")).to.equal("http://dummy/folder#baz/?foo=bar");
      const request2 = new DummyRequest(["folder"]);
      request2.uri = "/folder?a=b";
      await renderAndWait(getChildForRequest(new File(base), request2), request2);
      expect(header(request2, "location")).to.equal("/folder/?a=b");
    });

    it("a redirect never becomes protocol-relative: //evil.com/dir redirects to /evil.com/dir/", async () => {
      const base = makeDir();
      const request = new DummyRequest([]);
      request.uri = "//evil.com/dir";
      await renderAndWait(new File(base), request);
      expect(header(request, "location")).to.equal("/evil.com/dir/");
    });

    it("test_HEADClosesFile: a HEAD request closes the file it opened", async () => {
      const request = new DummyRequest([""]);
      request.method = "HEAD";
      await renderAndWait(new TrackingFile(makeFile("foo")), request);
      expect(TrackingFile.handles).to.have.length(1);
      expect(TrackingFile.handles[0].fd).to.equal(-1);
    });

    it("test_cachedRequestClosesFile: a request answered 304 closes the file it opened", async () => {
      const request = new DummyRequest([""]);
      request.requestHeaders.setRawHeaders("if-modified-since", [datetimeToString(Date.now() / 1000 + 3600)]);
      await renderAndWait(new TrackingFile(makeFile("foo")), request);
      expect(request.responseCode).to.equal(304);
      expect(request.body.length).to.equal(0);
      expect(TrackingFile.handles[0].fd).to.equal(-1);
    });

    it("a symlink to a file outside the root gets 404; one inside is served", async () => {
      const outside = makeFile("secret");
      const base = makeDir();
      makeFile("public", join(base, "real.txt"));
      symlinkSync(outside, join(base, "out"));
      symlinkSync(join(base, "real.txt"), join(base, "in"));
      const file = new File(base);
      expect(file.getChild("out", new DummyRequest([]))).to.equal(file.childNotFound);
      const request = new DummyRequest(["in"]);
      await renderAndWait(getChildForRequest(file, request), request);
      expect(request.body.toString()).to.equal("public");
    });

    it("a symlinked directory pointing outside is refused below it too, unless allowExternalSymlinks", () => {
      const outsideDir = makeDir();
      makeFile("secret", join(outsideDir, "s.txt"));
      const base = makeDir();
      symlinkSync(outsideDir, join(base, "linked"));
      const file = new File(base);
      expect(file.getChild("linked", new DummyRequest([]))).to.equal(file.childNotFound);
      const permissive = new File(base, { allowExternalSymlinks: true });
      const child = permissive.getChild("linked", new DummyRequest([]));
      expect(child).to.be.instanceOf(File);
      expect((child as File).getChild("s.txt", new DummyRequest([]))).to.be.instanceOf(File);
    });

    it("a FIFO is answered 403 without blocking on the open", async function () {
      if (process.platform === "win32") this.skip();
      const { execFileSync } = await import("node:child_process");
      const fifo = mktemp();
      try {
        execFileSync("mkfifo", [fifo]);
      } catch {
        this.skip();
      }
      const request = new DummyRequest([]);
      await renderAndWait(new File(fifo), request);
      expect(request.responseCode).to.equal(403);
    });

    it("sends Last-Modified and an ETag, and If-None-Match with it answers 304", async () => {
      const path = makeFile("etagged");
      utimesSync(path, 1000000, 1000000);
      const first = new DummyRequest([]);
      await renderAndWait(new File(path), first);
      const etag = header(first, "etag")!;
      expect(etag).to.match(/^"[0-9a-f]+-[0-9a-f]+"$/);
      expect(header(first, "last-modified")).to.equal(datetimeToString(1000000));
      const second = new DummyRequest([]);
      second.requestHeaders.setRawHeaders("if-none-match", [`"other", ${etag}`]);
      await renderAndWait(new File(path), second);
      expect(second.responseCode).to.equal(304);
      expect(second.body.length).to.equal(0);
      const weak = new DummyRequest([]);
      weak.requestHeaders.setRawHeaders("if-none-match", [`W/${etag}`]);
      await renderAndWait(new File(path), weak);
      expect(weak.responseCode).to.equal(304);
    });

    it("If-None-Match that does not match wins over a matching If-Modified-Since (RFC 9110 13.2.2)", async () => {
      const path = makeFile("x");
      utimesSync(path, 1000000, 1000000);
      const request = new DummyRequest([]);
      request.requestHeaders.setRawHeaders("if-none-match", ['"nope"']);
      request.requestHeaders.setRawHeaders("if-modified-since", [datetimeToString(2000000)]);
      await renderAndWait(new File(path), request);
      expect(request.code).to.equal(200);
      expect(request.body.toString()).to.equal("x");
    });

    it("If-Range that does not match makes a Range request get the whole file", async () => {
      const path = makeFile("0123456789");
      const request = new DummyRequest([]);
      request.requestHeaders.setRawHeaders("range", ["bytes=0-1"]);
      request.requestHeaders.setRawHeaders("if-range", ['"stale"']);
      await renderAndWait(new File(path), request);
      expect(request.code).to.equal(200);
      expect(request.body.toString()).to.equal("0123456789");
      const matching = new DummyRequest([]);
      matching.requestHeaders.setRawHeaders("range", ["bytes=0-1"]);
      matching.requestHeaders.setRawHeaders("if-range", [header(request, "etag")!]);
      await renderAndWait(new File(path), matching);
      expect(matching.code).to.equal(206);
      expect(matching.body.toString()).to.equal("01");
    });

    it("a client that leaves before the file is open leaves no open file and no write", async () => {
      const request = new DummyRequest([]);
      const file = new TrackingFile(makeFile("abc"));
      file.render(request);
      request.connectionLost();
      // render() began opening the file before the client left: that one handle is opened and
      // then closed, and nothing is written (a check over an empty list would pass vacuously).
      await until(() => TrackingFile.handles.length === 1 && TrackingFile.handles[0].fd === -1, 5, "the file to be opened and closed");
      expect(request.written).to.have.length(0);
    });

    it("content types come from the extension; unknown ones are application/octet-stream; .gz sets the encoding", async () => {
      const base = makeDir();
      makeFile("a", join(base, "a.css"));
      makeFile("b", join(base, "b.unknownext"));
      makeFile("c", join(base, "c.txt.gz"));
      const file = new File(base);
      const types: string[] = [];
      for (const name of ["a.css", "b.unknownext", "c.txt.gz"]) {
        const request = new DummyRequest([name]);
        await renderAndWait(getChildForRequest(file, request), request);
        types.push(`${header(request, "content-type")}|${header(request, "content-encoding") ?? ""}`);
      }
      expect(types).to.deep.equal(["text/css|", "application/octet-stream|", "text/plain|gzip"]);
    });
  });

  describe("StaticMakeProducerTests", () => {
    async function withProducer(
      content: string,
      range: string | string[] | null,
      check: (request: DummyRequest, producer: StaticProducer) => void,
      type: string | null = null,
      encoding: string | null = null,
    ): Promise<void> {
      const path = makeFile(content);
      const resource = new File(path);
      resource.type = type;
      resource.encoding = encoding;
      const request = new DummyRequest([]);
      for (const r of range === null ? [] : Array.isArray(range) ? range : [range]) request.requestHeaders.addRawHeader("range", r);
      const handle = await open(path, "r");
      try {
        check(request, resource.makeProducer(request, handle, content.length));
      } finally {
        await handle.close();
      }
    }

    it("test_noRangeHeaderGivesNoRangeStaticProducer: no Range gives one part, the whole file", async () => {
      await withProducer("", null, (_r, p) => expect(p.rangeInfo).to.deep.equal([{ prefix: null, offset: 0, size: 0 }]));
    });

    it("test_noRangeHeaderSets200OK: no Range sets 200", async () => {
      await withProducer("", null, (r) => expect(r.responseCode).to.equal(200));
    });

    it("test_noRangeHeaderSetsContentHeaders: no Range sets length, type and encoding", async () => {
      await withProducer(
        "abc",
        null,
        (r) => expect(contentHeaders(r)).to.deep.equal({ "content-type": "text/plain", "content-length": "3", "content-encoding": "gzip" }),
        "text/plain",
        "gzip",
      );
    });

    it("test_singleRangeGivesSingleRangeStaticProducer: one Range gives one part at its offset", async () => {
      await withProducer("abcdef", "bytes=1-3", (_r, p) => expect(p.rangeInfo).to.deep.equal([{ prefix: null, offset: 1, size: 3 }]));
    });

    it("test_singleRangeSets206PartialContent: one satisfiable Range sets 206", async () => {
      await withProducer("abcdef", "bytes=1-3", (r) => expect(r.responseCode).to.equal(206));
    });

    it("test_singleRangeSetsContentHeaders: one Range sets type, length, range and encoding", async () => {
      await withProducer(
        "abcdef",
        "bytes=1-3",
        (r) =>
          expect(contentHeaders(r)).to.deep.equal({
            "content-type": "text/plain",
            "content-encoding": "gzip",
            "content-length": "3",
            "content-range": "bytes 1-3/6",
          }),
        "text/plain",
        "gzip",
      );
    });

    it("test_singleUnsatisfiableRangeReturnsSingleRangeStaticProducer: an unsatisfiable Range gives a producer of nothing", async () => {
      await withProducer("abc", "bytes=4-10", (_r, p) => expect(p.rangeInfo).to.deep.equal([]));
    });

    it("test_singleUnsatisfiableRangeSets416ReqestedRangeNotSatisfiable: it sets 416", async () => {
      await withProducer("abc", "bytes=4-10", (r) => expect(r.responseCode).to.equal(416));
    });

    it("test_singleUnsatisfiableRangeSetsContentHeaders: it sends Content-Range bytes */size and length 0", async () => {
      await withProducer(
        "abc",
        "bytes=4-10",
        (r) => expect(contentHeaders(r)).to.deep.equal({ "content-type": "text/plain", "content-length": "0", "content-range": "bytes */3" }),
        "text/plain",
      );
    });

    it("test_singlePartiallyOverlappingRangeSetsContentHeaders: a range past the end is cut at the end", async () => {
      await withProducer(
        "abc",
        "bytes=2-10",
        (r) => expect(contentHeaders(r)).to.deep.equal({ "content-type": "text/plain", "content-length": "1", "content-range": "bytes 2-2/3" }),
        "text/plain",
      );
    });

    it("test_multipleRangeGivesMultipleRangeStaticProducer: several ranges give a part each plus the closing boundary", async () => {
      await withProducer("abcdef", "bytes=1-3,5-6", (_r, p) => {
        expect(p.rangeInfo.map((x) => [x.offset, x.size])).to.deep.equal([
          [1, 3],
          [5, 1],
          [0, 0],
        ]);
      });
    });

    it("test_multipleRangeSets206PartialContent: several satisfiable ranges set 206", async () => {
      await withProducer("abcdef", "bytes=1-3,5-6", (r) => expect(r.responseCode).to.equal(206));
    });

    it("test_mutipleRangeSetsContentHeaders: multipart type with boundary, exact length, no encoding", async () => {
      await withProducer(
        "abcdefghijkl",
        "bytes=1-3,5-6",
        (r, p) => {
          const headers = contentHeaders(r);
          expect(Object.keys(headers).sort()).to.deep.equal(["content-length", "content-type"]);
          let expectedLength = 5;
          for (const part of p.rangeInfo) expectedLength += part.prefix!.length;
          expect(headers["content-length"]).to.equal(String(expectedLength));
          expect(headers["content-type"]).to.match(/^multipart\/byteranges; boundary="[^"]*"$/);
        },
        null,
        "gzip",
      );
    });

    it("test_multipleUnsatisfiableRangesReturnsMultipleRangeStaticProducer: none satisfiable gives a producer of nothing", async () => {
      await withProducer("abc", "bytes=10-12,15-20", (_r, p) => expect(p.rangeInfo).to.deep.equal([]));
    });

    it("test_multipleUnsatisfiableRangesSets416ReqestedRangeNotSatisfiable: none satisfiable sets 416", async () => {
      await withProducer("abc", "bytes=10-12,15-20", (r) => expect(r.responseCode).to.equal(416));
    });

    it("test_multipleUnsatisfiableRangeSetsContentHeaders: none satisfiable sends bytes */size and length 0", async () => {
      await withProducer(
        "abc",
        ["bytes=4-10", "bytes=10-12,15-20"],
        (r) => expect(contentHeaders(r)).to.deep.equal({ "content-length": "0", "content-range": "bytes */3", "content-type": "text/plain" }),
        "text/plain",
      );
    });

    it("test_oneSatisfiableRangeIsEnough: one satisfiable range among several gives 206", async () => {
      await withProducer("abcdef", "bytes=1-3,100-200", (r) => expect(r.responseCode).to.equal(206));
    });

    it("more ranges than maxRanges are ignored: 200 with the whole file", async () => {
      const many = "bytes=" + Array.from({ length: 40 }, (_, i) => `${i}-${i}`).join(",");
      await withProducer("x".repeat(50), many, (r, p) => {
        expect(r.responseCode).to.equal(200);
        expect(p.rangeInfo).to.deep.equal([{ prefix: null, offset: 0, size: 50 }]);
      });
    });
  });

  describe("RangeTests", () => {
    let path: string;
    let resource: File;
    let request: DummyRequest;
    beforeEach(() => {
      path = makeFile(PAYLOAD);
      resource = new File(path);
      resource.isLeaf = true;
      request = new DummyRequest([""]);
      request.uri = path;
    });

    it("test_bodyLength: the body is as long as the range", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=0-43");
      await renderAndWait(resource, request);
      expect(request.body.length).to.equal(44);
    });

    it("test_invalidRangeRequest: an unknown unit is logged and ignored (200, whole file)", async () => {
      request.requestHeaders.addRawHeader("range", "foobar=0-43");
      await renderAndWait(resource, request);
      expect(logs.messages().filter((m) => m.startsWith("Ignoring malformed Range header foobar=0-43"))).to.have.length(1);
      expect(request.body.equals(PAYLOAD)).to.equal(true);
      expect(request.responseCode).to.equal(200);
      expect(header(request, "content-length")).to.equal(String(PAYLOAD.length));
    });

    function parseMultipart(body: Buffer, boundary: string): { type: string; range: number[]; body: Buffer }[] {
      const text = body.toString("latin1");
      const parts = text.split("\r\n--" + boundary);
      expect(parts[0]).to.equal("");
      expect(parts[parts.length - 1]).to.equal("--\r\n");
      return parts.slice(1, -1).map((part) => {
        const [before, h1, h2, blank, ...rest] = part.split("\r\n");
        expect(before).to.equal("");
        expect(blank).to.equal("");
        const headers = h1 + "\n" + h2;
        const type = /^content-type: (.*)$/im.exec(headers)![1];
        const m = /^content-range: bytes ([0-9]+)-([0-9]+)\/([0-9]+)$/im.exec(headers)!;
        return { type, range: [Number(m[1]), Number(m[2]), Number(m[3])], body: Buffer.from(rest.join("\r\n"), "latin1") };
      });
    }

    async function multipleRangeTest(startEnds: [number, number][]): Promise<void> {
      request.requestHeaders.addRawHeader("range", "bytes=" + startEnds.map(([s, e]) => `${s}-${e}`).join(","));
      await renderAndWait(resource, request);
      expect(request.responseCode).to.equal(206);
      const boundary = /^multipart\/byteranges; boundary="(.*)"$/.exec(header(request, "content-type")!)![1];
      const parts = parseMultipart(request.body, boundary);
      expect(parts).to.have.length(startEnds.length);
      parts.forEach((part, i) => {
        const [s, e] = startEnds[i];
        expect(part.type).to.equal(resource.type);
        expect(part.range).to.deep.equal([s, Math.min(e, PAYLOAD.length - 1), PAYLOAD.length]);
        expect(part.body.equals(PAYLOAD.subarray(s, e + 1))).to.equal(true);
      });
      expect(Number(header(request, "content-length"))).to.equal(request.body.length);
    }

    it("test_multipleRangeRequest: several ranges give a multipart/byteranges body", async () => {
      await multipleRangeTest([
        [0, 2],
        [20, 30],
        [40, 50],
      ]);
    });

    it("test_multipleRangeRequestWithRangeOverlappingEnd: a part past the end is cut at the end", async () => {
      await multipleRangeTest([
        [0, 2],
        [40, PAYLOAD.length + 10],
      ]);
    });

    it("test_implicitEnd: bytes=23- is the rest of the file", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=23-");
      await renderAndWait(resource, request);
      expect(request.body.equals(PAYLOAD.subarray(23))).to.equal(true);
      expect(request.body.length).to.equal(41);
      expect(request.responseCode).to.equal(206);
      expect(header(request, "content-range")).to.equal("bytes 23-63/64");
      expect(header(request, "content-length")).to.equal("41");
    });

    it("test_implicitStart: bytes=-17 is the last 17 bytes", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=-17");
      await renderAndWait(resource, request);
      expect(request.body.equals(PAYLOAD.subarray(-17))).to.equal(true);
      expect(request.responseCode).to.equal(206);
      expect(header(request, "content-range")).to.equal("bytes 47-63/64");
      expect(header(request, "content-length")).to.equal("17");
    });

    it("test_explicitRange: bytes=3-43 includes both ends", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=3-43");
      await renderAndWait(resource, request);
      expect(request.body.equals(PAYLOAD.subarray(3, 44))).to.equal(true);
      expect(request.responseCode).to.equal(206);
      expect(header(request, "content-range")).to.equal("bytes 3-43/64");
      expect(header(request, "content-length")).to.equal(String(request.body.length));
    });

    it("test_explicitRangeOverlappingEnd: bytes=40-100 ends at the last byte", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=40-100");
      await renderAndWait(resource, request);
      expect(request.body.equals(PAYLOAD.subarray(40))).to.equal(true);
      expect(header(request, "content-range")).to.equal("bytes 40-63/64");
    });

    it("test_statusCodeRequestedRangeNotSatisfiable: start after end is ignored (200, whole file)", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=20-13");
      await renderAndWait(resource, request);
      expect(request.responseCode).to.equal(200);
      expect(request.body.equals(PAYLOAD)).to.equal(true);
      expect(header(request, "content-length")).to.equal(String(PAYLOAD.length));
    });

    it("test_invalidStartBytePos: a start past the end gives 416, no body, bytes */64", async () => {
      request.requestHeaders.addRawHeader("range", "bytes=67-108");
      await renderAndWait(resource, request);
      expect(request.responseCode).to.equal(416);
      expect(request.body.length).to.equal(0);
      expect(header(request, "content-length")).to.equal("0");
      expect(header(request, "content-range")).to.equal(`bytes */${PAYLOAD.length}`);
    });
  });

  describe("NoResource", () => {
    it("childNotFound is a NoResource saying 'File not found.'", () => {
      const file = new File(".");
      expect(file.childNotFound).to.be.instanceOf(NoResource);
      expect((file.childNotFound as NoResource).detail).to.equal("File not found.");
    });
  });

  describe("File over a real socket", () => {
    let port: IListeningPort | null = null;
    let base: string;

    function listen(root: IResource): number {
      port = reactor.listenTCP(0, new Site(root), { interface: "127.0.0.1" });
      const address = port.getHost();
      if (address.type !== "TCP") throw new Error("not TCP");
      return address.port;
    }

    function get(portNumber: number, path: string, method = "GET", headers: Record<string, string> = {}): Promise<[IncomingMessage, Buffer]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no response to ${method} ${path} within 5 s`)), 5000);
        const req = httpRequest({ host: "127.0.0.1", port: portNumber, path, method, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            clearTimeout(timer);
            resolve([res, Buffer.concat(chunks)]);
          });
        });
        req.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
        req.end();
      });
    }

    beforeEach(() => {
      base = makeDir();
    });
    afterEach(async () => {
      if (port !== null) await port.stopListening();
      port = null;
    });

    it("a file is downloaded whole", async () => {
      const content = randomBytes(300_000);
      makeFile(content, join(base, "blob.bin"));
      const p = listen(new File(base));
      const [res, body] = await get(p, "/blob.bin");
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-length"]).to.equal(String(content.length));
      expect(res.headers["content-type"]).to.equal("application/octet-stream");
      expect(body.equals(content)).to.equal(true);
    });

    it("HEAD gets the length and no body", async () => {
      makeFile("hello there", join(base, "h.txt"));
      const p = listen(new File(base));
      const [res, body] = await get(p, "/h.txt", "HEAD");
      expect(res.statusCode).to.equal(200);
      expect(res.headers["content-length"]).to.equal("11");
      expect(body.length).to.equal(0);
    });

    it("a Range request gets 206 and the bytes asked for", async () => {
      makeFile("0123456789", join(base, "digits.txt"));
      const p = listen(new File(base));
      const [res, body] = await get(p, "/digits.txt", "GET", { Range: "bytes=2-4" });
      expect(res.statusCode).to.equal(206);
      expect(res.headers["content-range"]).to.equal("bytes 2-4/10");
      expect(body.toString()).to.equal("234");
    });

    it("a client closing mid-download stops the producer, errbacks notifyFinish, and leaves no open file or timer", async function () {
      if (openFdsOn("/") === null) this.skip();
      const big = join(base, "big.bin");
      writeFileSync(big, "");
      truncateSync(big, 256 * 1024 * 1024); // sparse: cheap to make, far more than socket buffers hold
      let producer: StaticProducer | null = null;
      let lost: unknown = null;
      class Watched extends File {
        override makeProducer(request: IRequest, handle: FileHandle, size: number, etag?: string, mtime?: number): StaticProducer {
          request.notifyFinish().addErrback((reason: unknown) => {
            lost = reason;
            return undefined;
          });
          producer = super.makeProducer(request, handle, size, etag, mtime);
          return producer;
        }
      }
      const p = listen(new Watched(base));
      const timersBefore = reactor.getDelayedCalls().length;
      const realBig = big;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no body bytes within 5 s")), 5000);
        const socket = netConnect(p, "127.0.0.1", () => {
          socket.write("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        });
        let received = 0;
        socket.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received > 100_000) {
            clearTimeout(timer);
            socket.destroy();
            resolve();
          }
        });
        socket.on("error", reject);
      });
      await until(() => lost !== null, 5, "notifyFinish to errback");
      await until(() => producer !== null && producer.closed, 5, "the producer to close its file");
      await producer!.whenClosed();
      await until(() => openFdsOn(realBig) === 0, 5, "no fd open on the file");
      expect(producer!.request).to.equal(null);
      await until(() => reactor.getDelayedCalls().length <= timersBefore, 5, "the connection's timers to be cancelled");
    });
  });
});
