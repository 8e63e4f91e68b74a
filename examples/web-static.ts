/**
 * Serving a directory with static.File: types from extensions, ranges, 304s, index.html, and
 * (asked for here) directory listings. Quoted by docs/web-static.md.
 *
 *     node build/examples/web-static.js [directory] [port]   (default: the current directory, 8080)
 *     curl -i http://127.0.0.1:8080/
 *     curl -H "Range: bytes=0-99" -i http://127.0.0.1:8080/README.md
 */
import { File, reactor, Site } from "torsion";

const directory = process.argv[2] ?? ".";
const port = Number(process.argv[3] ?? 8080);

// Listings are off by default (a directory without an index answers 403); ask for them.
const root = new File(directory, { directoryListing: true });
const listening = reactor.listenTCP(port, new Site(root), { interface: "127.0.0.1" });
const stopped = reactor.run();
console.log(`serving ${root.path} on http://127.0.0.1:${listening.getHost().port}/`);
await stopped;
