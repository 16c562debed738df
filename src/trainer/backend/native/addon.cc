// Labbook's native kernels for tfjs' wasm backend, as an N-API addon: the JS side passes the
// tensors' views of the wasm heap, and the kernels read and write them in place. Built once per
// library (binding.gyp): OpenBLAS, or libtorch's ATen where it is installed.
#include <node_api.h>

#include <exception>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "kernels.h"

namespace {

struct Fail {
  std::string message;
};

void check(napi_status status, const char* what) {
  if (status != napi_ok) throw Fail{what};
}

struct FloatArray {
  float* data;
  int64_t length;
};

// A Float32Array argument and its length.
FloatArray floatArray(napi_env env, napi_value value, const char* name) {
  bool isTyped = false;
  check(napi_is_typedarray(env, value, &isTyped), name);
  if (!isTyped) throw Fail{std::string(name) + " must be a Float32Array"};
  napi_typedarray_type kind;
  size_t length;
  void* data;
  check(napi_get_typedarray_info(env, value, &kind, &length, &data, nullptr, nullptr), name);
  if (kind != napi_float32_array) throw Fail{std::string(name) + " must be a Float32Array"};
  return {static_cast<float*>(data), int64_t(length)};
}

// A Float32Array argument, at least `count` elements long (or null when `optional`).
float* floats(napi_env env, napi_value value, int64_t count, const char* name, bool optional = false) {
  napi_valuetype type;
  check(napi_typeof(env, value, &type), name);
  if (optional && (type == napi_null || type == napi_undefined)) return nullptr;
  const FloatArray array = floatArray(env, value, name);
  if (array.length < count)
    throw Fail{std::string(name) + " holds " + std::to_string(array.length) + " floats, needs " + std::to_string(count)};
  return array.data;
}

// An Int32Array argument of exactly `count` values.
const int32_t* int32s(napi_env env, napi_value value, size_t count, const char* name) {
  bool isTyped = false;
  check(napi_is_typedarray(env, value, &isTyped), name);
  napi_typedarray_type kind;
  size_t length;
  void* data;
  if (isTyped) check(napi_get_typedarray_info(env, value, &kind, &length, &data, nullptr, nullptr), name);
  if (!isTyped || kind != napi_int32_array || length != count)
    throw Fail{std::string(name) + " must be an Int32Array of " + std::to_string(count) + " values"};
  return static_cast<int32_t*>(data);
}

Geometry geometry(napi_env env, napi_value value) {
  const int32_t* v = int32s(env, value, 13, "geometry");
  Geometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]};
  for (int i = 0; i < 13; i++)
    if (v[i] < 0 || (i != 11 && i != 12 && i != 0 && v[i] == 0)) throw Fail{"geometry values must be positive"};
  return g;
}

int64_t inputSize(const Geometry& g) { return int64_t(g.n) * g.h * g.w * g.cin; }
int64_t outputSize(const Geometry& g) { return int64_t(g.n) * g.outPixels() * g.cout; }
int64_t filterSize(const Geometry& g) { return g.taps() * g.cout; }

// Reads N arguments, runs `body` on them, and turns a Fail, or the libraries' own exceptions
// (oneDNN's, ATen's, an allocation's), into a JS exception: one escaping an N-API call aborts
// the process, which may be the server.
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
  } catch (const std::exception& error) {
    napi_throw_error(env, "LABBOOK_NATIVE_KERNEL", error.what());
  }
  return nullptr;
}

// conv2d(geometry, x, filter, bias | null, relu, y, filterKey)
napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guarded<7>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    bool relu = false;
    check(napi_get_value_bool(env, argv[4], &relu), "relu must be a boolean");
    int64_t filterKey = -1;
    check(napi_get_value_int64(env, argv[6], &filterKey), "filterKey must be a number");
    kernels::conv2d(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], filterSize(g), "filter"),
                    filterKey, floats(env, argv[3], g.cout, "bias", true), relu,
                    floats(env, argv[5], outputSize(g), "y"));
  });
}

