/**
 * Endpoint description strings, as twisted.internet.endpoints' serverFromString and
 * clientFromString: "tcp:8080:interface=127.0.0.1", "unix:/run/app.sock", "ssl:443:...", with
 * Twisted's grammar (positional and keyword arguments, backslash escapes) and Twisted's
 * parameter names, so a configuration written for twistd means the same thing here. Every
 * malformed description raises EndpointDescriptionError naming what is wrong.
 *
 * torsion/internet/endpoints re-exports these, where Twisted users look for them.
 */

import * as fs from "node:fs";
import { isIP } from "node:net";
import { HostnameEndpoint } from "./hostname-endpoint.js";
import { wrapClientTLS } from "./wrap-client-tls.js";
import { EndpointDescriptionError } from "./error.js";
import type {
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUNIX,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
  ITLSClientContextFactory,
} from "./interfaces.js";
import {
  SSL4ClientEndpoint,
  SSL4ServerEndpoint,
  TCP4ClientEndpoint,
  TCP4ServerEndpoint,
  TCP6ServerEndpoint,
  type TCPClientEndpointOptions,
  UNIXClientEndpoint,
  UNIXServerEndpoint,
} from "./endpoints.js";
import {
  CertificateOptions,
  type CertificateOptionsInit,
  type ITrustRoot,
  optionsForClientTLS,
  PrivateCertificate,
  type TLSVersion,
  trustRootFromDirectory,
} from "./ssl.js";


/**
 * A reactor that can make every endpoint a description may name. IReactorSSL is needed only
 * when an ssl:/tls: endpoint listens or connects (MemoryReactor has none).
 */
export type EndpointReactor = IReactorTCP & IReactorUNIX & Partial<IReactorSSL>;

const OP = 0;
const STRING = 1;
type Token = [typeof OP | typeof STRING, string];

/**
 * Split a description into strings and the operators ':' and '=', as Twisted's _tokenize.
 * A backslash makes the next character literal. After '=', only ':' is an operator, so a
 * value may contain '=' unescaped ("unix:address=foo=bar").
 */
