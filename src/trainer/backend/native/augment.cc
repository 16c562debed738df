// The training images' augmentation in one pass per image (src/trainer/data/augment.ts builds
// the same from tfjs' Transform and a dozen small kernels on wasm's one thread).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels.h"

namespace kernels {

namespace {

// An input coordinate for an output one outside [0, len − 1], as TensorFlow's image_ops.h maps
// it for each fill mode (constant leaves it, and the read outside the image gives 0).
float mapCoord(float in, int len, FillMode mode) {
  if (mode == FillMode::kConstant) return in;
  const float last = float(len - 1);
  if (len <= 1) return 0.0f;
  if (mode == FillMode::kReflect) {  // [abcd] → dcba|abcd|dcba
    const float size2 = 2.0f * len;
    if (in < 0) {
      if (in < size2) in = size2 * std::trunc(-in / size2) + in;
      in = in < -len ? in + size2 : -in - 1;
    } else if (in > last) {
      in -= size2 * std::trunc(in / size2);
      if (in >= len) in = size2 - in - 1;
    }
  } else if (mode == FillMode::kWrap) {  // [abcd] → abcd|abcd|abcd
    if (in < 0)
      in += len * (std::trunc(-in / last) + 1);
    else if (in > last)
      in -= len * std::trunc(in / last);
  }
  return std::clamp(in, 0.0f, last);
}

// floor(v) through an integer conversion (baseline x86-64 has no vector floor, and floorf is a
// call), for |v| < 2^31.
inline float floorOf(float v) {
  const float t = float(int32_t(v));
  return t - float(t > v);
}

}  // namespace

void augment(const AugmentShape& s, const float* images, const float* matrices, FillMode fillMode,
             const float* channelShift, const float* brightness, float* out) {
  const int64_t pixels = int64_t(s.h) * s.w, size = pixels * s.c;
  parallelFor(s.n, 1, [&](int64_t begin, int64_t end) {
    // A tap outside the image reads the fill value, 0: a row of zeros.
    const std::vector<float> zeros(s.c, 0.0f);
    for (int64_t b = begin; b < end; b++) {
      const float* image = images + b * size;
      const float* m = matrices + b * 8;
      float* y = out + b * size;
      auto tap = [&](int row, int col) {
        return row >= 0 && row < s.h && col >= 0 && col < s.w ? image + (int64_t(row) * s.w + col) * s.c : zeros.data();
      };
      const bool affine = m[6] == 0 && m[7] == 0;  // projection 1: x / 1 is x, so skip the division
      // The projective transform, sampled bilinearly, in tfjs' order of operations.
      for (int oy = 0; oy < s.h; oy++)
        for (int ox = 0; ox < s.w; ox++) {
          float* pixel = y + (int64_t(oy) * s.w + ox) * s.c;
          const float projection = affine ? 1.0f : m[6] * ox + m[7] * oy + 1;
          if (projection == 0) {
            std::fill(pixel, pixel + s.c, 0.0f);
            continue;
          }
          float inX = m[0] * ox + m[1] * oy + m[2], inY = m[3] * ox + m[4] * oy + m[5];
          if (!affine) inX /= projection, inY /= projection;
          // Beyond one pixel outside the image every tap reads 0 whatever the weights: clamping
          // there keeps the integer floor in range and changes nothing.
          inX = std::clamp(mapCoord(inX, s.w, fillMode), -2.0f, float(s.w + 1));
          inY = std::clamp(mapCoord(inY, s.h, fillMode), -2.0f, float(s.h + 1));
          const float x0 = floorOf(inX), y0 = floorOf(inY), x1 = x0 + 1, y1 = y0 + 1;
          const int c0 = int(x0), r0 = int(y0);
          const float *p00 = tap(r0, c0), *p01 = tap(r0, c0 + 1), *p10 = tap(r0 + 1, c0), *p11 = tap(r0 + 1, c0 + 1);
          const float left = x1 - inX, right = inX - x0, up = y1 - inY, down = inY - y0;
          for (int c = 0; c < s.c; c++)
            pixel[c] = up * (left * p00[c] + right * p01[c]) + down * (left * p10[c] + right * p11[c]);
        }
      auto range = [&](float& lo, float& hi) {
        lo = std::numeric_limits<float>::infinity(), hi = -lo;
        for (int64_t i = 0; i < size; i++) lo = std::min(lo, y[i]), hi = std::max(hi, y[i]);
      };
      float lo, hi;
      if (channelShift) {  // Keras' apply_channel_shift: clipped to the image's own range
        range(lo, hi);
        const float shift = channelShift[b];
        for (int64_t i = 0; i < size; i++) y[i] = std::min(std::max(y[i] + shift, lo), hi);
      }
      if (brightness) {  // Keras' apply_brightness_shift on 8-bit levels of the image's range
        range(lo, hi);
        const float span = hi - lo, safeSpan = span > 0 ? span : 1.0f, factor = brightness[b];
        for (int64_t i = 0; i < size; i++) {
          // Both are ≥ 0, so truncation is the floor; min(floor(a), 255) = floor(min(a, 255)).
          const float level = float(int32_t((y[i] - lo) / safeSpan * 255.0f));
          const float brightened = float(int32_t(std::min(level * factor, 255.0f)));
          y[i] = brightened / 255.0f * span + lo;
        }
      }
    }
  });
}

}  // namespace kernels
