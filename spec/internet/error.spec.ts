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
    expect(stderr.trimEnd().split("\n").length, stderr).to.be.at.most(16);
  });
});