function tokenize(description: string): Token[] {
  const tokens: Token[] = [];
  let current = "";
  let ops = ":=";
  let escaped = false;
  for (const c of description) {
    if (escaped) {
      current += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (ops.includes(c)) {
      tokens.push([STRING, current], [OP, c]);
      current = "";
      ops = c === ":" ? ":=" : ":";
    } else {
      current += c;
    }
  }
  if (escaped) throw new EndpointDescriptionError(`Invalid endpoint description '${description}': it ends with a lone backslash`);
  tokens.push([STRING, current]);
  return tokens;
}

/** The ':'-separated positional arguments and key=value arguments of a description, as Twisted's _parse. */
function parse(description: string): { args: string[]; kwargs: Map<string, string> } {
  const args: string[] = [];
  const kwargs = new Map<string, string>();
  let sofar: string[] = [];
  const add = (): void => {
    if (sofar.length === 1) args.push(sofar[0]!);
    else kwargs.set(sofar[0]!, sofar[1]!);
  };
  for (const [type, value] of tokenize(description)) {
    if (type === STRING) sofar.push(value);
    else if (value === ":") {
      add();
      sofar = [];
    }
  }
  add();
  return { args, kwargs };
}

/**
 * Quote a string for use as one argument in a description, as Twisted's quoteStringArgument:
 * `serverFromString(reactor, "unix:" + quoteStringArgument(path))`. Backslashes and colons are
 * escaped, and so is '=' (Twisted leaves it, so a positional path containing '=' is misread as
 * a keyword argument there).
 */
export function quoteStringArgument(argument: string): string {
  return argument.replace(/[\\:=]/g, "\\$&");
}

/** The arguments of one description, bound to its endpoint type's parameter names. */
class Arguments {
  constructor(
    readonly description: string,
    private readonly values: Map<string, string>,
  ) {}

  error(detail: string): EndpointDescriptionError {
    return new EndpointDescriptionError(`Invalid endpoint description '${this.description}': ${detail}`);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string, fallback?: string): string {
    const value = this.values.get(name) ?? fallback;
    if (value === undefined) throw this.error(`'${name}' is required`);
    return value;
  }

  port(name: string): number {
    const text = this.string(name);
    const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(n <= 65535)) throw this.error(`${name} must be an integer from 0 to 65535, not '${text}'`);
    return n;
  }

  integer(name: string, fallback: number): number {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text)) throw this.error(`${name} must be a non-negative integer, not '${text}'`);
    return Number(text);
  }

  seconds(name: string, fallback: number): number {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d+(\.\d*)?$/.test(text)) throw this.error(`${name} must be a number of seconds, not '${text}'`);
    return Number(text);
  }

  /** An octal permission mode, as Python's int(mode, 8): "660", "0660" or "0o660". */
  octal(name: string, fallback: number): number {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    const m = /^(?:0o)?([0-7]+)$/i.exec(text);
    if (!m) throw this.error(`${name} must be an octal number such as 660, not '${text}'`);
    return parseInt(m[1]!, 8);
  }

  /** The contents of the file a parameter names (PEM files); a clear error if unreadable. */
  fileContents(name: string, fallback?: string): Buffer {
    const file = this.string(name, fallback);
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw this.error(`cannot read the ${name} file '${file}': ${(err as Error).message}`);
    }
  }

  /** Something built from the arguments, with its error (bad PEM...) said in these terms. */
  build<T>(what: string, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if (err instanceof EndpointDescriptionError) throw err;
      throw this.error(`${what}: ${(err as Error).message}`);
    }
  }

  /** A flag written as an integer, as Python's bool(int(value)): "0" is false, "1" true. */
  flag(name: string, fallback: boolean): boolean {
    const text = this.values.get(name);
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text)) throw this.error(`${name} must be 0 or 1, not '${text}'`);
    return Number(text) !== 0;
  }
}

/**
 * Bind positional and keyword arguments to `params` the way a Python call binds them:
 * positionals fill the parameters in order, keywords by name; an unknown name, a parameter
 * given twice, or too many positionals is an error.
 */
function bindArguments(description: string, params: readonly string[], args: string[], kwargs: Map<string, string>): Arguments {
  const bad = (detail: string) => new EndpointDescriptionError(`Invalid endpoint description '${description}': ${detail}`);
  if (args.length > params.length) {
    throw bad(`too many positional arguments (${args.length}); it takes at most ${params.length}: ${params.join(", ")}`);
  }
  const values = new Map<string, string>();
  args.forEach((value, i) => values.set(params[i]!, value));
  for (const [name, value] of kwargs) {
    if (!params.includes(name)) throw bad(`unknown parameter '${name}'; known parameters: ${params.join(", ")}`);
    if (values.has(name)) throw bad(`'${name}' is given twice`);
    values.set(name, value);
  }
  return new Arguments(description, values);
}

type ServerParser = (reactor: EndpointReactor, args: string[], kwargs: Map<string, string>, description: string) => IStreamServerEndpoint;
type ClientParser = (reactor: EndpointReactor, args: string[], kwargs: Map<string, string>, description: string) => IStreamClientEndpoint;

// Twisted's sslmethod names: one exact protocol version each, or negotiation.
const SSL_METHODS = new Map<string, TLSVersion | null>([
  ["SSLv23_METHOD", null],
  ["TLS_METHOD", null],
  ["TLSv1_METHOD", "TLSv1"],
  ["TLSv1_1_METHOD", "TLSv1.1"],
  ["TLSv1_2_METHOD", "TLSv1.2"],
]);

