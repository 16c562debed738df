#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"

namespace kernels {

namespace {
inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
// a where take is all ones, b where it is zero.
inline float select(uint32_t take, float a, float b) {
  const uint32_t u = (bitsOf(a) & take) | (bitsOf(b) & ~take);
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace

// MaxPool: each window's maximum per channel (NaN where a window's first value is NaN, as the
// running maximum keeps its value against NaN), images split between the threads.
void maxPool(const Geometry& g, const float* x, float* y) {
  parallelFor(g.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> pixels;
    pixels.reserve(size_t(g.fh) * g.fw);
    for (int b = int(begin); b < int(end); b++)
      for (int oh = 0; oh < g.oh; oh++)
        for (int ow = 0; ow < g.ow; ow++) {
          float* out = y + ((int64_t(b) * g.oh + oh) * g.ow + ow) * g.cin;
          pixels.clear();
          forEachTapInside(g, b, oh, ow, [&](int, int64_t pixel) { pixels.push_back(pixel); });
          if (pixels.empty()) {
            std::fill(out, out + g.cin, -std::numeric_limits<float>::infinity());
            continue;
          }
          const float* first = x + pixels[0];
          for (int c = 0; c < g.cin; c++) out[c] = first[c];
          for (size_t k = 1; k < pixels.size(); k++) {
            const float* row = x + pixels[k];
            for (int c = 0; c < g.cin; c++) {
              const float v = row[c], current = out[c];
              out[c] = select(-uint32_t(v > current), v, current);
            }
          }
        }
  });
}

// MaxPool's gradient: each window's dy goes to its first maximum (TensorFlow's rule), in the
// forward pooling's geometry with cout = cin. Per window, the running maximum and the index of
// the tap holding it are updated over whole channel rows with bit-mask selects (which vectorise),
// then each channel's dy is added at its tap.
void maxPoolGrad(const Geometry& g, const float* x, const float* dy, float* dx) {
  // Windows that tile the image (2×2, stride 2: the seed network's) cover each input pixel once,
  // so each dx value is written once; otherwise zero dx and add into it.
  const bool tiles = g.sh == g.fh && g.sw == g.fw && g.pt == 0 && g.pl == 0 && g.oh * g.sh == g.h && g.ow * g.sw == g.w;
  if (!tiles) std::memset(dx, 0, sizeof(float) * size_t(g.n) * g.h * g.w * g.cin);
  // Images are independent (windows never cross them): one image per task.
  parallelFor(g.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> best(g.cin), tap(g.cin);  // tap indices as floats: exact, and one select type
    std::vector<int64_t> pixels;
    pixels.reserve(size_t(g.fh) * g.fw);
    for (int b = int(begin); b < int(end); b++)
      for (int oh = 0; oh < g.oh; oh++)
        for (int ow = 0; ow < g.ow; ow++) {
          pixels.clear();
          forEachTapInside(g, b, oh, ow, [&](int, int64_t pixel) { pixels.push_back(pixel); });
          if (pixels.empty()) continue;
          const float* first = x + pixels[0];
          for (int c = 0; c < g.cin; c++) {
            best[c] = first[c];
            tap[c] = 0.0f;
          }
          for (size_t k = 1; k < pixels.size(); k++) {
            const float* row = x + pixels[k];
            const float index = float(k);
            for (int c = 0; c < g.cin; c++) {
              const float v = row[c], current = best[c], at = tap[c];
              // GCC keeps a loop with a float select scalar; bit masks are exact for every value
              // (an arithmetic blend would turn infinities into NaN).
              const uint32_t take = -uint32_t(v > current);
              best[c] = select(take, v, current);
              tap[c] = select(take, index, at);
            }
          }
          const float* d = dy + ((int64_t(b) * g.oh + oh) * g.ow + ow) * g.cin;
          if (tiles) {
            for (size_t k = 0; k < pixels.size(); k++) {
              float* row = dx + pixels[k];
              const float index = float(k);
              for (int c = 0; c < g.cin; c++) {
                const float grad = d[c];
                row[c] = tap[c] == index ? grad : 0.0f;
              }
            }
          } else {
            for (int c = 0; c < g.cin; c++) dx[pixels[size_t(tap[c])] + c] += d[c];
          }
        }
  });
}

}  // namespace kernels
