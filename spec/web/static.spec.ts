import { expect } from "chai";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogEvents, type LogCapture } from "../../lib/internet/log.js";
import { datetimeToString } from "../../lib/web/http-dates.js";
import type { IRequest, IResource, RenderResult } from "../../lib/web/iweb.js";
import { ForbiddenResource, NoResource, Resource, UnsupportedMethod, getChildForRequest } from "../../lib/web/resource.js";
import {
  Data,
  DirectoryLister,
  File,
  StaticProducer,
  formatFileSize,
  getTypeAndEncoding,
  loadMimeTypes,
  parseRangeHeader,
  rangeToOffsetAndSize,
  type BodyPart,
} from "../../lib/web/static.js";
import { DummyRequest, render } from "../../lib/web/testing.js";

let tmpRoot: string;
let counter = 0;

/** A fresh path in this run's temporary directory (Twisted's mktemp). */
function mktemp(): string {
  return join(tmpRoot, `t${++counter}`);
}

function makeDir(): string {
  const p = mktemp();
  mkdirSync(p);
  return p;
}

function makeFile(content: string | Buffer, name?: string): string {
  const p = name === undefined ? mktemp() : name;
  writeFileSync(p, content);
  return p;
}

/** Render and wait for the request to finish (or fail). */
async function renderAndWait(resource: IResource, request: DummyRequest): Promise<void> {
  await render(resource, request);
}

function header(request: DummyRequest, name: string): string | undefined {
  return request.responseHeaders.getRawHeaders(name)?.[0];
}

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

/** fds of this process open on `path` (Linux); null where /proc is missing. */
function openFdsOn(path: string): number | null {
  if (!existsSync("/proc/self/fd")) return null;
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) count++;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

const PAYLOAD = Buffer.from(
  "f875f3458c37ce009eb66130793053f0efacb7beb5174d1e13366b7b1ebe0c070709d0bc6b59f5490bb8886f5a1d85621acd6bf21d26fd25dd82712f4110598b",
  "hex",
);

