/**
 * HTTPFactory, the ServerFactory of HTTPChannels, and the access log, as twisted.web.http's
 * HTTPFactory and combinedLogFormatter.
 *
 * The factory holds what every channel shares: the reactor (for timeouts and the Date header),
 * timeOut and the other channel options, the parser's limits, and the requestFactory. A Site
 * (lib/web/server.ts) is an HTTPFactory whose requestFactory looks up resources; override
 * buildProtocol to give channels more.
 *
 * The access log is written only when asked for: `logPath` (appended to) or `logFile` (any
 * stream with write(string)). One line per finished request, in the combined log format.
 */

import { createWriteStream, type WriteStream } from "node:fs";
import { resolve } from "node:path";
import type { IAddress, IReactorTime } from "../internet/interfaces.js";
import { ServerFactory } from "../internet/protocol.js";
import { getReactor } from "../internet/reactor.js";
import { HTTPChannel, type HTTPChannelOptions } from "./http-channel.js";
import { datetimeToLogString } from "./http-dates.js";
import { Request, type RequestFactory } from "./http-request.js";

/** Formats one access log line (without newline) for a finished request. */
export type AccessLogFormatter = (timestamp: string, request: Request) => string;

/** What a factory's connections cost, for an operator (docs/design.md: "what disconnects cost"). */
export interface HTTPFactoryStatistics {
  /** Connections open now (the size of openChannels). */
  openChannels: number;
  /** Connections closed since the factory was built. */
  channelsClosed: number;
  /**
   * Responses cut short: requests whose connection was lost (the client left, a timeout, an
   * abort) before their response finished. An idle keep-alive connection closing is not one.
   */
  responsesAborted: number;
}

export interface HTTPFactoryOptions extends HTTPChannelOptions {
  /** Append the access log to this file. */
  logPath?: string | null;
  /** Write the access log to this stream (e.g. process.stdout). */
  logFile?: { write(line: string): unknown } | null;
  /** Twisted's name for timeOut: the idle timeout in seconds, null to disable. Default 60. */
  timeout?: number | null;
  /** Formats access log lines; default combinedLogFormatter. */
  logFormatter?: AccessLogFormatter;
}

/**
 * Escape a latin1 string as Twisted's _escape does (Python's repr of bytes, for double quotes):
 * printable ASCII stays, `"` and `\` are backslashed, anything else is \t, \n, \r or \xHH.
 */
export function escapeForLog(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) out += '\\"';
    else if (c === 92) out += "\\\\";
    else if (c >= 32 && c < 127) out += s[i];
    else if (c === 9) out += "\\t";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else out += "\\x" + (c & 0xff).toString(16).padStart(2, "0");
  }
  return out;
}

/** A line in the combined log format, as Twisted's combinedLogFormatter. */
export const combinedLogFormatter: AccessLogFormatter = (timestamp, request) => {
  const client = request.getClientAddress();
  const ip = client !== null && client.type === "TCP" ? client.host : "-";
  const referrer = escapeForLog(request.getHeader("referer") || "-");
  const agent = escapeForLog(request.getHeader("user-agent") || "-");
  return (
    `"${escapeForLog(ip)}" - - ${timestamp} "${escapeForLog(request.method)} ${escapeForLog(request.uri)} ` +
    `${escapeForLog(request.clientproto)}" ${request.code} ${request.sentLength || "-"} "${referrer}" "${agent}"`
  );
};

export class HTTPFactory extends ServerFactory {
  /** The idle timeout given to each channel, in seconds; null disables it. */
  timeOut: number | null;
  requestFactory: RequestFactory;
  /** Options given to every channel (limits, timeouts, headers). */
  readonly channelOptions: HTTPChannelOptions;
  readonly logPath: string | null;
  logFile: { write(line: string): unknown } | null;
  private readonly logFormatter: AccessLogFormatter;
  private _reactor: IReactorTime | null;
  /**
   * Channels built by this factory whose connections are still open, so a graceful shutdown
   * (lib/application/graceful.ts) can close the idle ones and wait for those answering a request.
   */
  readonly openChannels = new Set<HTTPChannel>();
  private channelsClosed = 0;
  private responsesAborted = 0;
  private openedLog: WriteStream | null = null;
  private logSecond = -1;
  private logDateTime = "";

  constructor(options: HTTPFactoryOptions = {}) {
    super();
    this._reactor = options.reactor ?? null;
    this.timeOut = options.timeOut !== undefined ? options.timeOut : options.timeout !== undefined ? options.timeout : 60;
    this.requestFactory = options.requestFactory ?? Request;
    this.logPath = options.logPath ? resolve(options.logPath) : null;
    this.logFile = options.logFile ?? null;
    this.logFormatter = options.logFormatter ?? combinedLogFormatter;
    const { logPath: _p, logFile: _f, timeout: _t, logFormatter: _l, reactor: _r, ...channelOptions } = options;
    this.channelOptions = channelOptions;
  }

  /** The reactor of timeouts and dates: the one given, else the global reactor (loaded on first use). */
  get reactor(): IReactorTime {
    if (this._reactor === null) this._reactor = getReactor();
    return this._reactor;
  }

  set reactor(reactor: IReactorTime) {
    this._reactor = reactor;
  }

  override buildProtocol(_addr: IAddress | null): HTTPChannel {
    const channel = new HTTPChannel({
      ...this.channelOptions,
      reactor: this.reactor,
      timeOut: this.timeOut,
      requestFactory: this.requestFactory,
    });
    channel.factory = this;
    this.trackChannel(channel);
    return channel;
  }

  private trackChannel(channel: HTTPChannel): void {
    const channels = this.openChannels;
    channels.add(channel);
    // Per connection, never per request: an own connectionLost that forgets the channel first,
    // and counts the responses it leaves unfinished (one at most: a channel reads no further
    // request while one is in progress).
    const connectionLost = channel.connectionLost;
    const factory = this;
    channel.connectionLost = function trackedConnectionLost(this: HTTPChannel, reason) {
      if (channels.delete(channel)) {
        factory.channelsClosed++;
        for (const request of channel.requests) if (!request.finished) factory.responsesAborted++;
      }
      connectionLost.call(this, reason);
    };
  }

  /** The factory's counters: open and closed connections, responses cut short. */
  statistics(): HTTPFactoryStatistics {
    return { openChannels: this.openChannels.size, channelsClosed: this.channelsClosed, responsesAborted: this.responsesAborted };
  }

  override startFactory(): void {
    if (this.logPath !== null && this.openedLog === null) {
      this.openedLog = createWriteStream(this.logPath, { flags: "a" });
      this.logFile = this.openedLog;
    }
  }

  override stopFactory(): void {
    if (this.openedLog !== null) {
      const stream = this.openedLog;
      this.openedLog = null;
      if (this.logFile === stream) this.logFile = null;
      stream.end();
    }
  }

  /** Write the access log line of a finished request (called by Request.finish). */
  log(request: Request): void {
    const logFile = this.logFile;
    if (logFile === null) return;
    const second = Math.floor(this.reactor.seconds());
    if (second !== this.logSecond) {
      this.logSecond = second;
      this.logDateTime = datetimeToLogString(second);
    }
    logFile.write(this.logFormatter(this.logDateTime, request) + "\n");
  }
}
