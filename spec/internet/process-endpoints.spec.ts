// Tests of lib/internet/process-endpoints.ts. Ports of twisted/internet/test/test_endpoints.py's
// ProcessEndpointsTests, WrappedIProtocolTests and StandardIOEndpointsTests, with real children
// where Twisted uses a fake reactor's records.

import { expect } from "chai";
import { PassThrough } from "node:stream";
import { ConnectionDone, ProcessSpawnError, ProcessTerminated } from "../../lib/internet/error.js";
import type { Failure } from "../../lib/internet/failure.js";
import type { IAddress, IProtocol } from "../../lib/internet/interfaces.js";
import { ProcessEndpoint, ProcessEndpointTransport, StandardErrorBehavior, StandardIOEndpoint } from "../../lib/internet/process-endpoints.js";
import { NodeReactor } from "../../lib/internet/reactor.js";
import type { StandardIO } from "../../lib/internet/stdio.js";
import { captureLogsOfEachTest } from "../support/logs.js";
import { Recorder } from "../support/loopback.js";
import { later, within } from "../support/wait.js";

/** A factory of one Recorder, remembering the address it was asked for. */
function recorderFactory(): { factory: { buildProtocol(a: IAddress): IProtocol; doStart(): void; doStop(): void }; built: Recorder[]; addrs: IAddress[] } {
  const built: Recorder[] = [];
  const addrs: IAddress[] = [];
  return {
    built,
    addrs,
    factory: {
      buildProtocol(a) {
        addrs.push(a);
        const r = new Recorder();
        built.push(r);
        return r;
      },
      doStart() {},
      doStop() {},
    },
  };
}

describe("ProcessEndpointsTests", () => {
  const logs = captureLogsOfEachTest();
  let reactor: NodeReactor;
  beforeEach(() => {
    reactor = new NodeReactor();
  });

  it("test_processAddress / test_protocolCreation: the protocol is built for a ProcessAddress and connect() fires with it", async () => {
    const { factory, built, addrs } = recorderFactory();
    const ep = new ProcessEndpoint(reactor, "/bin/sh", ["sh", "-c", "exit 0"]);
    const proto = await within(ep.connect(factory), 5, "connect");
    expect(proto).to.equal(built[0]);
    expect(addrs).to.deep.equal([{ type: "Process" }]);
    expect(built[0]!.transport).to.be.instanceOf(ProcessEndpointTransport);
    expect(built[0]!.transport.getPeer()).to.deep.equal({ type: "Process" });
    await within(built[0]!.lost.promise, 10, "connectionLost");
  });

  it("test_stdout / test_processDone: stdout is dataReceived; exit status 0 is connectionLost(ConnectionDone)", async () => {
    const { factory, built } = recorderFactory();
    const ep = new ProcessEndpoint(reactor, "/bin/cat", ["cat"]);
    await within(ep.connect(factory), 5, "connect");
    const p = built[0]!;
    p.transport.write(Buffer.from("through cat"));
    (p.transport as unknown as ProcessEndpointTransport).closeStdin(); // loseConnection would close cat's stdout too
    const reason = await within(p.lost.promise, 10, "connectionLost");
    expect(reason.value).to.be.instanceOf(ConnectionDone);
    expect(p.received.toString()).to.equal("through cat");
  });

  it("test_processEnded: another ending is passed on (ProcessTerminated)", async () => {
    const { factory, built } = recorderFactory();
    await within(new ProcessEndpoint(reactor, "/bin/sh", ["sh", "-c", "exit 3"]).connect(factory), 5, "connect");
    const reason = await within(built[0]!.lost.promise, 10, "connectionLost");
    expect((reason.value as ProcessTerminated).exitCode).to.equal(3);
  });

  it("test_logStderr: stderr is logged by default, naming the executable", async () => {
    const { factory, built } = recorderFactory();
    await within(new ProcessEndpoint(reactor, "/bin/sh", ["sh", "-c", "echo to stderr >&2"]).connect(factory), 5, "connect");
    await within(built[0]!.lost.promise, 10, "connectionLost");
    const line = logs.messages().find((m) => m.includes("wrote stderr"));
    expect(line).to.contain("/bin/sh").and.contain("to stderr");
  });

  it("test_stderrSkip: with errFlag DROP, stderr is dropped", async () => {
    const { factory, built } = recorderFactory();
    const ep = new ProcessEndpoint(reactor, "/bin/sh", ["sh", "-c", "echo to stderr >&2"], { errFlag: StandardErrorBehavior.DROP });
    await within(ep.connect(factory), 5, "connect");
    await within(built[0]!.lost.promise, 10, "connectionLost");
    expect(logs.messages().filter((m) => m.includes("wrote stderr"))).to.deep.equal([]);
  });

  it("test_connectFailure: a missing executable still fires connect(), then connectionLost(ProcessSpawnError)", async () => {
    const { factory, built } = recorderFactory();
    await within(new ProcessEndpoint(reactor, "/no/such", ["such"]).connect(factory), 5, "connect");
    const reason: Failure = await within(built[0]!.lost.promise, 10, "connectionLost");
    expect(reason.value).to.be.instanceOf(ProcessSpawnError);
  });

  it("test_connectFailure: a bad argument fails the Deferred", async () => {
    const { factory } = recorderFactory();
    const failed = later<unknown>();
    new ProcessEndpoint(reactor, "", []).connect(factory).addErrback((f) => failed.resolve(f.value));
    expect(await within(failed.promise, 5, "the errback")).to.be.instanceOf(TypeError);
    expect(() => new ProcessEndpoint(reactor, "/bin/sh", [], { errFlag: "LOUD" as "LOG" })).to.throw(RangeError, /LOUD/);
  });
});

describe("StandardIOEndpointsTests", () => {
  it("test_protocolCreation: listen() connects the factory's protocol to a StandardIO over the given streams", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const { factory, built, addrs } = recorderFactory();
    const stdio: StandardIO = await within(new StandardIOEndpoint({ stdin, stdout }).listen(factory), 5, "listen");
    expect(addrs).to.deep.equal([{ type: "Pipe" }]);
    const p = built[0]!;
    expect(p.transport).to.equal(stdio);
    stdin.write("from stdin");
    await within(p.receivedAtLeast(10), 5, "the data");
    p.transport.write(Buffer.from("to stdout"));
    expect(String(stdout.read())).to.equal("to stdout");
    stdin.end();
    expect((await within(p.lost.promise, 5, "connectionLost")).value).to.be.instanceOf(ConnectionDone);
  });
});
