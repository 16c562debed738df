// An augmentation preview: one row per image, the original then `variants` augmented copies,
// as a PNG (what the dashboard shows next to a run's hyperparameters).
import { PNG } from "pngjs";
import { augmentedBatchTensor } from "../batches";
import { Random } from "../random";
import { type AugmentationParams, sampleTransforms } from "./augment";
import type { ImageSet } from "./cifar10";
import { IMAGE_SIZE, PIXELS } from "./cifar10-format";
import { fitNormalizer, type Normalizer } from "./prepare";

export interface PreviewOptions {
  indices: number[];
  variants: number;
  params: AugmentationParams;
  seed: number;
  /** Pixels per image pixel (nearest-neighbour upscaling). */
  scale?: number;
  /** Gap between tiles, in output pixels. */
  gap?: number;
  /** The run's normalisation: augmentation acts in its units (default SFS). */
  normalizer?: Normalizer;
}

export async function renderAugmentationPreview(set: ImageSet, options: PreviewOptions): Promise<Buffer> {
  const scale = options.scale ?? 3;
  const gap = options.gap ?? 2;
  const columns = options.variants + 1;
  const rows = options.indices.length;
  const tile = IMAGE_SIZE * scale;
  const png = new PNG({ width: columns * (tile + gap) - gap, height: rows * (tile + gap) - gap });
  png.data.fill(255);

  // Every tile of the grid as one batch: each row's original repeated, then augmented.
  const sources = options.indices.flatMap((index) => Array.from({ length: options.variants }, () => index));
  // The training pipeline itself, in the run's units; shown back in pixels.
  const normalizer = options.normalizer ?? fitNormalizer("sfs", set);
  const augmented = augmentedBatchTensor(
    set,
    sources,
    normalizer,
    sampleTransforms(new Random(options.seed), sources.length, options.params),
    options.params,
  );
  const pixels = await augmented.data();
  augmented.dispose();

  const paint = (row: number, column: number, read: (p: number) => number) => {
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const p = (Math.floor(y / scale) * IMAGE_SIZE + Math.floor(x / scale)) * 3;
        const out = ((row * (tile + gap) + y) * png.width + column * (tile + gap) + x) * 4;
        for (let c = 0; c < 3; c++) png.data[out + c] = Math.round(read(p + c));
        png.data[out + 3] = 255;
      }
    }
  };
  options.indices.forEach((index, row) => {
    paint(row, 0, (p) => set.images[index * PIXELS + p] as number);
    for (let v = 0; v < options.variants; v++) {
      const offset = (row * options.variants + v) * PIXELS;
      paint(row, v + 1, (p) => {
        const c = p % 3;
        const value =
          ((pixels[offset + p] as number) - (normalizer.offset[c] as number)) /
          (normalizer.scale[c] as number);
        return Math.min(255, Math.max(0, value));
      });
    }
  });
  return PNG.sync.write(png);
}
