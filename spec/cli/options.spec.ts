import { expect } from "chai";
import {
  UsageError,
  formatOptions,
  parseArgv,
  parseInteger,
  parseSeconds,
  parseSize,
  type OptionSpec,
} from "../../lib/cli/options.js";

const SPECS: OptionSpec[] = [
  { name: "listen", value: "DESCRIPTION", multiple: true, default: "tcp:8080", help: "Where to listen." },
  { name: "path", short: "d", value: "DIR", help: "What to serve." },
  { name: "access-log", short: "l", aliases: ["logfile"], value: "FILE", help: "The log." },
  { name: "verbose", short: "v", help: "Say more." },
];

function usage(argv: string[], positionals = false): string {
  try {
    parseArgv(SPECS, argv, positionals);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("no UsageError");
}

describe("options (lib/cli/options.ts)", () => {
  describe("parseArgv", () => {
    it("reads --name VALUE, --name=VALUE, -n VALUE, -nVALUE and flags", () => {
      const { values } = parseArgv(SPECS, ["--listen", "tcp:1", "--listen=tcp:2", "-d", "/srv", "-lfile.log", "-v"]);
      expect(values.get("listen")).to.deep.equal(["tcp:1", "tcp:2"]);
      expect(values.get("path")).to.deep.equal(["/srv"]);
      expect(values.get("access-log")).to.deep.equal(["file.log"]);
      expect(values.get("verbose")).to.deep.equal([""]);
      expect(values.has("nothing")).to.equal(false);
    });

    it("files an alias under the option's own name, and remembers how it was spelled", () => {
      const { values, spelled } = parseArgv(SPECS, ["--logfile", "x.log"]);
      expect(values.get("access-log")).to.deep.equal(["x.log"]);
      expect(spelled.get("access-log")).to.equal("--logfile");
    });

    it("keeps a value that looks like an option when it follows one that takes a value", () => {
      expect(parseArgv(SPECS, ["--path", "-v"]).values.get("path")).to.deep.equal(["-v"]);
    });

    it("takes what follows -- as positionals, when positionals are allowed", () => {
      const { values, positionals } = parseArgv(SPECS, ["a", "-v", "--", "--path", "b"], true);
      expect(positionals).to.deep.equal(["a", "--path", "b"]);
      expect(values.get("verbose")).to.deep.equal([""]);
    });

    it("raises a one-line UsageError for each kind of mistake", () => {
      expect(usage(["--nope"])).to.equal("unknown option --nope (see --help)");
      expect(usage(["-x"])).to.equal("unknown option -x (see --help)");
      expect(usage(["--path"])).to.equal("--path needs a value: --path DIR");
      expect(usage(["--verbose=yes"])).to.equal("--verbose takes no value");
      expect(usage(["-d", "a", "--path", "b"])).to.equal("--path was given more than once");
      expect(usage(["stray"])).to.equal('unexpected argument "stray" (see --help)');
    });
  });

  describe("formatOptions", () => {
    it("lists each option with its short name, value, aliases, repeatability and default", () => {
      const text = formatOptions(SPECS);
      const lines = text.split("\n");
      expect(lines[0]).to.match(/^ {6}--listen DESCRIPTION +Where to listen\. Repeatable\. \[default: tcp:8080\]$/);
      expect(lines[1]).to.match(/^ {2}-d, --path DIR +What to serve\.$/);
      expect(lines[2]).to.match(/^ {2}-l, --access-log FILE +The log\. \(also --logfile\)$/);
      expect(lines[3]).to.match(/^ {2}-v, --verbose +Say more\.$/);
    });

    it("wraps long help under its column", () => {
      const text = formatOptions([{ name: "x", help: "word ".repeat(60).trim() }], 60);
      const lines = text.split("\n");
      expect(lines.length).to.be.greaterThan(2);
      for (const line of lines) expect(line.length).to.be.at.most(60);
      const column = lines[0].indexOf("word");
      for (const line of lines.slice(1)) expect(line.indexOf("word")).to.equal(column);
    });
  });

  describe("value parsers", () => {
    it("parseSeconds: decimals >= 0", () => {
      expect(parseSeconds("--t", "2.5")).to.equal(2.5);
      expect(parseSeconds("--t", "0")).to.equal(0);
      expect(() => parseSeconds("--t", "")).to.throw(UsageError, '--t expects a number of seconds >= 0, got ""');
      expect(() => parseSeconds("--t", "-1")).to.throw(UsageError);
      expect(() => parseSeconds("--t", "Infinity")).to.throw(UsageError);
    });

    it("parseInteger: integers in range", () => {
      expect(parseInteger("--n", "7", 1)).to.equal(7);
      expect(() => parseInteger("--n", "1.5", 1)).to.throw(UsageError, "--n expects an integer >= 1");
      expect(() => parseInteger("--n", "9", 1, 8)).to.throw(UsageError, "--n expects an integer from 1 to 8");
    });

    it("parseSize: bytes with K, M, G (powers of 1024)", () => {
      expect(parseSize("--s", "100")).to.equal(100);
      expect(parseSize("--s", "4k")).to.equal(4096);
      expect(parseSize("--s", "2MB")).to.equal(2 * 1024 ** 2);
      expect(parseSize("--s", "1GiB")).to.equal(1024 ** 3);
      expect(() => parseSize("--s", "1.5M")).to.throw(UsageError, "--s expects a number of bytes");
    });
  });
});
