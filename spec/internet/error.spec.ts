/**
 * The errors of lib/internet/error.ts as a developer meets them: printed by Node when nobody
 * catches them. CannotListenError (a port in use) is one clear line plus a short stack, not
 * Node's error nested inside it with its own stack and fields.
 */

import { expect } from "chai";
import { execFile } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { CannotListenError } from "../../lib/internet/error.js";
import * as error from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";

const LIB = new URL("../../lib/index.js", import.meta.url).href;

describe("CannotListenError: what a port in use looks like", function () {
  this.timeout(30_000);
  let busy: net.Server;
  let port: number;
  let dir: string;

  before(async () => {
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    port = (busy.address() as net.AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), "torsion-eaddrinuse-"));
  });

  after(async () => {
    await new Promise((resolve) => busy.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("says what is wrong and what to do, with the errno code; Node's error is still there to read", () => {
    const socketError = Object.assign(new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`), { code: "EADDRINUSE" });
    const err = new CannotListenError("127.0.0.1", port, socketError);
    expect(err.message).to.equal(
      `Couldn't listen on 127.0.0.1:${port}: address already in use: another process is listening there ` +
        "(stop it, or choose another port; port 0 picks a free one) (EADDRINUSE).",
    );
    expect(err.socketError).to.equal(socketError);
    expect(inspect(err)).to.not.include("errno").and.not.include("socketError");
  });

  it("keeps Node's message for a reason it has no words for", () => {
    const err = new CannotListenError("", 80, Object.assign(new Error("listen EWHATEVER"), { code: "EWHATEVER" }));
    expect(err.message).to.equal("Couldn't listen on any:80: listen EWHATEVER.");
  });

  it("an uncaught one (listenTCP on a port in use) prints a short message, not a 30-line nested dump", async () => {
    const program = join(dir, "listen.mjs");
    writeFileSync(
      program,
      `import { Factory, Protocol, reactor } from ${JSON.stringify(LIB)};\n` +
        `reactor.listenTCP(${port}, Factory.forProtocol(Protocol), { interface: "127.0.0.1" });\n`,
    );
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [program], { timeout: 20_000 }, (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }));
    });
    expect(code).to.equal(1);
    expect(stderr).to.include(`CannotListenError: Couldn't listen on 127.0.0.1:${port}: address already in use`);
    expect(stderr).to.not.include("socketError");
    expect(stderr).to.not.include("errno");
    // The message, a short stack, and the error's own fields (its stable code, iface, port):
    // Node's error is kept non-enumerable, so its dump is not nested in this one.
    expect(stderr.trimEnd().split("\n").length, stderr).to.be.at.most(18);
  });
});

// lib/internet/error.ts: twisted.internet.error's classes and defer's, each with a stable code.

const classes = Object.values(error).filter(
  (v): v is typeof error.TorsionError => typeof v === "function" && (v === error.TorsionError || v.prototype instanceof error.TorsionError),
);

describe("internet/error", () => {
  it("the hierarchy is Twisted's: trap(ConnectionClosed) catches a clean and an unclean close; TLSError is a ConnectionLost", () => {
    expect(new Failure(new error.ConnectionDone()).trap(error.ConnectionClosed)).to.equal(error.ConnectionClosed);
    expect(new Failure(new error.ConnectionAborted()).check(error.ConnectionLost)).to.equal(error.ConnectionLost);
    expect(new error.TLSError()).to.be.instanceOf(error.ConnectionLost);
    expect(new error.ConnectionRefusedError()).to.be.instanceOf(error.ConnectError);
    expect(new error.TaskStopped()).to.be.instanceOf(error.TaskDone);
  });

  it("name is the class's, so a log line says what failed", () => {
    for (const cls of classes) {
      if (cls.length > 0 && cls !== error.TorsionError) continue; // constructors that need arguments
      expect(new cls().name).to.equal(cls.name);
    }
    expect(new error.CannotListenError("127.0.0.1", 80, new Error("EADDRINUSE")).name).to.equal("CannotListenError");
  });

  it("every class has its own stable code, and each instance carries it", () => {
    const codes = classes.filter((c) => c !== error.TorsionError).map((c) => c.code);
    expect(new Set(codes).size).to.equal(codes.length);
    for (const code of codes) expect(code).to.match(/^TORSION_ERR_[A-Z0-9_]+$/);
    expect(new error.TimeoutError().code).to.equal(error.TimeoutError.code);
    expect(new error.ConnectionRefusedError().code).to.equal("TORSION_ERR_CONNECTION_REFUSED");
  });

  it("SystemExit keeps the exit status as status (its code is the error code, as on every other error)", () => {
    const exit = new error.SystemExit(3);
    expect([exit.status, exit.code, exit.message]).to.deep.equal([3, "TORSION_ERR_SYSTEM_EXIT", "exit status 3"]);
  });
});
