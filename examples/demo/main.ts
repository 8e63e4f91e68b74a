/**
 * The demo site on the reactor directly, without the `torsion` command (what `torsion web
 * --listen tcp:8080:interface=127.0.0.1 --resource ./build/examples/demo/site.js:default` does).
 *
 *     node build/examples/demo/main.js [port]      (default 8080; Ctrl-C stops it)
 *
 * The site listens on 127.0.0.1 only. Ctrl-C (SIGINT) or SIGTERM stops the reactor: the port
 * closes, open connections are dropped (their producers stopped), the thread pool is stopped.
 */

import { reactor, Site } from "torsion";
import { makeDemo } from "./site.js";

const port = Number(process.argv[2] ?? 8080);
const demo = makeDemo({ reactor });
const listening = reactor.listenTCP(port, new Site(demo.root), { interface: "127.0.0.1" });
const stopped = reactor.run();
const address = listening.getHost();
process.stdout.write(`torsion demo on http://127.0.0.1:${address.type === "TCP" ? address.port : port}/ (Ctrl-C stops it)\n`);
await stopped;
