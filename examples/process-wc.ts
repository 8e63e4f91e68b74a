/**
 * A ProcessProtocol driving a child: send a text to `wc -w` on its stdin, read the count from
 * its stdout, and learn how it ended (Twisted's process howto, "Writing a ProcessProtocol").
 *
 *     node build/examples/process-wc.js
 */
import { type Bytes, type Failure, ProcessProtocol, reactor } from "torsion";

class WordCount extends ProcessProtocol {
  private output = "";

  constructor(private readonly text: string) {
    super();
  }

  override connectionMade(): void {
    // The child is running: give it its input, then close its stdin so it sees the end.
    this.transport!.write(Buffer.from(this.text));
    this.transport!.closeStdin();
  }

  override outReceived(data: Bytes): void {
    this.output += Buffer.from(data).toString();
  }

  override errReceived(data: Bytes): void {
    process.stderr.write(data);
  }

  override inConnectionLost(): void {
    console.log("stdin is closed");
  }

  override processExited(reason: Failure): void {
    console.log(`the child exited: ${reason.getErrorMessage()}`);
  }

  override processEnded(reason: Failure): void {
    // ProcessDone for exit status 0, ProcessTerminated (exitCode, signal) otherwise.
    console.log(`words: ${this.output.trim()}`);
    console.log(`the child ended: ${reason.getErrorMessage()}`);
    reactor.stop();
  }
}

const text = "It was the best of times, it was the worst of times.\n";
// args[0] is the child's argv[0]; the environment is empty unless `env` says otherwise.
reactor.spawnProcess(new WordCount(text), "wc", ["wc", "-w"], { env: { PATH: "/usr/bin:/bin" } });
await reactor.run();
