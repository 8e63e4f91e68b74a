/**
 * An echo server with limits, as docs/policies.md builds it: a client silent for 10 s is
 * disconnected (TimeoutMixin), a peer gets at most 3 connections at once
 * (LimitConnectionsByPeer), and all clients together are read at 64 KiB a second at most
 * (ThrottlingFactory: reading is paused, so TCP slows the senders; nothing is buffered).
 *
 *     node build/examples/limits.js [port]     (default 8000; Ctrl-C stops it)
 *
 * Try it with `nc 127.0.0.1 8000`, then stay silent for 10 s.
 */
import { pathToFileURL } from "node:url";
import { type Bytes, Factory, LimitConnectionsByPeer, Protocol, reactor, ThrottlingFactory, TimeoutMixin } from "torsion";

/** Echoes what it receives; ten silent seconds end the connection. */
export class IdleEcho extends TimeoutMixin(Protocol) {
  override connectionMade(): void {
    this.setTimeout(10);
  }

  override dataReceived(data: Bytes): void {
    this.resetTimeout();
    this.transport!.write(data);
  }

  override timeoutConnection(): void {
    this.transport!.write(Buffer.from("idle for 10 s, bye\n"));
    super.timeoutConnection();
  }
}

/** The echo factory wrapped in the two policies: per-peer limit outside, bandwidth inside. */
export function limitedEcho(): LimitConnectionsByPeer {
  const byPeer = new LimitConnectionsByPeer(new ThrottlingFactory(Factory.forProtocol(IdleEcho), { readLimit: 64 * 1024 }));
  byPeer.maxConnectionsPerPeer = 3;
  return byPeer;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 8000);
  reactor.listenTCP(port, limitedEcho(), { interface: "127.0.0.1" });
  console.log(`echo with limits on 127.0.0.1:${port}`);
  await reactor.run();
}