/** The server options of an ssl: description, as Twisted's _parseSSL. */
function sslServerOptions(a: Arguments): CertificateOptions {
  // privateKey defaults to server.pem, and certKey to privateKey: one file with both
  const key = a.fileContents("privateKey", "server.pem");
  const init: CertificateOptionsInit = {
    privateKey: key,
    certificate: a.has("certKey") ? a.fileContents("certKey") : key,
  };
  if (a.has("sslmethod")) {
    const method = a.string("sslmethod");
    const version = SSL_METHODS.get(method);
    if (version === undefined) {
      throw a.error(`sslmethod must be one of ${[...SSL_METHODS.keys()].join(", ")}, not '${method}'`);
    }
    if (version !== null) {
      init.insecurelyLowerMinimumTo = version;
      init.lowerMaximumSecurityTo = version;
    }
  }
  if (a.has("extraCertChain")) init.extraCertChain = [a.fileContents("extraCertChain")];
  if (a.has("dhParameters")) init.dhParameters = a.fileContents("dhParameters");
  return a.build("bad TLS settings", () => new CertificateOptions(init));
}

/** A client certificate from a certificate file and an optional separate key file. */
function clientCertificate(a: Arguments, certName: string): PrivateCertificate | undefined {
  if (!a.has(certName)) {
    if (a.has("privateKey")) throw a.error(`privateKey needs ${certName} (the client certificate)`);
    return undefined;
  }
  const cert = a.fileContents(certName);
  const key = a.has("privateKey") ? a.fileContents("privateKey") : cert;
  return a.build(`bad client certificate`, () => PrivateCertificate.fromCertificateAndKeyPair(cert, key));
}

function trustRootDirectory(a: Arguments, name: string): ITrustRoot | undefined {
  if (!a.has(name)) return undefined;
  return a.build(`bad ${name}`, () => trustRootFromDirectory(a.string(name)));
}

function clientTimeoutAndBind(a: Arguments): TCPClientEndpointOptions {
  const options: TCPClientEndpointOptions = { timeout: a.seconds("timeout", 30) };
  if (a.has("bindAddress")) options.bindAddress = { host: a.string("bindAddress"), port: 0 };
  return options;
}

/** host and port, positional or by keyword, as _parseClientTCP accepts them. */
function hostPortParams(args: string[], kwargs: Map<string, string>): string[] {
  return args.length === 1 && kwargs.has("host") ? ["port", "host"] : ["host", "port"];
}

// Parameter order follows Twisted's parsers, so positional arguments mean the same thing:
// "tcp:80:127.0.0.1" binds 127.0.0.1, "tcp6:80:12" sets a backlog of 12.
const serverParsers = new Map<string, ServerParser>([
  [
    "tcp",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["port", "interface", "backlog"], args, kwargs);
      return new TCP4ServerEndpoint(reactor, a.port("port"), {
        interface: a.string("interface", ""),
        backlog: a.integer("backlog", 50),
      });
    },
  ],
  [
    "tcp6",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["port", "backlog", "interface"], args, kwargs);
      return new TCP6ServerEndpoint(reactor, a.port("port"), {
        interface: a.string("interface", "::"),
        backlog: a.integer("backlog", 50),
      });
    },
  ],
  [
    "unix",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["address", "mode", "backlog", "lockfile"], args, kwargs);
      return new UNIXServerEndpoint(reactor, a.string("address"), {
        mode: a.octal("mode", 0o666),
        backlog: a.integer("backlog", 50),
        wantPID: a.flag("lockfile", true),
      });
    },
  ],
  [
    "ssl",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(
        description,
        ["port", "privateKey", "certKey", "sslmethod", "interface", "backlog", "extraCertChain", "dhParameters"],
        args,
        kwargs,
      );
      return new SSL4ServerEndpoint(reactor as IReactorSSL, a.port("port"), sslServerOptions(a), {
        interface: a.string("interface", ""),
        backlog: a.integer("backlog", 50),
      });
    },
  ],
]);

