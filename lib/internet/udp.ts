/**
 * UDP ports, as twisted.internet.udp (Port, MulticastPort), on node:dgram.
 *
 * Twisted's contracts kept on Node:
 * - listenUDP binds before it returns: a port in use raises CannotListenError there (Node's bind
 *   is asynchronous because it resolves the address first; the sockets here resolve only IP
 *   literals, at once, which is also Twisted's rule: UDP takes IP addresses, not names).
 * - write(datagram, addr) raises at once for what cannot be sent: bytes only (TypeError), an
 *   address that is not an IP literal of the port's family (InvalidAddressError), a datagram
 *   longer than IP allows (MessageLengthError).
 * - A datagram longer than maxPacketSize is delivered cut to maxPacketSize bytes, as Twisted's
 *   recvfrom(maxPacketSize) does.
 * - On a connected port, ICMP "port unreachable" reaches protocol.connectionRefused().
 * - An exception from datagramReceived is logged and the port goes on.
 */

import * as dgram from "node:dgram";
import { isIP } from "node:net";
import type { ResourceTracker, ShutdownResource } from "./abstract.js";
import { Deferred, fail, succeed } from "./deferred.js";
import { CannotListenError, InvalidAddressError, MessageLengthError, MulticastJoinError } from "./error.js";
import type {
  Bytes,
  IDatagramProtocol,
  IMulticastTransport,
  IUDPTransport,
  ListenMulticastOptions,
  ListenUDPOptions,
  UDPAddress,
  UDPPeer,
} from "./interfaces.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.udp");

/** The longest UDP payload IPv4 (65,535 - 8 - 20) and IPv6 (65,535 - 8) can carry. */
const MAX_DATAGRAM = { 4: 65507, 6: 65527 } as const;

