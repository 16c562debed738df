-- AlterTable
ALTER TABLE "ModelVersion" ADD COLUMN     "epoch" INTEGER;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "modelEpoch" INTEGER;