// conv2dBackpropInput(geometry, dy, filter, dx)
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    kernels::conv2dBackpropInput(g, floats(env, argv[1], outputSize(g), "dy"), floats(env, argv[2], filterSize(g), "filter"),
                        floats(env, argv[3], inputSize(g), "dx"));
  });
}

// conv2dBackpropFilter(geometry, x, dy, dw)
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    kernels::conv2dBackpropFilter(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], outputSize(g), "dy"),
                         floats(env, argv[3], filterSize(g), "dw"));
  });
}

// maxPool(geometry, x, y)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  return guarded<3>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    if (g.cout != g.cin) throw Fail{"pooling geometry needs cout = cin"};
    kernels::maxPool(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], outputSize(g), "y"));
  });
}

// maxPoolGrad(geometry, x, dy, dx)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    const Geometry g = geometry(env, argv[0]);
    if (g.cout != g.cin) throw Fail{"pooling geometry needs cout = cin"};
    kernels::maxPoolGrad(g, floats(env, argv[1], inputSize(g), "x"), floats(env, argv[2], outputSize(g), "dy"),
                floats(env, argv[3], inputSize(g), "dx"));
  });
}

// batchNorm(channels, x, mean, variance, scale | null, offset | null, epsilon, y)
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return guarded<8>(env, info, [env](napi_value* argv) {
    int32_t channels = 0;
    check(napi_get_value_int32(env, argv[0], &channels), "channels must be a number");
    if (channels < 1) throw Fail{"channels must be at least 1"};
    const FloatArray x = floatArray(env, argv[1], "x");
    if (x.length % channels != 0) throw Fail{"x's length must be a multiple of channels"};
    double epsilon = 0;
    check(napi_get_value_double(env, argv[6], &epsilon), "epsilon must be a number");
    const int64_t size = x.length;
    kernels::batchNorm(size / channels, channels, x.data, floats(env, argv[2], channels, "mean"),
                       floats(env, argv[3], channels, "variance"), floats(env, argv[4], channels, "scale", true),
                       floats(env, argv[5], channels, "offset", true), float(epsilon), floats(env, argv[7], size, "y"));
  });
}

int32_t channelCount(napi_env env, napi_value value) {
  int32_t channels = 0;
  check(napi_get_value_int32(env, value, &channels), "channels must be a number");
  if (channels < 1) throw Fail{"channels must be at least 1"};
  return channels;
}

float epsilonOf(napi_env env, napi_value value) {
  double epsilon = 0;
  check(napi_get_value_double(env, value, &epsilon), "epsilon must be a number");
  if (!(epsilon > 0)) throw Fail{"epsilon must be positive"};
  return float(epsilon);
}

// batchNormTraining(channels, x, scale | null, offset | null, epsilon, y, mean, variance)
napi_value BatchNormTraining(napi_env env, napi_callback_info info) {
  return guarded<8>(env, info, [env](napi_value* argv) {
    const int32_t channels = channelCount(env, argv[0]);
    const FloatArray x = floatArray(env, argv[1], "x");
    if (x.length == 0 || x.length % channels != 0) throw Fail{"x's length must be a positive multiple of channels"};
    kernels::batchNormTraining(x.length / channels, channels, x.data, floats(env, argv[2], channels, "scale", true),
                               floats(env, argv[3], channels, "offset", true), epsilonOf(env, argv[4]),
                               floats(env, argv[5], x.length, "y"), floats(env, argv[6], channels, "mean"),
                               floats(env, argv[7], channels, "variance"));
  });
}

// batchNormTrainingGrad(channels, dy, x, mean, variance, scale | null, epsilon, dx, dscale | null, doffset | null)
napi_value BatchNormTrainingGrad(napi_env env, napi_callback_info info) {
  return guarded<10>(env, info, [env](napi_value* argv) {
    const int32_t channels = channelCount(env, argv[0]);
    const FloatArray x = floatArray(env, argv[2], "x");
    if (x.length == 0 || x.length % channels != 0) throw Fail{"x's length must be a positive multiple of channels"};
    kernels::batchNormTrainingGrad(
        x.length / channels, channels, floats(env, argv[1], x.length, "dy"), x.data,
        floats(env, argv[3], channels, "mean"), floats(env, argv[4], channels, "variance"),
        floats(env, argv[5], channels, "scale", true), epsilonOf(env, argv[6]), floats(env, argv[7], x.length, "dx"),
        floats(env, argv[8], channels, "dscale", true), floats(env, argv[9], channels, "doffset", true));
  });
}