const clientParsers = new Map<string, ClientParser>([
  [
    "tcp",
    (reactor, args, kwargs, description) => {
      // As Twisted's _parseClientTCP: "tcp:host:port", or one of them positional and the
      // other a keyword ("tcp:host=example.com:80", "tcp:example.com:port=80").
      const params = args.length === 1 && kwargs.has("host") ? ["port", "host"] : ["host", "port"];
      const a = bindArguments(description, [...params, "timeout", "bindAddress"], args, kwargs);
      const options: TCPClientEndpointOptions = { timeout: a.seconds("timeout", 30) };
      if (a.has("bindAddress")) options.bindAddress = { host: a.string("bindAddress"), port: 0 };
      return byName(reactor, a.string("host"), a.port("port"), options) ?? new TCP4ClientEndpoint(reactor, a.string("host"), a.port("port"), options);
    },
  ],
  [
    "unix",
    (reactor, args, kwargs, description) => {
      const a = bindArguments(description, ["path", "timeout", "lockfile", "checkPID"], args, kwargs);
      if (a.has("lockfile") && a.has("checkPID")) throw a.error("give lockfile or checkPID, not both");
      return new UNIXClientEndpoint(reactor, a.string("path"), {
        timeout: a.seconds("timeout", 30),
        checkPID: a.has("checkPID") ? a.flag("checkPID", false) : a.flag("lockfile", false),
      });
    },
  ],
  [
    "ssl",
    (reactor, args, kwargs, description) => {
      // As Twisted's _parseClientSSL: TCP's arguments, plus a client certificate (certKey,
      // privateKey), CAs to verify the server with (caCertsDir), and the name it must have
      // (hostname). Without caCertsDir or hostname nothing is verified, as in Twisted: use tls:.
      const a = bindArguments(
        description,
        [...hostPortParams(args, kwargs), "timeout", "bindAddress", "certKey", "privateKey", "caCertsDir", "hostname"],
        args,
        kwargs,
      );
      const cert = clientCertificate(a, "certKey");
      const trustRoot = trustRootDirectory(a, "caCertsDir");
      let contextFactory: ITLSClientContextFactory;
      if (a.has("hostname")) {
        contextFactory = a.build("bad TLS settings", () =>
          optionsForClientTLS(a.string("hostname"), { trustRoot, clientCertificate: cert }),
        );
      } else {
        const init: CertificateOptionsInit = {};
        if (trustRoot) init.trustRoot = trustRoot;
        if (cert) {
          init.certificate = cert.pem;
          init.privateKey = cert.privateKey;
        }
        contextFactory = a.build("bad TLS settings", () => new CertificateOptions(init));
      }
      return new SSL4ClientEndpoint(reactor as IReactorSSL, a.string("host"), a.port("port"), contextFactory, clientTimeoutAndBind(a));
    },
  ],
  [
    "tls",
    (reactor, args, kwargs, description) => {
      // As Twisted's _parseClientTLS: the server must have a certificate for `host` that
      // trustRoots (a directory of *.pem CA files; default the platform's) vouch for.
      const a = bindArguments(
        description,
        [...hostPortParams(args, kwargs), "timeout", "bindAddress", "certificate", "privateKey", "trustRoots", "endpoint"],
        args,
        kwargs,
      );
      if (a.has("endpoint")) throw a.error("endpoint= (TLS over another endpoint) is not supported; tls: connects over TCP");
      const host = a.string("host");
      const cert = clientCertificate(a, "certificate");
      const trustRoot = trustRootDirectory(a, "trustRoots");
      const contextFactory = a.build("bad TLS settings", () =>
        optionsForClientTLS(host, { trustRoot, clientCertificate: cert }),
      );
      const named = byName(reactor, host, a.port("port"), clientTimeoutAndBind(a));
      if (named !== null) return wrapClientTLS(contextFactory, named);
      return new SSL4ClientEndpoint(reactor as IReactorSSL, host, a.port("port"), contextFactory, clientTimeoutAndBind(a));
    },
  ],
]);

/**
 * A host name (not an address) on a reactor with time: a HostnameEndpoint, as Twisted's tcp:
 * and tls: clients resolve through the reactor's resolver and try each address. null otherwise.
 */
