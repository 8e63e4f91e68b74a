/**
 * Download a URL to a file with deliverBody, a pooled Agent, redirects followed and gzip/br
 * undone, printing progress; the body protocol pauses the connection while the file catches
 * up. Quoted by docs/client.md.
 *
 *     node build/examples/client-stream.js URL FILE
 */
import { createWriteStream } from "node:fs";
import { Agent, BrowserLikeRedirectAgent, type Bytes, ContentDecoderAgent, Deferred, type Failure, HTTPConnectionPool, Protocol, react, reactor, ResponseDone } from "torsion";

/** Writes the body to a file; pauses the connection while the file's buffer is full. */
class SaveToFile extends Protocol {
  received = 0;
  readonly done = new Deferred<number>();
  private readonly out;

  constructor(path: string) {
    super();
    this.out = createWriteStream(path);
    this.out.on("drain", () => (this.transport as unknown as { resumeProducing(): void }).resumeProducing());
  }

  override dataReceived(data: Bytes): void {
    this.received += data.length;
    if (!this.out.write(data)) (this.transport as unknown as { pauseProducing(): void }).pauseProducing();
  }

  override connectionLost(reason: Failure): void {
    this.out.end(() => {
      if (reason.check(ResponseDone)) this.done.callback(this.received);
      else this.done.errback(reason);
    });
  }
}

async function main(url: string, path: string): Promise<void> {
  const pool = new HTTPConnectionPool(reactor);
  const agent = new BrowserLikeRedirectAgent(new ContentDecoderAgent(new Agent(reactor, { pool, connectTimeout: 10 })));
  const response = await agent.request("GET", url);
  console.log(`${response.code} ${response.phrase}`);
  const saver = new SaveToFile(path);
  response.deliverBody(saver);
  const progress = setInterval(() => console.log(`${saver.received} bytes`), 1000);
  try {
    console.log(`saved ${await saver.done} bytes to ${path}`);
  } finally {
    clearInterval(progress);
    await pool.closeCachedConnections();
  }
}

await react((_reactor, url: string, path: string) => main(url, path), [process.argv[2] ?? "http://127.0.0.1:8080/", process.argv[3] ?? "download.out"]);
