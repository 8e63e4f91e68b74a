/**
 * The WSGI applications of bench/wsgi.ts (imported by the pool's workers): a hello world, and
 * a 100 MiB response streamed in 64 KiB chunks by a generator.
 */
import type { StartResponse, WSGIEnviron } from "../lib/web/wsgi/application.js";

export const HELLO = Buffer.from("Hello, world!\n");
export const STREAM_CHUNK = 64 * 1024;
export const STREAM_BYTES = 100 * 1024 * 1024;

const chunk = new Uint8Array(STREAM_CHUNK).fill(120);

export function hello(_environ: WSGIEnviron, startResponse: StartResponse): Uint8Array[] {
  startResponse("200 OK", [
    ["Content-Type", "text/plain"],
    ["Content-Length", "14"],
  ]);
  return [HELLO];
}

export function* stream(_environ: WSGIEnviron, startResponse: StartResponse): Generator<Uint8Array> {
  startResponse("200 OK", [
    ["Content-Type", "application/octet-stream"],
    ["Content-Length", String(STREAM_BYTES)],
  ]);
  for (let sent = 0; sent < STREAM_BYTES; sent += STREAM_CHUNK) yield chunk;
}
