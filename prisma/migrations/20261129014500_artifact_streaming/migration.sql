-- Artifact bytes are stored uncompressed (model weights barely compress), so a download can
-- read 1 MiB slices with substring() without decompressing the whole value each time.
ALTER TABLE "Artifact" ALTER COLUMN "data" SET STORAGE EXTERNAL;
