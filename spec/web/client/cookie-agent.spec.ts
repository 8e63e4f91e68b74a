import { expect } from "chai";
import { CookieJar } from "tough-cookie";
import { NodeReactor } from "../../../lib/internet/reactor.js";
import { Agent } from "../../../lib/web/client/agent.js";
import { CookieAgent } from "../../../lib/web/client/cookie-agent.js";
import { readBody } from "../../../lib/web/client/read-body.js";
import { within } from "../../support/wait.js";
import { startTestServer, type TestServer } from "./wrappers-helpers.js";

describe("CookieAgent (twisted.web.test.test_agent CookieAgentTests), with tough-cookie's CookieJar", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("test_emptyCookieJarRequest / test_extractCookies / test_requestWithCookie: cookies set are stored and sent back", async () => {
    const jar = new CookieJar();
    const agent = new CookieAgent(new Agent(new NodeReactor()), jar);
    const first = await within(agent.request("GET", `${server.base}/plain`), 5, "the first response");
    expect((await readBody(first)).toString()).to.contain("cookie= ");
    await readBody(await within(agent.request("GET", `${server.base}/setcookie`), 5, "the Set-Cookie response"));
    expect(await jar.getCookieString(`${server.base}/`)).to.equal("session=abc; theme=dark");
    const again = await within(agent.request("GET", `${server.base}/plain`), 5, "the response with cookies");
    expect((await readBody(again)).toString()).to.contain("cookie=session=abc; theme=dark");
  });

  it("test_portCookie / another host: cookies of one host are not sent to another", async () => {
    const jar = new CookieJar();
    await jar.setCookie("only=here; Path=/", "http://example.com/");
    const agent = new CookieAgent(new Agent(new NodeReactor()), jar);
    const r = await within(agent.request("GET", `${server.base}/plain`), 5, "the response");
    expect((await readBody(r)).toString()).to.contain("cookie= ");
  });
});
