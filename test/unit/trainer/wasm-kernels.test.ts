// Every custom wasm gradient against the cpu backend's stock kernels.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { installBatchNormGrad } from "@/trainer/backend/batchnorm-grad";
import { installWasmKernels } from "@/trainer/backend/wasm-kernels";

type Compute = () => tf.Tensor | tf.Tensor[];

/** Runs `compute` on cpu and on wasm (custom kernels installed) from the same inputs. */
async function onBoth(
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

function expectClose(actual: Float32Array[], expected: Float32Array[], relative = 1e-4) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((values, k) => {
    const reference = expected[k] as Float32Array;
    expect(values.length).toBe(reference.length);
    const scale = Math.max(...Array.from(reference, Math.abs), 1e-6);
    let worst = 0;
    for (let i = 0; i < values.length; i++)
      worst = Math.max(worst, Math.abs((values[i] as number) - (reference[i] as number)));
    expect(worst / scale).toBeLessThan(relative);
  });
}

beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
  installWasmKernels();
  installBatchNormGrad();
});

const random = (shape: number[], seed: number) => () => tf.randomNormal(shape, 0, 1, "float32", seed);

describe("wasm convolution gradients match the cpu backend", () => {
  it.each([
    [[4, 8, 8, 3], [3, 3, 3, 8], 1, "same"],
    [[2, 6, 6, 16], [3, 3, 16, 32], 1, "same"],
    [[2, 5, 7, 4], [3, 3, 4, 6], 1, "valid"],
    [[2, 9, 9, 4], [5, 5, 4, 3], 1, "same"],
    [[2, 8, 8, 4], [3, 3, 4, 5], 2, "same"],
  ] as const)("x %j, filter %j, stride %d, %s padding", async (xShape, wShape, stride, pad) => {
    const dyShape = tf.tidy(
      () =>
        tf.conv2d(tf.zeros([...xShape]) as tf.Tensor4D, tf.zeros([...wShape]) as tf.Tensor4D, stride, pad)
          .shape,
    );
    const { cpu, wasm } = await onBoth(
      () => [random([...xShape], 1)(), random([...wShape], 2)(), random(dyShape, 3)()],
      (x, w, dy) => {
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)
            .mul(dy as tf.Tensor)
            .sum(),
        )([x as tf.Tensor, w as tf.Tensor]);
        return [dx as tf.Tensor, dw as tf.Tensor];
      },
    );
    expectClose(wasm, cpu);
  });
});

describe("wasm MaxPoolGrad", () => {
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

  it("agrees on mixed-sign inputs after ReLU and BatchNorm-like shifts", async () => {
    const { cpu, wasm } = await onBoth(
      () => [random([3, 8, 8, 5], 6)(), random([3, 4, 4, 5], 7)()],
      (x, dy) => maxPoolGrad(x as tf.Tensor, dy as tf.Tensor),
    );
    expectClose(wasm, cpu);
  });
});

describe("wasm reductions, matMul and BatchNorm gradient", () => {
  it("Sum and Mean over [0, 1, 2] (with and without keepDims) match", async () => {
    const { cpu, wasm } = await onBoth(
      () => [random([4, 6, 5, 7], 8)()],
      (x) => [
        tf.sum(x as tf.Tensor, [0, 1, 2]),
        tf.mean(x as tf.Tensor, [0, 1, 2], true),
        tf.sum(x as tf.Tensor, [1, 2]),
      ],
    );
    expectClose(wasm, cpu);
  });

  it("matMul with transpose flags matches", async () => {
    const { cpu, wasm } = await onBoth(
      () => [random([7, 5], 9)(), random([6, 7], 10)()],
      (a, b) => [
        tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true),
        tf.matMul(b as tf.Tensor2D, a as tf.Tensor2D),
      ],
    );
    expectClose(wasm, cpu);
  });

  it("the tile-free FusedBatchNorm gradient matches the stock one", async () => {
    const { cpu, wasm } = await onBoth(
      () => [
        random([4, 5, 5, 6], 11)(),
        random([6], 12)(),
        tf.randomUniform([6], 0.5, 2, "float32", 13),
        random([6], 14)(),
        random([6], 15)(),
        random([4, 5, 5, 6], 16)(),
      ],
      (x, mean, variance, offset, scale, dy) => {
        const f = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
          tf
            .batchNorm(
              a as tf.Tensor4D,
              m as tf.Tensor1D,
              v as tf.Tensor1D,
              o as tf.Tensor1D,
              s as tf.Tensor1D,
              1e-3,
            )
            .mul(dy as tf.Tensor)
            .sum();
        return tf.grads(f)([x, mean, variance, offset, scale] as tf.Tensor[]);
      },
    );
    expectClose(wasm, cpu);
  });
});
