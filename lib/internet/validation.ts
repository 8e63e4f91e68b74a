/**
 * The checks the reactor's entry points make of their arguments, so that a wrong argument
 * throws at once, naming the value, instead of reaching node:net (which would bind a random
 * port for NaN, wrap 70000 to 4464, or take "8080x" for a pipe name): a mistyped PORT variable
 * must not silently serve somewhere else. TypeError for the wrong kind of value, RangeError
 * for a number out of range. Each message starts with the call (`listenTCP: ...`).
 */

/** A value as an error message shows it: strings quoted, so "8080x" and 8080 differ. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "<anonymous>"}`;
  if (value !== null && typeof value === "object") {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

/** A TCP port: an integer from 0 to 65535 (0: the system picks one). */
export function checkPort(call: string, value: unknown, name = "port"): number {
  if (typeof value !== "number") {
    const kind = typeof value === "string" ? " (a string)" : "";
    throw new TypeError(`${call}: ${name} must be an integer from 0 to 65535, not ${describeValue(value)}${kind}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(`${call}: ${name} must be an integer from 0 to 65535, not ${describeValue(value)}`);
  }
  return value;
}

/** An address to bind or connect to, or a socket path: a string. */
export function checkString(call: string, value: unknown, name: string): string {
  if (typeof value !== "string") throw new TypeError(`${call}: ${name} must be a string, not ${describeValue(value)}`);
  return value;
}

/** A host to connect to: a non-empty string. */
export function checkHost(call: string, value: unknown, name = "host"): string {
  checkString(call, value, name);
  if (value === "") throw new RangeError(`${call}: ${name} must not be empty`);
  return value as string;
}

/** A duration in seconds: a finite number, 0 or more. */
export function checkSeconds(call: string, value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`${call}: ${name} must be a number of seconds, not ${describeValue(value)}`);
  if (!(value >= 0 && value < Infinity)) throw new RangeError(`${call}: ${name} must be a finite number of seconds >= 0, not ${value}`);
  return value;
}

/** A count (a backlog): an integer, 0 or more. */
export function checkCount(call: string, value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`${call}: ${name} must be an integer >= 0, not ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${call}: ${name} must be an integer >= 0, not ${value}`);
  return value;
}

interface ListenOptionsLike {
  backlog?: unknown;
  interface?: unknown;
}

interface ConnectOptionsLike {
  timeout?: unknown;
  bindAddress?: unknown;
}

/** listenTCP/listenSSL(port, factory, {interface, backlog}). */
export function checkListen(call: string, port: unknown, options: ListenOptionsLike | undefined): void {
  checkPort(call, port);
  if (options === undefined) return;
  if (options.interface !== undefined) checkString(call, options.interface, "interface");
  if (options.backlog !== undefined) checkCount(call, options.backlog, "backlog");
}

/** connectTCP/connectSSL(host, port, factory, {timeout, bindAddress}). */
export function checkConnect(call: string, host: unknown, port: unknown, options: ConnectOptionsLike | undefined): void {
  checkHost(call, host);
  checkPort(call, port);
  if (options === undefined) return;
  if (options.timeout !== undefined) checkSeconds(call, options.timeout, "timeout");
  const bind = options.bindAddress as { host?: unknown; port?: unknown } | undefined;
  if (bind !== undefined) {
    if (bind === null || typeof bind !== "object") {
      throw new TypeError(`${call}: bindAddress must be { host, port }, not ${describeValue(bind)}`);
    }
    checkString(call, bind.host, "bindAddress.host");
    checkPort(call, bind.port, "bindAddress.port");
  }
}

/** listenUNIX/connectUNIX(address, ...): a socket path, and a timeout or backlog if given. */
export function checkUNIX(call: string, address: unknown, options: { backlog?: unknown; timeout?: unknown } | undefined): void {
  checkHost(call, address, "address");
  if (options === undefined) return;
  if (options.backlog !== undefined) checkCount(call, options.backlog, "backlog");
  if (options.timeout !== undefined) checkSeconds(call, options.timeout, "timeout");
}
