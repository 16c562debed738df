// The model registry: a run's model becomes a numbered version of a named model; aliases
// (production, champion, …) point at versions, and every move of an alias is written to the
// append-only promotion log, from which a rollback finds the previous version.
import { Prisma } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";
import { ConflictError, NotFoundError } from "@/shared/errors";

type Tx = Prisma.TransactionClient;

const MODEL_ARTIFACT = "model.json";

export async function listModels(db: Db) {
  const models = await db.registeredModel.findMany({
    orderBy: { name: "asc" },
    include: {
      aliases: { include: { version: { select: { version: true } } }, orderBy: { alias: "asc" } },
      _count: { select: { versions: true } },
      versions: { orderBy: { version: "desc" }, take: 1, select: { version: true, createdAt: true } },
    },
  });
  return models.map(({ versions, _count, aliases, ...model }) => ({
    ...model,
    versionCount: _count.versions,
    latest: versions[0] ?? null,
    aliases: aliases.map((a) => ({ alias: a.alias, version: a.version.version })),
  }));
}

async function findModel(db: Db | Tx, name: string) {
  const model = await db.registeredModel.findUnique({ where: { name } });
  if (!model) throw new NotFoundError(`model "${name}" does not exist`);
  return model;
}

export async function getModel(db: Db, name: string) {
  const model = await findModel(db, name);
  const [versions, aliases, promotions] = await Promise.all([
    db.modelVersion.findMany({
      where: { modelId: model.id },
      orderBy: { version: "desc" },
      include: {
        run: {
          select: {
            id: true,
            name: true,
            status: true,
            normalization: true,
            testAccuracy: true,
            testLoss: true,
            bestValAccuracy: true,
            bestEpoch: true,
            epochsDone: true,
            experiment: { select: { id: true, name: true } },
          },
        },
        artifact: { select: { id: true, size: true, sha256: true } },
      },
    }),
    db.modelAlias.findMany({
      where: { modelId: model.id },
      include: { version: { select: { version: true } } },
    }),
    db.promotionLog.findMany({ where: { modelId: model.id }, orderBy: { id: "desc" } }),
  ]);
  return {
    ...model,
    versions,
    aliases: aliases.map((a) => ({ alias: a.alias, version: a.version.version, updatedAt: a.updatedAt })),
    promotions,
  };
}

/** Registers a succeeded run's model as the next version of `name` (created on first use). */
export async function registerVersion(
  db: Db,
  input: { runId: number; name: string; description: string; actor: string },
) {
  const run = await db.run.findFirst({ where: { id: input.runId, deletedAt: null } });
  if (!run) throw new NotFoundError(`run ${input.runId} does not exist`);
  if (run.source === "mlflow")
    throw new ConflictError(
      `run ${run.id} was logged through the MLflow API; the registry takes models that Labbook trained`,
    );
  if (run.status !== "succeeded")
    throw new ConflictError(`run ${run.id} is ${run.status}; only a succeeded run's model can be registered`);
  const artifact = await db.artifact.findUnique({
    where: { runId_name: { runId: run.id, name: MODEL_ARTIFACT } },
  });
  if (!artifact) throw new ConflictError(`run ${run.id} has no ${MODEL_ARTIFACT} artifact to register`);
  // Two registrations at once may pick the same number; the unique (model, version) key
  // refuses the second, which then takes the next number.
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const model = await tx.registeredModel.upsert({
          where: { name: input.name },
          create: { name: input.name },
          update: {},
        });
        const last = await tx.modelVersion.aggregate({
          where: { modelId: model.id },
          _max: { version: true },
        });
        return tx.modelVersion.create({
          data: {
            modelId: model.id,
            version: (last._max.version ?? 0) + 1,
            runId: run.id,
            artifactId: artifact.id,
            epoch: run.modelEpoch,
            description: input.description,
            createdBy: input.actor,
          },
        });
      });
    } catch (error) {
      const conflict = error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
      if (!conflict || attempt >= 4) throw error;
    }
  }
}

async function moveAlias(
  tx: Tx,
  model: { id: number; name: string },
  alias: string,
  version: number,
  actor: string,
  note: string,
) {
  const target = await tx.modelVersion.findUnique({
    where: { modelId_version: { modelId: model.id, version } },
  });
  if (!target) throw new NotFoundError(`model "${model.name}" has no version ${version}`);
  const current = await tx.modelAlias.findUnique({
    where: { modelId_alias: { modelId: model.id, alias } },
    include: { version: { select: { version: true } } },
  });
  if (current?.version.version === version)
    throw new ConflictError(`${alias} already points at version ${version}`);
  await tx.modelAlias.upsert({
    where: { modelId_alias: { modelId: model.id, alias } },
    create: { modelId: model.id, alias, versionId: target.id },
    update: { versionId: target.id },
  });
  return tx.promotionLog.create({
    data: {
      modelId: model.id,
      alias,
      fromVersion: current?.version.version ?? null,
      toVersion: version,
      actor,
      note,
    },
  });
}

/** The model's row, locked: concurrent moves of its aliases queue up, so the log stays in order. */
async function lockModel(tx: Tx, name: string): Promise<{ id: number; name: string }> {
  const [model] = await tx.$queryRaw<{ id: number; name: string }[]>`
    SELECT id, name FROM "RegisteredModel" WHERE name = ${name} FOR UPDATE`;
  if (!model) throw new NotFoundError(`model "${name}" does not exist`);
  return model;
}

export async function promote(
  db: Db,
  input: { name: string; alias: string; version: number; note: string; actor: string },
) {
  return db.$transaction(async (tx) =>
    moveAlias(tx, await lockModel(tx, input.name), input.alias, input.version, input.actor, input.note),
  );
}

/** Points `alias` back at the version it held before its latest move. */
export async function rollback(db: Db, input: { name: string; alias: string; note: string; actor: string }) {
  return db.$transaction(async (tx) => {
    const model = await lockModel(tx, input.name);
    const last = await tx.promotionLog.findFirst({
      where: { modelId: model.id, alias: input.alias },
      orderBy: { id: "desc" },
    });
    if (!last) throw new NotFoundError(`${input.alias} has never been set`);
    if (last.fromVersion === null)
      throw new ConflictError(
        `${input.alias} held no version before version ${last.toVersion}; there is nothing to roll back to`,
      );
    const note = input.note || `rollback from version ${last.toVersion}`;
    return moveAlias(tx, model, input.alias, last.fromVersion, input.actor, note);
  });
}

/** The version an alias points at, with the run whose artifacts hold its files. */
export async function resolveAlias(db: Db, name: string, alias: string) {
  const model = await findModel(db, name);
  const entry = await db.modelAlias.findUnique({
    where: { modelId_alias: { modelId: model.id, alias } },
    include: { version: true },
  });
  if (!entry) throw new NotFoundError(`model "${name}" has no ${alias} alias`);
  return entry.version;
}

export async function resolveVersion(db: Db, name: string, version: number) {
  const model = await findModel(db, name);
  const found = await db.modelVersion.findUnique({
    where: { modelId_version: { modelId: model.id, version } },
  });
  if (!found) throw new NotFoundError(`model "${name}" has no version ${version}`);
  return found;
}
