// Convolutions on oneDNN, the library libtorch's ATen hands them to (Debian's libdnnl, which
// libtorch-dev links): called directly, they read and write the wasm heap in place (NHWC
// activations, HWIO filters), with the ReLU fused and tfjs' asymmetric "same" padding as
// oneDNN's own. Through ATen, each output was allocated, then copied, and odd paddings padded
// the input. Threads are OpenMP's, which ATen's set_num_threads sets (aten.cc).
#include <dnnl.hpp>

#include <list>
#include <map>
#include <string>
#include <unordered_map>
#include <tuple>

#include "kernels.h"

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

// oneDNN streams are not thread-safe: one per thread (the trainer's, and the prediction thread's).
dnnl::stream& stream() {
  thread_local dnnl::stream perThread(engine());
  return perThread;
}

memory::desc activations(int n, int h, int w, int c) {
  return memory::desc({n, c, h, w}, memory::data_type::f32, Tag::nhwc);
}
memory::desc input(const Geometry& g) { return activations(g.n, g.h, g.w, g.cin); }
memory::desc output(const Geometry& g) { return activations(g.n, g.oh, g.ow, g.cout); }
memory::desc filter(const Geometry& g, Tag tag) {
  return memory::desc({g.cout, g.cin, g.fh, g.fw}, memory::data_type::f32, tag);
}

memory::dims strides(const Geometry& g) { return {g.sh, g.sw}; }
memory::dims paddingLeft(const Geometry& g) { return {g.pt, g.pl}; }
// tfjs' "same" with a stride may pad one more at the bottom or right; "valid" may leave the last
// rows unread, which oneDNN's rounding down accepts with no padding there.
memory::dims paddingRight(const Geometry& g) {
  return {std::max<int64_t>(0, int64_t(g.oh - 1) * g.sh + g.fh - g.h - g.pt),
          std::max<int64_t>(0, int64_t(g.ow - 1) * g.sw + g.fw - g.w - g.pl)};
}

dnnl::convolution_forward::desc forwardDesc(const Geometry& g, dnnl::prop_kind kind, bool bias) {
  const auto algorithm = dnnl::algorithm::convolution_direct;
  if (bias)
    return {kind,
            algorithm,
            input(g),
            filter(g, Tag::any),
            memory::desc({g.cout}, memory::data_type::f32, Tag::a),
            output(g),
            strides(g),
            paddingLeft(g),
            paddingRight(g)};
  return {kind, algorithm, input(g), filter(g, Tag::any), output(g), strides(g), paddingLeft(g), paddingRight(g)};
}

// A primitive's filter in its own layout: a view of the user's HWIO filter where that is the
// layout, else a reordered copy, kept with the key of the filter it holds.
struct Weights {
  memory reordered;
  int64_t key = -1;

  memory of(const Geometry& g, const float* data, int64_t filterKey) {
    memory user(filter(g, Tag::hwio), engine(), const_cast<float*>(data));
    if (reordered.get_desc() == user.get_desc()) return user;
    if (filterKey < 0 || filterKey != key) dnnl::reorder(user, reordered).execute(stream(), user, reordered);
    key = filterKey;
    return reordered;
  }
};

// Primitives and the buffer for the filter in oneDNN's own layout, made once per geometry (and
// thread): making a primitive descriptor costs about as much as a small convolution.
struct Forward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward primitive;
  Weights weights;
};
struct BackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data primitive;
  Weights weights;
};
struct BackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights primitive;
  memory diffWeights;
};

using Key = std::tuple<int, int, int, int, int, int, int, int, int, int, int, int, int, int>;
Key keyOf(const Geometry& g, int variant) {
  return {g.n, g.h, g.w, g.cin, g.oh, g.ow, g.cout, g.fh, g.fw, g.sh, g.sw, g.pt, g.pl, variant};
}

// The most geometries kept per kernel and thread. Batch sizes vary (an evaluation's last batch,
// one image to predict), and each entry holds a filter-sized buffer: the least recently used go.
constexpr size_t kCachedGeometries = 32;

