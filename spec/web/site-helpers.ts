/**
 * Shared fixtures of the resource-side specs: a Site's channel on a StringTransport and a Clock
 * (Twisted's DummyChannel / ConditionalTests harness), and helpers to read a raw response.
 */

import { Clock } from "../../lib/internet/task.js";
import { StringTransport, ipAddress } from "../../lib/internet/testing.js";
import type { HTTPChannel } from "../../lib/web/http-channel.js";
import type { IResource } from "../../lib/web/iweb.js";
import { Site, type SiteOptions } from "../../lib/web/server.js";

export { dechunk, httpBody, httpCode, httpHeader } from "../support/http-response.js";

export interface SiteFixture {
  site: Site;
  channel: HTTPChannel;
  transport: StringTransport;
  clock: Clock;
}

/**
 * A Site for `root` and one connected channel, without Date/Server headers unless asked.
 * Twisted's tests send HTTP/1.1 requests without Host, so allowMissingHost is on unless asked;
 * the Host rule (RFC 9112 3.2) has specs of its own (spec/web/http-channel.spec.ts).
 */
export function connectSite(root: IResource | Site, options: SiteOptions = {}, port = 80): SiteFixture {
  const clock = new Clock();
  const site = root instanceof Site ? root : new Site(root, { serverVersion: null, sendDate: false, reactor: clock, allowMissingHost: true, ...options });
  const channel = site.buildProtocol(null);
  const transport = new StringTransport({ hostAddress: ipAddress("127.0.0.1", port), peerAddress: ipAddress("127.0.0.1", 50000) });
  channel.makeConnection(transport);
  return { site, channel, transport, clock };
}

/** Send one request head (lines joined with CRLF, blank line added). */
export function sendRequest(fixture: SiteFixture, ...lines: string[]): void {
  fixture.channel.dataReceived(Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"));
}

/** A secure transport, for the SSL variants of prePathURL tests. */
export function makeSecure(transport: StringTransport): void {
  (transport as StringTransport & { isSecure(): boolean }).isSecure = () => true;
}
