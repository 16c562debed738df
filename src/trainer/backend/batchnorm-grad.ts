// A FusedBatchNorm gradient for the wasm backend without the stock gradient's `tile` and
// full-size temporaries: per channel it needs only Σdy and Σdy·(x − mean). Other backends
// keep the stock gradient.
import * as tf from "@tensorflow/tfjs";

type GradFunc = tf.GradConfig["gradFunc"];

export function fastBatchNormGrad(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) {
  const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
  const epsilon = attrs.varianceEpsilon as number;
  // Axes that mean/variance broadcast over (all but the channel axis for per-channel stats).
  const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
  const reduce = (t: tf.Tensor) => (axes.length ? t.sum(axes) : t).reshape(mean.shape);
  const rstd = variance.add(epsilon).rsqrt();
  const gamma = scale ?? tf.scalar(1);
  const sumDy = reduce(dy);
  const sumDyCentered = reduce(dy.mul(x.sub(mean)));
  return {
    x: () => dy.mul(rstd.mul(gamma)),
    mean: () => sumDy.mul(rstd).mul(gamma).neg(),
    variance: () => sumDyCentered.mul(rstd.pow(3)).mul(gamma).mul(-0.5),
    scale: () => sumDyCentered.mul(rstd),
    offset: () => sumDy,
  };
}

/**
 * Mean's gradient without the stock one's full-size `ones` tensor, which tfjs fills in JS and
 * copies to the wasm heap: BatchNorm's batch moments take two means per layer and step.
 */
export function fastMeanGrad(dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) {
  const [x] = saved as [tf.Tensor];
  const axes = tf.util.parseAxisParam(attrs.axis as number[], x.shape);
  const expanded = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
  const reduceSize = axes.reduce((n, axis) => n * (x.shape[axis] as number), 1);
  return { x: () => dy.reshape(expanded).mul(tf.fill(x.shape, 1 / reduceSize)) };
}

let installed = false;

export function installBatchNormGrad(): void {
  if (installed) return;
  installed = true;
  const stock = tf.getGradient("FusedBatchNorm");
  if (!stock) throw new Error("tfjs has no FusedBatchNorm gradient to replace");
  const gradFunc: GradFunc = (dy, saved, attrs) =>
    tf.getBackend() === "wasm" && !Array.isArray(dy)
      ? fastBatchNormGrad(dy, saved, attrs)
      : stock.gradFunc(dy, saved, attrs);
  tf.registerGradient({ ...stock, gradFunc });
  const stockMean = tf.getGradient("Mean");
  if (!stockMean) throw new Error("tfjs has no Mean gradient to replace");
  tf.registerGradient({
    ...stockMean,
    gradFunc: (dy, saved, attrs) =>
      tf.getBackend() === "wasm" && !Array.isArray(dy)
        ? fastMeanGrad(dy, saved, attrs)
        : stockMean.gradFunc(dy, saved, attrs),
  });
}
