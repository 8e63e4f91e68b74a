/**
 * The log captured around each test of a describe, for specs whose code logs on purpose
 * (factories starting, errors the spec provokes): the expected lines stay out of the test
 * output, and the tests can assert on them.
 */

import type { Failure } from "../../lib/internet/failure.js";
import { captureLogEvents, type LogCapture, type LogEvent } from "../../lib/internet/log.js";

/**
 * Call in a describe: each of its tests runs under a new captureLogEvents(), stopped after it.
 * The returned capture reads the current test's events.
 */
export function captureLogsOfEachTest(): LogCapture {
  let current: LogCapture;
  beforeEach(() => {
    current = captureLogEvents();
  });
  afterEach(() => {
    current.stop();
  });
  return {
    get events(): LogEvent[] {
      return current.events;
    },
    messages: (): string[] => current.messages(),
    failures: (): Failure[] => current.failures(),
    stop: (): void => current.stop(),
  };
}
