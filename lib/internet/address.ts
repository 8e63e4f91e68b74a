/**
 * Address values, as twisted.internet.address. interfaces.ts declares their shapes; these make
 * them, frozen, so an address handed out by a transport cannot be changed by its receiver.
 */

import { isIPv6 } from "node:net";
import type { IPv4Address, UNIXAddress } from "./interfaces.js";

/** An IPv4Address (or its IPv6 twin), as IPv4Address("TCP", host, port); the family is inferred from the host. */
export function ipAddress(host: string, port: number, family?: "IPv4" | "IPv6" | string): IPv4Address {
  const fam = family === "IPv6" || (family === undefined && isIPv6(host)) ? "IPv6" : "IPv4";
  return Object.freeze({ type: "TCP" as const, family: fam, host, port });
}

/** A UNIXAddress, as twisted.internet.address.UNIXAddress(name). */
export function unixAddress(name: string | null): UNIXAddress {
  return Object.freeze({ type: "UNIX" as const, name });
}
