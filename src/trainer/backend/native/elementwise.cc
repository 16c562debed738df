// Elementwise kernels of a training step: BatchNorm (inference and training, with its gradient
// and moving averages), dropout, the L2 penalty's sum, and the Adam and momentum updates.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"

namespace kernels {

namespace {

constexpr int64_t kRowsPerBlock = 256;

// Per-channel sums of K terms over all rows: out[k·channels + c] = Σ_p term_k(p, c). `add(p, acc)`
// adds row p's terms into a block's K·channels accumulators. Floats within a block of rows,
// doubles across blocks in block order, so the sums are accurate and the same on any number
// of threads.
template <int K, typename Add>
std::vector<double> channelSums(int64_t pixels, int channels, Add add) {
  const int64_t blocks = (pixels + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t width = int64_t(K) * channels;
  std::vector<float> partial(blocks * width, 0.0f);
  parallelFor(blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b++) {
      float* acc = partial.data() + b * width;
      const int64_t last = std::min(pixels, (b + 1) * kRowsPerBlock);
      for (int64_t p = b * kRowsPerBlock; p < last; p++) add(p, acc);
    }
  });
  std::vector<double> sums(width, 0.0);
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t i = 0; i < width; i++) sums[i] += partial[b * width + i];
  return sums;
}

}  // namespace

void batchNorm(int64_t pixels, int channels, const float* x, const float* mean, const float* variance,
               const float* scale, const float* offset, float epsilon, float* y) {
  // Per channel, y = x · a + b.
  std::vector<float> a(channels), b(channels);
  for (int c = 0; c < channels; c++) {
    a[c] = (scale ? scale[c] : 1.0f) / std::sqrt(variance[c] + epsilon);
    b[c] = (offset ? offset[c] : 0.0f) - mean[c] * a[c];
  }
  parallelFor(pixels, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; p++) {
      const float* in = x + p * channels;
      float* out = y + p * channels;
      for (int c = 0; c < channels; c++) out[c] = in[c] * a[c] + b[c];
    }
  });
}

void batchNormTraining(int64_t pixels, int channels, const float* x, const float* scale, const float* offset,
                       float epsilon, float* y, float* mean, float* variance) {
  const std::vector<double> sums = channelSums<1>(pixels, channels, [&](int64_t p, float* acc) {
    const float* in = x + p * channels;
    for (int c = 0; c < channels; c++) acc[c] += in[c];
  });
  for (int c = 0; c < channels; c++) mean[c] = float(sums[c] / double(pixels));
  // Two passes, as tf.moments: the mean of the squared deviations, not E[x²] − E[x]².
  const std::vector<double> squares = channelSums<1>(pixels, channels, [&](int64_t p, float* acc) {
    const float* in = x + p * channels;
    for (int c = 0; c < channels; c++) {
      const float d = in[c] - mean[c];
      acc[c] += d * d;
    }
  });
  for (int c = 0; c < channels; c++) variance[c] = float(squares[c] / double(pixels));
  batchNorm(pixels, channels, x, mean, variance, scale, offset, epsilon, y);
}

void batchNormTrainingGrad(int64_t pixels, int channels, const float* dy, const float* x, const float* mean,
                           const float* variance, const float* scale, float epsilon, float* dx, float* dscale,
                           float* doffset) {
  const std::vector<double> sums = channelSums<2>(pixels, channels, [&](int64_t p, float* acc) {
    const float* d = dy + p * channels;
    const float* in = x + p * channels;
    for (int c = 0; c < channels; c++) {
      acc[c] += d[c];
      acc[channels + c] += d[c] * (in[c] - mean[c]);
    }
  });
  // dx = γ·r·(dy − Σdy/N − x̂·Σ(dy·x̂)/N) with r = 1/√(var + ε) and x̂ = (x − mean)·r, written as
  // dx = a·dy + k·(x − mean) + b per channel (centred first: mean may be large against the spread).
  std::vector<float> a(channels), k(channels), b(channels);
  const double n = double(pixels);
  for (int c = 0; c < channels; c++) {
    const double r = 1.0 / std::sqrt(double(variance[c]) + double(epsilon));
    const double gamma = scale ? scale[c] : 1.0;
    const double sumDy = sums[c], sumDyXhat = sums[channels + c] * r;
    if (doffset) doffset[c] = float(sumDy);
    if (dscale) dscale[c] = float(sumDyXhat);
    a[c] = float(gamma * r);
    k[c] = float(-gamma * r * r * sumDyXhat / n);
    b[c] = float(-gamma * r * sumDy / n);
  }
  parallelFor(pixels, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; p++) {
      const float* d = dy + p * channels;
      const float* in = x + p * channels;
      float* out = dx + p * channels;
      for (int c = 0; c < channels; c++) out[c] = a[c] * d[c] + k[c] * (in[c] - mean[c]) + b[c];
    }
  });
}

