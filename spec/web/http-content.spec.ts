import { expect } from "chai";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { RequestContent } from "../../lib/web/http-content.js";

function tempBodies(): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`torsion-body-${process.pid}-`));
}

describe("twisted.web.http request content", () => {
  it("keeps a small body in memory and reads it with seek/read/tell", () => {
    const c = new RequestContent(100);
    c.write(Buffer.from("hello "));
    c.write(Buffer.from("world"));
    expect(c.spilled).to.equal(false);
    expect(c.length).to.equal(11);
    expect(c.read().toString()).to.equal("");
    c.seek(0);
    expect(c.read(5).toString()).to.equal("hello");
    expect(c.tell()).to.equal(5);
    expect(c.read().toString()).to.equal(" world");
    c.seek(-5, 2);
    expect(c.read().toString()).to.equal("world");
    c.seek(-11, 1);
    expect(c.read(100).toString()).to.equal("hello world");
    expect(c.getvalue().toString()).to.equal("hello world");
  });

  it("copies what it is given", () => {
    const c = new RequestContent();
    const data = Buffer.from("abc");
    c.write(data);
    data[0] = 0x7a;
    expect(c.getvalue().toString()).to.equal("abc");
  });

  it("spills a body over the threshold to an already-unlinked temporary file", () => {
    const c = new RequestContent(10);
    c.write(Buffer.from("0123456789"));
    expect(c.spilled).to.equal(false);
    c.write(Buffer.from("abcdef"));
    expect(c.spilled).to.equal(true);
    expect(tempBodies()).to.deep.equal([]);
    c.seek(8);
    expect(c.read(4).toString()).to.equal("89ab");
    expect(c.getvalue().toString()).to.equal("0123456789abcdef");
    expect(c.tell()).to.equal(12);
    c.close();
    expect(c.closed).to.equal(true);
  });

  it("refuses use after close, and close is idempotent", () => {
    const c = new RequestContent(4);
    c.write(Buffer.from("12345"));
    c.close();
    c.close();
    expect(() => c.read()).to.throw(Error, /closed/);
    expect(() => c.write(Buffer.from("x"))).to.throw(Error, /closed/);
  });

  it("rejects a negative seek", () => {
    expect(() => new RequestContent().seek(-1)).to.throw(RangeError);
  });
});
