// Runs the same computation on the cpu backend and on wasm (with whatever kernels the test
// installed) from the same inputs, and compares the results.
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";

type Compute = () => tf.Tensor | tf.Tensor[];

/** Runs `compute` on cpu and on wasm (custom kernels installed) from the same inputs. */
export async function onBoth(
  makeInputs: () => tf.Tensor[],
  compute: (...inputs: tf.Tensor[]) => ReturnType<Compute>,
) {
  const values = (() => {
    const inputs = makeInputs();
    const data = inputs.map((t) => ({ values: t.dataSync().slice(), shape: t.shape }));
    tf.dispose(inputs);
    return data;
  })();
  const results: Float32Array[][] = [];
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const out = tf.tidy(() => {
      const inputs = values.map((v) => tf.tensor(v.values, v.shape));
      const result = compute(...inputs);
      return Array.isArray(result) ? result : [result];
    });
    results.push(out.map((t) => t.dataSync() as Float32Array));
    tf.dispose(out);
  }
  return { cpu: results[0] as Float32Array[], wasm: results[1] as Float32Array[] };
}

export function expectClose(actual: Float32Array[], expected: Float32Array[], relative = 1e-4) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((values, k) => {
    const reference = expected[k] as Float32Array;
    expect(values.length).toBe(reference.length);
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
    let worst = 0;
    for (let i = 0; i < values.length; i++)
      worst = Math.max(worst, Math.abs((values[i] as number) - (reference[i] as number)));
    expect(worst / scale).toBeLessThan(relative);
  });
}

export const random = (shape: number[], seed: number) => () => tf.randomNormal(shape, 0, 1, "float32", seed);

/** dx and dW of conv2d(x, w) on wasm match the cpu backend's for a random upstream gradient. */
export async function expectConvGradientsMatch(
  xShape: number[],
  wShape: number[],
  stride: number,
  pad: "same" | "valid",
) {
  const conv = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
  const dyShape = tf.tidy(() => conv(tf.zeros(xShape), tf.zeros(wShape)).shape);
  const { cpu, wasm } = await onBoth(
    () => [random(xShape, 1)(), random(wShape, 2)(), random(dyShape, 3)()],
    (x, w, dy) => {
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        conv(a, b)
          .mul(dy as tf.Tensor)
          .sum(),
      )([x as tf.Tensor, w as tf.Tensor]);
      return [conv(x as tf.Tensor, w as tf.Tensor), dx as tf.Tensor, dw as tf.Tensor];
    },
  );
  expectClose(wasm, cpu);
}

/** Convolutions every wasm convolution kernel set is checked on: padding, filter size, stride. */
export const CONV_CASES = [
  [[4, 8, 8, 3], [3, 3, 3, 8], 1, "same"],
  [[2, 6, 6, 16], [3, 3, 16, 32], 1, "same"],
  [[2, 5, 7, 4], [3, 3, 4, 6], 1, "valid"],
  [[2, 9, 9, 4], [5, 5, 4, 3], 1, "same"],
  [[2, 8, 8, 4], [3, 3, 4, 5], 2, "same"],
] as [number[], number[], number, "same" | "valid"][];

/** MaxPoolGrad on wasm against the cpu backend: all-negative windows, ties, mixed signs. */
export function describeMaxPoolGrad(title: string) {
  describe(title, () => {
    const maxPoolGrad = (x: tf.Tensor, dy: tf.Tensor) =>
      tf.grad((a: tf.Tensor) =>
        tf
          .maxPool(a as tf.Tensor4D, 2, 2, "valid")
          .mul(dy)
          .sum(),
      )(x);

    it("routes the gradient of all-negative windows to their maximum", async () => {
      const { cpu, wasm } = await onBoth(
        () => [tf.randomUniform([2, 6, 6, 3], -5, -0.1, "float32", 4), random([2, 3, 3, 3], 5)()],
        (x, dy) => maxPoolGrad(x as tf.Tensor, dy as tf.Tensor),
      );
      expectClose(wasm, cpu);
      expect(Array.from(wasm[0] as Float32Array).filter((v) => v !== 0).length).toBe(2 * 3 * 3 * 3);
    });

    it("gives tied windows' gradient to the first maximum, like the cpu backend", async () => {
      const { cpu, wasm } = await onBoth(
        // Two all-negative windows, each with a tie for its maximum.
        () => [
          tf.tensor4d([-3, -3, -1, -1, -3, -3, -1, -5], [1, 2, 4, 1]),
          tf.tensor4d([10, 20], [1, 1, 2, 1]),
        ],
        (x, dy) => maxPoolGrad(x as tf.Tensor, dy as tf.Tensor),
      );
      expect(Array.from(wasm[0] as Float32Array)).toEqual(Array.from(cpu[0] as Float32Array));
      expect(Array.from(wasm[0] as Float32Array)).toEqual([10, 0, 20, 0, 0, 0, 0, 0]);
    });

    it.each([
      ["2×2 windows, stride 2 (tiling: the seed network's)", [3, 8, 8, 5], 2, 2, "valid"],
      ["3×3 windows, stride 2, same padding (overlapping)", [2, 7, 7, 6], 3, 2, "same"],
      ["2×2 windows, stride 2, an odd size (last row and column unread)", [2, 7, 7, 6], 2, 2, "valid"],
      ["2×2 windows, stride 1 (overlapping)", [2, 5, 5, 6], 2, 1, "valid"],
    ] as const)("agrees on the pooling and its gradient: %s", async (_, shape, size, stride, pad) => {
      const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad);
      const dyShape = tf.tidy(() => pool(tf.zeros([...shape])).shape);
      const { cpu, wasm } = await onBoth(
        // ReLU-like inputs: many ties at zero.
        () => [random([...shape], 8)().relu(), random(dyShape, 9)()],
        (x, dy) => [
          pool(x as tf.Tensor),
          tf.grad((a: tf.Tensor) =>
            pool(a)
              .mul(dy as tf.Tensor)
              .sum(),
          )(x as tf.Tensor),
        ],
      );
      // The pooling itself and its gradient.
      expectClose(wasm, cpu);
    });

    it("agrees on mixed-sign inputs after ReLU and BatchNorm-like shifts", async () => {
      const { cpu, wasm } = await onBoth(
        () => [random([3, 8, 8, 5], 6)(), random([3, 4, 4, 5], 7)()],
        (x, dy) => maxPoolGrad(x as tf.Tensor, dy as tf.Tensor),
      );
      expectClose(wasm, cpu);
    });
  });
}
