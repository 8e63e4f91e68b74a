/**
 * torsion: Twisted's networking model on Node.js. Every public name, from one import.
 * Each module is also importable on its own from a subpath mirroring Twisted's
 * (`torsion/internet/defer`, `torsion/internet/task`, `torsion/web/server`, ...).
 */

export * from "./internet/error.js";
export * from "./internet/failure.js";
export * from "./internet/log.js";
export * from "./internet/defer.js";
export * from "./internet/protocol.js";
export type * from "./internet/interfaces.js";
