/**
 * A reverse proxy: everything under / on 127.0.0.1:8000 is relayed to 127.0.0.1:8080 (run
 * examples/web-hello.ts there). Quoted by docs/proxy.md.
 *
 *     node build/examples/reverse-proxy.js [upstream-port] [listen-port]
 *     curl -i http://127.0.0.1:8000/some/path
 */
import { reactor, ReverseProxyResource, Site } from "torsion";

const upstreamPort = Number(process.argv[2] ?? 8080);
const listenPort = Number(process.argv[3] ?? 8000);
const proxy = new ReverseProxyResource("127.0.0.1", upstreamPort, "");
const port = reactor.listenTCP(listenPort, new Site(proxy), { interface: "127.0.0.1" });
// idle upstream connections are closed at shutdown
reactor.addSystemEventTrigger("before", "shutdown", () => proxy.pool.closeCachedConnections());
const stopped = reactor.run();
console.log(`reverse proxy on http://127.0.0.1:${port.getHost().port}/ -> http://127.0.0.1:${upstreamPort}/`);
await stopped;
