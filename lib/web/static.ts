/**
 * Static resources, as twisted.web.static: File (a file or a directory tree on disk) and Data
 * (bytes in memory). Re-exported from here, each in a file of its own: the content types
 * (static-mime.ts), StaticProducer and Range parsing (static-producer.ts), DirectoryLister
 * (static-listing.ts).
 *
 * File, as served by torsion:
 * - The body is sent by a StaticProducer, a push producer registered on the request: it reads
 *   `bufferSize` bytes at a time with positional reads on a node:fs/promises FileHandle, and
 *   stops reading while the transport is paused, so a slow client never makes the server hold
 *   more than a chunk or two of the file in memory. The handle is closed when the response is
 *   finished and when the client goes away (stopProducing) — on every path, exactly once.
 * - Content-Type comes from the extension (a built-in table, File.contentTypes, extensible with
 *   loadMimeTypes for mime.types files); unknown extensions get `defaultType`, which is
 *   application/octet-stream (Twisted's text/html would have browsers render any unknown file as
 *   HTML). .gz/.bz2 set Content-Encoding and the type of the inner extension, as Twisted.
 * - Ranges (RFC 9110 14): one range gives 206 with Content-Range, several give 206
 *   multipart/byteranges, none satisfiable gives 416 with "Content-Range: bytes *\/size". A
 *   malformed Range, one with more than `maxRanges` parts, or one whose If-Range does not match
 *   is ignored (200 with the whole file), as the RFC allows.
 * - Caching: Last-Modified and a strong ETag ("size-mtime" in hex) are sent; If-None-Match (a
 *   list, weak comparison, or *) and otherwise If-Modified-Since answer 304 (RFC 9110 13.2.2).
 * - Directories: "/dir" redirects to "/dir/"; "/dir/" serves the first of `indexNames` that is a
 *   file, else a listing if `directoryListing` is on. It is OFF by default (403 instead):
 *   Twisted lists by default, but a listing tells the world every file name in the tree, which
 *   should be a deliberate choice.
 * - Traversal: a segment that is "." or "..", or holds "/", "\", NUL, or undecodable UTF-8
 *   (U+FFFD after decoding) gets 404. Segments are percent-decoded before the check, so
 *   %2e%2e and %2f are caught too; a segment can never be an absolute path. Symbolic links are
 *   followed only when their target (realpath) lies inside the root the File tree was created
 *   with; a link pointing outside gives 404, unless `allowExternalSymlinks` is set. (The check
 *   is made when the child is looked up; someone who can replace files inside the root between
 *   that check and the open could still race it.) FIFOs, sockets and devices are never opened
 *   for reading in a blocking way and are answered 403.
 * - Child lookups stat the file system synchronously, as Twisted's restat() does (a few
 *   microseconds on a local disk); opening, reading and closing are asynchronous.
 */

import { constants as fsConstants, readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, extname, join, resolve, sep } from "node:path";
import { Failure } from "../internet/failure.js";
import { Logger } from "../internet/log.js";
import { datetimeToString, stringToDatetime } from "./http-dates.js";
import { NOT_MODIFIED, OK, PARTIAL_CONTENT, REQUESTED_RANGE_NOT_SATISFIABLE } from "./http-status.js";
import { noneMatchListsTag, notModifiedSince } from "./http-conditional.js";
import { NOT_DONE_YET, type IRequest, type IResource, type RenderResult } from "./iweb.js";
import { ForbiddenResource, NoResource, Resource } from "./resource.js";
import { DirectoryLister } from "./static-listing.js";
import { DEFAULT_CONTENT_ENCODINGS, DEFAULT_CONTENT_TYPES, getTypeAndEncoding } from "./static-mime.js";
import { StaticProducer, parseRangeHeader, rangeToOffsetAndSize, type BodyPart, type ByteRange } from "./static-producer.js";
import { redirectTo } from "./util.js";

