// The dashboard in headless Chromium against the real server and PostgreSQL.
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startLabbook } from "../../scripts/lib/labbook-process";
import { launchBrowser, screenshot } from "../helpers/browser";

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

async function fillNewExperiment(page: Page, name: string, seeds = "1, 2") {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Description").fill("SFS against z-score, created in the browser");
  await page.getByLabel(/^Seeds/).fill(seeds);
  await page.getByLabel("Normalization").selectOption("sfs");
}

describe("new experiment form", () => {
  it("validates inline with the shared schema and refuses to submit until fixed", async () => {
    const page = await browser.newPage();
    await page.goto(new URL("/experiments/new", inject("baseUrl")).toString());
    await fillNewExperiment(page, `inline-${Date.now()}`);
    await page.getByLabel("Learning rate", { exact: false }).fill("-1");
    await page.getByLabel("Dropout, block 2").fill("1.5");
    await expect.poll(() => page.getByText("Learning rate must be > 0").isVisible()).toBe(true);
    await expect.poll(() => page.getByText("Dropout, block 2 must be < 1").isVisible()).toBe(true);
    await screenshot(page, "new-experiment-invalid");

    await page.getByRole("button", { name: /Create and queue 2 runs/ }).click();
    expect(page.url()).toMatch(/\/experiments\/new$/);
    await page.getByLabel("Learning rate", { exact: false }).fill("0.001");
    await page.getByLabel("Dropout, block 2").fill("0.3");
    await expect.poll(() => page.locator("[aria-invalid=true]").count()).toBe(0);
    await page.close();
  });
});

describe("presets in the form", () => {
  it("fills the form from the Fast preset, every field editable, and the run records the preset", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    try {
      await page.goto(new URL("/experiments/new", inject("baseUrl")).toString());
      await page.getByTestId("presets").getByRole("button", { name: "Fast" }).click();
      await expect.poll(() => page.getByTestId("preset-description").textContent()).toContain("Nesterov");
      expect(await page.getByLabel("Optimizer").inputValue()).toBe("sgd-nesterov");
      expect(await page.getByLabel("Learning rate", { exact: false }).inputValue()).toBe("0.2");
      expect(await page.getByLabel("Max epochs", { exact: true }).inputValue()).toBe("10");
      expect(await page.getByLabel("Shift by whole pixels").isChecked()).toBe(true);
      await page.getByLabel("Name", { exact: true }).fill(`fast-${Date.now()}`);
      await page.getByLabel(/^Seeds/).fill("7");
      await page.getByLabel("Max epochs", { exact: true }).fill("12");
      await screenshot(page, "new-experiment-fast-preset");
      await page.getByRole("button", { name: "Create and queue 1 run" }).click();
      await page.waitForURL(/\/experiments\/\d+$/);
      const runId = await page
        .getByTestId("runs-table")
        .locator("tbody tr td:nth-child(2)")
        .first()
        .textContent();
      await page.goto(new URL(`/runs/${runId}`, inject("baseUrl")).toString());
      const value = (param: string) =>
        page
          .getByTestId("hyperparams")
          .locator("tr", { has: page.getByText(param, { exact: true }) })
          .locator("td")
          .nth(1)
          .textContent();
      await expect.poll(() => value("preset")).toBe("fast");
      expect(await value("optimizer")).toBe("sgd-nesterov");
      expect(await value("learningRate")).toBe("0.2");
      expect(await value("epochs")).toBe("12");
      expect(await value("augmentation.wholePixelShifts")).toBe("true");
    } finally {
      await page.close();
    }
  });
});

describe("random search in the form", () => {
  it("previews the sampled configs, queues them, and records the sampler seed on the experiment", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    try {
      await page.goto(new URL("/experiments/new", inject("baseUrl")).toString());
      const name = `random-search-${Date.now()}`;
      await fillNewExperiment(page, name, "1");
      await page.getByLabel("Random search").check();
      await page.getByLabel("Configs to sample").fill("3");
      await page.getByLabel("Sampler seed").fill("5");
      await page.getByLabel("Random batch sizes").fill("32, 64");
      await page.getByLabel("Random normalization zscore", { exact: true }).check();
      await expect
        .poll(() => page.getByTestId("plan-summary").textContent())
        .toMatch(/^3 configs × 1 seeds: random 1\/3: lr [\d.e-]+ · bs (32|64) · zscore;/);
      await screenshot(page, "new-experiment-random-search");
      await page.getByRole("button", { name: "Create and queue 3 runs" }).click();
      await page.waitForURL(/\/experiments\/\d+$/);
      await expect.poll(() => page.getByTestId("runs-table").locator("tbody tr").count()).toBe(3);
      await expect
        .poll(() => page.getByTestId("search-summary").textContent())
        .toContain("Random search: 3 configs × 1 seed, sampler seed 5;");
      await screenshot(page, "experiment-random-search");
    } finally {
      await page.close();
    }
  });
});

describe("Labbook on its embedded database", () => {
  const home = mkdtempSync(path.join(tmpdir(), "labbook-home-"));
  chmodSync(home, 0o755); // the postgres user must reach the data directory
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("keeps an experiment created in the browser across a restart", async () => {
    const env = { DATABASE_URL: undefined, LABBOOK_HOME: home };
    const name = `survives-restart-${Date.now()}`;
    let labbook = await startLabbook(env);
    expect(labbook.output()).toContain(`embedded PostgreSQL in ${home}`);
    const page = await browser.newPage();
    try {
      await page.goto(labbook.baseUrl);
      await page.getByRole("link", { name: "New experiment" }).first().click();
      await page.waitForURL(/\/experiments\/new$/);
      await fillNewExperiment(page, name);
      await screenshot(page, "new-experiment");
      await page.getByRole("button", { name: "Create and queue 2 runs" }).click();
      await page.waitForURL(/\/experiments\/\d+$/);
      await expect.poll(() => page.getByTestId("experiment-name").textContent()).toBe(name);
      await expect.poll(() => page.getByTestId("runs-table").locator("tbody tr").count()).toBe(2);
      await screenshot(page, "experiment");

      await page.getByRole("navigation").getByRole("link", { name: "Experiments" }).click();
      const row = page.getByTestId("experiments-table").locator("tr", { hasText: name });
      await expect.poll(() => row.getByTestId("run-count").textContent()).toBe("2");
      await screenshot(page, "experiments");

      expect(await labbook.stop("SIGTERM")).toBe(0);
      // A clean stop also stops the embedded PostgreSQL.
      expect(existsSync(path.join(home, "postgres", "data", "postmaster.pid"))).toBe(false);

      labbook = await startLabbook(env);
      await page.goto(new URL("/experiments", labbook.baseUrl).toString());
      const after = page.getByTestId("experiments-table").locator("tr", { hasText: name });
      await expect.poll(() => after.getByTestId("run-count").textContent()).toBe("2");
    } finally {
      await page.close();
      await labbook.stop("SIGTERM");
    }
  }, 180_000);
});
