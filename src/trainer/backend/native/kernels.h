// The kernels every native library behind Labbook's addon provides (openblas.cc, aten.cc);
// addon.cc exposes them to JS. Tensors are NHWC floats, filters HWIO, both read in place.
#pragma once
#include <string>

#include "geometry.h"

namespace kernels {
// y = conv(x, filter) [+ bias] [relu]
void conv2d(const Geometry& g, const float* x, const float* filter, const float* bias, bool relu, float* y);
void conv2dBackpropInput(const Geometry& g, const float* dy, const float* filter, float* dx);
void conv2dBackpropFilter(const Geometry& g, const float* x, const float* dy, float* dw);
// MaxPool's gradient, in the forward pooling's geometry with cout = cin (max-pool.cc).
void maxPoolGrad(const Geometry& g, const float* x, const float* dy, float* dx);
void setThreads(int threads);
int threads();
// Which library computes the convolutions, and how it was built.
std::string library();
std::string detail();
}  // namespace kernels
