// Tests of the exact 8-bit depthwise convolution (runtime/cpu/wide_int8_depthwise.h) against a direct loop: any
// channel count (partial blocks), kernel, stride, dilation and padding, both layouts, both activation types.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/cpu/wide_int8_depthwise.h"
#include "runtime/thread_pool.h"

using namespace ortool;
namespace cf = ortool::rt::cpu::conv_family;

namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

// One random problem and what the direct loop gives for it.
struct Case {
  int64_t c = 1, h = 1, w = 1, kh = 1, kw = 1;
  bool nhwc = true, is_signed = false;
  int32_t zp = 0;
  cf::Window win;
  std::vector<uint8_t> x;
  std::vector<int32_t> weights;  // [C, kH * kW]
  rt::wide8::Requant q;

  std::vector<uint8_t> expected() const {
    const int64_t oh = win.out[0], ow = win.out[1];
    std::vector<uint8_t> y(static_cast<size_t>(oh * ow * c));
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < c; ++ch) {
          int32_t acc = 0;
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t iy = oy * win.stride[0] - win.pad_begin[0] + ky * win.dilation[0];
              const int64_t ix = ox * win.stride[1] - win.pad_begin[1] + kx * win.dilation[1];
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;  // padding: the zero point, 0 once subtracted
              const uint8_t v = x[static_cast<size_t>(nhwc ? (iy * w + ix) * c + ch : (ch * h + iy) * w + ix)];
              const int32_t xv = is_signed ? static_cast<int8_t>(v) : v;
              acc += (xv - zp) * weights[static_cast<size_t>(ch * kh * kw + ky * kw + kx)];
            }
          y[static_cast<size_t>((oy * ow + ox) * c + ch)] =
              rt::wide8::requant_one(static_cast<float>(acc), q.bias[static_cast<size_t>(ch)], q.scale[static_cast<size_t>(ch)], q);
        }
    return y;
  }

  std::vector<uint8_t> run(rt::ThreadPool* pool) const {
    const auto packed = rt::wide8::pack_depthwise(c, kh * kw, [&](int64_t ch, int64_t t) {
      return weights[static_cast<size_t>(ch * kh * kw + t)];
    }, q, zp);
    std::vector<uint8_t> y(static_cast<size_t>(win.out[0] * win.out[1] * c), 0xCD);
    rt::wide8::depthwise_int8(x.data(), nhwc, is_signed, h, w, win, packed, q, y.data(), pool);
    return y;
  }
};

Case random_case(std::mt19937& rng, int iter) {
  Case k;
  // Channel counts around whole blocks of 16 and 8, and ShuffleNet's 58.
  const int64_t counts[] = {1, 3, 8, 13, 16, 24, 31, 32, 40, 58};
  k.c = counts[iter % 10];
  k.kh = pick(rng, 1, 5);
  k.kw = pick(rng, 1, 5);
  k.nhwc = pick(rng, 0, 3) != 0;
  k.is_signed = iter % 3 == 1;
  k.zp = k.is_signed ? static_cast<int32_t>(pick(rng, -128, 127)) : static_cast<int32_t>(pick(rng, 0, 255));
  const int64_t sy = pick(rng, 1, 2), sx = pick(rng, 1, 2), dy = pick(rng, 0, 3) == 0 ? 2 : 1, dx = pick(rng, 0, 3) == 0 ? 2 : 1;
  k.win.kernel = {k.kh, k.kw};
  k.win.stride = {sy, sx};
  k.win.dilation = {dy, dx};
  k.win.pad_begin = {pick(rng, 0, k.kh - 1), pick(rng, 0, k.kw - 1)};
  k.win.pad_end = {pick(rng, 0, k.kh - 1), pick(rng, 0, k.kw - 1)};
  // Images down to narrower than the window (every output reaches into the padding) where the pads allow one.
  k.h = pick(rng, std::max<int64_t>(1, (k.kh - 1) * dy + 1 - k.win.pad_begin[0] - k.win.pad_end[0]), 12);
  k.w = pick(rng, std::max<int64_t>(1, (k.kw - 1) * dx + 1 - k.win.pad_begin[1] - k.win.pad_end[1]), 12);
  k.win.in = {k.h, k.w};
  for (size_t d = 0; d < 2; ++d) {
    const int64_t span = k.win.in[d] + k.win.pad_begin[d] + k.win.pad_end[d] - (k.win.kernel[d] - 1) * k.win.dilation[d];
    k.win.out.push_back((span - 1) / k.win.stride[d] + 1);
  }
  k.x.resize(static_cast<size_t>(k.c * k.h * k.w));
  for (auto& v : k.x) v = static_cast<uint8_t>(pick(rng, 0, 255));
  k.weights.resize(static_cast<size_t>(k.c * k.kh * k.kw));
  for (auto& v : k.weights) v = static_cast<int32_t>(pick(rng, -127, 127));
  const auto padded = static_cast<size_t>((k.c + 15) / 16 * 16);
  k.q.scale.assign(padded, 0.0f);
  k.q.bias.assign(padded, 0.0f);
  const float spread = 255.0f * 60.0f * std::sqrt(static_cast<float>(k.kh * k.kw));
  for (int64_t ch = 0; ch < k.c; ++ch) {
    k.q.scale[static_cast<size_t>(ch)] = std::uniform_real_distribution<float>(60.0f, 200.0f)(rng) / spread;
    k.q.bias[static_cast<size_t>(ch)] = static_cast<float>(pick(rng, -2000, 2000));
  }
  k.q.zero_point = static_cast<int32_t>(pick(rng, -20, 20)) + (iter % 2 == 0 ? 128 : 0);
  k.q.out_signed = iter % 2 == 1;
  if (iter % 4 == 0) k.q.lo = 0.0f;  // a fused Relu
  return k;
}

