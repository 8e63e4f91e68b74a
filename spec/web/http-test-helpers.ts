/**
 * Shared fixtures of the twisted.web.http specs: ports of test_http.py's DummyHTTPHandler,
 * DelayedHTTPHandler and ResponseTestMixin.assertResponseEquals.
 */

import { expect } from "chai";
import { Clock } from "../../lib/internet/task.js";
import { StringTransport } from "../../lib/internet/testing.js";
import { HTTPChannel, type HTTPChannelOptions } from "../../lib/web/http-channel.js";
import { HTTPFactory, type HTTPFactoryOptions } from "../../lib/web/http-factory.js";
import { Request } from "../../lib/web/http-request.js";

/** Answers with the request's URI, method, version and body, as Twisted's DummyHTTPHandler. */
export class DummyHTTPHandler extends Request {
  override process(): void {
    this.content!.seek(0);
    const data = this.content!.read();
    const length = this.getHeader("content-length") ?? "None";
    const body = Buffer.concat([Buffer.from(`'''\n${length}\n`, "latin1"), data, Buffer.from("'''\n", "latin1")]);
    this.setResponseCode(200);
    this.setHeader("Request", this.uri);
    this.setHeader("Command", this.method);
    this.setHeader("Version", this.clientproto);
    this.setHeader("Content-Length", String(body.length));
    this.write(body);
    this.finish();
  }
}

/** Waits for delayedProcess() before answering, as Twisted's DelayedHTTPHandler. */
export class DelayedHTTPHandler extends DummyHTTPHandler {
  override process(): void {}
  delayedProcess(): void {
    super.process();
  }
}

/** A Request that answers nothing until told: for tests that drive the response by hand. */
export class SilentRequest extends Request {
  override process(): void {}
}

export interface ChannelFixture {
  channel: HTTPChannel;
  transport: StringTransport;
  clock: Clock;
}

/**
 * A channel on a StringTransport and a Clock, without Date/Server headers unless asked.
 * Twisted's tests send HTTP/1.1 requests without Host, so allowMissingHost is on unless asked;
 * the Host rule (RFC 9112 3.2) has specs of its own (http-channel.spec.ts, "Host").
 */
export function makeChannel(options: HTTPChannelOptions = {}, transport = new StringTransport()): ChannelFixture {
  const clock = (options.reactor as Clock | undefined) ?? new Clock();
  const channel = new HTTPChannel({ serverVersion: null, sendDate: false, allowMissingHost: true, ...options, reactor: clock });
  channel.makeConnection(transport);
  return { channel, transport, clock };
}

/** A channel as an HTTPFactory with `options` builds it (on a Clock unless given), connected to a StringTransport. */
export function factoryChannel(options: HTTPFactoryOptions = {}, transport = new StringTransport()): ChannelFixture & { factory: HTTPFactory } {
  const clock = (options.reactor as Clock | undefined) ?? new Clock();
  const factory = new HTTPFactory({ allowMissingHost: true, ...options, reactor: clock });
  const channel = factory.buildProtocol(null);
  channel.makeConnection(transport);
  return { factory, channel, transport, clock };
}

/** Feed `data` one byte at a time. */
export function feedBytewise(channel: HTTPChannel, data: string | Buffer): void {
  const buf = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  for (let i = 0; i < buf.length; i++) channel.dataReceived(buf.subarray(i, i + 1));
}

export function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/**
 * ResponseTestMixin.assertResponseEquals: each expected response is [status line, ...header
 * lines (any order), body].
 */
export function assertResponseEquals(responses: Buffer | string, expected: string[][]): void {
  let rest = typeof responses === "string" ? responses : responses.toString("latin1");
  for (const response of expected) {
    const expectedStatus = response[0];
    const expectedHeaders = response.slice(1, -1);
    const expectedContent = response[response.length - 1];
    const split = rest.indexOf("\r\n\r\n");
    expect(split, `no end of headers in ${JSON.stringify(rest)}`).to.be.greaterThan(-1);
    const lines = rest.slice(0, split).split("\r\n");
    rest = rest.slice(split + 4);
    expect(lines.shift()).to.equal(expectedStatus);
    expect(new Set(lines)).to.deep.equal(new Set(expectedHeaders));
    expect(rest.slice(0, expectedContent.length)).to.equal(expectedContent);
    rest = rest.slice(expectedContent.length);
  }
}
