// Convolutions computed by libtorch's ATen (Debian's libtorch-dev), which hands channels-last
// float convolutions to oneDNN and splits them across its OpenMP threads. The tensors stay where
// they are: NHWC memory is ATen's channels-last layout, and an HWIO filter is a strided view.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "kernels.h"

namespace {

// x as ATen's logical [n, c, h, w], channels-last in memory.
at::Tensor nhwc(const float* data, int n, int h, int w, int c) {
  return at::from_blob(const_cast<float*>(data), {n, c, h, w}, {int64_t(h) * w * c, 1, int64_t(w) * c, c},
                       at::kFloat);
}

// An HWIO filter as ATen's logical [cout, cin, fh, fw].
at::Tensor hwio(const float* data, const Geometry& g) {
  return at::from_blob(const_cast<float*>(data), {g.cout, g.cin, g.fh, g.fw},
                       {1, g.cout, int64_t(g.fw) * g.cin * g.cout, int64_t(g.cin) * g.cout}, at::kFloat);
}

// ATen pads symmetrically; tfjs' "same" with a stride may pad one more at the bottom or right
// (and "valid" may leave the last rows unread). Such inputs are padded or cut explicitly.
struct Padding {
  int64_t top, bottom, left, right;
  bool symmetric() const { return top == bottom && left == right; }
};

Padding paddingOf(const Geometry& g) {
  return {g.pt, int64_t(g.oh - 1) * g.sh + g.fh - g.h - g.pt, g.pl, int64_t(g.ow - 1) * g.sw + g.fw - g.w - g.pl};
}

// The input as the convolution reads it, and the padding left for ATen to apply.
at::Tensor padded(const at::Tensor& x, const Padding& p) {
  if (p.symmetric()) return x;
  return at::constant_pad_nd(x, {p.left, p.right, p.top, p.bottom});
}

std::vector<int64_t> atenPadding(const Padding& p) {
  return p.symmetric() ? std::vector<int64_t>{p.top, p.left} : std::vector<int64_t>{0, 0};
}

at::Tensor backward(const Geometry& g, const at::Tensor& dy, const at::Tensor& x, const at::Tensor& filter,
                    bool input) {
  const Padding p = paddingOf(g);
  auto grads = at::convolution_backward(dy, padded(x, p), filter, c10::nullopt, {g.sh, g.sw}, atenPadding(p), {1, 1},
                                        false, {0, 0}, 1, {input, !input, false});
  return input ? std::get<0>(grads) : std::get<1>(grads);
}

}  // namespace

namespace kernels {

void conv2d(const Geometry& g, const float* x, const float* filter, const float* bias, bool relu, float* y) {
  at::NoGradGuard noGrad;
  const Padding p = paddingOf(g);
  at::Tensor out = at::conv2d(padded(nhwc(x, g.n, g.h, g.w, g.cin), p), hwio(filter, g),
                              bias ? c10::optional<at::Tensor>(at::from_blob(const_cast<float*>(bias), {g.cout}, at::kFloat))
                                   : c10::nullopt,
                              {g.sh, g.sw}, atenPadding(p));
  // Into y in one pass, with the ReLU on the way.
  at::Tensor result = nhwc(y, g.n, g.oh, g.ow, g.cout);
  if (relu)
    at::clamp_min_out(result, out, 0);
  else
    result.copy_(out);
}

void conv2dBackpropInput(const Geometry& g, const float* dy, const float* filter, float* dx) {
  at::NoGradGuard noGrad;
  const Padding p = paddingOf(g);
  // The gradient's shape, not its values, matters here: x is an empty stand-in.
  const at::Tensor x = at::empty({g.n, g.cin, g.h, g.w}, at::TensorOptions(at::kFloat).memory_format(at::MemoryFormat::ChannelsLast));
  at::Tensor grad = backward(g, nhwc(dy, g.n, g.oh, g.ow, g.cout), x, hwio(filter, g), true);
  if (!p.symmetric())  // undo the explicit padding: cut what was added, zeros where it cut
    grad = at::constant_pad_nd(grad, {-p.left, -p.right, -p.top, -p.bottom});
  nhwc(dx, g.n, g.h, g.w, g.cin).copy_(grad);
}

void conv2dBackpropFilter(const Geometry& g, const float* x, const float* dy, float* dw) {
  at::NoGradGuard noGrad;
  const at::Tensor filter = at::empty({g.cout, g.cin, g.fh, g.fw}, at::kFloat);
  hwio(dw, g).copy_(backward(g, nhwc(dy, g.n, g.oh, g.ow, g.cout), nhwc(x, g.n, g.h, g.w, g.cin), filter, false));
}

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  at::parallel_for(0, n, grain, body);
}

void setThreads(int threads) { at::set_num_threads(threads); }
int threads() { return at::get_num_threads(); }
std::string library() { return "libtorch"; }
std::string detail() { return at::hasMKLDNN() ? "ATen with oneDNN" : "ATen without oneDNN"; }

}  // namespace kernels
