// HTTPFactory.statistics(): what a factory's connections cost (docs/design.md, "what disconnects
// cost"), counted on the connection edges the transport drives: open and closed connections,
// and responses the client left before they finished.

import { expect } from "chai";
import { ConnectionLost } from "../../lib/internet/error.js";
import { Failure } from "../../lib/internet/failure.js";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport } from "../../lib/internet/testing.js";
import type { HTTPChannel } from "../../lib/web/http-channel.js";
import type { IRequest, RenderResult } from "../../lib/web/iweb.js";
import { Resource } from "../../lib/web/resource.js";
import { NOT_DONE_YET, Site } from "../../lib/web/server.js";
import { Headers } from "../../lib/web/http-headers.js";

/** /fast answers at once; /slow never finishes on its own. */
class Root extends Resource {
  override isLeaf = true;
  render_GET(request: IRequest): RenderResult {
    if (request.path === "/slow") {
      request.write(Buffer.from("partial"));
      return NOT_DONE_YET;
    }
    return Buffer.from("done");
  }
}

function connect(site: Site): { channel: HTTPChannel; transport: StringTransport } {
  const channel = site.buildProtocol(null);
  const transport = new StringTransport();
  channel.makeConnection(transport);
  return { channel, transport };
}

function get(path: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: example.com\r\n\r\n`, "latin1");
}

const lost = () => new Failure(new ConnectionLost("the client went away"));

describe("HTTPFactory.statistics", () => {
  let site: Site;
  beforeEach(() => {
    site = new Site(new Root(), { reactor: new Clock() });
  });

  it("counts open connections, and closed ones once each", () => {
    const a = connect(site);
    connect(site);
    expect(site.statistics()).to.deep.equal({ openChannels: 2, channelsClosed: 0, responsesAborted: 0 });
    a.channel.connectionLost(lost());
    a.channel.connectionLost(lost());
    expect(site.statistics()).to.deep.equal({ openChannels: 1, channelsClosed: 1, responsesAborted: 0 });
  });

  it("counts a response the client left before it finished as aborted", () => {
    const { channel, transport } = connect(site);
    channel.dataReceived(get("/slow"));
    expect(transport.value().toString("latin1")).to.contain("partial");
    channel.connectionLost(lost());
    expect(site.statistics()).to.include({ openChannels: 0, channelsClosed: 1, responsesAborted: 1 });
  });

  it("does not count finished responses, nor an idle keep-alive connection closing", () => {
    const { channel, transport } = connect(site);
    channel.dataReceived(get("/fast"));
    channel.dataReceived(get("/fast"));
    expect(transport.value().toString("latin1").match(/HTTP\/1\.1 200 OK/g)).to.have.length(2);
    channel.connectionLost(lost());
    expect(site.statistics()).to.include({ channelsClosed: 1, responsesAborted: 0 });
  });

  it("counts the one in progress, not the finished one before it on the same connection", () => {
    const { channel } = connect(site);
    channel.dataReceived(Buffer.concat([get("/fast"), get("/slow")]));
    channel.connectionLost(lost());
    expect(site.statistics()).to.include({ channelsClosed: 1, responsesAborted: 1 });
  });
});

describe("Headers.getAllLast", () => {
  it("maps each lower-case name to its last value, with no inherited names", () => {
    const h = new Headers();
    h.addRawHeader("Accept", "text/html");
    h.addRawHeader("accept", "text/plain");
    h.addRawHeader("__proto__", "not a prototype");
    const all = h.getAllLast();
    expect(all).to.deep.equal({ accept: "text/plain", ["__proto__"]: "not a prototype" });
    expect(Object.keys(all)).to.deep.equal(["accept", "__proto__"]);
    expect("toString" in all).to.equal(false);
  });
});
