// Interop with Autobahn|Python on Twisted (Debian's python3-autobahn), a WebSocket
// implementation nobody here wrote: its client against torsion's server, its server against
// torsion's client, with and without permessage-deflate.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Failure } from "../../../lib/internet/failure.js";
import { ConnectionDone } from "../../../lib/internet/error.js";
import { Resource } from "../../../lib/web/resource.js";
import { Site } from "../../../lib/web/server.js";
import { WebSocketClientEndpoint } from "../../../lib/web/websocket/client.js";
import { WebSocketResource } from "../../../lib/web/websocket/resource.js";
import type { IWebSocketProtocol, WebSocketTransport } from "../../../lib/web/websocket/transport.js";
import { loopback } from "../../support/loopback.js";
import { later, until, within } from "../../support/wait.js";

const PYTHON = "/usr/bin/python3";
const PEER = fileURLToPath(new URL("../../../../spec/fixtures/autobahn_peer.py", import.meta.url));
const MISSING = "Autobahn|Python is missing: install the Debian package python3-autobahn to run the Autobahn interop specs";
const haveAutobahn = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import autobahn.twisted.websocket"]).status === 0;

/** A child process of the peer script, its stdout as lines; stopped by its pid after the test. */
function peer(args: string[]): { child: ChildProcess; lines: string[]; line: (prefix: string) => Promise<string> } {
  const child = spawn(PYTHON, [PEER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buffered += d;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  const line = async (prefix: string): Promise<string> => {
    await until(() => lines.some((l) => l.startsWith(prefix)), 10, `Autobahn to print "${prefix}"`);
    return lines.find((l) => l.startsWith(prefix))!;
  };
  return { child, lines, line };
}

class Echo implements IWebSocketProtocol {
  t: WebSocketTransport | null = null;
  readonly lost = later<Failure>();
  negotiationStarted(t: WebSocketTransport): void {
    this.t = t;
  }
  textMessageReceived(text: string): void {
    this.t!.sendTextMessage(text);
  }
  bytesMessageReceived(data: Buffer): void {
    this.t!.sendBytesMessage(data);
  }
  connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

describe("WebSocket interop with Autobahn|Python on Twisted", function () {
  this.timeout(30000);
  const lo = loopback();
  const children: ChildProcess[] = [];
  before(function () {
    if (!haveAutobahn) {
      console.log(`      (skipped: ${MISSING})`);
      this.skip();
    }
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, "SIGKILL");
  });

  for (const deflate of [false, true]) {
    const mode = deflate ? " with permessage-deflate" : "";
    it(`Autobahn's client against torsion's server${mode}: both messages echoed, a clean close`, async () => {
      const protocols: Echo[] = [];
      const root = new Resource();
      root.putChild("ws", new WebSocketResource({ buildProtocol: () => (protocols.push(new Echo()), protocols.at(-1)!) }, { clock: lo.reactor, perMessageDeflate: deflate }));
      const port = lo.listenTCP(new Site(root, { reactor: lo.reactor })).getHost().port;
      const p = peer(["client", `ws://127.0.0.1:${port}/ws`, ...(deflate ? ["deflate"] : [])]);
      children.push(p.child);
      expect(await p.line("text")).to.equal("text hello from autobahn");
      expect(await p.line("bytes")).to.equal("bytes 100000");
      expect(await p.line("closed")).to.equal("closed 1000 True");
      const reason = await within(protocols[0]!.lost.promise, 5, "connectionLost");
      expect(reason.value).to.be.instanceOf(ConnectionDone);
      expect(protocols[0]!.t!.closeCode).to.equal(1000);
      expect(protocols[0]!.t!.compressed).to.equal(deflate);
    });

    it(`torsion's client against Autobahn's server${mode}`, async () => {
      const p = peer(["server", ...(deflate ? ["deflate"] : [])]);
      children.push(p.child);
      const port = Number((await p.line("port")).split(" ")[1]);
      const got: Array<string | Buffer> = [];
      const lost = later<Failure>();
      let transport: WebSocketTransport | null = null;
      await within(
        WebSocketClientEndpoint.new(lo.reactor, `ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate }).connect({
          buildProtocol: () => ({
            negotiationStarted: (t: WebSocketTransport) => (transport = t),
            textMessageReceived: (text: string) => got.push(text),
            bytesMessageReceived: (data: Buffer) => got.push(data),
            connectionLost: (reason: Failure) => lost.resolve(reason),
          }),
        }),
        5,
        "the connection",
      );
      expect(transport!.compressed).to.equal(deflate);
      transport!.sendTextMessage("héllo autobahn");
      transport!.sendBytesMessage(Buffer.alloc(200000, 9));
      await until(() => got.length === 2, 5, "both echoes");
      expect(got[0]).to.equal("héllo autobahn");
      expect((got[1] as Buffer).length).to.equal(200000);
      transport!.loseConnection(1000);
      const reason = await within(lost.promise, 5, "connectionLost");
      expect(reason.value).to.be.instanceOf(ConnectionDone);
    });
  }
});
