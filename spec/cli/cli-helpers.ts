/**
 * Helpers for the specs of the `torsion` command: run build/lib/cli/main.js as a real process,
 * wait (bounded) for what it prints, talk HTTP to it, and kill only the processes started here.
 */

import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import * as https from "node:https";
import { fileURLToPath } from "node:url";

/** build/lib/cli/main.js */
export const MAIN = fileURLToPath(new URL("../../lib/cli/main.js", import.meta.url));
/** The repository root (where relative paths in the specs start). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** An ssl: endpoint description on 127.0.0.1, port 0, with the specs' certificate. */
export const SSL_LOCAL =
  "ssl:0:interface=127.0.0.1:certKey=spec/fixtures/tls/server.pem:privateKey=spec/fixtures/tls/server-key.pem";
/** build/spec/fixtures/, as a path relative to ROOT for MODULE:EXPORT arguments. */
export const FIXTURES = "./build/spec/fixtures";

/** A `torsion` process and what it has printed so far. */
export class Torsion {
  stdout = "";
  stderr = "";
  exitCode: number | null = null;
  exitSignal: string | null = null;
  readonly exited: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      this.stdout += d;
      this.wake();
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      this.stderr += d;
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.wake();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Wait until `test` holds (checked on each output and on exit), at most `seconds`. */
  async until<T>(what: string, test: () => T | null | undefined | false, seconds = 10): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const value = test();
      if (value) return value;
      if (this.exitCode !== null || this.exitSignal !== null) {
        const again = test();
        if (again) return again;
        throw new Error(`torsion exited (${this.exitCode ?? this.exitSignal}) before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${seconds} s waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The URLs announced on stdout ("torsion web: serving URL"), once `count` are there. */
  urls(count = 1, seconds = 10): Promise<string[]> {
    return this.until(`${count} URL(s) on stdout`, () => {
      const urls = [...this.stdout.matchAll(/^torsion web: serving (\S+)$/gm)].map((m) => m[1]);
      return urls.length >= count ? urls : null;
    }, seconds);
  }

  /** Wait for the process to exit, at most `seconds`; resolves with its exit code. */
  async exit(seconds = 10): Promise<number | null> {
    await this.until("the process to exit", () => this.exitCode !== null || this.exitSignal !== null, seconds);
    await this.exited;
    return this.exitCode;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitCode === null && this.exitSignal === null) process.kill(this.pid, signal);
  }
}

const started = new Set<Torsion>();

/** Start `node build/lib/cli/main.js ...args` in ROOT. */
export function torsion(args: readonly string[], env: NodeJS.ProcessEnv = {}): Torsion {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const t = new Torsion(child);
  started.add(t);
  void t.exited.then(() => started.delete(t));
  return t;
}

/** Kill (SIGKILL, by PID) every process torsion() started that is still running, and wait for them. */
export async function killAll(): Promise<void> {
  const running = [...started];
  for (const t of running) t.signal("SIGKILL");
  await Promise.all(running.map((t) => t.exit(5).catch(() => undefined)));
}

/** What a GET saw: status, headers, body, and whether the body arrived whole. */
export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  complete: boolean;
}

/**
 * GET `url` (a new connection, no keep-alive). `onFirstData` is called once the first body
 * bytes arrive. Resolves also when the connection breaks mid-body (complete: false); fails
 * if nothing at all arrives within `seconds`.
 */
export function get(url: string, options: { seconds?: number; onFirstData?: () => void; headers?: http.OutgoingHttpHeaders } = {}): Promise<Got> {
  const seconds = options.seconds ?? 10;
  return new Promise((resolve, reject) => {
    let broken: (() => void) | null = null;
    // https: the specs' certificate is self-made; what is checked is the serving, not trust.
    const client = url.startsWith("https:") ? https : http;
    const req = client.get(url, { agent: false, headers: options.headers, rejectUnauthorized: false }, (res) => {
      let body = "";
      let first = true;
      broken = () => done(false);
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
        if (first) {
          first = false;
          options.onFirstData?.();
        }
      });
      const done = (complete: boolean): void => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete });
      };
      res.on("end", () => done(res.complete));
      res.on("error", () => done(false));
      res.on("aborted", () => done(false));
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`GET ${url}: no complete answer within ${seconds} s`));
    }, seconds * 1000);
    req.on("error", (err) => {
      clearTimeout(timer);
      // A reset after the head arrived is a broken body, not a failed request.
      if (broken !== null) broken();
      else reject(err);
    });
  });
}