export { DirectoryLister, formatFileSize } from "./static-listing.js";
export { BUILTIN_MIME_TYPES, DEFAULT_CONTENT_ENCODINGS, DEFAULT_CONTENT_TYPES, getTypeAndEncoding, loadMimeTypes } from "./static-mime.js";
export { StaticProducer, parseRangeHeader, rangeToOffsetAndSize, type BodyPart, type ByteRange } from "./static-producer.js";

const log = new Logger("torsion.web.static");
const EMPTY = Buffer.alloc(0);

/** A segment that must never reach the file system (see the module comment). */
export function isDangerous(segment: string): boolean {
  return (
    segment === "." ||
    segment === ".." ||
    segment.includes("/") ||
    segment.includes("\\") ||
    segment.includes("\0") ||
    segment.includes("\ufffd")
  );
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Write a rendered body and finish, as the server does with a render's return value. */
function finishWith(request: IRequest, body: Uint8Array | string): void {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  if (request.method !== "HEAD" || bytes.length > 0) request.setHeader("content-length", String(bytes.length));
  if (request.method !== "HEAD" && bytes.length > 0) request.write(bytes);
  request.finish();
}

/** Render `resource` for `request` from inside an asynchronous render (NOT_DONE_YET already returned). */
function renderLater(resource: IResource, request: IRequest): void {
  const result = resource.render(request);
  if (result === NOT_DONE_YET) return;
  if (typeof result === "string" || result instanceof Uint8Array) {
    finishWith(request, result);
    return;
  }
  Promise.resolve(result as PromiseLike<Uint8Array | string>).then(
    (body) => finishWith(request, body),
    (err: unknown) => request.processingFailed(Failure.from(err)),
  );
}

// ---------------------------------------------------------------------------------------------
// Data

/** Bytes in memory served with a fixed type, as twisted.web.static.Data. */
export class Data extends Resource {
  readonly data: Buffer;

  constructor(
    data: Uint8Array | string,
    public type: string,
  ) {
    super();
    this.data = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
  }

  render_GET(request: IRequest): RenderResult {
    request.setHeader("content-type", this.type);
    request.setHeader("content-length", String(this.data.length));
    if (request.method === "HEAD") return EMPTY;
    return this.data;
  }
}

// ---------------------------------------------------------------------------------------------
// File

export interface FileOptions {
  /** The type of files whose extension is not in contentTypes. Default application/octet-stream. */
  defaultType?: string;
  /** Extensions tried when a child does not exist: with [".html"], /about serves about.html. "*" tries any. */
  ignoredExts?: string[];
  /** List a directory without an index file. Default false (403). */
  directoryListing?: boolean;
  /** Follow symbolic links that point outside the root. Default false (404). */
  allowExternalSymlinks?: boolean;
  /** Extension -> MIME type; default File.contentTypes. */
  contentTypes?: ReadonlyMap<string, string>;
  /** Index files tried for "dir/", in order. Default ["index", "index.html", "index.htm"]. */
  indexNames?: string[];
  /** The directory the tree may not leave (for symlinks). Default: `path` itself. */
  root?: string;
}

/** Makes a resource for a file with a given extension (Twisted's File.processors). */
export type FileProcessor = (path: string) => IResource;

/**
 * A file, or a directory tree, on disk (twisted.web.static.File). See the module comment.
 *
 *     const root = new File("/srv/www");
 *     reactor.listenTCP(8080, new Site(root), { interface: "127.0.0.1" });
 */
export class File extends Resource {
  /** The built-in table of extension -> MIME type. */
  static contentTypes: ReadonlyMap<string, string> = DEFAULT_CONTENT_TYPES;
  /** Extension -> Content-Encoding. */
  static contentEncodings: ReadonlyMap<string, string> = DEFAULT_CONTENT_ENCODINGS;

  /** Absolute path of the file or directory. */
  readonly path: string;
  defaultType: string;
  ignoredExts: string[];
  directoryListing: boolean;
  allowExternalSymlinks: boolean;
  contentTypes: ReadonlyMap<string, string>;
  contentEncodings: ReadonlyMap<string, string>;
  indexNames: string[];
  /** Extension -> resource factory, consulted for children (e.g. ".md" -> a renderer). */
  processors: Map<string, FileProcessor> = new Map();
  /** The type sent for this file; computed from the name on first render unless set. */
  type: string | null = null;
  /** The Content-Encoding sent for this file; computed with `type`. */
  encoding: string | null = null;
  /** Rendered for a missing child. */
  childNotFound: IResource = new NoResource("File not found.");
  /** Rendered for an unreadable file or an unlistable directory. */
  forbidden: IResource = new ForbiddenResource();
  /** Ranges beyond this many in one request make it ignore the Range header. */
  maxRanges = 32;
  /** Bytes per read of the producers made for this file. */
  bufferSize = 262144;
  /** The directory this tree may not leave. */
  readonly root: string;
  private realRoot: string | null = null;

  constructor(path: string, options: FileOptions = {}) {
    super();
    this.path = resolve(path);
    this.root = options.root !== undefined ? resolve(options.root) : this.path;
    this.defaultType = options.defaultType ?? "application/octet-stream";
    this.ignoredExts = options.ignoredExts ? [...options.ignoredExts] : [];
    this.directoryListing = options.directoryListing ?? false;
    this.allowExternalSymlinks = options.allowExternalSymlinks ?? false;
    this.contentTypes = options.contentTypes ?? File.contentTypes;
    this.contentEncodings = File.contentEncodings;
    this.indexNames = options.indexNames ? [...options.indexNames] : ["index", "index.html", "index.htm"];
  }

  /** Serve `file.ext` when `file` is asked for and does not exist. */
  ignoreExt(ext: string): void {
    this.ignoredExts.push(ext);
  }

  /** The child `path` of this directory: a File, the index, a listing, or an error page. */
  override getChild(path: string, _request: IRequest): IResource {
    const st = statOrNull(this.path);
    if (st === null || !st.isDirectory()) return this.childNotFound;
    let childPath: string | null;
    if (path === "") {
      childPath = this.indexNames.map((name) => join(this.path, name)).find((p) => statOrNull(p)?.isFile()) ?? null;
      if (childPath === null) return this.directoryListing ? this.directoryLister() : this.forbidden;
    } else {
      if (isDangerous(path)) {
        if (path.includes("\ufffd")) log.info("Refusing a path segment that is not UTF-8: {segment}", { segment: path });
        return this.childNotFound;
      }
      childPath = join(this.path, path);
      if (statOrNull(childPath) === null) {
        childPath = this.siblingExtensionSearch(path);
        if (childPath === null) return this.childNotFound;
      }
    }
    if (!this.insideRoot(childPath)) return this.childNotFound;
    const processor = this.processors.get(extname(childPath));
    if (processor !== undefined) return processor(childPath);
    return this.createSimilarFile(childPath);
  }

  /** A sibling of `name` with one of ignoredExts, or null. */
  private siblingExtensionSearch(name: string): string | null {
    for (const ext of this.ignoredExts) {
      if (ext === "*") {
        let entries: string[];
        try {
          entries = readdirSync(this.path);
        } catch {
          return null;
        }
        const found = entries.find((e) => e.startsWith(name + ".") && !isDangerous(e));
        if (found !== undefined) return join(this.path, found);
      } else if (statOrNull(join(this.path, name + ext)) !== null) {
        return join(this.path, name + ext);
      }
    }
    return null;
  }

  /** Whether `path`, symlinks resolved, is inside the root (always true with allowExternalSymlinks). */
  private insideRoot(path: string): boolean {
    if (this.allowExternalSymlinks) return true;
    try {
      const real = realpathSync(path);
      const root = this.realRootPath();
      return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
    } catch {
      return false;
    }
  }

  private realRootPath(): string {
    if (this.realRoot === null) this.realRoot = realpathSync(this.root);
    return this.realRoot;
  }

  /** A File for `path` with this one's settings and root. */
  createSimilarFile(path: string): File {
    const ctor = this.constructor as new (path: string, options: FileOptions) => File;
    const f = new ctor(path, {
      defaultType: this.defaultType,
      ignoredExts: this.ignoredExts,
      directoryListing: this.directoryListing,
      allowExternalSymlinks: this.allowExternalSymlinks,
      contentTypes: this.contentTypes,
      indexNames: this.indexNames,
      root: this.root,
    });
    f.realRoot = this.realRoot;
    f.contentEncodings = this.contentEncodings;
    f.processors = this.processors;
    f.childNotFound = this.childNotFound;
    f.forbidden = this.forbidden;
    f.maxRanges = this.maxRanges;
    f.bufferSize = this.bufferSize;
    return f;
  }

  /** A DirectoryLister of this directory. */
  directoryLister(): DirectoryLister {
    return new DirectoryLister(this.path, null, this.contentTypes, this.contentEncodings, this.defaultType);
  }

  /** The sorted names in this directory ([] if it is not one). */
  override listNames(): string[] {
    try {
      return readdirSync(this.path).sort();
    } catch {
      return [];
    }
  }

  /** Open the file for reading (non-blocking, so a FIFO can never hang the thread pool). */
  openForReading(): Promise<FileHandle> {
    return open(this.path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  }

  /** Serve the file (asynchronously: always NOT_DONE_YET). */
  render_GET(request: IRequest): RenderResult {
    if (this.type === null) {
      [this.type, this.encoding] = getTypeAndEncoding(basename(this.path), this.contentTypes, this.contentEncodings, this.defaultType);
    }
    let gone = false;
    request.notifyFinish().addErrback(() => {
      gone = true;
      return undefined;
    });
    this.serve(request, () => gone).catch((err: unknown) => {
      if (!gone) request.processingFailed(Failure.from(err));
      else log.failure("Error serving {path} to a client that went away", err, { path: this.path });
    });
    return NOT_DONE_YET;
  }

  private async serve(request: IRequest, gone: () => boolean): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await this.openForReading();
    } catch (err) {
      if (gone()) return;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" || code === "ENAMETOOLONG") {
        renderLater(this.childNotFound, request);
      } else if (code === "EACCES" || code === "EPERM") {
        renderLater(this.forbidden, request);
      } else {
        throw err;
      }
      return;
    }
    let producer: StaticProducer | null = null;
    try {
      const st = await handle.stat();
      if (gone()) return;
      if (st.isDirectory()) {
        finishWith(request, redirectTo(addSlash(request), request));
        return;
      }
      if (!st.isFile()) {
        renderLater(this.forbidden, request);
        return;
      }
      request.setHeader("accept-ranges", "bytes");
      const mtime = Math.floor(st.mtimeMs / 1000);
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      request.setHeader("last-modified", datetimeToString(mtime));
      request.setHeader("etag", etag);
      if (this.notModified(request, etag, mtime)) {
        request.setResponseCode(NOT_MODIFIED);
        request.finish();
        return;
      }
      if (request.method === "HEAD") {
        this.setContentHeaders(request, st.size);
        request.finish();
        return;
      }
      producer = this.makeProducer(request, handle, st.size, etag, mtime);
    } finally {
      if (producer === null) await handle.close().catch(() => undefined);
    }
    producer.start();
  }

  /** RFC 9110 13.2.2: If-None-Match decides if present, else If-Modified-Since. */
  private notModified(request: IRequest, etag: string, mtime: number): boolean {
    const inm = request.getHeader("if-none-match");
    if (inm !== undefined) return noneMatchListsTag(inm, etag);
    const ims = request.getHeader("if-modified-since");
    return ims !== undefined && notModifiedSince(ims, mtime);
  }

  /** Whether If-Range (if any) lets the Range header apply (RFC 9110 13.1.5: strong comparison or exact date). */
  private ifRangeAllows(request: IRequest, etag: string, mtime: number): boolean {
    const ifRange = request.getHeader("if-range");
    if (ifRange === undefined) return true;
    const value = ifRange.trim();
    if (value.startsWith('"') || value.startsWith("W/")) return value === etag;
    try {
      return stringToDatetime(value) === mtime;
    } catch {
      return false;
    }
  }

  /** Content-Length, Content-Type and Content-Encoding of a response of `size` bytes. */
  private setContentHeaders(request: IRequest, size: number): void {
    request.setHeader("content-length", String(size));
    if (this.type) request.setHeader("content-type", this.type);
    if (this.encoding) request.setHeader("content-encoding", this.encoding);
  }

  /**
   * Set the status and content headers for this request (whole file, one range, several, or
   * none satisfiable) and return the producer that will send the body.
   */
  makeProducer(request: IRequest, handle: FileHandle, fileSize: number, etag = "", mtime = 0): StaticProducer {
    const make = (parts: BodyPart[]): StaticProducer => {
      const producer = new StaticProducer(request, handle, parts);
      producer.bufferSize = this.bufferSize;
      return producer;
    };
    const header = request.getHeader("range");
    let ranges: ByteRange[] | null = null;
    if (header !== undefined && this.ifRangeAllows(request, etag, mtime)) {
      try {
        ranges = parseRangeHeader(header);
      } catch (err) {
        log.info("Ignoring malformed Range header {range}: {error}", { range: header, error: err });
      }
      if (ranges !== null && ranges.length > this.maxRanges) {
        log.info("Ignoring a Range header of {count} ranges", { count: ranges.length });
        ranges = null;
      }
    }
    if (ranges === null) {
      request.setResponseCode(OK);
      this.setContentHeaders(request, fileSize);
      return make([{ prefix: null, offset: 0, size: fileSize }]);
    }
    if (ranges.length === 1) {
      const [offset, size] = rangeToOffsetAndSize(ranges[0], fileSize);
      if (size === 0) {
        this.unsatisfiable(request, fileSize);
        return make([]);
      }
      request.setResponseCode(PARTIAL_CONTENT);
      request.setHeader("content-range", `bytes ${offset}-${offset + size - 1}/${fileSize}`);
      this.setContentHeaders(request, size);
      return make([{ prefix: null, offset, size }]);
    }
    const boundary = `${Date.now().toString(16)}${Math.floor(Math.random() * 0xffffffff).toString(16)}${process.pid.toString(16)}`;
    const partType = this.type || "bytes";
    const parts: BodyPart[] = [];
    let length = 0;
    for (const range of ranges) {
      const [offset, size] = rangeToOffsetAndSize(range, fileSize);
      if (size === 0) continue;
      const prefix = Buffer.from(
        `\r\n--${boundary}\r\nContent-type: ${partType}\r\nContent-range: bytes ${offset}-${offset + size - 1}/${fileSize}\r\n\r\n`,
        "latin1",
      );
      parts.push({ prefix, offset, size });
      length += prefix.length + size;
    }
    if (parts.length === 0) {
      this.unsatisfiable(request, fileSize);
      return make([]);
    }
    const closing = Buffer.from(`\r\n--${boundary}--\r\n`, "latin1");
    parts.push({ prefix: closing, offset: 0, size: 0 });
    length += closing.length;
    request.setResponseCode(PARTIAL_CONTENT);
    request.setHeader("content-type", `multipart/byteranges; boundary="${boundary}"`);
    request.setHeader("content-length", String(length));
    return make(parts);
  }

  private unsatisfiable(request: IRequest, fileSize: number): void {
    request.setResponseCode(REQUESTED_RANGE_NOT_SATISFIABLE);
    request.setHeader("content-range", `bytes */${fileSize}`);
    this.setContentHeaders(request, 0);
  }

  override toString(): string {
    return `<File ${JSON.stringify(this.path)}>`;
  }
}

/**
 * The request's URI with a slash added to its path (query kept): where "/dir" redirects.
 * Leading slashes are collapsed to one, so the Location can never become "//host/".
 */
export function addSlash(request: IRequest): string {
  const uri = request.uri;
  const q = uri.indexOf("?");
  let path = q === -1 ? uri : uri.slice(0, q);
  const query = q === -1 ? "" : uri.slice(q);
  if (path.startsWith("//")) path = "/" + path.replace(/^\/+/, "");
  return path + "/" + query;
}
