// Convolutions on oneDNN, the library libtorch's ATen hands them to (Debian's libdnnl, which
// libtorch-dev links): called directly, they read and write the wasm heap in place (NHWC
// activations, HWIO filters), with the ReLU fused and tfjs' asymmetric "same" padding as
// oneDNN's own. Through ATen, each output was allocated, then copied, and odd paddings padded
// the input. Threads are OpenMP's, which ATen's set_num_threads sets (aten.cc).
#include <dnnl.hpp>
#include <omp.h>

#include <cstdlib>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <tuple>
#include <unordered_map>

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

// Activations in the user's NHWC, or in the layout a primitive chooses (Tag::any).
memory::desc activations(int n, int h, int w, int c, Tag tag) {
  return memory::desc({n, c, h, w}, memory::data_type::f32, tag);
}
memory::desc input(const Geometry& g, Tag tag = Tag::nhwc) { return activations(g.n, g.h, g.w, g.cin, tag); }
memory::desc output(const Geometry& g, Tag tag = Tag::nhwc) { return activations(g.n, g.oh, g.ow, g.cout, tag); }
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

// Winograd's F(4×4, 3×3) takes about half the multiplications of a direct 3×3 convolution:
// oneDNN's (AVX-512 only) ran the seed model's convolutions 1.5× faster than its direct ones,
// forward and both gradients, on one thread and on two. It reads and writes blocked layouts,
// so activations are reordered from and to NHWC around it. Only for 3×3, stride 1, "same"
// padding and channels in 16s, and for batches, where the reorders pay.
bool winogradCase(const Geometry& g) {
  return g.fh == 3 && g.fw == 3 && g.sh == 1 && g.sw == 1 && g.pt == 1 && g.pl == 1 && g.oh == g.h && g.ow == g.w &&
         g.cin % 16 == 0 && g.cout % 16 == 0 && g.n >= 8;
}

// The descriptor of a convolution with the given algorithm: NHWC activations for the direct one,
// its own layout for Winograd's.
dnnl::convolution_forward::desc forwardDesc(const Geometry& g, dnnl::prop_kind kind, bool bias,
                                            dnnl::algorithm algorithm) {
  const Tag layout = algorithm == dnnl::algorithm::convolution_winograd ? Tag::any : Tag::nhwc;
  const memory::desc src = input(g, layout), dst = output(g, layout);
  if (bias)
    return {kind,
            algorithm,
            src,
            filter(g, Tag::any),
            memory::desc({g.cout}, memory::data_type::f32, Tag::a),
            dst,
            strides(g),
            paddingLeft(g),
            paddingRight(g)};
  return {kind, algorithm, src, filter(g, Tag::any), dst, strides(g), paddingLeft(g), paddingRight(g)};
}

// A thread's buffer for an activation in a primitive's own layout, grown as needed and shared by
// every geometry (a thread runs one kernel at a time); `slot` tells a kernel's apart (0 and 1:
// activations, 2: the split parts' filter gradients).
float* scratch(int slot, size_t bytes) {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<float, Free> buffers[3];
  thread_local size_t sizes[3] = {0, 0, 0};
  if (sizes[slot] < bytes) {
    const size_t rounded = (bytes + 4095) / 4096 * 4096;
    buffers[slot].reset(static_cast<float*>(std::aligned_alloc(64, rounded)));
    if (!buffers[slot]) throw std::bad_alloc();
    sizes[slot] = rounded;
  }
  return buffers[slot].get();
}

// An activation the user keeps in NHWC and a primitive reads or writes in `own` layout: the
// user's buffer itself where the layouts agree, else a scratch buffer with reorders both ways.
class Activation {
 public:
  Activation(const memory::desc& user, const memory::desc& own) : user_(user), own_(own), same_(user == own) {
    if (same_) return;
    toOwn_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), user, engine(), own));
    toUser_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), own, engine(), user));
  }
  // The primitive's memory holding the user's values.
  memory read(const float* data, int slot) const {
    memory user(user_, engine(), const_cast<float*>(data));
    if (same_) return user;
    memory own(own_, engine(), scratch(slot, own_.get_size()));
    toOwn_.execute(stream(), user, own);
    return own;
  }
  // The primitive's memory to write into; finish() then moves it to the user's buffer.
  memory write(float* data, int slot) const {
    return same_ ? memory(user_, engine(), data) : memory(own_, engine(), scratch(slot, own_.get_size()));
  }
  void finish(memory written, float* data) const {
    if (same_) return;
    memory user(user_, engine(), data);
    toUser_.execute(stream(), written, user);
  }

 private:
  memory::desc user_, own_;
  bool same_;
  dnnl::reorder toOwn_, toUser_;
};

