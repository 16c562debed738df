// The dataset route's refusal says what to do, never where the server keeps its files.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DatasetImageError, testImagePng } from "@/server/services/dataset-images";

afterEach(() => vi.unstubAllEnvs());

describe("a missing dataset", () => {
  it("is a 503 that names no server path (found by reading the code)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "labbook-no-dataset-"));
    vi.stubEnv("LABBOOK_DATA_DIR", path.join(dir, "secret-folder"));
    vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const error = await testImagePng(0, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatasetImageError);
      expect((error as DatasetImageError).status).toBe(503);
      expect((error as DatasetImageError).message).toBe(
        "the dataset is not on this server; an admin runs: labbook data fetch",
      );
      expect((error as DatasetImageError).message).not.toContain(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
