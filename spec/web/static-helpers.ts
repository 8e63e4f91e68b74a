/**
 * Shared fixtures of the static.File specs: a temporary directory per run (Twisted's mktemp),
 * and small readers of a DummyRequest's response.
 */

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IResource } from "../../lib/web/iweb.js";
import { DummyRequest, render } from "../../lib/web/testing.js";

let tmpRoot: string | null = null;
let counter = 0;

/** The run's temporary directory, made on first use. */
export function tempRoot(): string {
  if (tmpRoot === null) tmpRoot = mkdtempSync(join(tmpdir(), "torsion-static-"));
  return tmpRoot;
}

/** Remove the run's temporary directory (call in an after hook). */
export function removeTempRoot(): void {
  if (tmpRoot !== null) rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = null;
}

/** A fresh path in the run's temporary directory (Twisted's mktemp). */
export function mktemp(): string {
  return join(tempRoot(), `t${++counter}`);
}

export function makeDir(): string {
  const p = mktemp();
  mkdirSync(p);
  return p;
}

export function makeFile(content: string | Buffer, name?: string): string {
  const p = name === undefined ? mktemp() : name;
  writeFileSync(p, content);
  return p;
}

/** Render and wait for the request to finish (or fail). */
export async function renderAndWait(resource: IResource, request: DummyRequest): Promise<void> {
  await render(resource, request);
}

export function header(request: DummyRequest, name: string): string | undefined {
  return request.responseHeaders.getRawHeaders(name)?.[0];
}

/** fds of this process open on `path` (Linux); null where /proc is missing. */
export function openFdsOn(path: string): number | null {
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
