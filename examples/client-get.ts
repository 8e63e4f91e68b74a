/**
 * GET a URL with Agent and print the status, the headers and the body. Quoted by docs/client.md.
 *
 *     node build/examples/client-get.js [url]      (default http://127.0.0.1:8080/)
 */
import { Agent, Headers, react, reactor, readBody } from "torsion";

async function main(url = "http://127.0.0.1:8080/"): Promise<void> {
  const agent = new Agent(reactor);
  const response = await agent.request("GET", url, new Headers({ "user-agent": ["torsion example"] }));
  console.log(`${response.code} ${response.phrase}`);
  for (const [name, values] of response.headers) console.log(`${name}: ${values.join(", ")}`);
  const body = await readBody(response);
  console.log(`\n${body.toString("utf8")}`);
}

await react((_reactor, url?: string) => main(url), [process.argv[2]]);
