// The kernels every native library behind Labbook's addon provides (openblas.cc, aten.cc);
// addon.cc exposes them to JS. Tensors are NHWC floats, filters HWIO, both read in place.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "geometry.h"

namespace kernels {
// y = conv(x, filter) [+ bias] [relu]. filterKey ≥ 0 names the filter's values for good (a
// key is never reused for other values), so a library may keep the filter in its own layout.
void conv2d(const Geometry& g, const float* x, const float* filter, int64_t filterKey, const float* bias, bool relu,
            float* y);
void conv2dBackpropInput(const Geometry& g, const float* dy, const float* filter, float* dx);
void conv2dBackpropFilter(const Geometry& g, const float* x, const float* dy, float* dw);
// MaxPool, and its gradient, in the pooling's geometry as a convolution's with cout = cin (max-pool.cc).
void maxPool(const Geometry& g, const float* x, float* y);
void maxPoolGrad(const Geometry& g, const float* x, const float* dy, float* dx);
// y = (x − mean) · scale / √(variance + ε) + offset over the last axis of `pixels` rows of
// `channels` (scale and offset may be null: 1 and 0) (elementwise.cc).
void batchNorm(int64_t pixels, int channels, const float* x, const float* mean, const float* variance,
               const float* scale, const float* offset, float epsilon, float* y);
// BatchNorm in training: the batch's per-channel mean and (biased) variance, as tf.moments gives
// them, and y normalised with them (elementwise.cc).
void batchNormTraining(int64_t pixels, int channels, const float* x, const float* scale, const float* offset,
                       float epsilon, float* y, float* mean, float* variance);
// Its gradient through the batch statistics: dx, and Σ dy·x̂ and Σ dy for scale and offset
// (dscale and doffset may be null). The statistics' own outputs carry no gradient.
void batchNormTrainingGrad(int64_t pixels, int channels, const float* dy, const float* x, const float* mean,
                           const float* variance, const float* scale, float epsilon, float* dx, float* dscale,
                           float* doffset);
// ReLU's and the bias's gradients of y = relu(conv + bias): dyMasked = dy where y > 0, else 0, and
// dbias = Σ dyMasked per channel (elementwise.cc).
void reluBiasGrad(int64_t pixels, int channels, const float* dy, const float* y, float* dyMasked, float* dbias);
// BatchNorm's moving averages after a training step, as tfjs layers update them:
// moving' = moving − (moving − batch)·(1 − momentum), for the mean and the variance.
void movingAverage(int channels, float momentum, const float* moving, const float* batch, float* updated);
// Dropout in training: keeps each element with probability 1 − rate, drawn from a counter-based
// generator keyed by `seed`, so any number of threads draws the same mask. mask = 1/(1 − rate)
// where kept, else 0, and y = x · mask.
void dropout(int64_t size, float rate, uint64_t seed, const float* x, float* y, float* mask);
// Σ x², accumulated in blocks in a fixed order (the same on any number of threads).
double sumOfSquares(int64_t size, const float* x);
// One Adam step of one variable, written to new buffers: m' = β1·m + (1−β1)·g,
// v' = β2·v + (1−β2)·g², value' = value − lr · (m'/c1) / (√(v'/c2) + ε), with c1 = 1 − β1^t and
// c2 = 1 − β2^t (elementwise.cc). g is the gradient plus decay·value: an L2 penalty's gradient
// (decay = 2·l2), added here instead of by two more kernels a variable and step.
struct AdamStep {
  float lr, beta1, beta2, epsilon, c1, c2, decay;
};
void adam(int64_t size, const AdamStep& step, const float* value, const float* m, const float* v, const float* g,
          float* newValue, float* newM, float* newV);
// One SGD-with-momentum step of one variable, as tfjs' MomentumOptimizer computes it: a' = m·a + g,
// then value' = value − lr·(g + m·a') with Nesterov's momentum, or value − lr·a' without; g as
// in Adam's step, with decay·value added.
void momentum(int64_t size, float lr, float momentum, bool nesterov, float decay, const float* value,
              const float* accumulation, const float* g, float* newValue, float* newAccumulation);
// Training-time augmentation of n images [h, w, c] (augment.cc): each image's projective
// transform (8 values, tfjs' Transform convention) sampled bilinearly with the fill mode, then,
// where given, Keras' channel shift and brightness with the image's own value per image.
enum class FillMode { kConstant = 0, kReflect = 1, kWrap = 2, kNearest = 3 };
struct AugmentShape {
  int n, h, w, c;
};
void augment(const AugmentShape& shape, const float* images, const float* matrices, FillMode fillMode,
             const float* channelShift, const float* brightness, float* out);
// Runs body(begin, end) over [0, n) in chunks of at least `grain`, on the library's threads.
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);
void setThreads(int threads);
int threads();
// Which library computes the convolutions, and how it was built.
std::string library();
std::string detail();
}  // namespace kernels
