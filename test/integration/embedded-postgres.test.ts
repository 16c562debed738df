import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "@/server/db/embedded-postgres";
import { withClient } from "../helpers/database";

const dir = mkdtempSync(path.join(tmpdir(), "labbook-embedded-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const query = (url: string, sql: string) => withClient(url, async (client) => (await client.query(sql)).rows);

describe("embedded PostgreSQL", () => {
  it("reuses a running cluster, keeps data across restarts and listens on loopback only", async () => {
    const first = await startEmbeddedPostgres({ dir });
    try {
      expect(first.reused).toBe(false);
      await query(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
      expect(await query(first.url, "SHOW listen_addresses")).toEqual([{ listen_addresses: "127.0.0.1" }]);

      const second = await startEmbeddedPostgres({ dir });
      expect(second.reused).toBe(true);
      expect(second.url).toBe(first.url);
      await second.stop(); // a reuser never stops the owner's cluster
      expect(await query(first.url, "SELECT v FROM kept")).toEqual([{ v: "still here" }]);
    } finally {
      await first.stop();
    }
    const restarted = await startEmbeddedPostgres({ dir });
    try {
      expect(restarted.reused).toBe(false);
      expect(await query(restarted.url, "SELECT v FROM kept")).toEqual([{ v: "still here" }]);
    } finally {
      await restarted.stop();
    }
  });
});
