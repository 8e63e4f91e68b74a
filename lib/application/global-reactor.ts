/**
 * The global reactor, for the services that default to it as Twisted's do (ClientService's
 * clock, strports.service's reactor), loaded on first use so that importing lib/application
 * builds no reactor. The same mechanism as lib/internet/task.ts's LoopingCall default: when the
 * reactor gets its one home module (installReactor), this is the one line to point at it.
 */

import { createRequire } from "node:module";
import type { NodeReactor } from "../internet/reactor.js";

const requireModule = createRequire(import.meta.url);

export function globalReactor(): NodeReactor {
  try {
    return (requireModule("../internet/reactor.js") as { reactor: NodeReactor }).reactor;
  } catch (err) {
    throw new Error("could not load the global reactor (Node 20.19 or newer loads it on demand): pass the reactor or clock explicitly", {
      cause: err,
    });
  }
}
