/**
 * The UDP port MemoryReactor hands out for listenUDP/listenMulticast: it records what the
 * protocol writes and the options it sets, and sends nothing.
 */

import { isIPv6 } from "node:net";
import { succeed, type Deferred } from "./deferred.js";
import type { Bytes, IMulticastTransport, UDPAddress, UDPPeer } from "./interfaces.js";

export class FakeDatagramPort implements IMulticastTransport {
  /** Every write: [datagram, address or null when connected]. */
  readonly written: Array<[datagram: Buffer, addr: UDPPeer | null]> = [];
  /** The connect() call, if any. */
  connectedTo: UDPPeer | null = null;
  /** False once stopListening() has been called. */
  listening = true;
  readonly groups = new Set<string>();
  private broadcast = false;
  private ttl = 1;
  private loopback = true;
  private outgoing = "0.0.0.0";

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  write(datagram: Bytes, addr?: UDPPeer): void {
    this.written.push([Buffer.from(datagram), addr ?? null]);
  }
  writeSequence(seq: Iterable<Bytes>, addr?: UDPPeer): void {
    this.write(Buffer.concat([...seq]), addr);
  }
  connect(host: string, port: number): void {
    this.connectedTo = [host, port];
  }
  getHost(): UDPAddress {
    return Object.freeze({ type: "UDP" as const, family: isIPv6(this.host) ? "IPv6" : "IPv4", host: this.host, port: this.port });
  }
  stopListening(): Deferred<void> {
    this.listening = false;
    return succeed<void>(undefined);
  }
  loseConnection(): Deferred<void> {
    return this.stopListening();
  }
  setBroadcastAllowed(enabled: boolean): void {
    this.broadcast = enabled;
  }
  getBroadcastAllowed(): boolean {
    return this.broadcast;
  }
  getOutgoingInterface(): string {
    return this.outgoing;
  }
  setOutgoingInterface(addr: string): Deferred<void> {
    this.outgoing = addr;
    return succeed<void>(undefined);
  }
  getLoopbackMode(): boolean {
    return this.loopback;
  }
  setLoopbackMode(mode: boolean): void {
    this.loopback = mode;
  }
  getTTL(): number {
    return this.ttl;
  }
  setTTL(ttl: number): void {
    this.ttl = ttl;
  }
  joinGroup(addr: string): Deferred<void> {
    this.groups.add(addr);
    return succeed<void>(undefined);
  }
  leaveGroup(addr: string): Deferred<void> {
    this.groups.delete(addr);
    return succeed<void>(undefined);
  }
}