TEST_CASE("wide8::depthwise_int8 equals the direct loop (vector and portable paths, one and two threads)") {
  std::mt19937 rng(31);
  rt::ThreadPool two(2);
  int64_t varied = 0;
  for (int iter = 0; iter < 120; ++iter) {
    const Case k = random_case(rng, iter);
    INFO("case " << iter << " c " << k.c << " " << k.h << "x" << k.w << " k " << k.kh << "x" << k.kw << " s "
                 << k.win.stride[0] << "," << k.win.stride[1] << " d " << k.win.dilation[0] << "," << k.win.dilation[1]
                 << " nhwc " << k.nhwc << " signed " << k.is_signed << " zp " << k.zp);
    const std::vector<uint8_t> want = k.expected();
    CHECK(k.run(nullptr) == want);
    CHECK(k.run(&two) == want);
    rt::wide8::force_portable(true);
    CHECK(k.run(nullptr) == want);
    rt::wide8::force_portable(false);
    varied += std::count(want.begin(), want.end(), want[0]) < static_cast<std::ptrdiff_t>(want.size());
  }
  // Not all saturated or all equal: the comparisons mean something.
  CHECK(varied > 80);
}

TEST_CASE("wide8::depthwise_int8 over a larger image splits its rows over threads with the same bytes") {
  std::mt19937 rng(32);
  rt::ThreadPool two(2);
  for (int iter = 0; iter < 4; ++iter) {
    Case k = random_case(rng, iter * 3 + 4);
    // 40x40 with 58 channels: past the size below which one thread runs it alone.
    k.c = 58;
    k.h = k.w = 40;
    k.kh = k.kw = 3;
    k.win = cf::Window{};
    k.win.in = {40, 40};
    k.win.kernel = {3, 3};
    k.win.stride = {1 + iter % 2, 1 + iter % 2};
    k.win.dilation = {1, 1};
    k.win.pad_begin = {1, 1};
    k.win.pad_end = {1, 1};
    k.win.out = {(40 + 2 - 3) / k.win.stride[0] + 1, (40 + 2 - 3) / k.win.stride[1] + 1};
    k.x.resize(static_cast<size_t>(58 * 40 * 40));
    for (auto& v : k.x) v = static_cast<uint8_t>(pick(rng, 0, 255));
    k.weights.resize(static_cast<size_t>(58 * 9));
    for (auto& v : k.weights) v = static_cast<int32_t>(pick(rng, -127, 127));
    k.q.scale.assign(64, 0.0f);
    k.q.bias.assign(64, 0.0f);
    for (int64_t ch = 0; ch < 58; ++ch) {
      k.q.scale[static_cast<size_t>(ch)] = 1.0f / 800.0f;
      k.q.bias[static_cast<size_t>(ch)] = static_cast<float>(pick(rng, -2000, 2000));
    }
    const std::vector<uint8_t> want = k.expected();
    CHECK(k.run(&two) == want);
  }
}

}  // namespace
