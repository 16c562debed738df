import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { PROJECT_ROOT, prisma } from "@/server/db/migrate";
import { withClient } from "../helpers/database";

const databaseUrl = inject("databaseUrl");
const schemaPath = path.join(PROJECT_ROOT, "prisma", "schema.prisma");
const scratch = mkdtempSync(path.join(tmpdir(), "labbook-drift-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `migrate diff` from the committed migrations (replayed into a shadow database) to a schema file. */
function diffMigrationsTo(schemaFile: string) {
  return prisma(
    [
      "migrate",
      "diff",
      "--from-migrations",
      "prisma/migrations",
      "--to-schema-datamodel",
      schemaFile,
      "--exit-code",
    ],
    databaseUrl,
  );
}

describe("migrations", () => {
  it("rebuild exactly what schema.prisma describes (no drift)", async () => {
    const { code, stdout } = await diffMigrationsTo(schemaPath);
    expect(stdout).not.toMatch(/CREATE|ALTER|DROP/);
    expect(code).toBe(0);
  });

  it("report drift when schema.prisma changes without a migration", async () => {
    const changed = path.join(scratch, "schema.prisma");
    copyFileSync(schemaPath, changed);
    writeFileSync(changed, `${readFileSync(changed, "utf8")}\nmodel Unmigrated {\n  id Int @id\n}\n`);
    const { code } = await diffMigrationsTo(changed);
    expect(code).toBe(2);
  });

  it("are all applied to the test database", async () => {
    const { code, stdout } = await prisma(["migrate", "status"], databaseUrl);
    expect(stdout).toContain("Database schema is up to date");
    expect(code).toBe(0);
  });

  it("make the promotion log append-only", () =>
    withClient(databaseUrl, async (client) => {
      const model = await client.query(
        `INSERT INTO "RegisteredModel"(name) VALUES ('append-only-check') RETURNING id`,
      );
      const modelId = model.rows[0].id as number;
      await client.query(
        `INSERT INTO "PromotionLog"("modelId", alias, actor) VALUES ($1, 'production', 'test')`,
        [modelId],
      );
      await expect(
        client.query(`UPDATE "PromotionLog" SET note = 'rewritten' WHERE "modelId" = $1`, [modelId]),
      ).rejects.toThrow(/append-only/);
      await expect(
        client.query(`DELETE FROM "PromotionLog" WHERE "modelId" = $1`, [modelId]),
      ).rejects.toThrow(/append-only/);
      const rows = await client.query(`SELECT note FROM "PromotionLog" WHERE "modelId" = $1`, [modelId]);
      expect(rows.rows).toEqual([{ note: "" }]);
    }));
});
