// lib/web/http.ts: twisted.web.http as one module over the files that hold each concept; the
// names it exports are those files' own objects.
import { expect } from "chai";
import * as http from "../../lib/web/http.js";
import { HTTPChannel } from "../../lib/web/http-channel.js";
import { HTTPFactory } from "../../lib/web/http-factory.js";
import { Headers } from "../../lib/web/http-headers.js";
import { HTTPParseError } from "../../lib/web/http-parser.js";
import { CACHED, Request } from "../../lib/web/http-request.js";
import { OK, RESPONSES } from "../../lib/web/http-status.js";

describe("web/http", () => {
  it("re-exports the channel, factory, request, headers, parser error and status codes as themselves", () => {
    expect(http.HTTPChannel).to.equal(HTTPChannel);
    expect(http.HTTPFactory).to.equal(HTTPFactory);
    expect(http.Request).to.equal(Request);
    expect(http.CACHED).to.equal(CACHED);
    expect(http.Headers).to.equal(Headers);
    expect(http.HTTPParseError).to.equal(HTTPParseError);
    expect(http.OK).to.equal(OK);
    expect(http.responses).to.equal(RESPONSES);
  });
});
