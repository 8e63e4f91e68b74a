/**
 * ProcessProtocol, as twisted.internet.protocol.ProcessProtocol: the base class of what
 * reactor.spawnProcess talks to. childDataReceived and childConnectionLost dispatch the three
 * standard descriptors to outReceived/errReceived and inConnectionLost/outConnectionLost/
 * errConnectionLost; override childDataReceived for other descriptors.
 */

import type { Failure } from "./failure.js";
import type { Bytes, IProcessProtocol, IProcessTransport } from "./interfaces.js";

export class ProcessProtocol implements IProcessProtocol {
  /** The running child, set by makeConnection. */
  transport: IProcessTransport | null = null;
  /** True between makeConnection and processEnded. */
  connected = false;

  makeConnection(process: IProcessTransport): void {
    this.connected = true;
    this.transport = process;
    this.connectionMade();
  }

  /** Called once the child is started (its pid is known): write its input from here. */
  connectionMade(): void {}

  /** The child wrote `data` on its descriptor `childFD`: 1 goes to outReceived, 2 to errReceived. */
  childDataReceived(childFD: number, data: Bytes): void {
    if (childFD === 1) this.outReceived(data);
    else if (childFD === 2) this.errReceived(data);
  }

  /** Some data came from the child's standard output. */
  outReceived(_data: Bytes): void {}

  /** Some data came from the child's standard error. */
  errReceived(_data: Bytes): void {}

  /** The pipe of the child's descriptor `childFD` is closed: 0, 1 and 2 have methods of their own. */
  childConnectionLost(childFD: number): void {
    if (childFD === 0) this.inConnectionLost();
    else if (childFD === 1) this.outConnectionLost();
    else if (childFD === 2) this.errConnectionLost();
  }

  /** The child's standard input is closed. */
  inConnectionLost(): void {}

  /** The child's standard output is closed. */
  outConnectionLost(): void {}

  /** The child's standard error is closed. */
  errConnectionLost(): void {}

  /** The child has exited (some of its pipes may still be open: a grandchild may hold them). */
  processExited(_reason: Failure): void {}

  /** The child has exited and every pipe is closed: the last call. ProcessDone or ProcessTerminated. */
  processEnded(_reason: Failure): void {
    this.connected = false;
  }

  /** The prefix of log messages about this protocol: its class name. */
  logPrefix(): string {
    return this.constructor.name;
  }
}
