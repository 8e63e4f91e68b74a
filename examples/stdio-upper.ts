/**
 * A protocol on this process's own stdin and stdout (StandardIO): every line read comes back
 * in capitals. Twisted's stdio examples, in torsion.
 *
 *     printf 'hello\nworld\n' | node build/examples/stdio-upper.js
 */
import { type Bytes, type Failure, LineReceiver, StandardIO } from "torsion";

class Upper extends LineReceiver {
  override delimiter: Bytes = Buffer.from("\n");

  override lineReceived(line: Bytes): void {
    this.sendLine(Buffer.from(Buffer.from(line).toString().toUpperCase()));
  }

  override connectionLost(reason: Failure): void {
    // EOF on stdin (ConnectionDone): nothing more will come; stdout is flushed and closed.
    process.stderr.write(`stdin ended: ${reason.getErrorMessage()}\n`);
  }
}

new StandardIO(new Upper());
