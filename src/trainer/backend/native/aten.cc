// The libtorch addon's threads: ATen's OpenMP pool, which oneDNN's convolutions (onednn.cc)
// share, runs the other kernels' loops too.
#include <ATen/Parallel.h>

#include "kernels.h"

namespace kernels {

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  at::parallel_for(0, n, grain, body);
}

void setThreads(int threads) { at::set_num_threads(threads); }
int threads() { return at::get_num_threads(); }
std::string library() { return "libtorch"; }

}  // namespace kernels
