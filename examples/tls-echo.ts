/**
 * A TLS echo server and a client in one program, as Twisted's "Using SSL/TLS" examples. The
 * server listens with listenSSL on a free port of 127.0.0.1; the client connects with
 * connectSSL, verifies that the server is "localhost", sends a line, prints the echo, and
 * everything shuts down.
 *
 *     node build/examples/tls-echo.js              # the test certificates of spec/fixtures/tls
 *     node build/examples/tls-echo.js --generate   # a fresh self-signed one (needs openssl)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Certificate,
  ClientFactory,
  DefaultOpenSSLContextFactory,
  Factory,
  LineReceiver,
  optionsForClientTLS,
  reactor,
  type Failure,
  type ISSLTransport,
} from "torsion";

/** Key, certificate, and the certificate the client trusts (the CA that signed it). */
function certificates(): { key: string; cert: string; ca: string; cleanup(): void } {
  if (!process.argv.includes("--generate")) {
    const dir = fileURLToPath(new URL("../../spec/fixtures/tls/", import.meta.url));
    return { key: join(dir, "server-key.pem"), cert: join(dir, "server.pem"), ca: join(dir, "ca.pem"), cleanup() {} };
  }
  // A throwaway self-signed certificate for localhost: it is its own CA.
  const dir = mkdtempSync(join(tmpdir(), "tls-echo-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdio: "ignore" });
  return { key, cert, ca: cert, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The server's protocol: sends every line back. */
class Echo extends LineReceiver {
  override lineReceived(line: Buffer): void {
    this.sendLine(line);
  }
}

/** The client's protocol: says one line, prints the echo, hangs up. */
class Greeter extends LineReceiver {
  override connectionMade(): void {
    // Written before the handshake is done: sent, encrypted, as soon as it is.
    this.sendLine(Buffer.from("hello over TLS"));
  }

  handshakeCompleted(): void {
    const t = this.transport as unknown as ISSLTransport;
    console.log(`client: ${t.getProtocolVersion()} with ${t.getPeerCertificate()?.subject.CN}, secure=${t.isSecure()}`);
  }

  override lineReceived(line: Buffer): void {
    console.log(`client: the server echoed ${JSON.stringify(line.toString())}`);
    this.transport!.loseConnection();
  }

  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    console.log(`client: connection closed (${reason.getErrorMessage()})`);
    reactor.stop();
  }
}

class GreeterFactory extends ClientFactory {
  override clientConnectionFailed(_connector: unknown, reason: Failure): void {
    console.log(`client: connection failed: ${reason.getErrorMessage()}`);
    process.exitCode = 1;
    reactor.stop();
  }
}

const files = certificates();
const serverContext = new DefaultOpenSSLContextFactory(files.key, files.cert);
const clientContext = optionsForClientTLS("localhost", { trustRoot: Certificate.loadPEM(readFileSync(files.ca)) });

const port = reactor.listenSSL(0, Factory.forProtocol(Echo), serverContext, { interface: "127.0.0.1" });
const { host, port: portNumber } = port.getHost() as { host: string; port: number };
console.log(`server: listening on ${host}:${portNumber} (TLS)`);
reactor.addSystemEventTrigger("before", "shutdown", () => port.stopListening());
reactor.connectSSL("127.0.0.1", portNumber, GreeterFactory.forProtocol(Greeter), clientContext);

await reactor.run();
files.cleanup();
