// The forward convolution's geometry, shared by every native kernel: forward, input gradient
// and filter gradient all take it, and a pooling is a convolution with cout = cin.
#pragma once
#include <algorithm>
#include <cstdint>

struct Geometry {
  int n, h, w, cin, oh, ow, cout, fh, fw, sh, sw, pt, pl;
  int64_t taps() const { return int64_t(fh) * fw * cin; }  // K: one im2col row
  int64_t outPixels() const { return int64_t(oh) * ow; }
  // 1×1, stride 1, no padding: x already is its own im2col matrix.
  bool pointwise() const { return fh == 1 && fw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0; }
  // Images per chunk: about 4M floats of im2col rows.
  int chunk() const { return int(std::max<int64_t>(1, std::min<int64_t>(n, (int64_t(1) << 22) / std::max<int64_t>(1, outPixels() * taps())))); }
};

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
