/**
 * TLS, as twisted.internet.ssl: context factories that say which key, certificate and trust
 * roots a connection uses (CertificateOptions, DefaultOpenSSLContextFactory,
 * optionsForClientTLS, ...), and the listening Port and Connector of listenSSL/connectSSL.
 *
 * A context factory maps onto node:tls: it builds one tls.SecureContext (key, certificate
 * chain, CAs, versions, ciphers) when it is made, so a missing file or a bad key raises there,
 * and gives each connection its per-side options (ITLSServerContextFactory,
 * ITLSClientContextFactory in interfaces.ts).
 *
 * The transport of a TLS connection is a TCP Connection on which TLS was started before the
 * protocol saw it (tcp.ts, tls-socket.ts), as Twisted's listenSSL/connectSSL are TCP plus TLS:
 * the same producer and disconnect semantics, isSecure() true, getPeerCertificate(),
 * negotiatedProtocol.
 *
 * Closing and half-closing: loseConnection() sends a TLS close_notify alert, then the TCP FIN.
 * loseWriteConnection() sends close_notify and FIN but keeps reading: TLS 1.3 (RFC 8446 section
 * 6.1) defines close_notify as closing the sender's direction only, so the peer may keep
 * writing, and Node/OpenSSL allow the same under TLS 1.2. The peer's close_notify (or its FIN)
 * is the end of input (readConnectionLost for a half-closeable protocol). Node reports a FIN
 * that came without close_notify as a clean end too, so connectionLost gets ConnectionDone for
 * it, where Twisted reports a truncation as ConnectionLost: a protocol that must detect
 * truncation should frame its data (HTTP does, with Content-Length or chunks).
 */

import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import type { ResourceTracker } from "./abstract.js";
import type {
  ConnectSSLOptions,
  IClientFactory,
  IPv4Address,
  IProtocolFactory,
  ITLSClientContextFactory,
  ITLSServerContextFactory,
  ListenSSLOptions,
  TLSClientConnectionOptions,
  TLSServerConnectionOptions,
} from "./interfaces.js";
import { tlsOptionsFor } from "./tls-socket.js";
import type { TransportReactor } from "./port-connector.js";
import { Client, Connector as TCPConnector, Port as TCPPort, Server } from "./tcp.js";
import type * as net from "node:net";

/** PEM text, as a string or the bytes of a file. */
export type PEM = string | Uint8Array;

/** A TLS protocol version, by Node's name. */
export type TLSVersion = tls.SecureVersion;

