// NHWC convolutions for Labbook's tfjs kernels: im2col + OpenBLAS sgemm, reading and writing
// the tensors in place (the wasm backend's heap); and MaxPool's gradient, a JS loop otherwise. Forward, input gradient and filter gradient
// share one geometry: the forward convolution's. Images are processed in chunks so the
// im2col buffer stays a few MiB.
#include <cblas.h>
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace {

struct Geometry {
  int n, h, w, cin, oh, ow, cout, fh, fw, sh, sw, pt, pl;
  int64_t taps() const { return int64_t(fh) * fw * cin; }  // K: one im2col row
  int64_t outPixels() const { return int64_t(oh) * ow; }
  // 1×1, stride 1, no padding: x already is its own im2col matrix.
  bool pointwise() const { return fh == 1 && fw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0; }
  // Images per chunk: about 4M floats of im2col rows.
  int chunk() const { return int(std::max<int64_t>(1, std::min<int64_t>(n, (int64_t(1) << 22) / std::max<int64_t>(1, outPixels() * taps())))); }
};

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

// Calls tap(k, pixel) for each filter tap k = i·fw + j of output pixel (b, oh, ow) that falls
// inside the image, with the offset of the input pixel it reads.
template <typename Tap>
void forEachTapInside(const Geometry& g, int b, int oh, int ow, Tap tap) {
  for (int i = 0; i < g.fh; i++) {
    const int y = oh * g.sh + i - g.pt;
    if (y < 0 || y >= g.h) continue;
    for (int j = 0; j < g.fw; j++) {
      const int xx = ow * g.sw + j - g.pl;
      if (xx >= 0 && xx < g.w) tap(i * g.fw + j, ((int64_t(b) * g.h + y) * g.w + xx) * g.cin);
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

// y = conv(x, filter) [+ bias] [relu]. filter is HWIO, i.e. row-major [K, Cout].
void conv2d(const Geometry& g, const float* x, const float* filter, const float* bias, bool relu, float* y) {
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

// MaxPool's gradient: each window's dy goes to its first maximum (TensorFlow's rule), in the
// forward pooling's geometry with cout = cin.
void maxPoolGrad(const Geometry& g, const float* x, const float* dy, float* dx) {
  std::memset(dx, 0, sizeof(float) * size_t(g.n) * g.h * g.w * g.cin);
  std::vector<float> best(g.cin);
  std::vector<int64_t> at(g.cin);
  for (int b = 0; b < g.n; b++)
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
}

// ---- N-API glue ----

struct Fail {
  std::string message;
};

void check(napi_status status, const char* what) {
  if (status != napi_ok) throw Fail{what};
}

// A Float32Array argument, at least `count` elements long (or null when `optional`).
float* floats(napi_env env, napi_value value, int64_t count, const char* name, bool optional = false) {
  napi_valuetype type;
  check(napi_typeof(env, value, &type), name);
  if (optional && (type == napi_null || type == napi_undefined)) return nullptr;
  bool isTyped = false;
  check(napi_is_typedarray(env, value, &isTyped), name);
  if (!isTyped) throw Fail{std::string(name) + " must be a Float32Array"};
  napi_typedarray_type kind;
  size_t length;
  void* data;
  check(napi_get_typedarray_info(env, value, &kind, &length, &data, nullptr, nullptr), name);
  if (kind != napi_float32_array) throw Fail{std::string(name) + " must be a Float32Array"};
  if (int64_t(length) < count)
    throw Fail{std::string(name) + " holds " + std::to_string(length) + " floats, needs " + std::to_string(count)};
  return static_cast<float*>(data);
}

Geometry geometry(napi_env env, napi_value value) {
  bool isTyped = false;
  check(napi_is_typedarray(env, value, &isTyped), "geometry");
  napi_typedarray_type kind;
  size_t length;
  void* data;
  if (isTyped) check(napi_get_typedarray_info(env, value, &kind, &length, &data, nullptr, nullptr), "geometry");
  if (!isTyped || kind != napi_int32_array || length != 13) throw Fail{"geometry must be an Int32Array of 13 values"};
  const int32_t* v = static_cast<int32_t*>(data);
  Geometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]};
  for (int i = 0; i < 13; i++)
    if (v[i] < 0 || (i != 11 && i != 12 && i != 0 && v[i] == 0)) throw Fail{"geometry values must be positive"};
  return g;
}

int64_t inputSize(const Geometry& g) { return int64_t(g.n) * g.h * g.w * g.cin; }
int64_t outputSize(const Geometry& g) { return int64_t(g.n) * g.outPixels() * g.cout; }
int64_t filterSize(const Geometry& g) { return g.taps() * g.cout; }

// Reads N arguments, runs `body` on them, and turns a Fail into a JS exception.
template <size_t N, typename Body>
napi_value guarded(napi_env env, napi_callback_info info, Body body) {
  try {
    napi_value argv[N];
    size_t argc = N;
    check(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "arguments");
    if (argc < N) throw Fail{"expected " + std::to_string(N) + " arguments"};
    body(argv);
  } catch (const Fail& fail) {
    napi_throw_error(env, "LABBOOK_NATIVE_CONV", fail.message.c_str());
  }
  return nullptr;
}

// conv2d(geometry, x, filter, bias | null, relu, y)
napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guarded<6>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    bool relu = false;
    check(napi_get_value_bool(env, argv[4], &relu), "relu must be a boolean");
    conv2d(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], filterSize(g), "filter"),
           floats(env, argv[3], g.cout, "bias", true), relu, floats(env, argv[5], outputSize(g), "y"));
  });
}

// conv2dBackpropInput(geometry, dy, filter, dx)
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    conv2dBackpropInput(g, floats(env, argv[1], outputSize(g), "dy"), floats(env, argv[2], filterSize(g), "filter"),
                        floats(env, argv[3], inputSize(g), "dx"));
  });
}

// conv2dBackpropFilter(geometry, x, dy, dw)
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    conv2dBackpropFilter(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], outputSize(g), "dy"),
                         floats(env, argv[3], filterSize(g), "dw"));
  });
}

// maxPoolGrad(geometry, x, dy, dx)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    if (g.cout != g.cin) throw Fail{"pooling geometry needs cout = cin"};
    maxPoolGrad(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], outputSize(g), "dy"),
                floats(env, argv[3], inputSize(g), "dx"));
  });
}

// setThreads(n): OpenBLAS's thread count for the sgemm calls.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [env](napi_value* argv) {
    int32_t threads = 0;
    check(napi_get_value_int32(env, argv[0], &threads), "threads must be a number");
    if (threads < 1) throw Fail{"threads must be at least 1"};
    openblas_set_num_threads(threads);
  });
}

// describe(): { threads, corename, config } of the OpenBLAS in use.
napi_value Describe(napi_env env, napi_callback_info) {
  napi_value result, threads, corename, config;
  napi_create_object(env, &result);
  napi_create_int32(env, openblas_get_num_threads(), &threads);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &corename);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config);
  napi_set_named_property(env, result, "threads", threads);
  napi_set_named_property(env, result, "corename", corename);
  napi_set_named_property(env, result, "config", config);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor methods[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"describe", nullptr, Describe, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
