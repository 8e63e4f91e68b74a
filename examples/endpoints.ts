/**
 * Endpoints: a server and a client, each named by a description string, as in Twisted's
 * "Getting Connected with Endpoints". The server listens on a free port of 127.0.0.1, the client
 * connects to it, sends one message, prints the answer, and everything shuts down.
 *
 *     node build/examples/endpoints.js ["tcp:0:interface=127.0.0.1"]
 */
import {
  clientFromString,
  connectProtocol,
  Factory,
  Protocol,
  reactor,
  serverFromString,
  type Bytes,
  type Failure,
  type IListeningPort,
} from "torsion";

/** The server's protocol: answers each message in upper case. */
class Shout extends Protocol {
  override dataReceived(data: Bytes): void {
    this.transport!.write(Buffer.from(Buffer.from(data).toString().toUpperCase()));
  }
}

/** The client's protocol: says something, and hangs up once it has heard the answer. */
class Greeter extends Protocol {
  private heard = "";

  constructor(private readonly message: string) {
    super();
  }

  override dataReceived(data: Bytes): void {
    this.heard += Buffer.from(data).toString();
    if (this.heard.length >= this.message.length) {
      console.log(`client: the server answered ${JSON.stringify(this.heard)}`);
      this.transport!.loseConnection();
    }
  }

  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    console.log("client: connection closed");
    reactor.stop();
  }
}

/** The description of a client endpoint that reaches `port`. */
function clientDescriptionFor(port: IListeningPort): string {
  const host = port.getHost();
  return host.type === "TCP" ? `tcp:host=${host.host}:port=${host.port}` : `unix:${host.name}`;
}

const serverDescription = process.argv[2] ?? "tcp:0:interface=127.0.0.1";
const server = serverFromString(reactor, serverDescription);

server
  .listen(Factory.forProtocol(Shout))
  .addCallback((port) => {
    const description = clientDescriptionFor(port);
    console.log(`server: listening on ${serverDescription} (${JSON.stringify(port.getHost())})`);
    console.log(`client: connecting to ${description}`);
    // Stop listening when the reactor shuts down.
    reactor.addSystemEventTrigger("before", "shutdown", () => port.stopListening());
    return connectProtocol(clientFromString(reactor, description), new Greeter("hello, endpoints"));
  })
  .addCallback((greeter) => {
    greeter.transport!.write(Buffer.from("hello, endpoints"));
  })
  .addErrback((failure) => {
    console.log(`failed: ${failure.getErrorMessage()}`);
    process.exitCode = 1;
    reactor.stop();
  });

await reactor.run();
