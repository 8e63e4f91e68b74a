/**
 * POST a file (or a string) with FileBodyProducer and print the answer. Quoted by docs/client.md.
 *
 *     node build/examples/client-post.js URL [FILE]
 */
import { Agent, FileBodyProducer, Headers, react, reactor, readBody } from "torsion";

async function main(url: string, path?: string): Promise<void> {
  // a file is read 64 KiB at a time on the Cooperator, and paused while the server reads slowly
  const body = path ? FileBodyProducer.fromPath(path) : new FileBodyProducer(Buffer.from("hello=world"));
  const headers = new Headers({ "content-type": [path ? "application/octet-stream" : "application/x-www-form-urlencoded"] });
  const response = await new Agent(reactor).request("POST", url, headers, body);
  console.log(`${response.code} ${response.phrase}: ${(await readBody(response)).toString()}`);
}

await react((_reactor, url: string, path?: string) => main(url, path), [process.argv[2] ?? "http://127.0.0.1:8080/", process.argv[3]]);
