/**
 * A node:http server for the wrapper agents' specs (redirects, content decoding, cookies,
 * proxying): each path answers one case. Started on 127.0.0.1:0 by the spec, closed after it.
 */

import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";

export interface TestServer {
  readonly base: string;
  readonly port: number;
  /** "METHOD path" of every request, with its headers. */
  readonly seen: Array<{ line: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

const BIG = Buffer.alloc(2 << 20, "torsion ");

export async function startTestServer(): Promise<TestServer> {
  const seen: TestServer["seen"] = [];
  const server = http.createServer((req, res) => {
    seen.push({ line: `${req.method} ${req.url}`, headers: req.headers });
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url!, "http://x");
      const redirect = (code: number, location?: string): void => {
        res.writeHead(code, location ? { location } : {});
        res.end("redirecting");
      };
      switch (url.pathname) {
        case "/r301": return redirect(301, "/echo");
        case "/r302": return redirect(302, "/echo");
        case "/r303": return redirect(303, "/echo");
        case "/r307": return redirect(307, "/echo");
        case "/r308": return redirect(308, "/echo");
        case "/loop": return redirect(302, "/loop");
        case "/nolocation": return redirect(302);
        case "/elsewhere": return redirect(302, url.searchParams.get("to")!);
        case "/gzip": res.writeHead(200, { "content-encoding": "gzip" }); return res.end(zlib.gzipSync(BIG));
        case "/deflate": res.writeHead(200, { "content-encoding": "deflate" }); return res.end(zlib.deflateSync(BIG));
        case "/br": res.writeHead(200, { "content-encoding": "br" }); return res.end(zlib.brotliCompressSync(BIG));
        case "/gzip-br": res.writeHead(200, { "content-encoding": "gzip, br" }); return res.end(zlib.brotliCompressSync(zlib.gzipSync(BIG)));
        case "/unknown": res.writeHead(200, { "content-encoding": "fizz, gzip" }); return res.end(zlib.gzipSync(Buffer.from("fizzed")));
        case "/broken": res.writeHead(200, { "content-encoding": "gzip" }); return res.end(Buffer.from("this is not gzip at all"));
        case "/setcookie":
          res.writeHead(200, { "set-cookie": ["session=abc; Path=/", "theme=dark; Path=/"] });
          return res.end("cookies set");
        default:
          res.writeHead(200, { "content-type": "text/plain" });
          res.end(`${req.method} ${req.url} ${body.length} cookie=${req.headers.cookie ?? ""} auth=${req.headers.authorization ?? ""} ae=${req.headers["accept-encoding"] ?? ""}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const BIG_BODY = BIG;
