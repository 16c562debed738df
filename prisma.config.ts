// Prisma CLI configuration. The CLI cannot download its native schema engine on
// offline machines, so migrations run on the JavaScript schema engine (`engine: 'js'`)
// through @prisma/adapter-pg. Two adapter bugs are patched here; see the README.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { defineConfig } from "prisma/config";

// prisma/orm#27403: adapter-pg cannot decode pg_catalog's `name` (oid 19) and `"char"`
// (oid 18) columns, which the schema engine reads while introspecting. Both are text.
const PG_NAME_OID = 19;
const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;
// addFields is pg's internal hook that records each column's type before rows are parsed.
const resultPrototype = pg.Result.prototype as unknown as { addFields(fields: pg.FieldDef[]): void };
const addFields = resultPrototype.addFields;
resultPrototype.addFields = function (fields) {
  for (const field of fields) {
    if (field.dataTypeID === PG_NAME_OID || field.dataTypeID === PG_CHAR_OID) {
      field.dataTypeID = PG_TEXT_OID;
    }
  }
  return addFields.call(this, fields);
};

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;

// adapter-pg's executeScript() splits a script on every ";", which cuts dollar-quoted
// function bodies apart. Send the script whole: one simple query, one implicit transaction.
function runScriptsWhole(adapter: Adapter): Adapter {
  const pool = adapter.underlyingDriver() as pg.Pool;
  const translate = adapter as unknown as { onError(error: unknown): never };
  adapter.executeScript = async (script: string) => {
    try {
      await pool.query(script);
    } catch (error) {
      translate.onError(error);
    }
  };
  return adapter;
}

// adapter-pg's connectToShadowDb() ignores the shadow database's name when it was given a
// connection string, so its "shadow" would be the main database. Create, use and drop a
// real one instead.
class OfflinePrismaPg extends PrismaPg {
  constructor(private readonly url: string) {
    super({ connectionString: url });
  }

  override async connect() {
    return runScriptsWhole(await super.connect());
  }

  override async connectToShadowDb() {
    const main = await this.connect();
    const name = `prisma_shadow_${crypto.randomUUID().replaceAll("-", "")}`;
    await main.executeScript(`CREATE DATABASE "${name}"`);
    const shadowUrl = new URL(this.url);
    shadowUrl.pathname = `/${name}`;
    const shadow = runScriptsWhole(await new PrismaPg({ connectionString: shadowUrl.toString() }).connect());
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await main.executeScript(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    if (!url)
      throw new Error("DATABASE_URL is not set: start Labbook's database first (npm run db:migrate does)");
    return new OfflinePrismaPg(url);
  },
});
