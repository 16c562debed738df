// Elementwise kernels of a training step: BatchNorm's normalisation and the Adam update.
#include <cmath>
#include <vector>

#include "kernels.h"

namespace kernels {

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

void adam(int64_t size, const AdamStep& s, const float* value, const float* m, const float* v, const float* g,
          float* newValue, float* newM, float* newV) {
  parallelFor(size, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float first = m[i] * s.beta1 + g[i] * (1.0f - s.beta1);
      const float second = v[i] * s.beta2 + g[i] * g[i] * (1.0f - s.beta2);
      newM[i] = first;
      newV[i] = second;
      newValue[i] = value[i] - s.lr * (first / s.c1) / (std::sqrt(second / s.c2) + s.epsilon);
    }
  });
}

}  // namespace kernels
