/**
 * A chat server, as the chat example of Twisted's "Writing Servers" howto: each client picks a
 * name, then every line it sends goes to everyone else. A client silent for `idleTimeout`
 * seconds is disconnected.
 *
 *     node build/examples/chat-server.js [port]     (default 8123; Ctrl-C stops it)
 *
 * Try it with two terminals running `telnet 127.0.0.1 8123` (or `nc -C`: LineReceiver waits for
 * CRLF, which plain `nc` does not send). The protocol classes are exported so
 * examples/chat-test.ts can test them without a socket and without waiting.
 */
import { pathToFileURL } from "node:url";
import {
  Factory,
  LineReceiver,
  reactor,
  type Failure,
  type IAddress,
  type IDelayedCall,
  type IPv4Address,
  type IReactorTime,
} from "torsion";

export class Chat extends LineReceiver {
  private name: string | null = null;
  private state: "GETNAME" | "CHAT" = "GETNAME";
  private idleCall: IDelayedCall | null = null;

  constructor(
    private readonly users: Map<string, Chat>,
    private readonly clock: IReactorTime,
    private readonly idleTimeout: number,
  ) {
    super();
  }

  override connectionMade(): void {
    this.sendLine(Buffer.from("What's your name?"));
    this.idleCall = this.clock.callLater(this.idleTimeout, () => this.timedOut());
  }

  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    if (this.idleCall?.active()) this.idleCall.cancel();
    if (this.name !== null && this.users.get(this.name) === this) this.users.delete(this.name);
  }

  override lineReceived(line: Buffer): void {
    this.idleCall?.reset(this.idleTimeout);
    if (this.state === "GETNAME") this.handleGETNAME(line.toString());
    else this.handleCHAT(line.toString());
  }

  private timedOut(): void {
    this.sendLine(Buffer.from("Idle for too long, bye."));
    this.transport!.loseConnection();
  }

  private handleGETNAME(name: string): void {
    if (this.users.has(name)) {
      this.sendLine(Buffer.from("Name taken, please choose another."));
      return;
    }
    this.sendLine(Buffer.from(`Welcome, ${name}!`));
    this.name = name;
    this.users.set(name, this);
    this.state = "CHAT";
  }

  private handleCHAT(message: string): void {
    const line = Buffer.from(`<${this.name}> ${message}`);
    for (const protocol of this.users.values()) {
      if (protocol !== this) protocol.sendLine(line);
    }
  }
}

export class ChatFactory extends Factory {
  readonly users = new Map<string, Chat>();

  /** `clock` is the reactor by default; tests pass a Clock and move time themselves. */
  constructor(
    private readonly clock: IReactorTime = reactor,
    private readonly idleTimeout = 300,
  ) {
    super();
  }

  override buildProtocol(_addr: IAddress): Chat {
    return new Chat(this.users, this.clock, this.idleTimeout);
  }
}

// Run the server only when started as a program, not when imported by chat-test.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 8123);
  const listening = reactor.listenTCP(port, new ChatFactory(), { interface: "127.0.0.1" });
  const stopped = reactor.run();
  console.log(`chat server listening on ${(listening.getHost() as IPv4Address).port}`);
  await stopped;
  console.log("chat server stopped");
}
