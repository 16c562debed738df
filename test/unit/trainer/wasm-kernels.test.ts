// Every custom wasm gradient against the cpu backend's stock kernels.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { installBatchNormGrad } from "@/trainer/backend/batchnorm-grad";
import { installWasmKernels } from "@/trainer/backend/wasm-kernels";
import {
  CONV_CASES,
  describeMaxPoolGrad,
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

describeMaxPoolGrad("wasm MaxPoolGrad");

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

  it("Mean's gradient without a ones tensor matches, over BatchNorm's axes and others", async () => {
    const { cpu, wasm } = await onBoth(
      () => [random([4, 5, 5, 6], 17)(), random([4, 5, 5, 6], 18)()],
      (x, dy) => {
        const f = (a: tf.Tensor) =>
          tf
            .moments(a, [0, 1, 2])
            .variance.sum()
            .add(tf.mean(a.mul(dy as tf.Tensor), [1, 3]).sum())
            .add(tf.mean(a, undefined, true).sum());
        return tf.grad(f)(x as tf.Tensor);
      },
    );
    expectClose(wasm, cpu);
  });

  it("Cast to the same dtype shares the data; other casts still convert", async () => {
    const { cpu, wasm } = await onBoth(
      () => [tf.tensor1d([1.5, -2.7, 3.2])],
      (x) => [tf.cast(x as tf.Tensor, "float32").add(1), tf.cast(x as tf.Tensor, "int32").toFloat()],
    );
    expect(Array.from(wasm[0] as Float32Array)).toEqual(Array.from(cpu[0] as Float32Array));
    expect(Array.from(wasm[1] as Float32Array)).toEqual([1, -2, 3]);
    const x = tf.tensor1d([1, 2, 3]);
    const same = tf.cast(x, "float32");
    const buffers = () => tf.engine().backend.numDataIds();
    const before = buffers();
    const again = tf.cast(same, "float32");
    expect(buffers()).toBe(before); // no copy
    same.dispose();
    x.dispose();
    expect(Array.from(again.dataSync())).toEqual([1, 2, 3]); // still readable after the others go
    again.dispose();
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
