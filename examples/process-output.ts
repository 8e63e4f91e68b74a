/**
 * Running a program the easy way: getProcessOutput, getProcessValue and
 * getProcessOutputAndValue (Twisted's process howto, "Doing it the Easy Way").
 *
 *     node build/examples/process-output.js
 */
import { getProcessOutput, getProcessOutputAndValue, getProcessValue, ProcessSpawnError } from "torsion";

// args do not include the program's name; the Deferreds can be awaited.
const uname = await getProcessOutput("/bin/uname", ["-s"]);
console.log(`uname says: ${uname.toString().trim()}`);

const status = await getProcessValue("/bin/sh", ["-c", "exit 3"]);
console.log(`sh exited with ${status}`);

const [out, err, code] = await getProcessOutputAndValue("/bin/sh", ["-c", "echo out; echo err >&2; exit 1"]);
console.log(`out=${JSON.stringify(out.toString())} err=${JSON.stringify(err.toString())} code=${code}`);

try {
  await getProcessOutput("/no/such/program");
} catch (e) {
  if (!(e instanceof ProcessSpawnError)) throw e;
  console.log(`as expected: ${e.message}`);
}
