/**
 * The endpoints of twisted.internet.endpoints over processes and standard I/O:
 * ProcessEndpoint (a client endpoint whose "connection" is a child process: the protocol's
 * dataReceived gets its stdout, write() goes to its stdin) and StandardIOEndpoint (a server
 * endpoint whose one "connection" is this process's own stdin and stdout).
 */

import { Deferred, fail, succeed } from "./deferred.js";
import { ConnectionDone, ProcessDone } from "./error.js";
import { Failure } from "./failure.js";
import type {
  Bytes,
  IAddress,
  IProcessProtocol,
  IProcessTransport,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  IReactorProcess,
  ITransport,
  SpawnProcessOptions,
} from "./interfaces.js";
import { Logger } from "./log.js";
import { StandardIO, type StandardIOOptions } from "./stdio.js";

const log = new Logger("torsion.internet.endpoints.ProcessEndpoint");

const PROCESS_ADDRESS = Object.freeze({ type: "Process" as const }) as unknown as IAddress;
const PIPE_ADDRESS = Object.freeze({ type: "Pipe" as const }) as unknown as IAddress;

/** What ProcessEndpoint does with the child's stderr, as Twisted's StandardErrorBehavior. */
export const StandardErrorBehavior = Object.freeze({ LOG: "LOG", DROP: "DROP" } as const);
export type StandardErrorBehavior = (typeof StandardErrorBehavior)[keyof typeof StandardErrorBehavior];

/**
 * The transport a ProcessEndpoint's protocol is given: the process transport seen as an
 * ITransport (Twisted's _ProcessEndpointTransport), with the process's own methods too
 * (signalProcess, closeStdin, writeToChild, ...). getHost()/getPeer() answer a ProcessAddress
 * ({ type: "Process" }).
 */
export class ProcessEndpointTransport implements ITransport, IPushProducer {
  constructor(readonly process: IProcessTransport) {}

  get pid(): number | null {
    return this.process.pid;
  }
  write(data: Bytes): void {
    this.process.write(data);
  }
  writeSequence(data: Iterable<Bytes>): void {
    this.process.writeSequence(data);
  }
  loseConnection(): void {
    this.process.loseConnection();
  }
  getHost(): IAddress {
    return PROCESS_ADDRESS;
  }
  getPeer(): IAddress {
    return PROCESS_ADDRESS;
  }
  registerProducer(producer: IPushProducer | IPullProducer, streaming: boolean): void {
    this.process.registerProducer(producer, streaming);
  }
  unregisterProducer(): void {
    this.process.unregisterProducer();
  }
  pauseProducing(): void {
    this.process.pauseProducing();
  }
  resumeProducing(): void {
    this.process.resumeProducing();
  }
  stopProducing(): void {
    this.process.stopProducing();
  }
  signalProcess(signal: Parameters<IProcessTransport["signalProcess"]>[0]): void {
    this.process.signalProcess(signal);
  }
  writeToChild(childFD: number, data: Bytes): void {
    this.process.writeToChild(childFD, data);
  }
  closeChildFD(childFD: number): void {
    this.process.closeChildFD(childFD);
  }
  closeStdin(): void {
    this.process.closeStdin();
  }
  closeStdout(): void {
    this.process.closeStdout();
  }
  closeStderr(): void {
    this.process.closeStderr();
  }
}

/** A process protocol driving an IProtocol (Twisted's _WrapIProtocol). */
class WrapIProtocol implements IProcessProtocol {
  transport: ProcessEndpointTransport | null = null;

  constructor(
    readonly protocol: IProtocol,
    private readonly executable: string,
    private readonly errFlag: StandardErrorBehavior,
  ) {}

  makeConnection(process: IProcessTransport): void {
    this.transport = new ProcessEndpointTransport(process);
    this.protocol.makeConnection(this.transport);
  }

  childDataReceived(childFD: number, data: Bytes): void {
    if (childFD === 1) {
      this.protocol.dataReceived(data);
    } else if (childFD === 2 && this.errFlag === StandardErrorBehavior.LOG) {
      log.info("Process {executable} wrote stderr unhandled by {protocol}: {data}", {
        executable: this.executable,
        protocol: this.protocol.constructor?.name,
        data: Buffer.from(data).toString(),
      });
    }
  }

  childConnectionLost(_childFD: number): void {}

  processExited(_reason: Failure): void {}

  /** ProcessDone becomes ConnectionDone; anything else (ProcessTerminated) is passed on. */
  processEnded(reason: Failure): void {
    if (reason.check(ProcessDone)) this.protocol.connectionLost(new Failure(new ConnectionDone()));
    else this.protocol.connectionLost(reason);
  }
}

/** Options of ProcessEndpoint: spawnProcess's, and what to do with stderr (default LOG). */
export interface ProcessEndpointOptions extends SpawnProcessOptions {
  errFlag?: StandardErrorBehavior;
}

/**
 * A client endpoint that runs `executable` with `args` (args[0] is its argv[0], as
 * spawnProcess) for each connect(): the factory's protocol talks to the child's stdin and
 * stdout. connect() fires with the protocol; a child that cannot run ends it with
 * ProcessSpawnError in connectionLost.
 */
export class ProcessEndpoint {
  constructor(
    private readonly reactor: IReactorProcess,
    readonly executable: string,
    readonly args: readonly string[] = [],
    readonly options: ProcessEndpointOptions = {},
  ) {
    const flag = options.errFlag;
    if (flag !== undefined && flag !== StandardErrorBehavior.LOG && flag !== StandardErrorBehavior.DROP) {
      throw new RangeError(`errFlag must be StandardErrorBehavior.LOG or DROP, not ${JSON.stringify(flag)}`);
    }
  }

  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    try {
      const proto = factory.buildProtocol(PROCESS_ADDRESS);
      if (proto === null) throw new TypeError("the factory's buildProtocol returned null");
      const { errFlag, ...spawnOptions } = this.options;
      this.reactor.spawnProcess(new WrapIProtocol(proto, this.executable, errFlag ?? StandardErrorBehavior.LOG), this.executable, this.args, spawnOptions);
      return succeed(proto);
    } catch (err) {
      return fail(err);
    }
  }
}

/**
 * A server endpoint on this process's standard input and output: listen(factory) connects one
 * protocol to a StandardIO and fires with it.
 */
export class StandardIOEndpoint {
  constructor(private readonly options: StandardIOOptions = {}) {}

  listen(factory: IProtocolFactory): Deferred<StandardIO> {
    try {
      const proto = factory.buildProtocol(PIPE_ADDRESS);
      if (proto === null) throw new TypeError("the factory's buildProtocol returned null");
      return succeed(new StandardIO(proto, this.options));
    } catch (err) {
      return fail(err);
    }
  }
}
