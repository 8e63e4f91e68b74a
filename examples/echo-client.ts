/**
 * An echo client: connects, sends one line, prints what comes back, and stops.
 *
 *     node build/examples/echo-client.js [port] [message]     (default 8000, "hello, world")
 */
import { ClientFactory, Protocol, reactor, type Bytes, type Failure, type IConnector } from "torsion";

const port = Number(process.argv[2] ?? 8000);
const message = process.argv[3] ?? "hello, world";

class EchoClient extends Protocol {
  private received = "";

  override connectionMade(): void {
    this.transport!.write(Buffer.from(`${message}\r\n`));
  }

  override dataReceived(data: Bytes): void {
    this.received += Buffer.from(data).toString();
    if (this.received.endsWith("\r\n")) {
      console.log(`Server said: ${this.received.trimEnd()}`);
      this.transport!.loseConnection();
    }
  }
}

class EchoClientFactory extends ClientFactory {
  override protocol = EchoClient;

  override clientConnectionFailed(_connector: IConnector, reason: Failure): void {
    console.log(`Connection failed: ${reason.getErrorMessage()}`);
    process.exitCode = 1;
    reactor.stop();
  }

  override clientConnectionLost(_connector: IConnector, _reason: Failure): void {
    console.log("Connection lost");
    reactor.stop();
  }
}

reactor.connectTCP("127.0.0.1", port, new EchoClientFactory());
await reactor.run();