// The primitive descriptor from `make(algorithm)`: Winograd's where it applies and this CPU has
// it (oneDNN throws where it does not), else the direct convolution's.
template <typename Make>
auto withAlgorithm(const Geometry& g, Make make) -> decltype(make(dnnl::algorithm::convolution_direct)) {
  if (winogradCase(g)) try {
      return make(dnnl::algorithm::convolution_winograd);
    } catch (const dnnl::error&) {
    }
  return make(dnnl::algorithm::convolution_direct);
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
  Activation src, dst;
};
struct BackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data primitive;
  Weights weights;
  Activation diffDst, diffSrc;
};
struct BackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights primitive;
  memory diffWeights;
  Activation src, diffDst;
};

// `split`: made inside forEachPart's parallel region, for one thread (oneDNN's primitives keep the
// thread count they were made with).
using Key = std::tuple<int, int, int, int, int, int, int, int, int, int, int, int, int, int, int>;
Key keyOf(const Geometry& g, int variant, int split) {
  return {g.n, g.h, g.w, g.cin, g.oh, g.ow, g.cout, g.fh, g.fw, g.sh, g.sw, g.pt, g.pl, variant, split};
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
  return withAlgorithm(g, [&](dnnl::algorithm algorithm) -> typename Primitive::primitive_desc {
    const auto forward = forwardDesc(g, dnnl::prop_kind::forward_training, false, algorithm);
    const dnnl::convolution_forward::primitive_desc hint(forward, engine());
    return {{algorithm, forward.data.src_desc, filter(g, Tag::any), forward.data.dst_desc, strides(g), paddingLeft(g),
             paddingRight(g)},
            engine(),
            hint};
  });
}

void forwardOn(const Geometry& g, const float* x, const float* filterData, int64_t filterKey, const float* bias, bool relu,
               float* y, int split) {
  thread_local Cache<Forward> cache;
  // For inference, oneDNN's Winograd keeps the filter transformed (5 ms a layer to transform),
  // which pays only where the filter stays (filterKey ≥ 0); a training step's filters are new.
  const bool kept = filterKey >= 0;
  Forward& f = cache.get(keyOf(g, (bias ? 1 : 0) | (relu ? 2 : 0) | (kept ? 4 : 0), split), [&] {
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    const auto pd = withAlgorithm(g, [&](dnnl::algorithm algorithm) {
      return dnnl::convolution_forward::primitive_desc(
          forwardDesc(g, kept ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training, bias,
                      algorithm),
          attr, engine());
    });
    return Forward{pd,
                   dnnl::convolution_forward(pd),
                   {memory(pd.weights_desc(), engine())},
                   Activation(input(g), pd.src_desc()),
                   Activation(output(g), pd.dst_desc())};
  });
  const memory dst = f.dst.write(y, 1);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, f.src.read(x, 0)},
                                       {DNNL_ARG_WEIGHTS, f.weights.of(g, filterData, filterKey)},
                                       {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(f.pd.bias_desc(), engine(), const_cast<float*>(bias)));
  f.primitive.execute(stream(), args);
  f.dst.finish(dst, y);
  stream().wait();
}

void backwardDataOn(const Geometry& g, const float* dy, const float* filterData, float* dx, int split) {
  thread_local Cache<BackwardData> cache;
  BackwardData& b = cache.get(keyOf(g, 0, split), [&] {
    const auto pd = backwardPd<dnnl::convolution_backward_data>(g);
    return BackwardData{pd,
                        dnnl::convolution_backward_data(pd),
                        {memory(pd.weights_desc(), engine())},
                        Activation(output(g), pd.diff_dst_desc()),
                        Activation(input(g), pd.diff_src_desc())};
  });
  const memory diffSrc = b.diffSrc.write(dx, 1);
  b.primitive.execute(stream(), {{DNNL_ARG_DIFF_DST, b.diffDst.read(dy, 0)},
                                 {DNNL_ARG_WEIGHTS, b.weights.of(g, filterData, -1)},
                                 {DNNL_ARG_DIFF_SRC, diffSrc}});
  b.diffSrc.finish(diffSrc, dx);
  stream().wait();
}

