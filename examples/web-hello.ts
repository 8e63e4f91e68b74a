/**
 * Hello world on a Site: one Resource answering GET, on 127.0.0.1. Quoted by docs/web-resources.md.
 *
 *     node build/examples/web-hello.js [port]     (default 8080; Ctrl-C stops it)
 *     curl http://127.0.0.1:8080/
 */
import { reactor, Resource, Site, type IRequest } from "torsion";

class Hello extends Resource {
  // A leaf: every path below it (/, /foo, /foo/bar) is answered by this resource.
  override isLeaf = true;

  render_GET(request: IRequest): string {
    request.setHeader("content-type", "text/plain; charset=utf-8");
    return `Hello, world! You asked for ${request.uri}\n`;
  }
}

const port = Number(process.argv[2] ?? 8080);
const listening = reactor.listenTCP(port, new Site(new Hello()), { interface: "127.0.0.1" });
const stopped = reactor.run();
console.log(`web-hello listening on http://127.0.0.1:${listening.getHost().port}/`);
await stopped;
