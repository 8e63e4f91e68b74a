/**
 * The global reactor's one home, as twisted.internet.reactor with twisted.internet.main's
 * installReactor: the reactor every class uses unless it is given another.
 *
 * Nothing is built when a module is imported. The first getReactor() call installs the default
 * reactor (a NodeReactor, whose module registers itself here as the default); a program or a
 * test that wants another reactor calls installReactor(r) before anything asks for one, and
 * asking afterwards for a second one raises ReactorAlreadyInstalledError, as in Twisted.
 *
 * Every module reaches the global reactor through getReactor(). The modules above reactor.ts
 * import it from there (which guarantees the default is registered); the few below it (the
 * protocol module, which the transports import) import it from here, and only ask once a
 * reactor has made them a connection.
 */

import { ReactorAlreadyInstalledError } from "./error.js";
import type { NodeReactor } from "./reactor.js";

let installed: NodeReactor | null = null;
let makeDefault: (() => NodeReactor) | null = null;
const installHooks: Array<(reactor: NodeReactor) => void> = [];

/**
 * The global reactor: the installed one, else the default NodeReactor, built and installed now.
 * Typed as NodeReactor, the reactor a program normally has; a test that installs a fake
 * (MemoryReactorClock) casts it.
 */
export function getReactor(): NodeReactor {
  if (installed !== null) return installed;
  if (makeDefault === null) {
    throw new Error(
      "no global reactor: import torsion/internet/reactor (or call installReactor()) before asking for it",
    );
  }
  install(makeDefault());
  return installed!;
}

/**
 * Make `reactor` the global reactor (twisted.internet.main.installReactor). Call it before
 * anything asks for the reactor: once one is installed (the default included), this raises
 * ReactorAlreadyInstalledError.
 */
export function installReactor(reactor: NodeReactor): void {
  if (installed !== null) throw new ReactorAlreadyInstalledError("reactor already installed");
  install(reactor);
}

/** True once a global reactor is installed (the default one built, or one given to installReactor). */
export function isReactorInstalled(): boolean {
  return installed !== null;
}

/**
 * Call `hook(reactor)` when the global reactor is installed (at once if it already is): for
 * tools and specs that check which import builds the reactor.
 */
export function whenReactorInstalled(hook: (reactor: NodeReactor) => void): void {
  if (installed !== null) hook(installed);
  else installHooks.push(hook);
}

/** @internal reactor.ts registers how to build the default reactor (a NodeReactor). */
export function _setDefaultReactor(factory: () => NodeReactor): void {
  makeDefault = factory;
}

/** The key under which `reactor` (the stand-in below) answers the reactor it stands for. */
const BEHIND = Symbol("torsion.internet.reactorBehind");

/** The reactor that `reactor` (the stand-in) stands for, or `r` itself for any other reactor. */
export function reactorBehind<R extends object>(r: R): R {
  return ((r as { [BEHIND]?: R })[BEHIND] as R | undefined) ?? r;
}

const boundMethods = new Map<PropertyKey, readonly [original: Function, bound: Function]>();

/**
 * A stand-in for the global reactor, for `import { reactor } from "torsion/internet/reactor"`
 * (Twisted's `from twisted.internet import reactor`): importing it builds nothing; the first
 * property read installs the global reactor (getReactor()) and every read is forwarded to it.
 * Its methods come bound to the real reactor, so `this` inside them is always the real one.
 * Identity is the one thing it cannot forward: `reactor !== getReactor()`; code that keys
 * tables by reactor looks through it with reactorBehind().
 */
export const lazyReactor: NodeReactor = new Proxy({} as NodeReactor, {
  get(_target, key) {
    const real = getReactor();
    if (key === BEHIND) return real;
    const value: unknown = Reflect.get(real, key, real);
    if (typeof value !== "function") return value;
    const known = boundMethods.get(key);
    if (known !== undefined && known[0] === value) return known[1];
    const bound = (value as Function).bind(real) as Function;
    boundMethods.set(key, [value as Function, bound]);
    return bound;
  },
  set: (_target, key, value) => Reflect.set(getReactor(), key, value),
  has: (_target, key) => Reflect.has(getReactor(), key),
  getPrototypeOf: () => Reflect.getPrototypeOf(getReactor()),
  ownKeys: () => Reflect.ownKeys(getReactor()),
  getOwnPropertyDescriptor(_target, key) {
    const d = Reflect.getOwnPropertyDescriptor(getReactor(), key);
    return d === undefined ? undefined : { ...d, configurable: true };
  },
  defineProperty: (_target, key, descriptor) => Reflect.defineProperty(getReactor(), key, descriptor),
  deleteProperty: (_target, key) => Reflect.deleteProperty(getReactor(), key),
});

function install(reactor: NodeReactor): void {
  installed = reactor;
  for (const hook of installHooks.splice(0)) hook(reactor);
}