// reluBiasGrad(channels, dy, y, dyMasked, dbias)
napi_value ReluBiasGrad(napi_env env, napi_callback_info info) {
  return guarded<5>(env, info, [env](napi_value* argv) {
    const int32_t channels = channelCount(env, argv[0]);
    const FloatArray y = floatArray(env, argv[2], "y");
    if (y.length == 0 || y.length % channels != 0) throw Fail{"y's length must be a positive multiple of channels"};
    kernels::reluBiasGrad(y.length / channels, channels, floats(env, argv[1], y.length, "dy"), y.data,
                          floats(env, argv[3], y.length, "dyMasked"), floats(env, argv[4], channels, "dbias"));
  });
}

// movingAverage(momentum, moving, batch, updated): BatchNorm's moving statistics after a step.
napi_value MovingAverage(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [env](napi_value* argv) {
    double momentum = 0;
    check(napi_get_value_double(env, argv[0], &momentum), "momentum must be a number");
    if (!(momentum >= 0 && momentum <= 1)) throw Fail{"momentum must be in [0, 1]"};
    const FloatArray moving = floatArray(env, argv[1], "moving");
    if (moving.length < 1 || moving.length > INT32_MAX) throw Fail{"moving must hold 1 to 2^31 − 1 floats"};
    kernels::movingAverage(int(moving.length), float(momentum), moving.data, floats(env, argv[2], moving.length, "batch"),
                           floats(env, argv[3], moving.length, "updated"));
  });
}

// dropout(rate, seed, x, y, mask)
napi_value Dropout(napi_env env, napi_callback_info info) {
  return guarded<5>(env, info, [env](napi_value* argv) {
    double rate = 0, seed = 0;
    check(napi_get_value_double(env, argv[0], &rate), "rate must be a number");
    if (!(rate >= 0 && rate < 1)) throw Fail{"rate must be in [0, 1)"};
    check(napi_get_value_double(env, argv[1], &seed), "seed must be a number");
    if (!(seed >= 0 && seed <= 9007199254740991.0) || seed != double(uint64_t(seed)))
      throw Fail{"seed must be a whole number in [0, 2^53)"};
    const FloatArray x = floatArray(env, argv[2], "x");
    kernels::dropout(x.length, float(rate), uint64_t(seed), x.data, floats(env, argv[3], x.length, "y"),
                     floats(env, argv[4], x.length, "mask"));
  });
}

// sumOfSquares(x) → Σ x²
napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  napi_value result = nullptr;
  guarded<1>(env, info, [env, &result](napi_value* argv) {
    const FloatArray x = floatArray(env, argv[0], "x");
    check(napi_create_double(env, kernels::sumOfSquares(x.length, x.data), &result), "result");
  });
  return result;
}

// augment([n, h, w, c], images, matrices, fillMode (0 constant, 1 reflect, 2 wrap, 3 nearest),
//         channelShift | null, brightness | null, out)
napi_value Augment(napi_env env, napi_callback_info info) {
  return guarded<7>(env, info, [env](napi_value* argv) {
    const int32_t* v = int32s(env, argv[0], 4, "shape");
    const kernels::AugmentShape shape{v[0], v[1], v[2], v[3]};
    if (shape.n < 1 || shape.h < 1 || shape.w < 1 || shape.c < 1) throw Fail{"shape values must be positive"};
    int32_t fillMode = 0;
    check(napi_get_value_int32(env, argv[3], &fillMode), "fillMode must be a number");
    if (fillMode < 0 || fillMode > 3) throw Fail{"fillMode must be 0 to 3"};
    const int64_t size = int64_t(shape.n) * shape.h * shape.w * shape.c;
    kernels::augment(shape, floats(env, argv[1], size, "images"), floats(env, argv[2], int64_t(shape.n) * 8, "matrices"),
                     kernels::FillMode(fillMode), floats(env, argv[4], shape.n, "channelShift", true),
                     floats(env, argv[5], shape.n, "brightness", true), floats(env, argv[6], size, "out"));
  });
}

