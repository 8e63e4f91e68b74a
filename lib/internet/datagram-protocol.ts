/**
 * DatagramProtocol, as twisted.internet.protocol.DatagramProtocol: what a UDP port delivers
 * datagrams to. startProtocol runs when the first port starts using it, stopProtocol when the
 * last one stops (the port counts, as Twisted's numPorts).
 */

import type { Bytes, IDatagramProtocol, IUDPTransport, UDPPeer } from "./interfaces.js";
import { Logger } from "./log.js";

const log = new Logger("torsion.internet.protocol.DatagramProtocol");

export class DatagramProtocol implements IDatagramProtocol {
  /** The port, from makeConnection until the last port stops using the protocol. */
  transport: IUDPTransport | null = null;
  /** How many ports use this protocol now. */
  numPorts = 0;
  /** Log "Starting protocol"/"Stopping protocol" (off by default here; Twisted's is on). */
  noisy = false;

  /** Called by the port once bound; not for users. */
  makeConnection(transport: IUDPTransport): void {
    this.transport = transport;
    this.doStart();
  }

  /** Calls startProtocol on the first port. */
  doStart(): void {
    if (this.numPorts === 0) {
      if (this.noisy) log.info("Starting protocol {protocol}", { protocol: this.constructor.name });
      this.startProtocol();
    }
    this.numPorts++;
  }

  /** Called by the port when it stops; stopProtocol runs when the last port has stopped. */
  doStop(): void {
    if (this.numPorts === 0) return;
    this.numPorts--;
    this.transport = null;
    if (this.numPorts === 0) {
      if (this.noisy) log.info("Stopping protocol {protocol}", { protocol: this.constructor.name });
      this.stopProtocol();
    }
  }

  /** The port is ready: send the first datagram, join groups, connect. */
  startProtocol(): void {}

  /** The last port has stopped. */
  stopProtocol(): void {}

  /** A datagram arrived from `addr` (host, port). */
  datagramReceived(_datagram: Bytes, _addr: UDPPeer): void {}

  /** On a connected port: the peer refused a datagram (nothing listens there). */
  connectionRefused(): void {}

  logPrefix(): string {
    return this.constructor.name;
  }
}
