-- AlterTable
ALTER TABLE "Worker" ADD COLUMN     "tokenId" INTEGER;
