/**
 * HostnameEndpoint, as twisted.internet.endpoints.HostnameEndpoint: connect to a host by
 * name. The name is resolved through the reactor's name resolver (IReactorPluggableNameResolver,
 * so a test or a program decides how), and the addresses are tried "Happy Eyeballs" style
 * (RFC 8305): the first at once, the next one `attemptDelay` seconds later or as soon as the
 * one before fails, alternating address families; the first connection made wins and every
 * other attempt is abandoned. Cancelling the Deferred stops the resolution, every attempt and
 * every timer.
 */

import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { ipAddress } from "./address.js";
import { Deferred } from "./deferred.js";
import { ConnectingCancelledError, DNSLookupError, TimeoutError } from "./error.js";
import { TCP4ClientEndpoint } from "./endpoints.js";
import { Failure } from "./failure.js";
import type { IDelayedCall, IPv4Address, IProtocol, IProtocolFactory, IReactorTCP, IReactorTime, IStreamClientEndpoint } from "./interfaces.js";
import { type IHostnameResolver, nameResolverOf, resolveAll } from "./resolver.js";

/** Options of HostnameEndpoint; Twisted's keyword arguments. */
export interface HostnameEndpointOptions {
  /** Seconds for the whole connect(), resolution included, before TimeoutError (default 30). */
  timeout?: number;
  /** The local address to bind before connecting. */
  bindAddress?: { host: string; port: number };
  /** Seconds between the starts of two connection attempts (default 0.3, as Twisted). */
  attemptDelay?: number;
}

/** The reactor HostnameEndpoint needs: TCP, time and (optionally) a pluggable resolver. */
export type HostnameEndpointReactor = IReactorTCP & IReactorTime & { readonly nameResolver?: IHostnameResolver };

/** Order addresses as RFC 8305 section 4: alternate families, starting with the first one's. */
function interleave(addresses: readonly IPv4Address[]): IPv4Address[] {
  if (addresses.length === 0) return [];
  const first = addresses[0].family;
  const same = addresses.filter((a) => a.family === first);
  const other = addresses.filter((a) => a.family !== first);
  const ordered: IPv4Address[] = [];
  for (let i = 0; i < Math.max(same.length, other.length); i++) {
    if (i < same.length) ordered.push(same[i]);
    if (i < other.length) ordered.push(other[i]);
  }
  return ordered;
}

/** Check a port number as the reactor does: an integer 0-65535, else TypeError/RangeError naming it. */
function checkPort(port: unknown, what: string): number {
  if (typeof port !== "number") throw new TypeError(`${what}: the port must be a number, not ${typeof port} ${JSON.stringify(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${what}: the port must be an integer from 0 to 65535, not ${port}`);
  return port;
}

export class HostnameEndpoint implements IStreamClientEndpoint {
  /** The name as resolved: IDNA (punycode) for a non-ASCII name, as Twisted's _hostBytes. */
  readonly hostText: string;
  private readonly timeout: number;
  private readonly attemptDelay: number;
  private readonly bindAddress: { host: string; port: number } | undefined;

  constructor(
    private readonly reactor: HostnameEndpointReactor,
    readonly host: string,
    readonly port: number,
    options: HostnameEndpointOptions = {},
  ) {
    if (typeof host !== "string" || host === "") throw new TypeError(`HostnameEndpoint: the host must be a non-empty string, not ${JSON.stringify(host)}`);
    checkPort(port, "HostnameEndpoint");
    // "[::1]" as written in a URI is the address ::1
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    this.hostText = isIP(bare) !== 0 ? bare : domainToASCII(bare) || bare;
    this.timeout = options.timeout ?? 30;
    if (!(this.timeout >= 0)) throw new RangeError(`HostnameEndpoint: timeout must be a number >= 0, not ${options.timeout}`);
    this.attemptDelay = options.attemptDelay ?? 0.3;
    if (!(this.attemptDelay >= 0)) throw new RangeError(`HostnameEndpoint: attemptDelay must be a number >= 0, not ${options.attemptDelay}`);
    this.bindAddress = options.bindAddress;
  }

  toString(): string {
    return `<HostnameEndpoint ${this.hostText}:${this.port}>`;
  }

  /**
   * Resolve, then connect to the addresses in turn (see the module comment). Fires with the
   * protocol of the first connection made; fails with DNSLookupError when the name has no
   * address, with the last attempt's error when every address failed, with TimeoutError after
   * `timeout` seconds, and with ConnectingCancelledError when cancelled.
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const reactor = this.reactor;
    const attempts = new Set<Deferred<IProtocol>>();
    let resolving: Deferred<IPv4Address[]> | null = null;
    let nextAttempt: IDelayedCall | null = null;
    let deadline: IDelayedCall | null = null;
    let pending: IPv4Address[] = [];
    let lastFailure: Failure | null = null;
    let finished = false;

    const stopEverything = (): void => {
      finished = true;
      if (nextAttempt?.active()) nextAttempt.cancel();
      if (deadline?.active()) deadline.cancel();
      nextAttempt = deadline = null;
      pending = [];
      const r = resolving;
      resolving = null;
      r?.cancel();
      for (const a of [...attempts]) a.cancel();
      attempts.clear();
    };

    const result = new Deferred<IProtocol>(() => {
      stopEverything();
      result.errback(new ConnectingCancelledError(ipAddress(this.hostText, this.port)));
    });

    const fail = (reason: unknown): void => {
      if (finished) return;
      stopEverything();
      result.errback(reason);
    };

    const startNext = (): void => {
      if (nextAttempt?.active()) nextAttempt.cancel();
      nextAttempt = null;
      if (finished) return;
      const address = pending.shift();
      if (address === undefined) {
        if (attempts.size === 0) fail(lastFailure ?? new DNSLookupError(`Couldn't find the hostname '${this.hostText}'`));
        return;
      }
      const endpoint = new TCP4ClientEndpoint(reactor, address.host, this.port, { timeout: this.timeout, bindAddress: this.bindAddress });
      const attempt = endpoint.connect(factory);
      attempts.add(attempt);
      attempt.addCallbacks(
        (protocol) => {
          attempts.delete(attempt);
          if (finished) return null;
          stopEverything();
          result.callback(protocol);
          return null;
        },
        (failure) => {
          attempts.delete(attempt);
          if (finished) return null;
          lastFailure = failure;
          startNext(); // RFC 8305 5: a failed attempt starts the next one at once
          return null;
        },
      );
      if (!finished && pending.length > 0 && nextAttempt === null) {
        nextAttempt = reactor.callLater(this.attemptDelay, startNext);
      }
    };

    if (this.timeout > 0) {
      deadline = reactor.callLater(this.timeout, () => {
        deadline = null;
        fail(new TimeoutError(`Connecting to ${this.hostText}:${this.port} timed out after ${this.timeout} seconds.`));
      });
    }

    let resolution: Deferred<IPv4Address[]>;
    try {
      resolution = resolveAll(nameResolverOf(reactor), this.hostText, this.port);
    } catch (err) {
      fail(err);
      return result;
    }
    resolving = resolution;
    resolution.addCallbacks(
      (addresses) => {
        if (finished) return null;
        resolving = null;
        pending = interleave(addresses);
        if (pending.length === 0) {
          fail(new DNSLookupError(`Couldn't find the hostname '${this.hostText}'`));
          return null;
        }
        startNext();
        return null;
      },
      (failure) => {
        if (!finished) fail(failure);
        return null;
      },
    );
    return result;
  }
}