function pemText(data: PEM): string {
  return typeof data === "string" ? data : Buffer.from(data).toString("latin1");
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----/;

/** Every certificate block of a PEM text (a chain file, a CA bundle), in order. */
function certificateBlocks(data: PEM): string[] {
  return pemText(data).match(CERT_BLOCK) ?? [];
}

// ---------------------------------------------------------------------------
// Certificates and trust roots

/** An X.509 certificate, as twisted.internet.ssl.Certificate. */
export class Certificate {
  /** The parsed certificate (node:crypto). */
  readonly x509: X509Certificate;

  protected constructor(readonly pem: string) {
    this.x509 = new X509Certificate(pem);
  }

  /** The first certificate of a PEM text; raises if there is none or it is malformed. */
  static loadPEM(data: PEM): Certificate {
    return new Certificate(firstCertificate(data));
  }

  /** Every certificate of a PEM text (a chain or a CA bundle). */
  static loadAllPEM(data: PEM): Certificate[] {
    return certificateBlocks(data).map((pem) => new Certificate(pem));
  }

  dumpPEM(): string {
    return this.pem;
  }

  getSubject(): string {
    return this.x509.subject;
  }

  getIssuer(): string {
    return this.x509.issuer;
  }

  /** The SHA-256 fingerprint ("AB:CD:..."), as Twisted's digest() (which uses MD5). */
  digest(): string {
    return this.x509.fingerprint256;
  }

  toString(): string {
    return `<Certificate subject=${this.getSubject().replace(/\n/g, "/")} issuer=${this.getIssuer().replace(/\n/g, "/")}>`;
  }
}

function firstCertificate(data: PEM): string {
  const blocks = certificateBlocks(data);
  if (blocks.length === 0) throw new TypeError("No PEM certificate (-----BEGIN CERTIFICATE-----) found");
  return blocks[0]!;
}

/** A certificate with its private key, as twisted.internet.ssl.PrivateCertificate. */
export class PrivateCertificate extends Certificate {
  protected constructor(
    pem: string,
    /** The private key, PEM. */
    readonly privateKey: string,
  ) {
    super(pem);
  }

  /** A certificate and its key from one PEM text holding both (in any order). */
  static override loadPEM(data: PEM): PrivateCertificate {
    const key = KEY_BLOCK.exec(pemText(data));
    if (key === null) throw new TypeError("No PEM private key (-----BEGIN PRIVATE KEY-----) found");
    return new PrivateCertificate(firstCertificate(data), key[0]);
  }

  /** A certificate and its key from two PEM texts (a certificate file and a key file). */
  static fromCertificateAndKeyPair(certificate: Certificate | PEM, privateKey: PEM): PrivateCertificate {
    const certPEM = certificate instanceof Certificate ? certificate.pem : firstCertificate(certificate);
    const key = KEY_BLOCK.exec(pemText(privateKey));
    if (key === null) throw new TypeError("No PEM private key (-----BEGIN PRIVATE KEY-----) found");
    return new PrivateCertificate(certPEM, key[0]);
  }

  /**
   * Server options with this certificate, as Twisted's PrivateCertificate.options(*authorities):
   * given CA certificates, clients must present a certificate one of them signed.
   */
  options(...authorities: Certificate[]): CertificateOptions {
    const init: CertificateOptionsInit = { privateKey: this.privateKey, certificate: this.pem };
    if (authorities.length > 0) {
      init.verify = true;
      init.caCerts = authorities;
    }
    return new CertificateOptions(init);
  }
}

/**
 * Where a verifying side looks for the certificate authorities it trusts, as Twisted's
 * IOpenSSLTrustRoot. `caCerts` null means the platform's: Node's bundled Mozilla CA store,
 * plus NODE_EXTRA_CA_CERTS, or the system store when node runs with --use-openssl-ca.
 */
export interface ITrustRoot {
  readonly caCerts: readonly string[] | null;
}

/** The platform's trust roots, as Twisted's platformTrust(). */
export function platformTrust(): ITrustRoot {
  return { caCerts: null };
}

/** Trust exactly these certificates, as Twisted's trustRootFromCertificates. */
export function trustRootFromCertificates(certificates: Iterable<Certificate | PEM>): ITrustRoot {
  const caCerts: string[] = [];
  for (const c of certificates) {
    if (c instanceof Certificate) caCerts.push(c.pem);
    else caCerts.push(...certificateBlocks(c));
  }
  if (caCerts.length === 0) throw new TypeError("trustRootFromCertificates: no certificate given");
  return { caCerts };
}

/**
 * The CA certificates of every *.pem file in a directory, as Twisted's caCertsDir/trustRoots
 * endpoint arguments (files that do not parse are skipped, duplicates dropped).
 */
export function trustRootFromDirectory(directory: string): ITrustRoot {
  const seen = new Map<string, Certificate>();
  for (const name of fs.readdirSync(directory).sort()) {
    if (path.extname(name).toLowerCase() !== ".pem") continue;
    let certs: Certificate[];
    try {
      certs = Certificate.loadAllPEM(fs.readFileSync(path.join(directory, name)));
    } catch {
      continue;
    }
    for (const c of certs) seen.set(c.digest(), c);
  }
  if (seen.size === 0) throw new TypeError(`No CA certificate (*.pem) found in ${directory}`);
  return trustRootFromCertificates(seen.values());
}

/** What a trustRoot option accepts: a trust root, or certificates to trust. */
export type TrustRootLike = ITrustRoot | Certificate | PEM | ReadonlyArray<Certificate | PEM>;

function toTrustRoot(t: TrustRootLike): ITrustRoot {
  if (t instanceof Certificate || typeof t === "string" || t instanceof Uint8Array) {
    return trustRootFromCertificates([t]);
  }
  if (Array.isArray(t)) return trustRootFromCertificates(t as Array<Certificate | PEM>);
  return t as ITrustRoot;
}

// ---------------------------------------------------------------------------
// Context factories

/** The options of CertificateOptions; Twisted's keyword arguments. */
export interface CertificateOptionsInit {
  /** The private key, PEM (required with `certificate`). */
  privateKey?: PEM;
  /** This side's certificate, PEM (a file may hold the chain too: extra blocks are sent). */
  certificate?: PEM;
  /** Intermediate certificates sent after `certificate`, so peers can build the chain. */
  extraCertChain?: ReadonlyArray<Certificate | PEM>;
  /**
   * Verify the peer's certificate chain (default false, as Twisted's CertificateOptions).
   * A server then asks clients for a certificate; a client checks the chain only (no host
   * name: use optionsForClientTLS for that).
   */
  verify?: boolean;
  /** With verify: the CAs to trust (default: the platform's). */
  caCerts?: ReadonlyArray<Certificate | PEM>;
  /** Instead of caCerts: a trust root (implies verify). */
  trustRoot?: TrustRootLike;
  /** A verifying server refuses clients without a certificate (default true, as Twisted). */
  requireCertificate?: boolean;
  /** Diffie-Hellman parameters (PEM) for DHE ciphers, or "auto" (Twisted's dhParameters). */
  dhParameters?: PEM | "auto";
  /** ALPN protocols, most preferred first (Twisted's acceptableProtocols). */
  acceptableProtocols?: readonly string[];
  /** The lowest TLS version allowed (default Node's: TLSv1.2). */
  raiseMinimumTo?: TLSVersion;
  /** Allow versions below Node's default minimum (Twisted's insecurelyLowerMinimumTo). */
  insecurelyLowerMinimumTo?: TLSVersion;
  /** The highest TLS version allowed (Twisted's lowerMaximumSecurityTo). */
  lowerMaximumSecurityTo?: TLSVersion;
  /** An OpenSSL cipher list for TLS 1.2 and below (Twisted's acceptableCiphers). */
  acceptableCiphers?: string;
}

/**
 * TLS settings for either side, as twisted.internet.ssl.CertificateOptions: a key and
 * certificate (needed by servers, optional for clients), what to trust, versions, ciphers,
 * ALPN. The SecureContext is built at once, so bad PEM raises from the constructor.
 *
 * As a client context, it checks no host name, and nothing at all unless `verify` (or a
 * trustRoot) is given, as in Twisted: prefer optionsForClientTLS(hostname) for clients.
 */
export class CertificateOptions implements ITLSServerContextFactory, ITLSClientContextFactory {
  readonly verify: boolean;
  readonly requireCertificate: boolean;
  readonly acceptableProtocols: readonly string[] | undefined;
  private readonly context: tls.SecureContext;

  constructor(init: CertificateOptionsInit = {}) {
    if ((init.privateKey === undefined) !== (init.certificate === undefined)) {
      throw new TypeError("CertificateOptions: give both privateKey and certificate, or neither");
    }
    if (init.raiseMinimumTo !== undefined && init.insecurelyLowerMinimumTo !== undefined) {
      throw new TypeError("CertificateOptions: give raiseMinimumTo or insecurelyLowerMinimumTo, not both");
    }
    const trustRoot =
      init.trustRoot !== undefined
        ? toTrustRoot(init.trustRoot)
        : init.caCerts !== undefined
          ? trustRootFromCertificates(init.caCerts)
          : null;
    this.verify = init.verify === true || init.trustRoot !== undefined;
    this.requireCertificate = init.requireCertificate ?? true;
    this.acceptableProtocols = init.acceptableProtocols ? [...init.acceptableProtocols] : undefined;
    const options: tls.SecureContextOptions = {};
    if (init.certificate !== undefined) {
      const chain = [...certificateBlocks(init.certificate)];
      if (chain.length === 0) throw new TypeError("CertificateOptions: no PEM certificate in `certificate`");
      for (const c of init.extraCertChain ?? []) chain.push(...(c instanceof Certificate ? [c.pem] : certificateBlocks(c)));
      options.cert = chain.join("\n");
      // only the key block: a combined file (key and certificate) may be given as both
      const keyText = pemText(init.privateKey!);
      options.key = KEY_BLOCK.exec(keyText)?.[0] ?? keyText;
    }
    if (trustRoot?.caCerts) options.ca = [...trustRoot.caCerts];
    if (init.dhParameters !== undefined) {
      options.dhparam = init.dhParameters === "auto" ? "auto" : Buffer.from(pemText(init.dhParameters));
    }
    const min = init.raiseMinimumTo ?? init.insecurelyLowerMinimumTo;
    if (min !== undefined) options.minVersion = min;
    if (init.lowerMaximumSecurityTo !== undefined) options.maxVersion = init.lowerMaximumSecurityTo;
    if (init.acceptableCiphers !== undefined) options.ciphers = init.acceptableCiphers;
    this.context = tls.createSecureContext(options);
  }

  /** The tls.SecureContext every connection made with these options shares. */
  getContext(): tls.SecureContext {
    return this.context;
  }

  serverConnectionForTLS(): TLSServerConnectionOptions {
    const o: TLSServerConnectionOptions = { secureContext: this.context };
    if (this.verify) {
      o.requestCert = true;
      o.rejectUnauthorized = this.requireCertificate;
    }
    if (this.acceptableProtocols) o.ALPNProtocols = [...this.acceptableProtocols];
    return o;
  }

  clientConnectionForTLS(): TLSClientConnectionOptions {
    const o: TLSClientConnectionOptions = {
      secureContext: this.context,
      rejectUnauthorized: this.verify,
      verifyHostname: null,
    };
    if (this.acceptableProtocols) o.ALPNProtocols = [...this.acceptableProtocols];
    return o;
  }
}

/**
 * Server (or client) options from a private key file and a certificate file, as Twisted's
 * DefaultOpenSSLContextFactory(privateKeyFileName, certificateFileName). The files are read
 * now: a missing or unreadable one raises (an ENOENT Error), as Twisted raises SSL.Error.
 */
export class DefaultOpenSSLContextFactory extends CertificateOptions {
  constructor(
    readonly privateKeyFileName: string,
    readonly certificateFileName: string,
    options: Omit<CertificateOptionsInit, "privateKey" | "certificate"> = {},
  ) {
    super({
      ...options,
      privateKey: fs.readFileSync(privateKeyFileName),
      certificate: fs.readFileSync(certificateFileName),
    });
  }
}

/**
 * A client context that verifies nothing, as Twisted's ClientContextFactory: for tests and
 * for peers authenticated otherwise. Use optionsForClientTLS for anything else.
 */
export class ClientContextFactory implements ITLSClientContextFactory {
  private context: tls.SecureContext | null = null;

  getContext(): tls.SecureContext {
    return (this.context ??= tls.createSecureContext());
  }

  clientConnectionForTLS(): TLSClientConnectionOptions {
    return { secureContext: this.getContext(), rejectUnauthorized: false, verifyHostname: null };
  }
}

/** The options of optionsForClientTLS; Twisted's keyword arguments. */
export interface ClientTLSOptionsInit {
  /** What to trust (default: platformTrust()). */
  trustRoot?: TrustRootLike;
  /** A certificate and key to present when the server asks for one. */
  clientCertificate?: PrivateCertificate;
  /** ALPN protocols, most preferred first. */
  acceptableProtocols?: readonly string[];
  /** More CertificateOptions settings (versions, ciphers). */
  extraCertificateOptions?: Omit<CertificateOptionsInit, "privateKey" | "certificate" | "verify" | "caCerts" | "trustRoot">;
}

/**
 * Client options that verify the server's certificate chain and that it names `hostname`
 * (a DNS name or an IP address), as Twisted's ClientTLSOptions. The name is also sent as SNI
 * (when it is not an IP address).
 */
export class ClientTLSOptions implements ITLSClientContextFactory {
  constructor(
    readonly hostname: string,
    private readonly options: CertificateOptions,
  ) {}

  getContext(): tls.SecureContext {
    return this.options.getContext();
  }

  clientConnectionForTLS(): TLSClientConnectionOptions {
    const o: TLSClientConnectionOptions = {
      secureContext: this.options.getContext(),
      servername: this.hostname,
      rejectUnauthorized: true,
      verifyHostname: this.hostname,
    };
    if (this.options.acceptableProtocols) o.ALPNProtocols = [...this.options.acceptableProtocols];
    return o;
  }
}

/**
 * The options to connect to `hostname` securely, as Twisted's optionsForClientTLS: the
 * server's chain must lead to `trustRoot` (default: the platform's) and its certificate must
 * name `hostname`; otherwise the connection is dropped and connectionLost gets a TLSError.
 */
export function optionsForClientTLS(hostname: string, options: ClientTLSOptionsInit = {}): ClientTLSOptions {
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError("optionsForClientTLS: hostname must be a non-empty string (the name to verify)");
  }
  const init: CertificateOptionsInit = {
    ...options.extraCertificateOptions,
    verify: true,
    trustRoot: options.trustRoot ?? platformTrust(),
  };
  if (options.clientCertificate) {
    init.privateKey = options.clientCertificate.privateKey;
    init.certificate = options.clientCertificate.pem;
  }
  if (options.acceptableProtocols) init.acceptableProtocols = options.acceptableProtocols;
  return new ClientTLSOptions(hostname, new CertificateOptions(init));
}