// adam([lr, beta1, beta2, epsilon, c1, c2, decay], value, m, v, gradient, newValue, newM, newV)
napi_value Adam(napi_env env, napi_callback_info info) {
  return guarded<8>(env, info, [env](napi_value* argv) {
    const float* p = floats(env, argv[0], 7, "step");
    const kernels::AdamStep step{p[0], p[1], p[2], p[3], p[4], p[5], p[6]};
    if (!(step.c1 > 0 && step.c2 > 0)) throw Fail{"the bias corrections must be positive"};
    const FloatArray value = floatArray(env, argv[1], "value");
    const int64_t n = value.length;
    kernels::adam(n, step, value.data, floats(env, argv[2], n, "m"), floats(env, argv[3], n, "v"),
                  floats(env, argv[4], n, "gradient"), floats(env, argv[5], n, "newValue"), floats(env, argv[6], n, "newM"),
                  floats(env, argv[7], n, "newV"));
  });
}

// momentum([lr, momentum, nesterov (0 or 1), decay], value, accumulation, gradient, newValue, newAccumulation)
napi_value Momentum(napi_env env, napi_callback_info info) {
  return guarded<6>(env, info, [env](napi_value* argv) {
    const float* p = floats(env, argv[0], 4, "step");
    const FloatArray value = floatArray(env, argv[1], "value");
    const int64_t n = value.length;
    kernels::momentum(n, p[0], p[1], p[2] != 0.0f, p[3], value.data, floats(env, argv[2], n, "accumulation"),
                      floats(env, argv[3], n, "gradient"), floats(env, argv[4], n, "newValue"),
                      floats(env, argv[5], n, "newAccumulation"));
  });
}

// setThreads(n): the library's thread count for the convolutions.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [env](napi_value* argv) {
    int32_t threads = 0;
    check(napi_get_value_int32(env, argv[0], &threads), "threads must be a number");
    if (threads < 1) throw Fail{"threads must be at least 1"};
    kernels::setThreads(threads);
  });
}

// How many threads a loop of threads() chunks runs on: whether the kernels' loops (not only the
// library's convolutions) use the threads.
int loopThreads() {
  std::mutex lock;
  std::set<std::thread::id> seen;
  kernels::parallelFor(kernels::threads(), 1, [&](int64_t, int64_t) {
    const std::lock_guard<std::mutex> hold(lock);
    seen.insert(std::this_thread::get_id());
  });
  return int(seen.size());
}

// describe(): { library, threads, loopThreads, detail } of the library in use.
napi_value Describe(napi_env env, napi_callback_info) {
  napi_value result, library, threads, loops, detail;
  napi_create_object(env, &result);
  const std::string name = kernels::library(), about = kernels::detail();
  napi_create_string_utf8(env, name.c_str(), name.size(), &library);
  napi_create_int32(env, kernels::threads(), &threads);
  napi_create_int32(env, loopThreads(), &loops);
  napi_create_string_utf8(env, about.c_str(), about.size(), &detail);
  napi_set_named_property(env, result, "library", library);
  napi_set_named_property(env, result, "threads", threads);
  napi_set_named_property(env, result, "loopThreads", loops);
  napi_set_named_property(env, result, "detail", detail);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor methods[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTraining", nullptr, BatchNormTraining, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTrainingGrad", nullptr, BatchNormTrainingGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluBiasGrad", nullptr, ReluBiasGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"movingAverage", nullptr, MovingAverage, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dropout", nullptr, Dropout, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumOfSquares", nullptr, SumOfSquares, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"augment", nullptr, Augment, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"momentum", nullptr, Momentum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"describe", nullptr, Describe, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