/** A port number: an integer 0-65535, else RangeError naming the value. */
export function checkPort(port: unknown, what = "port"): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${what} must be an integer from 0 to 65535, not ${typeof port === "string" ? JSON.stringify(port) : String(port)}`);
  }
  return port;
}

function udpAddress(host: string, port: number, family: 4 | 6): UDPAddress {
  return Object.freeze({ type: "UDP" as const, family: family === 6 ? "IPv6" : "IPv4", host, port });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string, family?: number) => void;

/**
 * dgram's resolver for these sockets: IP literals only, answered at once. dgram binds,
 * connects and sends through it, so each happens within the call that asks for it.
 */
function literalLookup(hostname: string, options: unknown, callback?: LookupCallback): void {
  const cb = (typeof options === "function" ? options : callback) as LookupCallback;
  // a server answers the same few peers over and over: remember the last literal checked
  if (hostname === lastLiteral) {
    cb(null, hostname, lastFamily);
    return;
  }
  const family = isIP(hostname);
  if (family === 0) {
    const err: NodeJS.ErrnoException = new InvalidAddressError(hostname, "not an IPv4 or IPv6 address");
    err.code = "EINVAL";
    cb(err);
    return;
  }
  lastLiteral = hostname;
  lastFamily = family;
  cb(null, hostname, family);
}

let lastLiteral = "";
let lastFamily = 4;

/** A UDP port: listenUDP's result, the IUDPTransport its protocol writes to. */
export class Port implements IUDPTransport, ShutdownResource {
  /** The node:dgram socket, while listening. */
  socket: dgram.Socket | null = null;
  /** True while bound. */
  connected = false;
  /** The interface bound ("" in Twisted's sense: every IPv4 address). */
  readonly interface: string;
  readonly maxPacketSize: number;
  /** The address family of the port: 4 or 6. */
  readonly family: 4 | 6;
  private connectedAddr: UDPPeer | null = null;
  /** The host of the last write(), already checked (an IP literal of this port's family). */
  private lastPeerHost: unknown = null;
  private broadcast = false;
  private stopping: Deferred<void> | null = null;
  private realPort: number | null = null;
  private readonly boundMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => this.onMessage(msg, rinfo);
  private readonly boundAfterConnectedSend = (err: Error | null): void => {
    if (err) this.onSocketError(err);
  };

  constructor(
    readonly port: number,
    readonly protocol: IDatagramProtocol,
    options: ListenUDPOptions,
    protected readonly reactor: ResourceTracker,
  ) {
    checkPort(port);
    if (protocol === null || typeof protocol !== "object" || typeof protocol.datagramReceived !== "function") {
      throw new TypeError(`listenUDP needs a DatagramProtocol, not ${protocol === null ? "null" : typeof protocol}`);
    }
    const iface = options.interface ?? "";
    if (typeof iface !== "string") throw new TypeError(`interface must be a string, not ${typeof iface}`);
    const family = iface === "" ? 4 : isIP(iface);
    if (family === 0) throw new InvalidAddressError(iface, "the interface must be an IPv4 or IPv6 address");
    this.family = family as 4 | 6;
    this.interface = iface;
    const max = options.maxPacketSize ?? 8192;
    if (!Number.isInteger(max) || max < 1 || max > 65535) throw new RangeError(`maxPacketSize must be an integer from 1 to 65535, not ${max}`);
    this.maxPacketSize = max;
  }

  protected socketOptions(): dgram.SocketOptions {
    return { type: this.family === 6 ? "udp6" : "udp4", lookup: literalLookup as unknown as dgram.SocketOptions["lookup"] };
  }

  /** Bind now, then start the protocol. Raises CannotListenError (a port in use, an address not here). */
  startListening(): void {
    const socket = dgram.createSocket(this.socketOptions());
    let bindError: Error | null = null;
    const onBindError = (err: Error): void => {
      bindError = err;
    };
    socket.once("error", onBindError);
    const host = this.interface === "" ? "0.0.0.0" : this.interface;
    socket.bind({ port: this.port, address: host, exclusive: true });
    socket.removeListener("error", onBindError);
    if (bindError !== null || this.boundPort(socket) === null) {
      try {
        socket.close();
      } catch {
        // never bound
      }
      throw new CannotListenError(this.interface, this.port, bindError ?? new Error("the socket did not bind"));
    }
    this.socket = socket;
    this.connected = true;
    this.realPort = this.boundPort(socket);
    socket.on("message", this.boundMessage);
    socket.on("error", (err) => this.onSocketError(err));
    this.reactor._track?.(this);
    log.debug("UDP port {port} opened ({protocol})", { port: String(this.realPort), protocol: this.protocol.constructor?.name });
    try {
      this.protocol.makeConnection(this);
    } catch (err) {
      // the port stays open and returned (the caller can stop it), as a raising connectionMade
      log.failure("Unhandled error in {protocol}.startProtocol", err, { protocol: this.protocol.constructor?.name });
    }
  }

  private boundPort(socket: dgram.Socket): number | null {
    try {
      return socket.address().port;
    } catch {
      return null;
    }
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const data = msg.length > this.maxPacketSize ? msg.subarray(0, this.maxPacketSize) : msg;
    try {
      this.protocol.datagramReceived(data, [rinfo.address, rinfo.port]);
    } catch (err) {
      log.failure("Unhandled error in {protocol}.datagramReceived", err, { protocol: this.protocol.constructor?.name });
    }
  }

  private onSocketError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED") {
      // only a connected socket is told of ICMP errors; an unconnected one ignores them, as Twisted's
      if (this.connectedAddr === null) return;
      try {
        this.protocol.connectionRefused();
      } catch (e) {
        log.failure("Unhandled error in {protocol}.connectionRefused", e, { protocol: this.protocol.constructor?.name });
      }
      return;
    }
    log.failure("Error on UDP port {port}", err, { port: String(this.realPort) });
  }

  // --- writing -------------------------------------------------------------------------

  /**
   * Send `datagram` to `addr` ([host, port], host an IP literal of the port's family), or to
   * the connected peer when the port is connected (then give no address).
   */
  write(datagram: Bytes, addr?: UDPPeer): void {
    if (!(datagram instanceof Uint8Array)) {
      throw new TypeError(`A datagram must be bytes (a Uint8Array), not ${datagram === null ? "null" : typeof datagram}`);
    }
    const socket = this.socket;
    if (datagram.length > MAX_DATAGRAM[this.family]) {
      throw new MessageLengthError(`Message is too long to send: ${datagram.length} bytes (at most ${MAX_DATAGRAM[this.family]}).`);
    }
    if (this.connectedAddr !== null) {
      if (addr !== undefined && (addr[0] !== this.connectedAddr[0] || addr[1] !== this.connectedAddr[1])) {
        throw new InvalidAddressError(String(addr[0]), `this port is connected to ${this.connectedAddr[0]}:${this.connectedAddr[1]}`);
      }
      if (socket !== null) socket.send(datagram, this.boundAfterConnectedSend);
      return;
    }
    if (addr === undefined || addr === null || !Array.isArray(addr)) {
      throw new TypeError("write() on an unconnected UDP port needs an address: [host, port]");
    }
    const host = addr[0];
    const port = addr[1];
    // the checks of the last peer written to hold for it still (the hot path of a server answering)
    if (host !== this.lastPeerHost || !Number.isInteger(port) || port < 0 || port > 65535) {
      this.checkPeer(host, port, "write()");
      this.lastPeerHost = host;
    }
    if (socket !== null) socket.send(datagram, port, host);
  }

  /** Send the concatenation of `seq` as one datagram. */
  writeSequence(seq: Iterable<Bytes>, addr?: UDPPeer): void {
    const chunks = [...seq];
    for (const c of chunks) if (!(c instanceof Uint8Array)) throw new TypeError(`A datagram must be bytes (a Uint8Array), not ${typeof c}`);
    this.write(Buffer.concat(chunks), addr);
  }

  private checkPeer(host: unknown, port: unknown, what: string): void {
    if (typeof host !== "string") throw new TypeError(`${what}: the host must be a string, not ${typeof host}`);
    const family = isIP(host);
    if (family === 0) throw new InvalidAddressError(host, `${what} only accepts IP addresses, not hostnames`);
    if (family !== this.family) {
      throw new InvalidAddressError(host, `${what} on an IPv${this.family} port needs an IPv${this.family} address`);
    }
    checkPort(port, `${what}: the port`);
  }

  /**
   * Connect to host:port: write() then needs no address, only datagrams from there are
   * received, and a refusal reaches connectionRefused(). Once only, as Twisted's.
   */
  connect(host: string, port: number): void {
    if (this.connectedAddr !== null) throw new Error("already connected, reconnecting is not currently supported");
    this.checkPeer(host, port, "connect()");
    this.connectedAddr = Object.freeze([host, port] as const);
    this.socket?.connect(port, host);
  }

  // --- addresses, options --------------------------------------------------------------

  /** The address bound (port 0 asked: the port the system picked). */
  getHost(): UDPAddress {
    const a = this.socket?.address();
    if (a) return udpAddress(a.address, a.port, this.family);
    return udpAddress(this.interface === "" ? (this.family === 6 ? "::" : "0.0.0.0") : this.interface, this.realPort ?? this.port, this.family);
  }

  setBroadcastAllowed(enabled: boolean): void {
    this.socket?.setBroadcast(Boolean(enabled));
    this.broadcast = Boolean(enabled);
  }

  getBroadcastAllowed(): boolean {
    return this.broadcast;
  }

  // --- closing -------------------------------------------------------------------------

  /** Close the port; the Deferred fires once it is closed and the protocol's doStop has run. */
  stopListening(): Deferred<void> {
    if (this.stopping !== null) return this.stopping;
    const socket = this.socket;
    if (socket === null) return succeed<void>(undefined);
    const d = new Deferred<void>();
    this.stopping = d;
    socket.removeListener("message", this.boundMessage);
    socket.close(() => {
      this.socket = null;
      this.connected = false;
      this.reactor._untrack?.(this);
      log.debug("(UDP Port {port} Closed)", { port: String(this.realPort) });
      try {
        this.protocol.doStop();
      } catch (err) {
        log.failure("Unhandled error in {protocol}.stopProtocol", err, { protocol: this.protocol.constructor?.name });
      }
      this.stopping = null;
      d.callback(undefined);
    });
    return d;
  }

  loseConnection(): Deferred<void> {
    return this.stopListening();
  }

  closeForShutdown(): PromiseLike<unknown> {
    return this.stopListening();
  }

  toString(): string {
    const name = this.protocol.constructor?.name ?? "DatagramProtocol";
    return this.realPort !== null && this.connected ? `<${name} on ${this.realPort}>` : `<${name} not connected>`;
  }
}

/** A UDP port in multicast groups: listenMulticast's result. */
export class MulticastPort extends Port implements IMulticastTransport {
  private readonly listenMultiple: boolean;
  private ttl = 1;
  private loopback = true;
  private outgoing = "";

  constructor(port: number, protocol: IDatagramProtocol, options: ListenMulticastOptions, reactor: ResourceTracker) {
    super(port, protocol, options, reactor);
    this.listenMultiple = options.listenMultiple ?? false;
  }

  protected override socketOptions(): dgram.SocketOptions {
    return { ...super.socketOptions(), reuseAddr: this.listenMultiple };
  }

  private group(addr: string, iface: string, join: boolean): Deferred<void> {
    if (typeof addr !== "string" || isIP(addr) === 0) return fail(new InvalidAddressError(String(addr), "a multicast group is an IP address"));
    const socket = this.socket;
    if (socket === null) return fail(new MulticastJoinError(`the port is not listening (group ${addr})`));
    try {
      if (join) socket.addMembership(addr, iface || undefined);
      else socket.dropMembership(addr, iface || undefined);
    } catch (err) {
      return fail(new MulticastJoinError(`${join ? "joining" : "leaving"} ${addr}${iface ? ` on ${iface}` : ""} failed: ${(err as Error).message}`, { cause: err }));
    }
    return succeed<void>(undefined);
  }

  /** Join the multicast group `addr` (on the interface `iface`, by its address; "" any). */
  joinGroup(addr: string, iface = ""): Deferred<void> {
    return this.group(addr, iface, true);
  }

  leaveGroup(addr: string, iface = ""): Deferred<void> {
    return this.group(addr, iface, false);
  }

  getTTL(): number {
    return this.ttl;
  }

  /** The time-to-live of multicast datagrams sent (1: this network only). */
  setTTL(ttl: number): void {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw new RangeError(`a TTL is an integer from 0 to 255, not ${ttl}`);
    this.socket?.setMulticastTTL(ttl);
    this.ttl = ttl;
  }

  getLoopbackMode(): boolean {
    return this.loopback;
  }

  /** Whether this host's own sockets in the group receive what this port sends to it. */
  setLoopbackMode(mode: boolean): void {
    this.socket?.setMulticastLoopback(Boolean(mode));
    this.loopback = Boolean(mode);
  }

  getOutgoingInterface(): string {
    return this.outgoing || (this.family === 6 ? "::" : "0.0.0.0");
  }

  /** Send multicast datagrams through the interface with address `addr`. */
  setOutgoingInterface(addr: string): Deferred<void> {
    if (typeof addr !== "string" || isIP(addr) === 0) return fail(new InvalidAddressError(String(addr), "an interface is given by its IP address"));
    try {
      this.socket?.setMulticastInterface(addr);
    } catch (err) {
      return fail(err);
    }
    this.outgoing = addr;
    return succeed<void>(undefined);
  }
}
