-- CreateTable
CREATE TABLE "EvaluationSet" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "sha256" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'importing',
    "error" TEXT,
    "total" INTEGER NOT NULL,
    "imported" INTEGER NOT NULL DEFAULT 0,
    "mapping" JSONB NOT NULL,
    "skipped" JSONB NOT NULL DEFAULT '[]',
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EvaluationSet_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EvaluationImage" (
    "setId" INTEGER NOT NULL,
    "index" INTEGER NOT NULL,
    "file" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "pixels" BYTEA NOT NULL,
    "thumbnail" BYTEA NOT NULL,

    CONSTRAINT "EvaluationImage_pkey" PRIMARY KEY ("setId","index")
);

-- CreateTable
CREATE TABLE "SetEvaluation" (
    "id" SERIAL NOT NULL,
    "setId" INTEGER NOT NULL,
    "versionId" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "error" TEXT,
    "done" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "loss" DOUBLE PRECISION,
    "accuracy" DOUBLE PRECISION,
    "confusionMatrix" JSONB,
    "perClass" JSONB,
    "misclassified" JSONB,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "SetEvaluation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "EvaluationSet_name_key" ON "EvaluationSet"("name");

-- CreateIndex
CREATE UNIQUE INDEX "EvaluationSet_sha256_key" ON "EvaluationSet"("sha256");

-- CreateIndex
CREATE INDEX "SetEvaluation_versionId_idx" ON "SetEvaluation"("versionId");

-- CreateIndex
CREATE UNIQUE INDEX "SetEvaluation_setId_versionId_key" ON "SetEvaluation"("setId", "versionId");

-- AddForeignKey
ALTER TABLE "EvaluationImage" ADD CONSTRAINT "EvaluationImage_setId_fkey" FOREIGN KEY ("setId") REFERENCES "EvaluationSet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SetEvaluation" ADD CONSTRAINT "SetEvaluation_setId_fkey" FOREIGN KEY ("setId") REFERENCES "EvaluationSet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SetEvaluation" ADD CONSTRAINT "SetEvaluation_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