function byName(reactor: EndpointReactor, host: string, port: number, options: TCPClientEndpointOptions): HostnameEndpoint | null {
  if (isIP(host) !== 0 || typeof (reactor as Partial<IReactorTime>).callLater !== "function") return null;
  return new HostnameEndpoint(reactor as EndpointReactor & IReactorTime, host, port, options);
}

function endpointType(description: string): { type: string; args: string[]; kwargs: Map<string, string> } {
  if (typeof description !== "string") {
    throw new TypeError(`An endpoint description must be a string, not ${typeof description}`);
  }
  const { args, kwargs } = parse(description);
  // "=x" or "a=b" has keywords only (Twisted raises IndexError here).
  if (args.length === 0) throw new EndpointDescriptionError(`Invalid endpoint description '${description}': it names no endpoint type`);
  const type = args.shift()!.toLowerCase();
  return { type, args, kwargs };
}

function unknownType(type: string, known: Iterable<string>): EndpointDescriptionError {
  return new EndpointDescriptionError(`Unknown endpoint type: '${type}' (known types: ${[...known].join(", ")})`);
}

/**
 * A server endpoint from a description, as Twisted's serverFromString:
 *
 *     tcp:PORT[:interface=ADDRESS][:backlog=N]          TCP4ServerEndpoint
 *     tcp6:PORT[:interface=ADDRESS][:backlog=N]         TCP6ServerEndpoint (interface "::" by default)
 *     unix:PATH[:mode=OCTAL][:backlog=N][:lockfile=0|1] UNIXServerEndpoint (mode 666, lockfile 1 by default)
 *     ssl:PORT[:privateKey=KEY.pem][:certKey=CERT.pem][:interface=ADDRESS][:backlog=N]
 *         [:extraCertChain=CHAIN.pem][:dhParameters=DH.pem][:sslmethod=TLSv1_2_METHOD]
 *                                                       SSL4ServerEndpoint (privateKey server.pem,
 *                                                       certKey the privateKey file, by default)
 *
 * Arguments are separated by ':'; a backslash escapes ':', '=' and '\\' inside a value
 * ("interface=\\:\\:1"). Throws EndpointDescriptionError for an unknown type, an unknown
 * parameter or a bad value (an unreadable key file, bad PEM).
 */
export function serverFromString(reactor: EndpointReactor, description: string): IStreamServerEndpoint {
  const { type, args, kwargs } = endpointType(description);
  const parser = serverParsers.get(type);
  if (!parser) throw unknownType(type, serverParsers.keys());
  return parser(reactor, args, kwargs, description);
}

/**
 * A client endpoint from a description, as Twisted's clientFromString:
 *
 *     tcp:HOST:PORT[:timeout=SECONDS][:bindAddress=ADDRESS]   TCP4ClientEndpoint
 *     tcp:host=HOST:port=PORT[...]                            (the same, with keywords)
 *     unix:PATH[:timeout=SECONDS][:lockfile=0|1]              UNIXClientEndpoint
 *     unix:path=PATH[...]
 *     tls:HOST:PORT[:timeout=S][:bindAddress=A][:trustRoots=CADIR][:certificate=C.pem][:privateKey=K.pem]
 *                                                             SSL4ClientEndpoint, verifying that the
 *                                                             server is HOST (optionsForClientTLS)
 *     ssl:HOST:PORT[:timeout=S][:bindAddress=A][:caCertsDir=CADIR][:hostname=NAME][:certKey=C.pem][:privateKey=K.pem]
 *                                                             SSL4ClientEndpoint, verifying the chain
 *                                                             with caCertsDir and the name with hostname
 *                                                             (neither given: nothing is verified)
 *
 * Escapes and errors as serverFromString.
 */
export function clientFromString(reactor: EndpointReactor, description: string): IStreamClientEndpoint {
  const { type, args, kwargs } = endpointType(description);
  const parser = clientParsers.get(type);
  if (!parser) throw unknownType(type, clientParsers.keys());
  return parser(reactor, args, kwargs, description);
}
