// The native convolutions (wasm-libtorch, wasm-openblas backends) against the cpu backend's
// stock kernels, for one addon; tfjs' kernel registry is global, so one library per test file.
// The addons must be built: .ci/run installs libtorch and OpenBLAS, and npm's postinstall builds them.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HYPERPARAMS, FILL_MODES } from "@/shared/hyperparams";
import { installBatchNormGrad } from "@/trainer/backend/batchnorm-grad";
import { installCpuKernelFixes } from "@/trainer/backend/cpu-kernels";
import { batchNormInTraining, hasBatchNormTraining } from "@/trainer/backend/native-batchnorm";
import { installNativeConvKernels } from "@/trainer/backend/native-conv";
import { loadNativeKernels, type NativeKernels, type NativeLibrary } from "@/trainer/backend/native-module";
import { adamOptimizer, momentumOptimizer } from "@/trainer/backend/native-optimizers";
import { installWasmKernels } from "@/trainer/backend/wasm-kernels";
import { augmentBatch, sampleTransforms } from "@/trainer/data/augment";
import { batchNormalization, conv2d, dropout, l2, takeL2Gradients } from "@/trainer/model/native-layers";
import { Random } from "@/trainer/random";
import {
  CONV_CASES,
  describeMaxPoolGrad,
  expectClose,
  expectConvGradientsMatch,
  onBoth,
  random,
} from "./backend-compare";
import { offKerasFixture } from "./keras-augment";