template <typename T>
class Cache {
 public:
  template <typename Make>
  T& get(const Key& key, Make make) {
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      order_.splice(order_.begin(), order_, found->second.second);
      return found->second.first;
    }
    if (entries_.size() == kCachedGeometries) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    return entries_.emplace(key, std::make_pair(make(), order_.begin())).first->second.first;
  }

 private:
  std::map<Key, std::pair<T, std::list<Key>::iterator>> entries_;
  std::list<Key> order_;
};

// A gradient's primitive descriptor (backward data or backward weights: both take the same
// geometry), with the forward pass in training as oneDNN's hint.
template <typename Primitive>
typename Primitive::primitive_desc backwardPd(const Geometry& g) {
  const dnnl::convolution_forward::primitive_desc hint(forwardDesc(g, dnnl::prop_kind::forward_training, false),
                                                       engine());
  return {{dnnl::algorithm::convolution_direct, input(g), filter(g, Tag::any), output(g), strides(g), paddingLeft(g),
           paddingRight(g)},
          engine(),
          hint};
}

}  // namespace

namespace kernels {

void conv2d(const Geometry& g, const float* x, const float* filterData, int64_t filterKey, const float* bias, bool relu,
            float* y) {
  thread_local Cache<Forward> cache;
  Forward& f = cache.get(keyOf(g, (bias ? 1 : 0) | (relu ? 2 : 0)), [&] {
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    dnnl::convolution_forward::primitive_desc pd(forwardDesc(g, dnnl::prop_kind::forward_inference, bias), attr,
                                                 engine());
    return Forward{pd, dnnl::convolution_forward(pd), {memory(pd.weights_desc(), engine())}};
  });
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(input(g), engine(), const_cast<float*>(x))},
      {DNNL_ARG_WEIGHTS, f.weights.of(g, filterData, filterKey)},
      {DNNL_ARG_DST, memory(output(g), engine(), y)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(f.pd.bias_desc(), engine(), const_cast<float*>(bias)));
  f.primitive.execute(stream(), args);
  stream().wait();
}

void conv2dBackpropInput(const Geometry& g, const float* dy, const float* filterData, float* dx) {
  thread_local Cache<BackwardData> cache;
  BackwardData& b = cache.get(keyOf(g, 0), [&] {
    const auto pd = backwardPd<dnnl::convolution_backward_data>(g);
    return BackwardData{pd, dnnl::convolution_backward_data(pd), {memory(pd.weights_desc(), engine())}};
  });
  b.primitive.execute(stream(), {{DNNL_ARG_DIFF_DST, memory(output(g), engine(), const_cast<float*>(dy))},
                                 {DNNL_ARG_WEIGHTS, b.weights.of(g, filterData, -1)},
                                 {DNNL_ARG_DIFF_SRC, memory(input(g), engine(), dx)}});
  stream().wait();
}

void conv2dBackpropFilter(const Geometry& g, const float* x, const float* dy, float* dw) {
  thread_local Cache<BackwardWeights> cache;
  BackwardWeights& b = cache.get(keyOf(g, 0), [&] {
    const auto pd = backwardPd<dnnl::convolution_backward_weights>(g);
    return BackwardWeights{pd, dnnl::convolution_backward_weights(pd), memory(pd.diff_weights_desc(), engine())};
  });
  memory user(filter(g, Tag::hwio), engine(), dw);
  const bool direct = b.diffWeights.get_desc() == user.get_desc();
  memory& target = direct ? user : b.diffWeights;
  b.primitive.execute(stream(), {{DNNL_ARG_SRC, memory(input(g), engine(), const_cast<float*>(x))},
                                 {DNNL_ARG_DIFF_DST, memory(output(g), engine(), const_cast<float*>(dy))},
                                 {DNNL_ARG_DIFF_WEIGHTS, target}});
  if (!direct) dnnl::reorder(b.diffWeights, user).execute(stream(), b.diffWeights, user);
  stream().wait();
}

std::string detail() {
  const dnnl_version_t* v = dnnl::version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace kernels
