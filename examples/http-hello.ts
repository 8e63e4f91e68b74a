/**
 * The smallest HTTP server on torsion's HTTP layer: every request gets "Hello, world!".
 *
 *     node build/examples/http-hello.js [port]     (default 8080; Ctrl-C stops it)
 *     curl -i http://127.0.0.1:8080/
 */
import { HTTPFactory, http, reactor } from "torsion";

class Hello extends http.Request {
  override process(): void {
    const body = Buffer.from(`Hello, world! You asked for ${this.path}\n`);
    this.setHeader("content-type", "text/plain; charset=utf-8");
    this.setHeader("content-length", String(body.length));
    this.write(body);
    this.finish();
  }
}

const port = Number(process.argv[2] ?? 8080);
const factory = new HTTPFactory({ requestFactory: Hello, logFile: process.stdout });
const listening = reactor.listenTCP(port, factory, { interface: "127.0.0.1" });
const stopped = reactor.run();
console.log(`listening on http://127.0.0.1:${(listening.getHost() as { port: number }).port}/`);
await stopped;
