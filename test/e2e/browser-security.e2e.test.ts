// What a hostile page can do with the dashboard, tried in headless Chromium against the real
// server: send a signed-in user off-site through /signin?next=, and frame the dashboard under a
// decoy button.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createUser } from "@/server/auth/users";
import { createDb } from "@/server/db/client";
import { launchBrowser, screenshot } from "../helpers/browser";

const baseUrl = inject("baseUrl");
const db = createDb(inject("databaseUrl"));
const name = `redirected-${process.pid}-${Date.now()}`;
const PASSWORD = "a long enough password";
let browser: Browser;
let framer: Server;

beforeAll(async () => {
  await createUser(db, { name, role: "viewer", password: PASSWORD });
  browser = await launchBrowser();
  // Another origin (another port), as a site the user visits would be.
  framer = createServer((_req, res) =>
    res
      .writeHead(200, { "content-type": "text/html" })
      .end(
        `<h1>Win a prize</h1><button>Claim</button><iframe id="victim" src="${baseUrl}/experiments" width="900" height="500"></iframe>`,
      ),
  );
  await new Promise<void>((resolve) => framer.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await browser?.close();
  framer?.close();
  await db.$disconnect();
});

describe("sign-in's next", () => {
  it("never leaves the site, whatever URL parsing drops (found by attack)", async () => {
    const origin = new URL(baseUrl).origin;
    const cases: [string, string][] = [
      ["/%09/evil.example", "/experiments"],
      ["/%0A/evil.example", "/experiments"],
      ["/%0D%0A/evil.example", "/experiments"],
      ["//evil.example", "/experiments"],
      ["/%5Cevil.example", "/experiments"],
      ["https://evil.example/", "/experiments"],
      ["javascript:alert(1)", "/experiments"],
      ["/.//evil.example", "/experiments"],
      ["/models", "/models"],
    ];
    for (const [next, expected] of cases) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${baseUrl}/signin?next=${next}`);
      await page.getByLabel("User name").fill(name);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((url) => !url.pathname.startsWith("/signin"), { timeout: 20_000 });
      expect(page.url(), next).toBe(`${origin}${expected}`);
      await context.close();
    }
  }, 180_000);
});

describe("the content security policy", () => {
  it("lets the dashboard's own pages run: no violation on the way through them", async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    for (const path of ["/experiments", "/compare", "/models", "/predict", "/signin"]) {
      await page.goto(`${baseUrl}${path}`);
      await page.getByRole("link", { name: "Labbook" }).waitFor();
      await page.waitForLoadState("networkidle");
    }
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);
});

describe("framing", () => {
  it("a page on another site that frames the dashboard shows nothing of it (found by attack)", async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(framer.address() as AddressInfo).port}/`);
    await page.waitForTimeout(3_000);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame).toBeDefined();
    // Chromium replaces a refused frame with its own error page.
    expect(frame?.url()).not.toContain(new URL(baseUrl).host);
    const shown = await frame?.evaluate(() => document.body?.textContent ?? "").catch(() => "");
    expect(shown).not.toMatch(/Labbook|Experiments/);
    await screenshot(page, "framing-refused");
    await page.close();
  }, 60_000);
});
