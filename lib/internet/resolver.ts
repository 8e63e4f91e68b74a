/**
 * Name resolution, as twisted.internet._resolver and the IHostnameResolver /
 * IReactorPluggableNameResolver interfaces: the reactor holds one resolver, a program (or a test)
 * can install another, and everything that turns a host name into addresses (HostnameEndpoint,
 * the HTTP client) asks the reactor's resolver, never node:dns directly.
 *
 * The default, GAIResolver, is getaddrinfo through node:dns `lookup(name, { all: true })`, as
 * Twisted's default is getaddrinfo in a thread: it honours /etc/hosts and the system's
 * resolver configuration, and Node runs it on libuv's thread pool.
 */

import { lookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { Deferred } from "./deferred.js";
import { DNSLookupError } from "./error.js";
import type { IPv4Address } from "./interfaces.js";

/** One name resolution under way, as IHostResolution. cancel() stops delivering addresses. */
export interface IHostResolution {
  readonly name: string;
  cancel(): void;
}

/**
 * Receives what a resolution finds, as IResolutionReceiver: resolutionBegan once, then
 * addressResolved for each address (in the resolver's order of preference), then
 * resolutionComplete once. An unknown name is no error here: it resolves to no address.
 */
export interface IResolutionReceiver {
  resolutionBegan(resolution: IHostResolution): void;
  addressResolved(address: IPv4Address): void;
  resolutionComplete(): void;
}

/** The address families a caller accepts (Twisted's IPv4Address/IPv6Address classes). */
export type AddressFamily = "IPv4" | "IPv6";

/** A name resolver, as twisted.internet.interfaces.IHostnameResolver. */
export interface IHostnameResolver {
  /**
   * Resolve `hostName`; the addresses carry `portNumber`. `addressTypes` limits the families
   * (default both). Returns the resolution, which receiver.resolutionBegan also gets.
   */
  resolveHostName(
    receiver: IResolutionReceiver,
    hostName: string,
    portNumber?: number,
    addressTypes?: readonly AddressFamily[] | null,
    transportSemantics?: "TCP" | "UDP",
  ): IHostResolution;
}

/** A reactor whose name resolver can be replaced, as IReactorPluggableNameResolver. */
export interface IReactorPluggableNameResolver {
  /** The resolver in use. */
  readonly nameResolver: IHostnameResolver;
  /** Use `resolver` from now on; returns the one it replaces. */
  installNameResolver(resolver: IHostnameResolver): IHostnameResolver;
}

/** A reactor with a name resolver: IReactorPluggableNameResolver plus resolve(). */
export interface IReactorNameResolution extends IReactorPluggableNameResolver {
  /** The first address `name` resolves to, as IReactorCore.resolve (DNSLookupError for none). */
  resolve(name: string): Deferred<string>;
}

function address(family: AddressFamily, host: string, port: number): IPv4Address {
  return { type: "TCP", family, host, port };
}

class Resolution implements IHostResolution {
  cancelled = false;
  constructor(readonly name: string) {}
  cancel(): void {
    this.cancelled = true;
  }
}

/**
 * getaddrinfo through node:dns lookup(name, { all: true }), as Twisted's GAIResolver. An IP
 * literal resolves to itself without a lookup. Failures (ENOTFOUND, EAI_AGAIN) resolve to no
 * address, as getaddrinfo errors do in Twisted; the caller says DNSLookupError.
 */
export class GAIResolver implements IHostnameResolver {
  resolveHostName(
    receiver: IResolutionReceiver,
    hostName: string,
    portNumber = 0,
    addressTypes: readonly AddressFamily[] | null = null,
  ): IHostResolution {
    if (typeof hostName !== "string") throw new TypeError(`resolveHostName: the host name must be a string, not ${typeof hostName}`);
    const resolution = new Resolution(hostName);
    receiver.resolutionBegan(resolution);
    const wants = (family: AddressFamily): boolean => addressTypes === null || addressTypes.includes(family);
    const literal = isIP(hostName);
    if (literal !== 0) {
      const family: AddressFamily = literal === 6 ? "IPv6" : "IPv4";
      if (wants(family)) receiver.addressResolved(address(family, hostName, portNumber));
      receiver.resolutionComplete();
      return resolution;
    }
    const family = addressTypes !== null && addressTypes.length === 1 ? (addressTypes[0] === "IPv6" ? 6 : 4) : 0;
    lookup(hostName, { all: true, family }, (err, addresses: LookupAddress[]) => {
      if (resolution.cancelled) return;
      if (!err) {
        for (const a of addresses) {
          const f: AddressFamily = a.family === 6 ? "IPv6" : "IPv4";
          if (wants(f)) receiver.addressResolved(address(f, a.address, portNumber));
        }
      }
      receiver.resolutionComplete();
    });
    return resolution;
  }
}

/**
 * A resolver answering from a fixed table (name -> addresses), at once: for tests and for
 * programs that pin names, as the deterministic resolvers of Twisted's tests. A name not in the
 * table resolves to no address.
 */
export class StaticResolver implements IHostnameResolver {
  /** Every name asked for, in order. */
  readonly requests: string[] = [];

  constructor(private readonly table: Readonly<Record<string, readonly string[]>>) {}

  resolveHostName(
    receiver: IResolutionReceiver,
    hostName: string,
    portNumber = 0,
    addressTypes: readonly AddressFamily[] | null = null,
  ): IHostResolution {
    this.requests.push(hostName);
    const resolution = new Resolution(hostName);
    receiver.resolutionBegan(resolution);
    const literal = isIP(hostName);
    const hosts = literal !== 0 ? [hostName] : (this.table[hostName] ?? []);
    for (const host of hosts) {
      const family: AddressFamily = isIP(host) === 6 ? "IPv6" : "IPv4";
      if (addressTypes === null || addressTypes.includes(family)) receiver.addressResolved(address(family, host, portNumber));
    }
    receiver.resolutionComplete();
    return resolution;
  }
}

/**
 * Every address `hostName` resolves to through `resolver`, as a Deferred (empty for an unknown
 * name). Cancelling it cancels the resolution.
 */
export function resolveAll(
  resolver: IHostnameResolver,
  hostName: string,
  portNumber = 0,
  addressTypes: readonly AddressFamily[] | null = null,
): Deferred<IPv4Address[]> {
  let resolution: IHostResolution | null = null;
  const d = new Deferred<IPv4Address[]>(() => resolution?.cancel());
  const found: IPv4Address[] = [];
  resolver.resolveHostName(
    {
      resolutionBegan: (r) => {
        resolution = r;
      },
      addressResolved: (a) => {
        found.push(a);
      },
      resolutionComplete: () => {
        if (!d.called) d.callback(found);
      },
    },
    hostName,
    portNumber,
    addressTypes,
  );
  return d;
}

/**
 * What a reactor holds to be IReactorPluggableNameResolver (NodeReactor and MemoryReactor
 * delegate to one): the resolver in use, installNameResolver, and resolve(name), Twisted's
 * IReactorCore.resolve: the first IPv4 address, else the first address, else DNSLookupError.
 */
export class PluggableNameResolver implements IReactorNameResolution {
  private current: IHostnameResolver;

  constructor(resolver: IHostnameResolver = new GAIResolver()) {
    this.current = resolver;
  }

  get nameResolver(): IHostnameResolver {
    return this.current;
  }

  installNameResolver(resolver: IHostnameResolver): IHostnameResolver {
    if (typeof resolver?.resolveHostName !== "function") {
      throw new TypeError(`installNameResolver: ${String(resolver)} is not an IHostnameResolver (no resolveHostName)`);
    }
    const old = this.current;
    this.current = resolver;
    return old;
  }

  resolve(name: string): Deferred<string> {
    if (typeof name !== "string") throw new TypeError(`resolve: the name must be a string, not ${typeof name}`);
    return resolveAll(this.current, name).addCallback((addresses) => {
      const chosen = addresses.find((a) => a.family === "IPv4") ?? addresses[0];
      if (chosen === undefined) throw new DNSLookupError(`Couldn't find the hostname '${name}'`);
      return chosen.host;
    });
  }
}

/** The reactor's resolver if it has one (IReactorPluggableNameResolver), else a GAIResolver. */
export function nameResolverOf(reactor: unknown): IHostnameResolver {
  const r = (reactor as Partial<IReactorPluggableNameResolver> | null)?.nameResolver;
  return r && typeof r.resolveHostName === "function" ? r : defaultResolver;
}

const defaultResolver = new GAIResolver();
