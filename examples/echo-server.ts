/**
 * An echo server: every byte a client sends comes back to it.
 *
 *     node build/examples/echo-server.js [port]     (default 8000; Ctrl-C stops it)
 */
import { Factory, Protocol, reactor, type Bytes } from "torsion";

class Echo extends Protocol {
  override dataReceived(data: Bytes): void {
    // As soon as any data is received, write it back.
    this.transport!.write(data);
  }
}

const port = Number(process.argv[2] ?? 8000);
const listening = reactor.listenTCP(port, Factory.forProtocol(Echo), { interface: "127.0.0.1" });

// run() returns a promise that settles once the reactor has stopped (SIGINT or SIGTERM stop it;
// the port is closed on shutdown).
const stopped = reactor.run();
console.log(`echo server listening on ${listening.getHost().port}`);
await stopped;
console.log("echo server stopped");
