/**
 * The WSGI application contract, as PEP 3333 has it in JavaScript form: what an application
 * receives (the environ, start_response) and what it returns. Both sides of a WSGIResource
 * use it: the main side names applications by it, the worker side (run.ts) calls them. Types
 * only: importing it loads nothing.
 *
 *     import type { StartResponse, WSGIEnviron } from "torsion";
 *     export function application(environ: WSGIEnviron, startResponse: StartResponse) {
 *       startResponse("200 OK", [["Content-Type", "text/plain"]]);
 *       return [Buffer.from("Hello, world!\n")];
 *     }
 */

/** A response header as PEP 3333 has it: [name, value], both latin1 strings. */
export type WSGIHeader = [name: string, value: string];

/** The write callable start_response returns. */
export type WSGIWrite = (data: Uint8Array) => void;

/** PEP 3333's start_response. excInfo is the error being handled (Python's exc_info()). */
export type StartResponse = (status: string, headers: WSGIHeader[], excInfo?: unknown) => WSGIWrite;

/** wsgi.errors: text written here is logged on the main side (as errors of the application). */
export interface WSGIErrors {
  write(text: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/** wsgi.input: the request body as a synchronous file-like object (see input.ts). */
export interface WSGIInput extends Iterable<Buffer> {
  /** The body's length in bytes. */
  readonly length: number;
  /** Up to `size` bytes (all that is left when size is omitted, null or negative). */
  read(size?: number | null): Buffer;
  /** One line, its "\n" included (or up to `size` bytes of it); an empty Buffer at the end. */
  readline(size?: number | null): Buffer;
  /** The remaining lines; with a positive `hint`, lines until about that many bytes are read. */
  readlines(hint?: number | null): Buffer[];
}

/** The environ an application receives: PEP 3333's keys, HTTP_* headers, and torsion's own. */
export interface WSGIEnviron {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  CONTENT_TYPE: string;
  CONTENT_LENGTH: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  "wsgi.version": [1, 0];
  "wsgi.url_scheme": "http" | "https";
  "wsgi.input": WSGIInput;
  "wsgi.errors": WSGIErrors;
  "wsgi.multithread": true;
  "wsgi.multiprocess": false;
  "wsgi.run_once": false;
  /** True once the client has gone away (or the server is stopping): a cheap, thread-safe check. */
  "torsion.disconnected": () => boolean;
  [key: string]: unknown;
}

/** What an application may return. */
export type WSGIBody = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** A WSGI application, as it is exported by its module and called in a worker. */
export type WSGIApplication = (environ: WSGIEnviron, startResponse: StartResponse) => WSGIBody | PromiseLike<WSGIBody>;
