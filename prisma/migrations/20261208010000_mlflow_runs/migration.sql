-- CreateEnum
CREATE TYPE "RunSource" AS ENUM ('labbook', 'mlflow');

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "owner" VARCHAR(256) NOT NULL DEFAULT '',
ADD COLUMN     "source" "RunSource" NOT NULL DEFAULT 'labbook',
ADD COLUMN     "uuid" CHAR(32) NOT NULL DEFAULT replace((gen_random_uuid())::text, '-'::text, ''::text),
ALTER COLUMN "config" DROP NOT NULL,
ALTER COLUMN "normalization" DROP NOT NULL,
ALTER COLUMN "learningRate" DROP NOT NULL,
ALTER COLUMN "batchSize" DROP NOT NULL,
ALTER COLUMN "epochs" DROP NOT NULL,
ALTER COLUMN "seed" DROP NOT NULL,
ALTER COLUMN "l2" DROP NOT NULL,
ALTER COLUMN "augmentation" DROP NOT NULL,
ALTER COLUMN "lrPlateauPatience" DROP NOT NULL,
ALTER COLUMN "lrPlateauFactor" DROP NOT NULL,
ALTER COLUMN "lrPlateauMin" DROP NOT NULL,
ALTER COLUMN "earlyStoppingPatience" DROP NOT NULL;

-- CreateTable
CREATE TABLE "RunParam" (
    "runId" INTEGER NOT NULL,
    "key" VARCHAR(250) NOT NULL,
    "value" VARCHAR(6000) NOT NULL,

    CONSTRAINT "RunParam_pkey" PRIMARY KEY ("runId","key")
);

-- CreateTable
CREATE TABLE "RunTag" (
    "runId" INTEGER NOT NULL,
    "key" VARCHAR(250) NOT NULL,
    "value" VARCHAR(8000) NOT NULL,

    CONSTRAINT "RunTag_pkey" PRIMARY KEY ("runId","key")
);

-- CreateTable
CREATE TABLE "ExperimentTag" (
    "experimentId" INTEGER NOT NULL,
    "key" VARCHAR(250) NOT NULL,
    "value" VARCHAR(5000) NOT NULL,

    CONSTRAINT "ExperimentTag_pkey" PRIMARY KEY ("experimentId","key")
);

-- CreateTable
CREATE TABLE "LatestMetric" (
    "runId" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "wallTime" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LatestMetric_pkey" PRIMARY KEY ("runId","key")
);

-- CreateIndex
CREATE INDEX "LatestMetric_key_value_idx" ON "LatestMetric"("key", "value");

-- CreateIndex
CREATE UNIQUE INDEX "Run_uuid_key" ON "Run"("uuid");

-- CreateIndex
CREATE INDEX "RunParam_value_idx" ON "RunParam" USING HASH ("value");

-- CreateIndex
CREATE INDEX "RunTag_value_idx" ON "RunTag" USING HASH ("value");

-- AddForeignKey
ALTER TABLE "RunParam" ADD CONSTRAINT "RunParam_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunTag" ADD CONSTRAINT "RunTag_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExperimentTag" ADD CONSTRAINT "ExperimentTag_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LatestMetric" ADD CONSTRAINT "LatestMetric_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- MLflow's default experiment: clients that name none log to experiment "0".
INSERT INTO "Experiment" (id, name, description, "createdAt", "updatedAt")
VALUES (0, 'Default', 'Runs logged through the MLflow API without an experiment.', now(), now())
ON CONFLICT DO NOTHING;

-- A Labbook config as MLflow params: nested objects flattened with dots
-- ("lrPlateau.patience"), arrays and scalars as their JSON text (strings unquoted).
-- queueRuns stores new runs' params through the same function.
CREATE FUNCTION labbook_config_params(config jsonb) RETURNS TABLE (key text, value text)
LANGUAGE sql IMMUTABLE AS $$
  WITH RECURSIVE walk(key, value) AS (
    SELECT e.key, e.value FROM jsonb_each(config) e
    UNION ALL
    SELECT walk.key || '.' || e.key, e.value
    FROM walk, jsonb_each(walk.value) e
    WHERE jsonb_typeof(walk.value) = 'object'
  )
  SELECT left(key, 250), left(CASE jsonb_typeof(value) WHEN 'string' THEN value #>> '{}' ELSE value::text END, 6000)
  FROM walk WHERE jsonb_typeof(value) <> 'object'
$$;

INSERT INTO "RunParam" ("runId", key, value)
SELECT r.id, p.key, p.value FROM "Run" r, labbook_config_params(r.config) p
WHERE r.config IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO "LatestMetric" ("runId", key, step, value, "wallTime")
SELECT DISTINCT ON (m."runId", m.key) m."runId", m.key, m.step, m.value, m."wallTime"
FROM "MetricPoint" m JOIN "Run" r ON r.id = m."runId"
ORDER BY m."runId", m.key, m.step DESC, m."wallTime" DESC;
