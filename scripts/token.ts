// `npm run token -- create --name NAME [--scope read|write|admin]`, `... list`, `... revoke ID`.
// Tokens are shown once at creation; only their sha256 is stored.
import { parseArgs } from "node:util";
import { createApiToken } from "../src/server/auth/tokens";
import { createDb } from "../src/server/db/client";
import { openDatabase } from "../src/server/db/open";

const SCOPES = ["read", "write", "admin"] as const;
const usage = "usage: npm run token -- create --name NAME [--scope read|write|admin] | list | revoke ID";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: "string" }, scope: { type: "string", default: "write" } },
});
const [command, arg] = positionals;
const scope = SCOPES.find((s) => s === values.scope);
if (
  !command ||
  (command === "create" && (!values.name || !scope)) ||
  (command === "revoke" && !Number(arg))
) {
  console.error(usage);
  process.exit(2);
}

const database = await openDatabase();
const db = createDb(database.url);
try {
  if (command === "create" && values.name && scope) {
    const { token, record } = await createApiToken(db, { name: values.name, scope });
    console.log(
      `Created token #${record.id} "${record.name}" (${record.scope}). It is shown only now:\n\n  ${token}\n`,
    );
    console.log("Send it as: Authorization: Bearer <token>   (workers read it from LABBOOK_TOKEN)");
  } else if (command === "list") {
    const tokens = await db.apiToken.findMany({ orderBy: { id: "asc" } });
    for (const t of tokens) {
      const state = t.revokedAt
        ? `revoked ${t.revokedAt.toISOString()}`
        : `last used ${t.lastUsedAt?.toISOString() ?? "never"}`;
      console.log(`#${t.id}\t${t.prefix}…\t${t.scope}\t${t.name}\t${state}`);
    }
    if (tokens.length === 0) console.log("No tokens yet.");
  } else if (command === "revoke") {
    const revoked = await db.apiToken.updateMany({
      where: { id: Number(arg), revokedAt: null },
      data: { revokedAt: new Date() },
    });
    console.log(revoked.count ? `Revoked token #${arg}.` : `No live token #${arg}.`);
    if (!revoked.count) process.exitCode = 1;
  } else {
    console.error(usage);
    process.exitCode = 2;
  }
} finally {
  await db.$disconnect();
  await database.close();
}
