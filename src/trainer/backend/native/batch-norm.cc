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

}  // namespace kernels
