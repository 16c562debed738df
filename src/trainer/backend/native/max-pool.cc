#include <cstring>
#include <vector>

#include "kernels.h"

namespace kernels {

// MaxPool's gradient: each window's dy goes to its first maximum (TensorFlow's rule), in the
// forward pooling's geometry with cout = cin.
void maxPoolGrad(const Geometry& g, const float* x, const float* dy, float* dx) {
  std::memset(dx, 0, sizeof(float) * size_t(g.n) * g.h * g.w * g.cin);
  // Images are independent (windows never cross them): one image per task.
  parallelFor(g.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> best(g.cin);
    std::vector<int64_t> at(g.cin);
    for (int b = int(begin); b < int(end); b++)
      for (int oh = 0; oh < g.oh; oh++)
        for (int ow = 0; ow < g.ow; ow++) {
          std::fill(at.begin(), at.end(), -1);
          forEachTapInside(g, b, oh, ow, [&](int, int64_t pixel) {
            for (int c = 0; c < g.cin; c++)
              if (at[c] < 0 || x[pixel + c] > best[c]) {
                best[c] = x[pixel + c];
                at[c] = pixel + c;
              }
          });
          const float* d = dy + ((int64_t(b) * g.oh + oh) * g.ow + ow) * g.cin;
          for (int c = 0; c < g.cin; c++)
            if (at[c] >= 0) dx[at[c]] += d[c];
        }
  });
}

}  // namespace kernels
