/**
 * A real MariaDB server for specs, examples and benchmarks, started in a temporary directory
 * and stopped again: Debian's `mariadb-server` package (mariadbd and mariadb-install-db).
 *
 *     const db = await startMariaDB();          // { socketPath, stop() }
 *     try { ... connect to db.socketPath as "root", no password ... } finally { await db.stop(); }
 *
 * The server listens only on a unix socket in its directory (--skip-networking), so nothing is
 * exposed on the network and parallel runs do not collide. It starts in about a second here.
 * Specs call `mariadbMissing()` first and skip with its message when the package is absent.
 *
 * Only the `root` account exists, with no password (--auth-root-authentication-method=normal:
 * it works whether or not the spec itself runs as root).
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { within } from "./wait.js";

/** The message specs skip with when the server is not installed. */
export const MARIADB_MISSING =
  "MariaDB is not installed (no mariadbd on PATH or in /usr/sbin): install the Debian package mariadb-server to run these specs";

export interface MariaDB {
  /** The server's unix socket: connect as user "root" with no password. */
  readonly socketPath: string;
  /** The server's process id. */
  readonly pid: number;
  /** Its temporary directory (data, socket, error log). */
  readonly dir: string;
  /**
   * Stop the server (SIGTERM, then SIGKILL if it has not exited within `grace` seconds,
   * default 10) and remove its directory. Safe to call twice.
   */
  stop(grace?: number): Promise<void>;
}

export interface StartOptions {
  /** Seconds to wait for the server to accept connections (default 20). */
  timeout?: number;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of `name` on PATH or in the sbin directories (Debian puts mariadbd in /usr/sbin). */
function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The server and its installer, or null when either is missing. */
export function findMariaDB(): { server: string; installer: string } | null {
  const server = findProgram("mariadbd") ?? findProgram("mysqld");
  const installer = findProgram("mariadb-install-db") ?? findProgram("mysql_install_db");
  return server !== null && installer !== null ? { server, installer } : null;
}

/** null when a server can be started here, else the message to skip with. */
export function mariadbMissing(): string | null {
  return findMariaDB() === null ? MARIADB_MISSING : null;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no error log)";
  }
}

/** True once the server answers on `socketPath` with its greeting packet. */
function greets(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("data", () => done(true));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

/** Servers not stopped yet, with their directories. */
const running = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** A run that ends abruptly (mocha --exit, an uncaught error) must not leave a server or its files behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [child, dir] of running) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Whether `child` exits within `seconds`. */
function exitedWithin(child: ChildProcess, seconds: number): Promise<boolean> {
  return within(exited(child), seconds, "mariadbd to exit").then(
    () => true,
    () => false,
  );
}

/** Start a server in a new temporary directory; rejects (with its error log) if it does not come up. */
export async function startMariaDB(options: StartOptions = {}): Promise<MariaDB> {
  const programs = findMariaDB();
  if (programs === null) throw new Error(MARIADB_MISSING);
  const dir = mkdtempSync(join(tmpdir(), "torsion-mariadb-"));
  const datadir = join(dir, "data");
  const socketPath = join(dir, "mysql.sock");
  const errorLog = join(dir, "error.log");
  // As root the server insists on being told which user to run as; otherwise it runs as us.
  const user = process.getuid?.() === 0 ? ["--user=root"] : [];

  const install = spawnSync(
    programs.installer,
    ["--no-defaults", `--datadir=${datadir}`, "--auth-root-authentication-method=normal", "--skip-test-db", ...user],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${install.error?.message ?? `exit ${install.status}`}):\n${(install.stdout + install.stderr).trim().slice(-2000)}`);
  }

  const child = spawn(
    programs.server,
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--socket=${socketPath}`,
      "--skip-networking",
      `--pid-file=${join(dir, "mariadbd.pid")}`,
      `--log-error=${errorLog}`,
      ...user,
      // Small and fast: a throwaway server needs no durability.
      "--innodb-buffer-pool-size=64M",
      "--innodb-flush-log-at-trx-commit=0",
      "--innodb-doublewrite=0",
      "--skip-name-resolve",
      "--max-connections=500",
    ],
    { stdio: "ignore" },
  );
  running.set(child, dir);
  installExitHook();
  child.unref();
  child.once("exit", () => running.delete(child));

  let stopped: Promise<void> | null = null;
  const stop = (grace = 10): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        if (!(await exitedWithin(child, grace))) {
          child.kill("SIGKILL");
          await exitedWithin(child, 5);
        }
      }
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + (options.timeout ?? 20) * 1000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = tail(errorLog);
      await stop();
      throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log}`);
    }
    if (await greets(socketPath)) break;
    if (Date.now() > deadline) {
      const log = tail(errorLog);
      await stop();
      throw new Error(`mariadbd did not accept connections on ${socketPath} within ${options.timeout ?? 20} s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { socketPath, pid: child.pid!, dir, stop };
}
