// Upload → RGBA pixels, with every size checked before memory is spent: the byte count, the
// header's pixel count, and (for PNG) how far its data inflates. libvips (sharp) decodes, turns
// phone photos upright (EXIF), and shrinks large ones while decoding (JPEG DCT scaling).
import { inflateSync } from "node:zlib";
import sharp from "sharp";
import { INPUT_SIZE, MAX_UPLOAD_BYTES, type Rgba } from "@/features/predict/preprocess";

/** A 24-megapixel photo decodes to about 100 MB of RGBA; past that, refuse. */
export const MAX_PIXELS = 24_000_000;
/**
 * Larger images are shrunk to this long side while decoding. The preprocessing then halves
 * them to 32 px with box filters, so nothing the model sees is lost (16 × 32 = 512).
 */
const DECODE_LONG_SIDE = 16 * INPUT_SIZE;

export class ImageInputError extends Error {
  override readonly name = "ImageInputError";
  constructor(
    readonly status: 400 | 413 | 415 | 429 | 503,
    message: string,
    /** For 429 and 503: when to try again. */
    readonly retryAfterS = 1,
  ) {
    super(message);
  }

  /**
   * By name, not instanceof: the prediction thread's host is loaded by the server (tsx) and
   * the route by Next.js's bundle, so each has its own copy of this class.
   */
  static is(error: unknown): error is ImageInputError {
    return (
      error instanceof Error &&
      error.name === "ImageInputError" &&
      typeof (error as ImageInputError).status === "number"
    );
  }
}

function sniff(bytes: Buffer): "png" | "jpeg" | null {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return null;
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * A 51 KB PNG that declares 1×1 can carry data that inflates to 50 MB. Inflate it once here,
 * capped at what the header's size can need (with interlacing's extra filter bytes).
 */
function checkPngInflation(bytes: Buffer, width: number, height: number): void {
  const bitDepth = bytes[24] ?? 8;
  const channels = PNG_CHANNELS[bytes[25] ?? 6] ?? 4;
  const rowBytes = Math.ceil((width * channels * bitDepth) / 8);
  const bound = height * (rowBytes + 1) + 7 * (height + 8) + 64;
  const data: Buffer[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    if (type === "IDAT") data.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === "IEND") break;
    at += 12 + length;
  }
  try {
    inflateSync(Buffer.concat(data), { maxOutputLength: bound });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE")
      throw new ImageInputError(
        413,
        `the PNG's data inflates to more than its ${width}×${height} size needs`,
      );
    throw new ImageInputError(400, "the PNG image could not be decoded: its data is corrupt");
  }
}

export async function decodeImage(bytes: Buffer): Promise<Rgba> {
  if (bytes.length === 0) throw new ImageInputError(400, "the upload is empty");
  if (bytes.length > MAX_UPLOAD_BYTES)
    throw new ImageInputError(413, `images are limited to ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB`);
  const type = sniff(bytes);
  if (!type) throw new ImageInputError(415, "the file is not an image: upload a PNG or JPEG");
  if (type === "png" && bytes.length >= 26) {
    const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
    if (width * height > MAX_PIXELS)
      throw new ImageInputError(
        413,
        `the image is ${width}×${height}; at most ${MAX_PIXELS / 1e6} megapixels`,
      );
    checkPngInflation(bytes, width, height);
  }
  try {
    const image = sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: "error" }).rotate();
    const { width = 0, height = 0 } = await image.metadata();
    if (width * height > MAX_PIXELS)
      throw new ImageInputError(
        413,
        `the image is ${width}×${height}; at most ${MAX_PIXELS / 1e6} megapixels`,
      );
    if (Math.max(width, height) > DECODE_LONG_SIDE)
      image.resize({
        width: DECODE_LONG_SIDE,
        height: DECODE_LONG_SIDE,
        fit: "inside",
        fastShrinkOnLoad: true,
      });
    const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data };
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    const message = (error as Error).message;
    if (/pixel limit/i.test(message))
      throw new ImageInputError(413, `the image has more than ${MAX_PIXELS / 1e6} megapixels`);
    throw new ImageInputError(
      400,
      `the ${type.toUpperCase()} image could not be decoded: ${message.split("\n")[0]}`,
    );
  }
}
