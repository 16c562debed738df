// Convolutions as im2col + OpenBLAS sgemm on NHWC tensors. Images are processed in chunks so
// the im2col buffer stays a few MiB.
#include <cblas.h>

#include <cstring>
#include <vector>

#include "kernels.h"

extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace {

std::vector<float>& scratch(size_t size) {
  static std::vector<float> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer;
}

void im2col(const float* x, const Geometry& g, int b0, int b1, float* cols) {
  const size_t rowBytes = size_t(g.cin) * sizeof(float);
  float* row = cols;
  for (int b = b0; b < b1; b++)
    for (int oh = 0; oh < g.oh; oh++)
      for (int ow = 0; ow < g.ow; ow++, row += g.taps())
        for (int i = 0; i < g.fh; i++) {
          const int y = oh * g.sh + i - g.pt;
          for (int j = 0; j < g.fw; j++) {
            const int xx = ow * g.sw + j - g.pl;
            float* dst = row + (int64_t(i) * g.fw + j) * g.cin;
            if (y < 0 || y >= g.h || xx < 0 || xx >= g.w) std::memset(dst, 0, rowBytes);
            else std::memcpy(dst, x + ((int64_t(b) * g.h + y) * g.w + xx) * g.cin, rowBytes);
          }
        }
}

// Adds each im2col row back onto the pixels it was read from (dx must start at zero).
void col2im(const float* cols, const Geometry& g, int b0, int b1, float* dx) {
  const float* row = cols;
  for (int b = b0; b < b1; b++)
    for (int oh = 0; oh < g.oh; oh++)
      for (int ow = 0; ow < g.ow; ow++, row += g.taps())
        forEachTapInside(g, b, oh, ow, [&](int k, int64_t pixel) {
          const float* src = row + int64_t(k) * g.cin;
          for (int c = 0; c < g.cin; c++) dx[pixel + c] += src[c];
        });
}

// Calls body(b0, b1, rows) for each chunk of images [b0, b1), rows being its output pixels.
template <typename Body>
void forEachChunk(const Geometry& g, Body body) {
  const int chunk = g.chunk();
  for (int b0 = 0; b0 < g.n; b0 += chunk) {
    const int b1 = std::min(g.n, b0 + chunk);
    body(b0, b1, (b1 - b0) * g.outPixels());
  }
}

// The im2col rows of images [b0, b1): x itself for a pointwise convolution.
const float* colsOf(const float* x, const Geometry& g, int b0, int b1, int64_t rows) {
  if (g.pointwise()) return x + int64_t(b0) * g.h * g.w * g.cin;
  float* cols = scratch(size_t(rows * g.taps())).data();
  im2col(x, g, b0, b1, cols);
  return cols;
}

}  // namespace

namespace kernels {

// y = conv(x, filter) [+ bias] [relu]. filter is HWIO, i.e. row-major [K, Cout].
void conv2d(const Geometry& g, const float* x, const float* filter, int64_t, const float* bias, bool relu, float* y) {
  const int64_t k = g.taps();
  forEachChunk(g, [&](int b0, int b1, int64_t rows) {
    float* out = y + int64_t(b0) * g.outPixels() * g.cout;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g.cout, k, 1.0f, colsOf(x, g, b0, b1, rows), k, filter,
                g.cout, 0.0f, out, g.cout);
    if (!bias && !relu) return;
    for (int64_t r = 0; r < rows; r++) {
      float* v = out + r * g.cout;
      if (bias)
        for (int c = 0; c < g.cout; c++) v[c] += bias[c];
      if (relu)
        for (int c = 0; c < g.cout; c++) v[c] = v[c] > 0.0f ? v[c] : 0.0f;
    }
  });
}

// dx = dy · filterᵀ, folded back from im2col rows.
void conv2dBackpropInput(const Geometry& g, const float* dy, const float* filter, float* dx) {
  const int64_t k = g.taps();
  forEachChunk(g, [&](int b0, int b1, int64_t rows) {
    const float* dyChunk = dy + int64_t(b0) * g.outPixels() * g.cout;
    float* dxChunk = dx + int64_t(b0) * g.h * g.w * g.cin;
    float* cols = g.pointwise() ? dxChunk : scratch(size_t(rows * k)).data();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, g.cout, 1.0f, dyChunk, g.cout, filter, g.cout, 0.0f,
                cols, k);
    if (g.pointwise()) return;
    std::memset(dxChunk, 0, sizeof(float) * size_t(b1 - b0) * g.h * g.w * g.cin);
    col2im(cols, g, b0, b1, dx);
  });
}

// dW = Σ im2col(x)ᵀ · dy over all chunks.
void conv2dBackpropFilter(const Geometry& g, const float* x, const float* dy, float* dw) {
  const int64_t k = g.taps();
  forEachChunk(g, [&](int b0, int b1, int64_t rows) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g.cout, rows, 1.0f, colsOf(x, g, b0, b1, rows), k,
                dy + int64_t(b0) * g.outPixels() * g.cout, g.cout, b0 == 0 ? 0.0f : 1.0f, dw, g.cout);
  });
  if (g.n == 0) std::memset(dw, 0, sizeof(float) * size_t(k * g.cout));
}

// The OpenBLAS build keeps everything outside sgemm on the calling thread.
void parallelFor(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& body) {
  if (n > 0) body(0, n);
}

void setThreads(int threads) { openblas_set_num_threads(threads); }
int threads() { return openblas_get_num_threads(); }
std::string library() { return "openblas"; }
std::string detail() { return std::string(openblas_get_corename()) + ", " + openblas_get_config(); }

}  // namespace kernels
