/**
 * A chat room over WebSocket, as docs/websocket.md builds it: the page at / opens a WebSocket
 * to /chat; every text message a client sends goes to everyone in the room. The same Site
 * serves the page and the WebSockets on one port.
 *
 *     node build/examples/websocket-chat.js [port]     (default 8080; open http://127.0.0.1:8080/)
 *
 * A client that goes away without a close frame is found by the keep-alive ping within 40 s.
 */
import { pathToFileURL } from "node:url";
import { type Failure, type IRequest, type IWebSocketProtocol, reactor, Resource, Site, StringResource, WebSocketResource, type WebSocketTransport } from "torsion";

/** One member of the room. */
export class ChatMember implements IWebSocketProtocol {
  private transport: WebSocketTransport | null = null;

  constructor(
    private readonly room: Set<ChatMember>,
    readonly name: string,
  ) {}

  negotiationStarted(transport: WebSocketTransport): void {
    this.transport = transport;
  }

  negotiationFinished(): void {
    this.room.add(this);
    this.broadcast(`* ${this.name} joined (${this.room.size} here)`);
  }

  textMessageReceived(text: string): void {
    this.broadcast(`<${this.name}> ${text}`);
  }

  connectionLost(_reason: Failure): void {
    if (this.room.delete(this)) this.broadcast(`* ${this.name} left`);
  }

  /** Send one line to everyone in the room, this member included. */
  broadcast(line: string): void {
    for (const member of this.room) member.transport?.sendTextMessage(line);
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>torsion chat</title>
<pre id="log"></pre><input id="say" autofocus placeholder="say something, then Enter">
<script>
  const ws = new WebSocket("ws://" + location.host + "/chat");
  ws.onmessage = (e) => { log.textContent += e.data + "\\n"; };
  say.onkeydown = (e) => { if (e.key === "Enter" && say.value) { ws.send(say.value); say.value = ""; } };
</script>
`;

/** The site: the page at /, the room at /chat. */
export function chatSite(): Site {
  const room = new Set<ChatMember>();
  let guests = 0;
  const root = new Resource();
  root.putChild("", new StringResource(PAGE, "text/html; charset=utf-8"));
  root.putChild(
    "chat",
    new WebSocketResource(
      { buildProtocol: (request: IRequest) => new ChatMember(room, request.args.get("name")?.[0] ?? `guest${++guests}`) },
      { pingInterval: 30, pingTimeout: 10, perMessageDeflate: true },
    ),
  );
  return new Site(root);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 8080);
  reactor.listenTCP(port, chatSite(), { interface: "127.0.0.1" });
  console.log(`chat on http://127.0.0.1:${port}/`);
  await reactor.run();
}
