/**
 * Turning a connected socket into a TLS one, as Twisted's twisted.internet._newtls: the one
 * place where torsion makes a tls.TLSSocket, used by startTLS (tcp.ts) and so by listenSSL and
 * connectSSL (ssl.ts), which are TCP plus an immediate startTLS, as in Twisted.
 *
 * Node verifies a server certificate only in tls.connect(), so the client side goes through it
 * (with the connected socket); the server side is a bare TLSSocket, on which Node checks
 * nothing, so a requested client certificate is verified here once the handshake is done, as
 * tls.Server does.
 */

import type { Socket } from "node:net";
import * as tls from "node:tls";
import { isIP } from "node:net";
import { TLSError } from "./error.js";
import type {
  ITLSClientContextFactory,
  ITLSContextFactory,
  ITLSServerContextFactory,
  TLSClientConnectionOptions,
  TLSServerConnectionOptions,
} from "./interfaces.js";

/** The options a context factory gives for one side; a TypeError if it has no such side. */
export function tlsOptionsFor(
  contextFactory: ITLSContextFactory,
  server: boolean,
): TLSServerConnectionOptions | TLSClientConnectionOptions {
  if (server) {
    const f = contextFactory as Partial<ITLSServerContextFactory>;
    if (typeof f?.serverConnectionForTLS !== "function") {
      throw new TypeError(
        `${describe(contextFactory)} cannot make server-side TLS connections (it has no serverConnectionForTLS)`,
      );
    }
    return f.serverConnectionForTLS();
  }
  const f = contextFactory as Partial<ITLSClientContextFactory>;
  if (typeof f?.clientConnectionForTLS !== "function") {
    throw new TypeError(
      `${describe(contextFactory)} cannot make client-side TLS connections (it has no clientConnectionForTLS)`,
    );
  }
  return f.clientConnectionForTLS();
}

function describe(o: unknown): string {
  return (o as object)?.constructor?.name ?? String(o);
}

const noIdentityCheck = (): undefined => undefined;

/**
 * A TLSSocket over `socket` for the given side. `onHandshake` is called once the handshake is
 * done and the peer verified (when verification is asked for); a peer that fails verification
 * is dropped, and the socket's 'error' says why.
 */
export function wrapSocket(
  socket: Socket,
  server: boolean,
  options: TLSServerConnectionOptions | TLSClientConnectionOptions,
  onHandshake: () => void,
): tls.TLSSocket {
  if (server) {
    const o = options as TLSServerConnectionOptions;
    const requestCert = o.requestCert === true;
    const reject = requestCert && o.rejectUnauthorized !== false;
    const s = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: o.secureContext,
      requestCert,
      rejectUnauthorized: reject,
      ALPNProtocols: o.ALPNProtocols,
    });
    s.once("secure", () => {
      if (reject) {
        // OpenSSL accepts any certificate here (Node's verify callback does); tls.Server
        // rejects afterwards with verifyError(), and so does this.
        const handle = (s as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
        const err =
          typeof handle?.verifyError === "function"
            ? handle.verifyError()
            : new Error("cannot verify the client certificate on this Node version");
        if (err) {
          s.destroy(err);
          return;
        }
      }
      onHandshake();
    });
    return s;
  }
  const o = options as TLSClientConnectionOptions;
  const verifyHostname = o.verifyHostname;
  const connectOptions: tls.ConnectionOptions = {
    socket,
    secureContext: o.secureContext,
    rejectUnauthorized: o.rejectUnauthorized,
    ALPNProtocols: o.ALPNProtocols,
    checkServerIdentity:
      verifyHostname === null ? noIdentityCheck : (_host, cert) => tls.checkServerIdentity(verifyHostname, cert),
  };
  // SNI carries host names only (RFC 6066 section 3); Node warns if given an IP literal.
  if (o.servername && isIP(o.servername) === 0) connectOptions.servername = o.servername;
  const s = tls.connect(connectOptions);
  s.once("secureConnect", onHandshake);
  return s;
}

/** Codes of socket errors (errno), as opposed to TLS errors. */
function isSocketError(err: Error): boolean {
  const e = err as NodeJS.ErrnoException;
  return typeof e.syscall === "string" || (/^E[A-Z]+$/.test(e.code ?? "") && !("library" in e));
}

/** The reason a TLS connection ended with `err`: a TLSError unless it is a plain socket error. */
export function tlsLostReason(err: Error): Error | null {
  if (isSocketError(err)) return null;
  const code = (err as NodeJS.ErrnoException).code;
  const what = err.message.trim().split("\n")[0]!;
  return new TLSError(`TLS error: ${what}${code ? ` (${code})` : ""}`, { cause: err, code });
}
