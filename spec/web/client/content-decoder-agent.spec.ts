import { expect } from "chai";
import { NodeReactor } from "../../../lib/internet/reactor.js";
import { Agent } from "../../../lib/web/client/agent.js";
import { ContentDecoderAgent, GzipDecoder } from "../../../lib/web/client/content-decoder-agent.js";
import { ResponseFailed } from "../../../lib/web/client/errors.js";
import { HTTPConnectionPool } from "../../../lib/web/client/pool.js";
import { readBody } from "../../../lib/web/client/read-body.js";
import { within } from "../../support/wait.js";
import { BIG_BODY, startTestServer, type TestServer } from "./wrappers-helpers.js";

describe("ContentDecoderAgent (twisted.web.test.test_agent ContentDecoderAgent*Tests)", () => {
  let server: TestServer;
  let pool: HTTPConnectionPool;
  let agent: ContentDecoderAgent;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());
  beforeEach(() => {
    const reactor = new NodeReactor();
    pool = new HTTPConnectionPool(reactor);
    agent = new ContentDecoderAgent(new Agent(reactor, { pool }));
  });
  afterEach(() => pool.closeCachedConnections());

  it("test_acceptHeaders: Accept-Encoding lists the decoders", async () => {
    const r = await within(agent.request("GET", `${server.base}/plain`), 5, "the response");
    expect((await readBody(r)).toString()).to.contain("ae=gzip,deflate,br");
  });

  it("test_plainEncodingResponse: a body without Content-Encoding is untouched", async () => {
    const r = await within(agent.request("GET", `${server.base}/plain`), 5, "the response");
    expect(r.headers.hasHeader("content-encoding")).to.equal(false);
    expect((await readBody(r)).toString()).to.match(/^GET \/plain/);
  });

  for (const path of ["gzip", "deflate", "br", "gzip-br"]) {
    it(`test_gzipEncodingResponse (${path}): 2 MiB decoded in a stream, Content-Encoding removed`, async () => {
      const r = await within(agent.request("GET", `${server.base}/${path}`), 5, "the response");
      expect(r.headers.hasHeader("content-encoding")).to.equal(false);
      const body = await within(readBody(r), 10, "the decoded body");
      expect(body.equals(BIG_BODY)).to.equal(true);
    });
  }

  it("test_unknownEncoding: decoding stops at an unknown encoding, which stays in Content-Encoding", async () => {
    const r = await within(agent.request("GET", `${server.base}/unknown`), 5, "the response");
    expect(r.headers.getLast("content-encoding")).to.equal("fizz");
    expect((await readBody(r)).toString()).to.equal("fizzed");
  });

  it("test_brokenContent: a body that does not decode fails with ResponseFailed", async () => {
    const r = await within(agent.request("GET", `${server.base}/broken`), 5, "the response");
    const err = await within(readBody(r).then(() => null, (e: unknown) => e), 5, "the failure");
    expect(err).to.be.instanceOf(ResponseFailed);
  });

  it("with only GzipDecoder, br is left encoded", async () => {
    const reactor = new NodeReactor();
    const gzipOnly = new ContentDecoderAgent(new Agent(reactor), [["gzip", GzipDecoder]]);
    const r = await within(gzipOnly.request("GET", `${server.base}/br`), 5, "the response");
    expect(r.headers.getLast("content-encoding")).to.equal("br");
    await readBody(r);
  });
});