// ---------------------------------------------------------------------------
// listenSSL / connectSSL

/**
 * A listening TLS port (ssl.Port): a TCP port whose connections start TLS, as the server,
 * before their protocol is made.
 */
export class Port extends TCPPort {
  constructor(
    port: number,
    factory: IProtocolFactory,
    readonly contextFactory: ITLSServerContextFactory,
    options: ListenSSLOptions,
    reactor: TransportReactor,
  ) {
    super(port, factory, options, reactor);
    tlsOptionsFor(contextFactory, true); // a broken context factory raises from listenSSL
  }

  protected override makeTransport(socket: net.Socket, sessionno: number): Server {
    const transport = new Server(socket, this, sessionno, this.reactor as ResourceTracker);
    transport._startTLS(this.contextFactory, true);
    return transport;
  }

  protected override portDescription(): string {
    return `${super.portDescription()} (TLS)`;
  }

  override toString(): string {
    return `<${this.factory.constructor.name} (TLS) on ${(this.getHost() as IPv4Address).port}>`;
  }
}

/** A TLS connection attempt (ssl.Connector): TCP, then TLS as the client. */
export class Connector extends TCPConnector {
  constructor(
    host: string,
    port: number,
    factory: IClientFactory,
    readonly contextFactory: ITLSClientContextFactory,
    options: ConnectSSLOptions,
    reactor: TransportReactor,
  ) {
    super(host, port, factory, options, reactor);
    tlsOptionsFor(contextFactory, false); // a broken context factory raises from connectSSL
  }

  protected override makeTransport(socket: net.Socket): Client {
    const transport = super.makeTransport(socket);
    transport._startTLS(this.contextFactory, false);
    return transport;
  }

  override toString(): string {
    return `<SSL Connector instance: ${this.host}:${this.port}>`;
  }
}