void backwardWeightsOn(const Geometry& g, const float* x, const float* dy, float* dw, int split) {
  thread_local Cache<BackwardWeights> cache;
  BackwardWeights& b = cache.get(keyOf(g, 0, split), [&] {
    const auto pd = backwardPd<dnnl::convolution_backward_weights>(g);
    return BackwardWeights{pd, dnnl::convolution_backward_weights(pd), memory(pd.diff_weights_desc(), engine()),
                           Activation(input(g), pd.src_desc()), Activation(output(g), pd.diff_dst_desc())};
  });
  memory user(filter(g, Tag::hwio), engine(), dw);
  const bool direct = b.diffWeights.get_desc() == user.get_desc();
  memory& target = direct ? user : b.diffWeights;
  b.primitive.execute(stream(), {{DNNL_ARG_SRC, b.src.read(x, 0)},
                                 {DNNL_ARG_DIFF_DST, b.diffDst.read(dy, 1)},
                                 {DNNL_ARG_DIFF_WEIGHTS, target}});
  if (!direct) dnnl::reorder(b.diffWeights, user).execute(stream(), b.diffWeights, user);
  stream().wait();
}

// Splitting a batch between the threads (splits) pays from this many images a part, and for
// images of at least these many pixels with 16 channels or more: on smaller ones (and the first
// layer's 3 channels) the split parts ran slower than oneDNN's own loops.
constexpr int kMinImagesPerPart = 16;
enum Kind { kForward, kBackwardData, kBackwardWeights };
constexpr int kMinSplitPixels[] = {16 * 16, 16 * 16, 8 * 8};

// Whether a convolution runs as parts of its batch, one a thread, each on oneDNN's one-threaded
// path: on two threads oneDNN's own loops ran the seed model's 16x16 and 32x32 layers 1.3-1.8x
// faster than on one, and its filter gradients of 8x8 images 1.3-1.4x; split, 1.7-2x.
bool splits(Kind kind, const Geometry& g) {
  const int parts = kernels::threads();
  return parts >= 2 && g.n / parts >= kMinImagesPerPart && g.outPixels() >= kMinSplitPixels[kind] && g.cin >= 16 &&
         !omp_in_parallel();
}

// Runs run(slice, first image, part) for each thread's part of the batch, in parallel.
template <typename Run>
void forEachPart(const Geometry& g, Run run) {
  const int parts = kernels::threads();
  kernels::parallelFor(parts, 1, [&](int64_t begin, int64_t end) {
    // Primitives made and run in this region see one thread (oneDNN does not nest parallelism).
    omp_set_num_threads(1);
    for (int64_t part = begin; part < end; part++) {
      const int first = int(g.n * part / parts);
      Geometry slice = g;
      slice.n = int(g.n * (part + 1) / parts) - first;
      run(slice, first, int(part));
    }
  });
}

// Floats of one image in and out.
int64_t imageIn(const Geometry& g) { return int64_t(g.h) * g.w * g.cin; }
int64_t imageOut(const Geometry& g) { return g.outPixels() * g.cout; }

}  // namespace

namespace kernels {

void conv2d(const Geometry& g, const float* x, const float* filterData, int64_t filterKey, const float* bias, bool relu,
            float* y) {
  if (!splits(kForward, g)) return forwardOn(g, x, filterData, filterKey, bias, relu, y, 0);
  forEachPart(g, [&](const Geometry& slice, int first, int) {
    forwardOn(slice, x + first * imageIn(g), filterData, filterKey, bias, relu, y + first * imageOut(g), 1);
  });
}

void conv2dBackpropInput(const Geometry& g, const float* dy, const float* filterData, float* dx) {
  if (!splits(kBackwardData, g)) return backwardDataOn(g, dy, filterData, dx, 0);
  forEachPart(g, [&](const Geometry& slice, int first, int) {
    backwardDataOn(slice, dy + first * imageOut(g), filterData, dx + first * imageIn(g), 1);
  });
}

// The first part's filter gradient goes to dw, the others' to this thread's scratch buffer (one
// slice a part, whichever thread runs it), then they are summed.
void conv2dBackpropFilter(const Geometry& g, const float* x, const float* dy, float* dw) {
  if (!splits(kBackwardWeights, g)) return backwardWeightsOn(g, x, dy, dw, 0);
  const int parts = threads();
  const int64_t size = g.taps() * g.cout;
  float* others = scratch(2, (parts - 1) * size * sizeof(float));
  forEachPart(g, [&](const Geometry& slice, int first, int part) {
    float* target = part == 0 ? dw : others + (part - 1) * size;
    backwardWeightsOn(slice, x + first * imageIn(g), dy + first * imageOut(g), target, 1);
  });
  parallelFor(size, 4096, [&](int64_t begin, int64_t end) {
    for (int part = 1; part < parts; part++) {
      const float* add = others + (part - 1) * size;
      for (int64_t i = begin; i < end; i++) dw[i] += add[i];
    }
  });
}

std::string detail() {
  const dnnl_version_t* v = dnnl::version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace kernels
