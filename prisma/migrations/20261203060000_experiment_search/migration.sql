-- AlterTable
ALTER TABLE "Experiment" ADD COLUMN     "search" JSONB;
