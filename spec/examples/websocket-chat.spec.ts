import { expect } from "chai";
import { existsSync } from "node:fs";
import WebSocket from "ws";
import { chatSite } from "../../examples/websocket-chat.js";
import { loopback } from "../support/loopback.js";
import { within } from "../support/wait.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_MISSING = `${CHROMIUM} is missing: install the Debian package chromium to run the WebSocket chat in a browser`;

/** The next `n` messages of a client, as text. */
function messages(c: WebSocket, n: number): Promise<string[]> {
  const got: string[] = [];
  return within(
    new Promise((resolve) => {
      const on = (data: Buffer): void => {
        got.push(data.toString());
        if (got.length === n) {
          c.off("message", on);
          resolve(got);
        }
      };
      c.on("message", on);
    }),
    5,
    `${n} messages`,
  );
}

describe("examples/websocket-chat", () => {
  const lo = loopback();

  it("two ws clients in the room: joins, a message to both, a leave", async () => {
    const port = lo.listenTCP(chatSite()).getHost().port;
    const alice = new WebSocket(`ws://127.0.0.1:${port}/chat?name=alice`);
    const aliceFirst = messages(alice, 1);
    await within(new Promise((r) => alice.once("open", r)), 3, "alice to join");
    expect(await aliceFirst).to.deep.equal(["* alice joined (1 here)"]);
    const bob = new WebSocket(`ws://127.0.0.1:${port}/chat?name=bob`);
    const bobSees = messages(bob, 2);
    const aliceSees = messages(alice, 3);
    await within(new Promise((r) => bob.once("open", r)), 3, "bob to join");
    bob.send("hi alice");
    expect(await bobSees).to.deep.equal(["* bob joined (2 here)", "<bob> hi alice"]);
    bob.close();
    expect(await aliceSees).to.deep.equal(["* bob joined (2 here)", "<bob> hi alice", "* bob left"]);
    alice.close();
  });

  describe("in a browser (headless Chromium)", function () {
    this.timeout(60000);

    it("the page served by the Site opens a WebSocket and shows what it sends", async function () {
      if (!existsSync(CHROMIUM)) {
        console.log(`      (skipped: ${CHROMIUM_MISSING})`);
        this.skip();
      }
      const port = lo.listenTCP(chatSite()).getHost().port;
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        timeout: 30000,
      });
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(10000);
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForSelector("#log:has-text('joined')");
        await page.fill("#say", "from chromium");
        await page.press("#say", "Enter");
        await page.waitForSelector("#log:has-text('from chromium')");
        expect(await page.textContent("#log")).to.match(/\* guest1 joined \(1 here\)\n<guest1> from chromium\n/);
      } finally {
        await browser.close();
      }
    });
  });
});
