// Every custom wasm gradient against the cpu backend's stock kernels.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { installBatchNormGrad } from "@/trainer/backend/batchnorm-grad";
import { installWasmKernels } from "@/trainer/backend/wasm-kernels";
import {
  CONV_CASES,
  expectClose,
  expectConvGradientsMatch,
  onBoth,
  random,
} from "../../helpers/backend-compare";

beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
  installWasmKernels();
  installBatchNormGrad();
});

describe("wasm convolution gradients match the cpu backend", () => {
  it.each(CONV_CASES)("x %j, filter %j, stride %d, %s padding", async (xShape, wShape, stride, pad) => {
    await expectConvGradientsMatch(xShape, wShape, stride, pad);
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