void reluBiasGrad(int64_t pixels, int channels, const float* dy, const float* y, float* dyMasked, float* dbias) {
  // dy · step(y), as tfjs computes ReLU's gradient (so an infinite dy gives NaN where y ≤ 0, as
  // there); a multiply, unlike a select, vectorises (with -fno-trapping-math, binding.gyp).
  const std::vector<double> sums = channelSums<1>(pixels, channels, [&](int64_t p, float* acc) {
    const float* d = dy + p * channels;
    const float* out = y + p * channels;
    float* masked = dyMasked + p * channels;
    for (int c = 0; c < channels; c++) masked[c] = d[c] * float(out[c] > 0.0f);
    for (int c = 0; c < channels; c++) acc[c] += masked[c];
  });
  for (int c = 0; c < channels; c++) dbias[c] = float(sums[c]);
}

void movingAverage(int channels, float momentum, const float* moving, const float* batch, float* updated) {
  const float rate = 1.0f - momentum;
  for (int c = 0; c < channels; c++) updated[c] = moving[c] - (moving[c] - batch[c]) * rate;
}

namespace {
// A 32-bit integer hash (Chris Wellons' lowbias32): multiplies and shifts that vectorise.
inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  return x ^ (x >> 16);
}
}  // namespace

void dropout(int64_t size, float rate, uint64_t seed, const float* x, float* y, float* mask) {
  const float keep = 1.0f - rate, scale = 1.0f / keep;
  // Kept where the hash's top 24 bits, as a uniform float in [0, 1), fall below `keep`.
  const int32_t threshold = int32_t(std::min(16777216.0f, std::ceil(keep * 16777216.0f)));
  const uint32_t k1 = hash32(uint32_t(seed)), k2 = hash32(uint32_t(seed >> 32) ^ 0x9e3779b9U);
  // Captured by value: the stores through mask and y could alias references, keeping it scalar.
  parallelFor(size, 16384, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const int32_t u = int32_t(hash32(hash32(uint32_t(i) + k1) ^ k2) >> 8);
      const float m = scale * float(u < threshold);
      mask[i] = m;
      y[i] = x[i] * m;
    }
  });
}

double sumOfSquares(int64_t size, const float* x) {
  constexpr int64_t kBlock = 65536;
  const int64_t blocks = (size + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  parallelFor(blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b++) {
      float lanes[16] = {};  // independent accumulators, so the loop vectorises
      const int64_t first = b * kBlock, last = std::min(size, first + kBlock);
      int64_t i = first;
      for (; i + 16 <= last; i += 16)
        for (int l = 0; l < 16; l++) lanes[l] += x[i + l] * x[i + l];
      double sum = 0;
      for (; i < last; i++) sum += double(x[i]) * x[i];
      for (float lane : lanes) sum += lane;
      partial[b] = sum;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

namespace {
// The update's loops, as functions of restrict pointers: inside the lambdas GCC kept them scalar
// (it could not prove the outputs alias nothing the loop reads).
void adamRange(int64_t begin, int64_t end, AdamStep s, const float* __restrict value, const float* __restrict m,
               const float* __restrict v, const float* __restrict g, float* __restrict newValue,
               float* __restrict newM, float* __restrict newV) {
  for (int64_t i = begin; i < end; i++) {
    const float gradient = g[i] + s.decay * value[i];
    const float first = m[i] * s.beta1 + gradient * (1.0f - s.beta1);
    const float second = v[i] * s.beta2 + gradient * gradient * (1.0f - s.beta2);
    newM[i] = first;
    newV[i] = second;
    newValue[i] = value[i] - s.lr * (first / s.c1) / (std::sqrt(second / s.c2) + s.epsilon);
  }
}
}  // namespace

void adam(int64_t size, const AdamStep& s, const float* value, const float* m, const float* v, const float* g,
          float* newValue, float* newM, float* newV) {
  parallelFor(size, 16384, [=](int64_t begin, int64_t end) {
    adamRange(begin, end, s, value, m, v, g, newValue, newM, newV);
  });
}

void momentum(int64_t size, float lr, float m, bool nesterov, float decay, const float* value,
              const float* accumulation, const float* g, float* newValue, float* newAccumulation) {
  const float c = -lr;
  parallelFor(size, 16384, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float gradient = g[i] + decay * value[i];
      const float a = m * accumulation[i] + gradient;
      newAccumulation[i] = a;
      newValue[i] = (nesterov ? c * (gradient + a * m) : c * a) + value[i];
    }
  });
}

}  // namespace kernels
