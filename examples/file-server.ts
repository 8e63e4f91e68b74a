/**
 * A file server: every client that connects is sent one file, with FileSender, and the
 * connection is closed when the whole file has gone.
 *
 *     node build/examples/file-server.js [port] [file]     (default 8124 and this program)
 *
 * Try it with `nc 127.0.0.1 8124 > copy`. FileSender is a pull producer: the transport asks it
 * for the next 16 KiB chunk only when what it has sent so far is flushed, so a slow client never
 * makes the server read the file faster than the client takes it.
 */
import { fileURLToPath } from "node:url";
import {
  Factory,
  FileSender,
  Protocol,
  reactor,
  type Failure,
  type IConsumer,
  type IPv4Address,
} from "torsion";

const port = Number(process.argv[2] ?? 8124);
const path = process.argv[3] ?? fileURLToPath(import.meta.url);

class SendFile extends Protocol {
  private sender: FileSender | null = null;

  override connectionMade(): void {
    this.sender = new FileSender();
    // A TCP transport is a consumer: the sender registers itself on it as a pull producer.
    this.sender.beginFileTransfer(path, this.transport as unknown as IConsumer).addCallbacks(
      () => {
        this.transport!.loseConnection();
      },
      (reason: Failure) => {
        // The client went away (FileTransferStopped) or the file could not be read.
        console.log(`transfer to ${JSON.stringify(this.transport!.getPeer())} ended: ${reason.getErrorMessage()}`);
        this.transport!.loseConnection();
      },
    );
  }
}

const listening = reactor.listenTCP(port, Factory.forProtocol(SendFile), { interface: "127.0.0.1" });
const stopped = reactor.run();
console.log(`serving ${path} on port ${(listening.getHost() as IPv4Address).port}`);
await stopped;
console.log("file server stopped");
