/**
 * Content types of static files: loadMimeTypes, getTypeAndEncoding, and the built-in table of
 * extension -> MIME type used by static.File (Twisted reads the system's
 * mime.types through Python's mimetypes; torsion ships its own table so a File serves the same
 * types on every machine, and loadMimeTypes() can add mime.types files on top).
 *
 * Types follow the IANA registry and the WHATWG MIME Sniffing standard's common choices, plus
 * the extras Twisted adds in loadMimeTypes (.conf, .diff, .patch, .java: text/plain...).
 */

import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { Logger } from "../internet/log.js";

const log = new Logger("torsion.web.static");

export const BUILTIN_MIME_TYPES: Readonly<Record<string, string>> = {
  // text
  ".html": "text/html",
  ".htm": "text/html",
  ".css": "text/css",
  ".csv": "text/csv",
  ".txt": "text/plain",
  ".text": "text/plain",
  ".log": "text/plain",
  ".conf": "text/plain",
  ".diff": "text/plain",
  ".patch": "text/plain",
  ".java": "text/plain",
  ".c": "text/plain",
  ".h": "text/plain",
  ".py": "text/x-python",
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".ics": "text/calendar",
  ".vtt": "text/vtt",
  ".xml": "text/xml",
  ".xsl": "text/xml",
  ".oz": "text/x-oz",
  ".wml": "text/vnd.wap.wml",
  // scripts and data
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".cjs": "text/javascript",
  ".json": "application/json",
  ".map": "application/json",
  ".jsonld": "application/ld+json",
  ".webmanifest": "application/manifest+json",
  ".wasm": "application/wasm",
  ".xhtml": "application/xhtml+xml",
  ".rss": "application/rss+xml",
  ".atom": "application/atom+xml",
  ".xul": "application/vnd.mozilla.xul+xml",
  ".pdf": "application/pdf",
  ".ps": "application/postscript",
  ".rtf": "application/rtf",
  ".swf": "application/x-shockwave-flash",
  // archives
  ".zip": "application/zip",
  ".tar": "application/x-tar",
  ".tgz": "application/x-tar",
  ".7z": "application/x-7z-compressed",
  ".rar": "application/vnd.rar",
  ".xz": "application/x-xz",
  ".zst": "application/zstd",
  ".jar": "application/java-archive",
  ".deb": "application/vnd.debian.binary-package",
  ".rpm": "application/x-rpm",
  ".bin": "application/octet-stream",
  ".exe": "application/octet-stream",
  ".iso": "application/x-iso9660-image",
  // office
  ".doc": "application/msword",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ".xls": "application/vnd.ms-excel",
  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ".ppt": "application/vnd.ms-powerpoint",
  ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  ".odt": "application/vnd.oasis.opendocument.text",
  ".ods": "application/vnd.oasis.opendocument.spreadsheet",
  ".epub": "application/epub+zip",
  // images
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".svg": "image/svg+xml",
  ".ico": "image/vnd.microsoft.icon",
  ".bmp": "image/bmp",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  // audio
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".oga": "audio/ogg",
  ".opus": "audio/opus",
  ".wav": "audio/wav",
  ".flac": "audio/x-flac",
  ".m4a": "audio/mp4",
  ".aac": "audio/aac",
  ".mid": "audio/midi",
  // video
  ".mp4": "video/mp4",
  ".m4v": "video/mp4",
  ".webm": "video/webm",
  ".ogv": "video/ogg",
  ".mov": "video/quicktime",
  ".avi": "video/x-msvideo",
  ".mkv": "video/x-matroska",
  ".mpeg": "video/mpeg",
  ".mpg": "video/mpeg",
  // fonts
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
};

/**
 * A map of extension (with the dot, lower case) to MIME type: the built-in table, then each
 * mime.types-style file of `locations` in order ("type ext1 ext2..." lines, # comments), each
 * overriding what came before.
 */
export function loadMimeTypes(locations: readonly string[] = []): Map<string, string> {
  const types = new Map<string, string>(Object.entries(BUILTIN_MIME_TYPES));
  for (const location of locations) {
    let text: string;
    try {
      text = readFileSync(location, "utf8");
    } catch (err) {
      log.warn("Cannot read MIME types from {location}: {error}", { location, error: err });
      continue;
    }
    for (const line of text.split("\n")) {
      const words = line.replace(/#.*/, "").trim().split(/\s+/);
      if (words.length < 2 || !words[0].includes("/")) continue;
      for (const ext of words.slice(1)) types.set("." + ext.toLowerCase(), words[0]);
    }
  }
  return types;
}

/**
 * The type and encoding of `filename`: "a.tar.gz" is [type of .tar, "gzip"]; an unknown
 * extension gives `defaultType`.
 */
export function getTypeAndEncoding(
  filename: string,
  types: ReadonlyMap<string, string>,
  encodings: ReadonlyMap<string, string>,
  defaultType: string,
): [string, string | null] {
  let ext = extname(filename).toLowerCase();
  let encoding: string | null = null;
  const enc = encodings.get(ext);
  if (enc !== undefined) {
    encoding = enc;
    ext = extname(filename.slice(0, filename.length - ext.length)).toLowerCase();
  }
  return [types.get(ext) ?? defaultType, encoding];
}

/** "512B", "3K", "2M", "1G", as Twisted's formatFileSize. */
/** The table File and DirectoryLister use unless given another (File.contentTypes). */
export const DEFAULT_CONTENT_TYPES: ReadonlyMap<string, string> = loadMimeTypes();

/** Extension -> Content-Encoding (File.contentEncodings). */
export const DEFAULT_CONTENT_ENCODINGS: ReadonlyMap<string, string> = new Map([
  [".gz", "gzip"],
  [".bz2", "bzip2"],
]);
