-- DropForeignKey
ALTER TABLE "MetricPoint" DROP CONSTRAINT "MetricPoint_runId_fkey";
