/**
 * The script every ThreadPool worker runs.
 *
 * It installs the worker's thread bridge (for callFromThread/blockingCallFromThread), says it is
 * ready, then runs one task at a time: import the named module (once per worker, cached), call
 * the named export with the cloned arguments, await it if it returns a Promise or Deferred, and
 * post back the result or the error (as a SerializedError, so its class name, message and stack
 * survive). The pool sends the next task only after the answer, so tasks never overlap here.
 */

import { parentPort, workerData } from "node:worker_threads";
import { BridgeClient, installBridgeClient, type BridgeInit } from "./thread-bridge.js";
import { serializeError, type SerializedError } from "./thread-error.js";
import { isThenable } from "./thenable.js";
import { loadFunction } from "./work-loader.js";

/**
 * main -> worker: run the calls in order; answer with the result of the one call, or with all
 * of them if `many` (callMultipleInThread). Flat, [id, many, module, export, args, module,
 * export, args, ...]: structured clone of an array of strings costs a fraction of the same
 * values in nested objects, and this message is sent once per task (the largest cost per task
 * on the main thread, for a small one such as a WSGI hello world).
 */
export type RunMessage = [id: number, many: 0 | 1, ...calls: unknown[]];

/** Index of the first call in a RunMessage; each call is three entries (module, export, args). */
export const FIRST_CALL = 2;

/** worker -> main. */
export type WorkerMessage =
  | { t: "ready" }
  | { t: "done"; id: number; ok: true; v: unknown }
  | { t: "done"; id: number; ok: false; err: SerializedError };

export interface WorkerInitData {
  bridge: BridgeInit;
}

const port = parentPort;
if (port === null) throw new Error("worker-main runs only as a ThreadPool worker");

installBridgeClient(new BridgeClient((workerData as WorkerInitData).bridge));

type Fn = (...args: unknown[]) => unknown;
/** Resolved exports, so a warm call is a Map lookup and a synchronous call. */
const functions = new Map<string, Fn>();

async function resolve(module: string, name: string, key: string): Promise<Fn> {
  const fn = await loadFunction({ module, export: name });
  functions.set(key, fn);
  return fn;
}

/** Call one function; synchronous when it is loaded and returns a plain value. */
function invoke(message: RunMessage, at: number): unknown {
  const module = message[at] as string;
  const name = message[at + 1] as string;
  const args = message[at + 2] as unknown[];
  const key = `${module}\0${name}`;
  const fn = functions.get(key);
  if (fn !== undefined) return fn(...args);
  return resolve(module, name, key).then((loaded) => loaded(...args));
}

function reply(id: number, ok: boolean, value: unknown): void {
  if (ok) {
    try {
      port!.postMessage({ t: "done", id, ok: true, v: value } satisfies WorkerMessage);
      return;
    } catch (err) {
      // The result cannot be cloned: report that instead, and stay usable.
      value = err;
    }
  }
  port!.postMessage({ t: "done", id, ok: false, err: serializeError(value) } satisfies WorkerMessage);
}

async function runMany(message: RunMessage): Promise<void> {
  const results: unknown[] = [];
  try {
    for (let at = FIRST_CALL; at < message.length; at += 3) {
      let result = invoke(message, at);
      if (isThenable(result)) result = await result;
      results.push(result);
    }
  } catch (err) {
    reply(message[0], false, err);
    return;
  }
  reply(message[0], true, results);
}

/**
 * Start one task. Returns a Promise when it goes on asynchronously, else undefined (its answer
 * is already posted).
 */
function run(message: RunMessage): Promise<void> | undefined {
  if (message[1] === 1) return runMany(message);
  const id = message[0];
  let result: unknown;
  try {
    result = invoke(message, FIRST_CALL);
  } catch (err) {
    reply(id, false, err);
    return undefined;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => reply(id, true, value),
      (err) => reply(id, false, err),
    );
  }
  reply(id, true, result);
  return undefined;
}

// A pool with `pipeline` above 1 sends the next task before this one has answered: tasks still
// run one at a time, in order, so one that awaits does not overlap the next.
const backlog: RunMessage[] = [];
let running = false;

function drain(): void {
  while (backlog.length > 0) {
    const pending = run(backlog.shift()!);
    if (pending !== undefined) {
      running = true;
      void pending.then(() => {
        running = false;
        drain();
      });
      return;
    }
  }
}

port.on("message", (message: RunMessage) => {
  if (!Array.isArray(message)) return;
  backlog.push(message);
  if (!running) drain();
});
port.postMessage({ t: "ready" } satisfies WorkerMessage);
