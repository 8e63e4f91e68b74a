/**
 * Logging the twisted.logger way: begin logging to a filtered text observer on stderr and to a
 * JSON file, log from a library-like namespace and from the program, then read the JSON back.
 *
 *     node build/examples/logging.js [log.json]     (default: a file in the temp directory)
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  eventsFromJSONLogFile,
  FilteringLogObserver,
  formatEvent,
  globalLogBeginner,
  jsonFileLogObserver,
  Logger,
  LogLevel,
  LogLevelFilterPredicate,
  textFileLogObserver,
} from "torsion";

const path = process.argv[2] ?? join(tmpdir(), `torsion-logging-${process.pid}.json`);

// Logged before logging begins: kept (the last 200 events), not printed, as a library's info
// lines should be. Warnings and errors would go to stderr at once.
const db = new Logger("myapp.db");
db.info("connected to {host}", { host: "db.example" });

// Where the log goes: warnings and up from everywhere, but everything from "myapp", to stderr;
// every event, whatever its level, to a JSON file.
const levels = new LogLevelFilterPredicate(LogLevel.warn);
levels.setLogLevelForNamespace("myapp", LogLevel.debug);
const fd = openSync(path, "w");
const jsonFile = { write: (text: string) => writeSync(fd, text) };
globalLogBeginner.beginLoggingTo([
  new FilteringLogObserver(textFileLogObserver(process.stderr), [levels]),
  jsonFileLogObserver(jsonFile),
]);

const log = new Logger("myapp.main");
log.debug("starting with {workers} workers", { workers: 4 });
new Logger("somelibrary.pool").info("pool ready"); // below warn outside myapp: JSON file only
log.failure("request {id} failed", new RangeError("quota exceeded"), { id: 17 }, LogLevel.error);
closeSync(fd);

// The JSON file holds every event, in Twisted's own format, and reads back as events.
for (const event of eventsFromJSONLogFile(readFileSync(path))) {
  console.log(`from ${path}: [${event.log_namespace}#${LogLevel[event.log_level]}] ${formatEvent(event)}`);
}