export function describeNativeConv(library: NativeLibrary) {
  let native: NativeKernels;

  beforeAll(async () => {
    await tf.setBackend("wasm");
    await tf.ready();
    installWasmKernels();
    installBatchNormGrad();
    installCpuKernelFixes(); // the cpu backend's Transform warps only a batch's first image
    native = installNativeConvKernels(library, 1);
  });

  describe(`native convolutions on ${library} match the cpu backend`, () => {
    it.each([
      ...CONV_CASES,
      [[3, 7, 6, 5], [1, 1, 5, 4], 1, "valid"], // pointwise: no im2col
      [[5, 32, 32, 96], [3, 3, 96, 4], 1, "same"], // two im2col chunks
      [[2, 8, 8, 4], [3, 3, 4, 5], 2, "valid"], // the last row and column unread
      [[8, 8, 8, 16], [3, 3, 16, 32], 1, "same"], // Winograd's case on oneDNN: a batch, channels in 16s
    ] as typeof CONV_CASES)("x %j, filter %j, stride %d, %s padding", async (xShape, wShape, stride, pad) => {
      await expectConvGradientsMatch(xShape, wShape, stride, pad);
    });

    it("a dilated conv2d (no native case) falls back to the wasm kernel", async () => {
      const { cpu, wasm } = await onBoth(
        () => [random([2, 9, 9, 3], 25)(), random([3, 3, 3, 4], 26)()],
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same", "NHWC", 2),
      );
      expectClose(wasm, cpu);
    });

    it("fused conv2d with bias and ReLU, and its gradients, match", async () => {
      const { cpu, wasm } = await onBoth(
        () => [
          random([3, 8, 8, 6], 21)(),
          random([3, 3, 6, 5], 22)(),
          random([5], 23)(),
          random([3, 8, 8, 5], 24)(),
        ],
        (x, w, b, dy) => {
          const f = (a: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor) =>
            tf.fused.conv2d({
              x: a as tf.Tensor4D,
              filter: filter as tf.Tensor4D,
              strides: 1,
              pad: "same",
              bias,
              activation: "relu",
            });
          const grads = tf.grads((a: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor) =>
            f(a, filter, bias)
              .mul(dy as tf.Tensor)
              .sum(),
          )([x, w, b] as tf.Tensor[]);
          return [f(x as tf.Tensor, w as tf.Tensor, b as tf.Tensor), ...grads];
        },
      );
      expectClose(wasm, cpu);
      // ReLU really ran: about half of the outputs are exactly zero.
      const zeros = Array.from(wasm[0] as Float32Array).filter((v) => v === 0).length;
      expect(zeros / (wasm[0] as Float32Array).length).toBeGreaterThan(0.3);
    });

    it("BatchNorm in training (batch moments) and its gradients match, with and without scale and offset", async () => {
      const { cpu, wasm } = await onBoth(
        () => [random([6, 5, 4, 7], 31)(), random([7], 32)(), random([7], 33)(), random([6, 5, 4, 7], 34)()],
        (x, gamma, beta, dy) => {
          const normalize = (a: tf.Tensor, g?: tf.Tensor, b?: tf.Tensor) => {
            const { mean, variance } = tf.moments(a, [0, 1, 2]);
            return tf.batchNorm(a, mean, variance, b, g, 1e-3);
          };
          const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            normalize(a, g, b)
              .mul(dy as tf.Tensor)
              .sum(),
          )([x, gamma, beta] as tf.Tensor[]);
          return [normalize(x as tf.Tensor, gamma, beta), normalize(x as tf.Tensor), ...grads];
        },
      );
      expectClose(wasm, cpu);
    });

    // On cpu, tfjs' own ops (moments, batchNorm and their gradients); on wasm, the native kernel.
    const trainingBatchNorm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, dy: tf.Tensor) => {
      const normalize = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        if (hasBatchNormTraining()) return batchNormInTraining(a, g, b, 1e-3);
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return [tf.batchNorm(a, mean, variance, b, g, 1e-3), mean, variance];
      };
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        (normalize(a, g, b)[0] as tf.Tensor).mul(dy).sum(),
      )([x, gamma, beta]);
      return [...normalize(x, gamma, beta), ...grads] as tf.Tensor[];
    };

    it.each([
      ["small", [6, 5, 4, 7], 1, 0],
      ["offset far from zero", [4, 6, 6, 16], 0.1, 5],
      ["first block's size", [64, 32, 32, 32], 1, 0],
    ] as const)(
      "the native BatchNorm training kernel and its gradient match tfjs' ops (%s)",
      async (_, shape, spread, centre) => {
        expect(hasBatchNormTraining()).toBe(true);
        const channels = shape[3];
        const { cpu, wasm } = await onBoth(
          () => [
            random([...shape], 51)()
              .mul(spread)
              .add(centre),
            random([channels], 52)(),
            random([channels], 53)(),
            random([...shape], 54)(),
          ],
          (x, gamma, beta, dy) =>
            trainingBatchNorm(x as tf.Tensor, gamma as tf.Tensor, beta as tf.Tensor, dy as tf.Tensor),
        );
        // y, mean, variance, dx, dgamma, dbeta
        const size = tf.util.sizeFromShape([...shape]);
        expect(wasm.map((values) => values.length)).toEqual([
          size,
          channels,
          channels,
          size,
          channels,
          channels,
        ]);
        expectClose(wasm, cpu, 2e-4);
      },
    );

    it("the BatchNorm layer trains through the native kernel: output, gradients and moving statistics match the stock layer", async () => {
      const results: Float32Array[][] = [];
      const kernels: string[][] = [];
      const x0 = random([8, 6, 6, 12], 61)().mul(2).add(1);
      const dy0 = random([8, 6, 6, 12], 62)();
      const [xValues, dyValues] = [x0.dataSync().slice(), dy0.dataSync().slice()];
      tf.dispose([x0, dy0]);
      for (const backend of ["cpu", "wasm"]) {
        await tf.setBackend(backend);
        const layer = batchNormalization({ momentum: 0.9, inputShape: [6, 6, 12] });
        const model = tf.sequential({ layers: [layer] });
        const x = tf.variable(tf.tensor4d(xValues, [8, 6, 6, 12]));
        const dy = tf.tensor4d(dyValues, [8, 6, 6, 12]);
        const weights = [...layer.trainableWeights.map((w) => w.read() as tf.Variable), x];
        let out: tf.Tensor[] = [];
        const profile = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(
            () => (layer.apply(x, { training: true }) as tf.Tensor).mul(dy).sum() as tf.Scalar,
            weights,
          );
          out = [value, ...weights.map((w) => grads[w.name] as tf.Tensor)];
        });
        kernels.push(profile.kernelNames);
        results.push([...out, ...layer.getWeights().slice(2)].map((t) => t.dataSync() as Float32Array));
        expect(layer.getClassName()).toBe("BatchNormalization");
        tf.dispose([x, dy, ...out]);
        model.dispose();
      }
      expect(kernels[1]).toContain("LabbookBatchNormTraining");
      expect(kernels[1]).toContain("LabbookBatchNormTrainingGrad");
      expect(kernels[0]).not.toContain("LabbookBatchNormTraining");
      // The loss, dgamma, dbeta, dx, then the moving mean and variance after one step.
      expectClose(results[1] as Float32Array[], results[0] as Float32Array[], 2e-4);
    });

    it.each([
      ["same padding", [6, 8, 8, 5], 1, "same"],
      ["stride 2, valid padding", [3, 9, 9, 4], 2, "valid"],
    ] as const)(
      "the Conv2D layer with ReLU trains through the fused native kernel (%s): output and gradients match the stock layer",
      async (_, shape, stride, padding) => {
        const results: Float32Array[][] = [];
        const kernels: string[][] = [];
        const x0 = random([...shape], 63)();
        const xValues = x0.dataSync().slice();
        x0.dispose();
        for (const backend of ["cpu", "wasm"]) {
          await tf.setBackend(backend);
          const layer = conv2d({
            filters: 7,
            kernelSize: 3,
            strides: stride,
            padding,
            activation: "relu",
            biasInitializer: tf.initializers.randomNormal({ seed: 4 }),
            kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
            inputShape: shape.slice(1),
          });
          const model = tf.sequential({ layers: [layer] });
          const x = tf.variable(tf.tensor4d(xValues, [...shape]));
          const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
          let out: tf.Tensor[] = [];
          const profile = await tf.profile(() => {
            let y: tf.Tensor | undefined;
            const { value, grads } = tf.variableGrads(() => {
              const output = tf.keep(layer.apply(x, { training: true }) as tf.Tensor);
              y = output;
              return output.mul(tf.linspace(-1, 1, output.size).reshape(output.shape)).sum() as tf.Scalar;
            }, [...weights, x]);
            out = [y as tf.Tensor, value, ...[...weights, x].map((w) => grads[w.name] as tf.Tensor)];
          });
          kernels.push(profile.kernelNames);
          results.push(out.map((t) => t.dataSync() as Float32Array));
          expect(layer.getClassName()).toBe("Conv2D");
          tf.dispose([x, ...out]);
          model.dispose();
        }
        expect(kernels[1]).toEqual(expect.arrayContaining(["LabbookConv2DBiasRelu", "LabbookReluBiasGrad"]));
        expect(kernels[1]).not.toContain("Relu");
        // y, the loss, dkernel, dbias, dx; ReLU really cut some outputs.
        expectClose(results[1] as Float32Array[], results[0] as Float32Array[]);
        const zeros = ((results[1] as Float32Array[])[0] as Float32Array).filter((v) => v === 0).length;
        expect(zeros).toBeGreaterThan(0);
      },
    );

    it("the fused layer computes no input gradient where none is asked for (the first layer)", async () => {
      await tf.setBackend("wasm");
      const layer = conv2d({
        filters: 4,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        inputShape: [6, 6, 3],
      });
      const model = tf.sequential({ layers: [layer] });
      const x = random([2, 6, 6, 3], 64)();
      const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(
          () => (layer.apply(x, { training: true }) as tf.Tensor).sum() as tf.Scalar,
          weights,
        );
        tf.dispose([value, ...Object.values(grads)]);
      });
      expect(profile.kernelNames).toContain("Conv2DBackpropFilter");
      expect(profile.kernelNames).not.toContain("Conv2DBackpropInput");
      tf.dispose(x);
      model.dispose();
    });

    it("BatchNorm with full-shape statistics (no native case) falls back to the wasm kernel", async () => {
      const { cpu, wasm } = await onBoth(
        () => [random([2, 3, 4], 35)(), random([2, 3, 4], 36)(), random([2, 3, 4], 37)()],
        (x, mean, variance) =>
          tf.batchNorm(x as tf.Tensor3D, mean as tf.Tensor3D, (variance as tf.Tensor).abs()),
      );
      expectClose(wasm, cpu);
    });

    it.each([
      ["Adam", () => adamOptimizer(0.01, 0.9, 0.999, 1e-7), "AdamOptimizer", ["m", "v"]],
      [
        "SGD with Nesterov momentum",
        () => momentumOptimizer(0.05, 0.9, true),
        "MomentumOptimizer",
        ["momentum"],
      ],
      ["SGD with momentum", () => momentumOptimizer(0.05, 0.8, false), "MomentumOptimizer", ["momentum"]],
    ] as const)(
      "%s: the native step matches tfjs' own over several steps, state included",
      async (_, make, stock, state) => {
        const start = random([40, 30], 41)().dataSync().slice();
        const results: Float32Array[][] = [];
        for (const backend of ["cpu", "wasm"]) {
          await tf.setBackend(backend);
          const w = tf.variable(tf.tensor2d(start, [40, 30]));
          const optimizer = make();
          expect(optimizer.constructor.name).toBe(backend === "wasm" ? `Native${stock}` : stock);
          for (let step = 0; step < 5; step++) {
            // A changing learning rate, as one-cycle sets it every batch.
            if ("setLearningRate" in optimizer)
              (optimizer as tf.SGDOptimizer).setLearningRate(0.05 + step * 0.01);
            optimizer.minimize(
              () =>
                w
                  .sub(0.3)
                  .square()
                  .mul(tf.linspace(0.1, 3, 30))
                  .sum() as tf.Scalar,
            );
          }
          const saved = await optimizer.getWeights();
          results.push([
            w.dataSync() as Float32Array,
            ...saved.slice(1).map((s) => s.tensor.dataSync() as Float32Array),
          ]);
          expect(saved.map((s) => s.name)).toEqual(["iter", ...state.map((name) => `${w.name}/${name}`)]);
          optimizer.dispose();
          w.dispose();
        }
        expectClose(results[1] as Float32Array[], results[0] as Float32Array[]);
      },
    );

    it.each([
      ["Adam", () => adamOptimizer(0.01, 0.9, 0.999, 1e-7), "LabbookAdamStep"],
      ["SGD with Nesterov momentum", () => momentumOptimizer(0.05, 0.9, true), "LabbookMomentumStep"],
    ] as const)(
      "%s adds the L2 penalties' gradients itself: the same losses and weights as tfjs' L1L2 through the tape",
      async (_, make, optimizerKernel) => {
        const x0 = random([8, 6, 6, 3], 95)();
        const pixels = x0.dataSync().slice();
        x0.dispose();
        const results: Float32Array[][] = [];
        const kernels: string[][] = [];
        for (const backend of ["cpu", "wasm"]) {
          await tf.setBackend(backend);
          const model = tf.sequential({
            layers: [
              conv2d({
                inputShape: [6, 6, 3],
                filters: 5,
                kernelSize: 3,
                padding: "same",
                activation: "relu",
                kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
                kernelRegularizer: l2({ l2: 0.05 }),
              }),
              tf.layers.flatten(),
              tf.layers.dense({
                units: 4,
                kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
                kernelRegularizer: l2({ l2: 0.02 }),
              }),
            ],
          });
          const optimizer = make();
          takeL2Gradients(model, optimizer);
          model.compile({
            optimizer,
            loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits),
          });
          const x = tf.tensor4d(pixels, [8, 6, 6, 3]);
          const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], "int32"), 4).toFloat();
          const losses: number[] = [];
          let names: string[] = [];
          for (let step = 0; step < 4; step++) {
            const profile = await tf.profile(async () => {
              losses.push((await model.trainOnBatch(x, y)) as number);
            });
            names = profile.kernelNames;
          }
          results.push([
            Float32Array.from(losses),
            ...model.getWeights().map((w) => w.dataSync() as Float32Array),
          ]);
          kernels.push(names);
          tf.dispose([x, y]);
          model.dispose();
          optimizer.dispose();
        }
        // On the tape each penalty ran its kernel forwards and two multiplies and an add backwards.
        expect(kernels[1]).toContain(optimizerKernel);
        expect(kernels[1]).not.toContain("LabbookL2Penalty");
        expectClose(results[1] as Float32Array[], results[0] as Float32Array[]);
      },
    );

    it("the Dropout layer trains through the native kernel: kept share, scale, a fresh mask each step, and the mask's gradient", async () => {
      await tf.setBackend("wasm");
      const layer = dropout({ rate: 0.3, inputShape: [32, 32, 16] });
      const model = tf.sequential({ layers: [layer] });
      const x = tf.variable(random([64, 32, 32, 16], 81)().add(3)); // no zeros
      const run = () => {
        let y: tf.Tensor | undefined;
        const { grads, value } = tf.variableGrads(() => {
          y = tf.keep(layer.apply(x, { training: true }) as tf.Tensor);
          return y.mul(2).sum() as tf.Scalar;
        }, [x]);
        const out = [y as tf.Tensor, grads[x.name] as tf.Tensor];
        value.dispose();
        return out.map((t) => t.dataSync() as Float32Array);
      };
      const profile = await tf.profile(() => {
        run();
      });
      expect(profile.kernelNames).toContain("LabbookDropout");
      expect(profile.kernelNames).not.toContain("RandomUniform");
      // Values written from JS during a backward pass: while the mask was the kernel's second
      // output, the engine filled a tensor of zeros of x's size for its missing gradient.
      const dy = tf.onesLike(x);
      const written: number[] = [];
      const backend = tf.backend() as unknown as { move: (...args: unknown[]) => void };
      const move = backend.move;
      backend.move = function (this: unknown, ...args: unknown[]) {
        if (args[1] != null) written.push(tf.util.sizeFromShape(args[2] as number[])); // values from JS
        return move.apply(this, args);
      };
      try {
        tf.grad((a: tf.Tensor) => layer.apply(a, { training: true }) as tf.Tensor)(x, dy).dispose();
      } finally {
        backend.move = move;
      }
      expect(written.filter((size) => size >= x.size)).toEqual([]);
      dy.dispose();
      const [y, dx] = run() as [Float32Array, Float32Array];
      const [again] = run() as [Float32Array];
      const xs = x.dataSync();
      let [kept, wrong] = [0, 0];
      for (let i = 0; i < y.length; i++) {
        const scale = (y[i] as number) / (xs[i] as number);
        // Kept and scaled by 1/0.7, or dropped; dx = 2 · mask.
        if (scale !== 0) kept++;
        if (
          !(scale === 0 || Math.abs(scale - 1 / 0.7) < 1e-5) ||
          Math.abs((dx[i] as number) - 2 * scale) > 1e-4
        )
          wrong++;
      }
      expect(wrong).toBe(0);
      expect(kept / y.length).toBeGreaterThan(0.695);
      expect(kept / y.length).toBeLessThan(0.705);
      const changed = again.filter((v, i) => (v === 0) !== (y[i] === 0)).length;
      expect(changed / y.length).toBeGreaterThan(0.3); // two independent masks differ in 42% of places
      // Outside training it passes x through.
      expect((layer.apply(x, { training: false }) as tf.Tensor).dataSync()).toEqual(xs);
      expect(layer.getClassName()).toBe("Dropout");
      x.dispose();
      model.dispose();
    });

    it("the native dropout mask is the same on one and two threads for one seed, and differs between seeds", () => {
      const x = new Float32Array(200_000).fill(1);
      const mask = (seed: number, threads: number) => {
        native.setThreads(threads);
        const [y, m] = [new Float32Array(x.length), new Float32Array(x.length)];
        native.dropout(0.5, seed, x, y, m);
        return m;
      };
      try {
        const a = mask(2 ** 52 + 7, 1);
        expect(mask(2 ** 52 + 7, 2)).toEqual(a);
        const b = mask(2 ** 52 + 8, 1);
        expect(b.filter((v, i) => v !== a[i]).length / x.length).toBeGreaterThan(0.45);
      } finally {
        native.setThreads(1);
      }
      expect(() => native.dropout(1, 1, x, x, x)).toThrow(/rate must be in \[0, 1\)/);
      expect(() => native.dropout(0.5, 1.5, x, x, x)).toThrow(/seed must be a whole number/);
    });

    it("the L2 regularizer's penalty and gradient match tfjs' L1L2, and it saves as L1L2", async () => {
      const results: Float32Array[][] = [];
      const kernels: string[][] = [];
      const w0 = random([3, 3, 64, 130], 82)();
      const values = w0.dataSync().slice();
      w0.dispose();
      for (const backend of ["cpu", "wasm"]) {
        await tf.setBackend(backend);
        const w = tf.variable(tf.tensor(values, [3, 3, 64, 130]));
        const regularizer = l2({ l2: 3e-4 });
        let out: tf.Tensor[] = [];
        const profile = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => regularizer.apply(w).mul(5) as tf.Scalar, [w]);
          out = [value, grads[w.name] as tf.Tensor];
        });
        kernels.push(profile.kernelNames);
        results.push(out.map((t) => t.dataSync() as Float32Array));
        expect(regularizer.getClassName()).toBe("L1L2");
        expect(regularizer.getConfig()).toEqual({ l1: 0, l2: 3e-4 });
        tf.dispose([w, ...out]);
      }
      expect(kernels[1]).toContain("LabbookL2Penalty");
      expect(kernels[0]).not.toContain("LabbookL2Penalty");
      expectClose(results[1] as Float32Array[], results[0] as Float32Array[]);
    });

    it.each(FILL_MODES)(
      "augments a batch as tfjs' ops do: every transform of the seed recipe, channel shift and brightness (fill mode %s)",
      async (fillMode) => {
        const params = { ...DEFAULT_HYPERPARAMS.augmentation, fillMode, rotationDegrees: 40, zoom: 0.3 };
        const transforms = sampleTransforms(new Random(9), 16, params);
        const x0 = random([16, 32, 32, 3], 91)().mul(1.5);
        const values = x0.dataSync().slice();
        x0.dispose();
        const run = async (backend: string, augmentation: typeof params) => {
          await tf.setBackend(backend);
          const x = tf.tensor4d(values, [16, 32, 32, 3]);
          let out: Float32Array = new Float32Array();
          const profile = await tf.profile(() => {
            const y = augmentBatch(x, transforms, augmentation);
            out = y.dataSync() as Float32Array;
            y.dispose();
          });
          x.dispose();
          return { out, kernels: profile.kernelNames };
        };
        // The transform alone: equal up to float rounding.
        const plain = { ...params, channelShift: 0, brightness: [1, 1] as [number, number] };
        const [nativePlain, cpuPlain] = [await run("wasm", plain), await run("cpu", plain)];
        expect(nativePlain.kernels).toEqual(["LabbookAugment"]);
        expectClose([nativePlain.out], [cpuPlain.out], 1e-4);
        // Brightness floors to 8-bit levels twice (before and after its factor, here ≤ 1.1): a
        // value on a level's edge may land one level away, and two after the factor.
        const [native, cpu] = [await run("wasm", params), await run("cpu", params)];
        let [onAnEdge, beyond] = [0, 0];
        for (let image = 0; image < 16; image++) {
          const slice = (a: Float32Array) => a.subarray(image * 3072, (image + 1) * 3072);
          const expected = slice(cpu.out);
          const level = (Math.max(...expected) - Math.min(...expected)) / 255;
          slice(native.out).forEach((v, i) => {
            const off = Math.abs(v - (expected[i] as number));
            if (off > 1e-4 && off <= 2 * level * 1.001) onAnEdge++;
            else if (off > 1e-4) beyond++;
          });
        }
        expect(beyond).toBe(0);
        expect(onAnEdge).toBeLessThan(16 * 3072 * 0.001);
      },
    );

    it("augments as Keras 2 does: channel shift, then brightness, on its fixture (scripts/reference/keras_augment_fixture.py)", async () => {
      await tf.setBackend("wasm");
      let off = { wrong: -1, images: 0 };
      const { kernelNames } = await tf.profile(() => {
        off = offKerasFixture(DEFAULT_HYPERPARAMS.augmentation);
      });
      expect(kernelNames).toContain("LabbookAugment");
      expect(off.wrong).toBeLessThanOrEqual(off.images * 2);
    });

    it("gives the same results on two threads", async () => {
      native.setThreads(2);
      try {
        await expectConvGradientsMatch([8, 16, 16, 8], [3, 3, 8, 16], 1, "same");
        // On libtorch a batch this large is split between the threads (16 and 17 images), each
        // part on oneDNN's one-threaded path, and the parts' filter gradients summed.
        await expectConvGradientsMatch([33, 16, 16, 16], [3, 3, 16, 16], 1, "same");
        // The parts ran with one thread each; the kernels' own loops still have two.
        expect(native.describe().loopThreads).toBe(library === "libtorch" ? 2 : 1);
        // BatchNorm and MaxPool's gradient split their rows and images between the threads.
        const { cpu, wasm } = await onBoth(
          () => [random([16, 8, 8, 32], 38)()],
          (x) => {
            const { mean, variance } = tf.moments(x as tf.Tensor, [0, 1, 2]);
            const pooled = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, "valid").sum();
            return [
              tf.batchNorm(x as tf.Tensor, mean, variance, undefined, undefined, 1e-3),
              tf.grad(pooled)(x as tf.Tensor),
            ];
          },
        );
        expectClose(wasm, cpu);
        // The training kernel's sums run in blocks of rows in a fixed order: the same bits on two threads.
        const inputs = [
          random([64, 16, 16, 32], 71)(),
          tf.ones([32]),
          tf.zeros([32]),
          random([64, 16, 16, 32], 72)(),
        ];
        const twoThreads = trainingBatchNorm(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]));
        native.setThreads(1);
        const oneThread = trainingBatchNorm(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]));
        for (const [i, t] of twoThreads.entries())
          expect(t.dataSync()).toEqual((oneThread[i] as tf.Tensor).dataSync());
        tf.dispose([...inputs, ...twoThreads, ...oneThread]);
      } finally {
        native.setThreads(1);
      }
    });

    it("a filter key names the filter's values: -1 reads the filter every time", () => {
      const g = Int32Array.from([2, 5, 5, 8, 5, 5, 16, 3, 3, 1, 1, 1, 1]);
      const x = Float32Array.from({ length: 400 }, (_, i) => Math.sin(i));
      const a = Float32Array.from({ length: 1152 }, (_, i) => Math.cos(i));
      const b = a.map((v) => -2 * v);
      const conv = (filter: Float32Array, key: number) => {
        const y = new Float32Array(800);
        native.conv2d(g, x, filter, null, false, y, key);
        return y;
      };
      const ya = conv(a, -1);
      const yb = ya.map((v) => -2 * v);
      expectClose([conv(b, -1)], [yb]);
      // Two keys, two filters; a key used again with other values (which tfjs never does)
      // shows whether the library kept the first: only oneDNN keeps filters in its own layout.
      expect(conv(a, 7)).toEqual(ya);
      expectClose([conv(b, 8)], [yb]);
      expectClose([conv(b, 8)], [yb]);
      conv(a, 9);
      expectClose([conv(b, 9)], [library === "libtorch" ? ya : yb]);
    });

    // The second case is Winograd's on oneDNN, which keeps the filter transformed for predictions.
    it.each([
      { batch: 3, inputShape: [6, 6, 3], filters: 4 },
      { batch: 8, inputShape: [8, 8, 16], filters: 32 },
    ])(
      "predictions follow the weights: new values after training and after setWeights (%j)",
      async ({ batch, inputShape, filters }) => {
        const model = tf.sequential({
          layers: [
            conv2d({ inputShape, filters, kernelSize: 3, padding: "same", activation: "relu" }),
            tf.layers.flatten(),
            tf.layers.dense({ units: 2 }),
          ],
        });
        model.compile({ optimizer: tf.train.sgd(0.5), loss: "meanSquaredError" });
        const x = random([batch, ...inputShape], 41)();
        const y = random([batch, 2], 42)();
        // The stock layers compute the same with the cpu backend's kernels, from the same weights.
        const expected = async () => {
          const weights = model.getWeights().map((w) => w.arraySync());
          await tf.setBackend("cpu");
          const reference = tf.sequential({
            layers: [
              tf.layers.conv2d({
                inputShape,
                filters,
                kernelSize: 3,
                padding: "same",
                activation: "relu",
              }),
              tf.layers.flatten(),
              tf.layers.dense({ units: 2 }),
            ],
          });
          reference.setWeights(weights.map((w) => tf.tensor(w as number[])));
          const out = (await (
            reference.predict(tf.tensor(x.arraySync() as number[][][][])) as tf.Tensor
          ).data()) as Float32Array;
          await tf.setBackend("wasm");
          return out;
        };
        const predicted = async () => (await (model.predict(x) as tf.Tensor).data()) as Float32Array;
        const before = await predicted();
        expectClose([await predicted()], [before]); // served from the kept filter
        await model.trainOnBatch(x, y);
        const trained = await predicted();
        expect(Math.max(...trained.map((v, i) => Math.abs(v - (before[i] ?? 0))))).toBeGreaterThan(1e-3);
        expectClose([trained], [await expected()]);
        const convLayer = model.layers[0] as tf.layers.Layer;
        convLayer.setWeights(convLayer.getWeights().map((w) => w.mul(-1)));
        expectClose([await predicted()], [await expected()]);
      },
    );

    it("reports which library it uses", () => {
      const about = native.describe();
      expect(about.library).toBe(library);
      expect(about.threads).toBe(1);
      expect(about.detail).toMatch(library === "openblas" ? /OpenBLAS/ : /oneDNN \d/);
      expect(about.loopThreads).toBe(1);
    });

    it("splits its own loops (BatchNorm, dropout, Adam…) across the threads on libtorch", () => {
      native.setThreads(2);
      try {
        // ATen's parallel_for is inline OpenMP: an addon built without -fopenmp ran it on one thread.
        expect(native.describe().loopThreads).toBe(library === "libtorch" ? 2 : 1);
      } finally {
        native.setThreads(1);
      }
    });
  });

  describeMaxPoolGrad(`native MaxPoolGrad (${library} addon) matches the cpu backend`);

  describe(`native addon input checks (${library})`, () => {
    const geometry = Int32Array.from([1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1]);
    const floats = (n: number) => new Float32Array(n);

    it("names an array too short for the geometry instead of reading past it", () => {
      expect(() => native.conv2d(geometry, floats(31), floats(54), null, false, floats(48), -1)).toThrow(
        /x holds 31 floats, needs 32/,
      );
      expect(() => native.conv2dBackpropFilter(geometry, floats(32), floats(48), floats(10))).toThrow(
        /dw holds 10 floats, needs 54/,
      );
    });

    it("refuses other array types and malformed geometry", () => {
      expect(() =>
        native.conv2d(
          geometry,
          new Float64Array(32) as unknown as Float32Array,
          floats(54),
          null,
          false,
          floats(48),
          -1,
        ),
      ).toThrow(/x must be a Float32Array/);
      expect(() =>
        native.conv2dBackpropInput(Int32Array.from([1, 2, 3]), floats(1), floats(1), floats(1)),
      ).toThrow(/geometry must be an Int32Array of 13 values/);
      expect(() => native.setThreads(0)).toThrow(/at least 1/);
    });

    it("maxPoolGrad gives each window's gradient to its first maximum, also when all are negative", () => {
      // 2×2 windows, stride 2, over a [1, 2, 4, 1] image: geometry in the convolution's layout.
      const pool = Int32Array.from([1, 2, 4, 1, 1, 2, 1, 2, 2, 2, 2, 0, 0]);
      const dx = floats(8).fill(7);
      native.maxPoolGrad(
        pool,
        Float32Array.from([-3, -3, -1, -1, -3, -3, -1, -5]),
        Float32Array.from([10, 20]),
        dx,
      );
      expect(Array.from(dx)).toEqual([10, 0, 20, 0, 0, 0, 0, 0]);
      // Infinities: a window of -∞ then 2, and one of all -∞ (its first tap).
      const inf = Number.POSITIVE_INFINITY;
      native.maxPoolGrad(
        pool,
        Float32Array.from([-inf, -inf, -inf, -inf, -inf, 2, -inf, -inf]),
        Float32Array.from([10, 20]),
        dx,
      );
      expect(Array.from(dx)).toEqual([0, 0, 20, 0, 0, 10, 0, 0]);
      expect(() =>
        native.maxPoolGrad(
          Int32Array.from([1, 2, 4, 1, 1, 2, 3, 2, 2, 2, 2, 0, 0]),
          floats(8),
          floats(2),
          floats(8),
        ),
      ).toThrow(/cout = cin/);
    });

    // OpenBLAS' convolutions have no such errors to raise.
    if (library === "libtorch")
      it("turns oneDNN's own errors into JS errors instead of aborting the process", () => {
        // An output size that does not follow from the input's: oneDNN refuses the descriptor. Its
        // exception escaped the N-API call, and the process (a worker, or the server) aborted.
        const inconsistent = Int32Array.from([1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
        expect(() => native.conv2d(inconsistent, floats(4), floats(1), null, false, floats(1), -1)).toThrow(
          /could not create a descriptor for a convolution/,
        );
      });

    it("loads the same module again", () => {
      expect(loadNativeKernels(library)).toBe(native);
    });
  });
}