describe("twisted.web.static", () => {
  let logs: LogCapture;
  before(() => {
    tmpRoot = mkdtempSync(join(tmpdir(), "torsion-static-"));
  });
  after(() => {
    rmSync(tmpRoot, { recursive: true, force: true });
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
      const base = join(tmpRoot, `dir-é-${++counter}`);
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
      await new Promise((r) => setTimeout(r, 20));
      expect(request.written).to.have.length(0);
      expect(TrackingFile.handles.every((h) => h.fd === -1)).to.equal(true);
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

  describe("StaticProducerTests", () => {
    async function producerFor(content: string, parts: BodyPart[] | null = null): Promise<[StaticProducer, DummyRequest, FileHandle]> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, parts ?? [{ prefix: null, offset: 0, size: content.length }]);
      return [producer, request, handle];
    }

    it("test_stopProducingClosesFile: stopProducing closes the file", async () => {
      const [producer, , handle] = await producerFor("foo");
      producer.stopProducing();
      await producer.whenClosed();
      expect(handle.fd).to.equal(-1);
      expect(producer.closed).to.equal(true);
    });

    it("test_stopProducingSetsRequestToNone: stopProducing drops the request", async () => {
      const [producer] = await producerFor("foo");
      producer.stopProducing();
      expect(producer.request).to.equal(null);
      await producer.whenClosed();
    });

    it("stopProducing during a read closes the file after the read, and writes nothing more", async () => {
      const [producer, request, handle] = await producerFor("abcdef");
      producer.bufferSize = 2;
      producer.start();
      producer.stopProducing();
      await new Promise((r) => setTimeout(r, 20));
      await producer.whenClosed();
      expect(handle.fd).to.equal(-1);
      expect(request.written).to.have.length(0);
      expect(request.finished).to.equal(0);
    });

    it("pauseProducing stops reading after the chunk in flight; resumeProducing goes on", async () => {
      const [producer, request] = await producerFor("abcdef");
      producer.bufferSize = 2;
      producer.start();
      producer.pauseProducing();
      await new Promise((r) => setTimeout(r, 20));
      expect(request.written.map(String)).to.deep.equal(["ab"]);
      producer.resumeProducing();
      await request.notifyFinish();
      expect(request.written.map(String)).to.deep.equal(["ab", "cd", "ef"]);
    });

    it("is registered on the request as a streaming (push) producer", async () => {
      const [producer, request] = await producerFor("abc");
      producer.start();
      expect(request.producer).to.equal(producer);
      expect(request.streaming).to.equal(true);
      await request.notifyFinish();
      expect(request.producer).to.equal(null);
    });
  });

  describe("NoRangeStaticProducerTests", () => {
    async function run(content: string, bufferSize: number, parts?: BodyPart[]): Promise<[DummyRequest, FileHandle]> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, parts ?? [{ prefix: null, offset: 0, size: content.length }]);
      producer.bufferSize = bufferSize;
      const finished = request.notifyFinish();
      producer.start();
      await finished;
      await producer.whenClosed();
      return [request, handle];
    }

    it("test_resumeProducingProducesContent: the whole file is written", async () => {
      const [request] = await run("abcdef", 65536);
      expect(request.body.toString()).to.equal("abcdef");
    });

    it("test_resumeProducingBuffersOutput: it is written in bufferSize chunks", async () => {
      const [request] = await run("abcdef", 4);
      expect(request.written.map(String)).to.deep.equal(["abcd", "ef"]);
    });

    it("test_finishCalledWhenDone: the request is finished and the file closed at the end", async () => {
      const [request, handle] = await run("abcdef", 4);
      expect(request.finished).to.equal(1);
      expect(handle.fd).to.equal(-1);
    });
  });

  describe("SingleRangeStaticProducerTests", () => {
    async function run(content: string, offset: number, size: number, bufferSize: number): Promise<DummyRequest> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, [{ prefix: null, offset, size }]);
      producer.bufferSize = bufferSize;
      producer.start();
      await request.notifyFinish();
      return request;
    }

    it("test_resumeProducingProducesContent: the range is written", async () => {
      expect((await run("abcdef", 1, 3, 65536)).body.toString()).to.equal("bcd");
    });

    it("test_resumeProducingBuffersOutput: in bufferSize chunks", async () => {
      expect((await run("abcdefghijkl", 1, 5, 3)).written.map(String)).to.deep.equal(["bcd", "ef"]);
    });

    it("test_finishCalledWhenDone: the request is finished once", async () => {
      expect((await run("abcdef", 1, 1, 3)).finished).to.equal(1);
    });
  });

  describe("MultipleRangeStaticProducerTests", () => {
    async function run(content: string, parts: BodyPart[], bufferSize: number): Promise<DummyRequest> {
      const handle = await open(makeFile(content), "r");
      const request = new DummyRequest([]);
      const producer = new StaticProducer(request, handle, parts);
      producer.bufferSize = bufferSize;
      producer.start();
      await request.notifyFinish();
      return request;
    }
    const b = (s: string): Buffer => Buffer.from(s);

    it("test_resumeProducingProducesContent: boundaries and ranges in order", async () => {
      const request = await run("abcdef", [{ prefix: b("1"), offset: 1, size: 3 }, { prefix: b("2"), offset: 5, size: 1 }], 65536);
      expect(request.body.toString()).to.equal("1bcd2f");
    });

    it("test_resumeProducingBuffersOutput: each read is at most bufferSize bytes of file", async () => {
      const request = await run(
        "0123456789abcdef",
        [{ prefix: b("a"), offset: 2, size: 5 }, { prefix: b("b"), offset: 10, size: 6 }, { prefix: b("c"), offset: 0, size: 0 }],
        4,
      );
      expect(request.written.map(String)).to.deep.equal(["a2345", "6", "babcd", "ef", "c"]);
    });

    it("test_finishCalledWhenDone: finished once after the last part", async () => {
      const request = await run("abcdef", [{ prefix: b("a"), offset: 1, size: 3 }, { prefix: b("b"), offset: 0, size: 0 }], 2);
      expect(request.finished).to.equal(1);
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

    it("test_invalidRanges: malformed Range values raise", () => {
      for (const bad of ["bytes", "unknown=1-2", "bytes=3", "bytes=-", "bytes=foo-", "bytes=-foo", "bytes=5-4"]) {
        expect(() => parseRangeHeader(bad), bad).to.throw(RangeError);
      }
    });

    it("test_rangeMissingStop: bytes=0- is [0, null]", () => {
      expect(parseRangeHeader("bytes=0-")).to.deep.equal([[0, null]]);
    });

    it("test_rangeMissingStart: bytes=-3 is [null, 3]", () => {
      expect(parseRangeHeader("bytes=-3")).to.deep.equal([[null, 3]]);
    });

    it("test_range: bytes=2-5 is [2, 5]", () => {
      expect(parseRangeHeader("bytes=2-5")).to.deep.equal([[2, 5]]);
    });

    it("test_rangeWithSpace: whitespace where allowed is ignored", () => {
      for (const v of [" bytes=1-2 ", "bytes =1-2 ", "bytes= 1-2", "bytes=1 -2", "bytes=1- 2", "bytes=1-2 "]) {
        expect(parseRangeHeader(v), v).to.deep.equal([[1, 2]]);
      }
    });

    it("test_nullRangeElements: empty elements are skipped", () => {
      expect(parseRangeHeader("bytes=1-2,\r\n, ,\t")).to.deep.equal([[1, 2]]);
    });

    it("test_multipleRanges: several ranges are all returned", () => {
      expect(parseRangeHeader("bytes=1-2,3-4")).to.deep.equal([
        [1, 2],
        [3, 4],
      ]);
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

    it("a suffix range longer than the file is the whole file (Twisted gives a negative offset)", () => {
      expect(rangeToOffsetAndSize([null, 100], 64)).to.deep.equal([0, 64]);
      expect(rangeToOffsetAndSize([null, 0], 64)).to.deep.equal([0, 0]);
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

  describe("NoResource", () => {
    it("childNotFound is a NoResource saying 'File not found.'", () => {
      const file = new File(".");
      expect(file.childNotFound).to.be.instanceOf(NoResource);
      expect((file.childNotFound as NoResource).detail).to.equal("File not found.");
    });
  });
});
