import { expect } from "chai";
import { NodeReactor } from "../../../lib/internet/reactor.js";
import { Headers } from "../../../lib/web/http-headers.js";
import { Agent } from "../../../lib/web/client/agent.js";
import { FileBodyProducer } from "../../../lib/web/client/body-producers.js";
import { InfiniteRedirection, RedirectWithNoLocation, ResponseFailed } from "../../../lib/web/client/errors.js";
import type { IResponse } from "../../../lib/web/client/iclient.js";
import { HTTPConnectionPool } from "../../../lib/web/client/pool.js";
import { readBody } from "../../../lib/web/client/read-body.js";
import { BrowserLikeRedirectAgent, PageRedirect, RedirectAgent } from "../../../lib/web/client/redirect-agent.js";
import { within } from "../../support/wait.js";
import { startTestServer, type TestServer } from "./wrappers-helpers.js";

describe("RedirectAgent and BrowserLikeRedirectAgent (twisted.web.test.test_agent _RedirectAgentTestsMixin)", () => {
  let server: TestServer;
  let reactor: NodeReactor;
  let pool: HTTPConnectionPool;
  let agent: Agent;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());
  beforeEach(() => {
    reactor = new NodeReactor();
    pool = new HTTPConnectionPool(reactor);
    agent = new Agent(reactor, { pool });
  });
  afterEach(() => pool.closeCachedConnections());

  const failureOf = async (d: PromiseLike<unknown>): Promise<ResponseFailed> => {
    const err = await within(Promise.resolve(d).then(() => null, (e: unknown) => e), 5, "the request to fail");
    expect(err).to.be.instanceOf(ResponseFailed);
    return err as ResponseFailed;
  };

  it("test_noRedirect: a 200 is returned as is", async () => {
    const r = await within(new RedirectAgent(agent).request("GET", `${server.base}/plain`), 5, "the response");
    expect(r.code).to.equal(200);
    expect(r.previousResponse).to.equal(null);
  });

  for (const code of [301, 302, 307, 308]) {
    it(`test_redirect${code}: a GET is repeated at the Location; previousResponse is the redirect`, async () => {
      const r: IResponse = await within(new RedirectAgent(agent).request("GET", `${server.base}/r${code}`), 5, "the response");
      expect((await readBody(r)).toString()).to.match(/^GET \/echo 0/);
      expect(r.previousResponse!.code).to.equal(code);
    });
  }

  it("test_redirect303: a POST becomes a GET without its body", async () => {
    const r = await within(new RedirectAgent(agent).request("POST", `${server.base}/r303`, null, new FileBodyProducer(Buffer.from("data"))), 5, "the response");
    expect((await readBody(r)).toString()).to.match(/^GET \/echo 0/);
  });

  it("test_307OnPost: RedirectAgent does not follow a 307 for POST (PageRedirect)", async () => {
    const err = await failureOf(new RedirectAgent(agent).request("POST", `${server.base}/r307`, null, new FileBodyProducer(Buffer.from("data"))));
    expect(err.reasons[0].value).to.be.instanceOf(PageRedirect);
    expect((err.response as IResponse).code).to.equal(307);
  });

  it("BrowserLikeRedirectAgent: a POST 307 is repeated with its body; a POST 302 becomes a GET", async () => {
    const browser = new BrowserLikeRedirectAgent(agent);
    const r307 = await within(browser.request("POST", `${server.base}/r307`, null, new FileBodyProducer(Buffer.from("data"))), 5, "the 307");
    expect((await readBody(r307)).toString()).to.match(/^POST \/echo 4/);
    const r302 = await within(browser.request("POST", `${server.base}/r302`, null, new FileBodyProducer(Buffer.from("data"))), 5, "the 302");
    expect((await readBody(r302)).toString()).to.match(/^GET \/echo 0/);
  });

  it("test_noLocationField: a redirect without Location fails with RedirectWithNoLocation", async () => {
    const err = await failureOf(new RedirectAgent(agent).request("GET", `${server.base}/nolocation`));
    expect(err.reasons[0].value).to.be.instanceOf(RedirectWithNoLocation);
  });

  it("test_redirectLimit: a redirect loop fails with InfiniteRedirection after redirectLimit, and nothing hangs", async () => {
    const err = await failureOf(new RedirectAgent(agent, 5).request("GET", `${server.base}/loop`));
    expect(err.reasons[0].value).to.be.instanceOf(InfiniteRedirection);
    expect(server.seen.filter((s) => s.line === "GET /loop").length).to.be.at.least(6);
  });

  it("test_crossDomainHeaders / test_crossPortHeaders: Authorization and Cookie are not sent to another origin", async () => {
    const other = await startTestServer();
    try {
      const headers = new Headers({ authorization: ["Basic c2VjcmV0"], cookie: ["a=b"], "x-kept": ["1"] });
      const same = await within(new RedirectAgent(agent).request("GET", `${server.base}/r302`, headers), 5, "same origin");
      expect((await readBody(same)).toString()).to.contain("auth=Basic c2VjcmV0");
      const r = await within(new RedirectAgent(agent).request("GET", `${server.base}/elsewhere?to=${encodeURIComponent(other.base + "/echo")}`, headers), 5, "cross origin");
      const body = (await readBody(r)).toString();
      expect(body).to.contain("auth= ").and.contain("cookie= ");
      expect(other.seen[0].headers["x-kept"]).to.equal("1");
    } finally {
      await other.close();
    }
  });
});
