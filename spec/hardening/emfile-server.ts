/**
 * The child program of faults-tcp.spec.ts's EMFILE spec: an echo server on 127.0.0.1 that,
 * on command, uses up every file descriptor it may open (its limit is lowered by the parent
 * with `ulimit -n`), then frees them.
 *
 * stdin commands, one a line: "fill" (open /dev/null until EMFILE; answers "full N"),
 * "free" (close them; answers "freed"), "stats" (answers "stats <open connections> <protocol errors>"),
 * "exit". It prints "port N" once listening. Logs go to stderr (the parent reads them).
 */

import { closeSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Bytes } from "../../lib/internet/interfaces.js";
import { Factory, Protocol } from "../../lib/internet/protocol.js";
import { reactor } from "../../lib/internet/reactor.js";

class Echo extends Protocol {
  override dataReceived(data: Bytes): void {
    this.transport!.write(data);
  }
}

const port = reactor.listenTCP(0, Factory.forProtocol(Echo), { interface: "127.0.0.1" });
const address = port.getHost();
process.stdout.write(`port ${address.type === "TCP" ? address.port : 0}\n`);

const hoard: number[] = [];
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "fill") {
    for (;;) {
      try {
        hoard.push(openSync("/dev/null", "r"));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EMFILE") throw err;
        break;
      }
    }
    process.stdout.write(`full ${hoard.length}\n`);
  } else if (line === "free") {
    while (hoard.length > 0) closeSync(hoard.pop()!);
    process.stdout.write("freed\n");
  } else if (line === "stats") {
    const c = port.counters;
    process.stdout.write(`stats ${c.openConnections} ${c.protocolErrors} ${port.connected ? "listening" : "closed"}\n`);
  } else if (line === "exit") {
    void port.stopListening();
    process.exit(0);
  }
});
