// Tests of the NHWC grouped convolution of 4-channel groups (runtime/cpu/conv_groups4_nhwc.h) against a direct
// double-precision loop: group counts even and odd, kernels, strides, dilations, pads, bias or none, Relu/Clip.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "runtime/cpu/conv_groups4_nhwc.h"
#include "runtime/thread_pool.h"

using namespace ortool;
namespace cf = ortool::rt::cpu::conv_family;

namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

TEST_CASE("cpu::conv_groups4_nhwc equals a direct loop (odd group counts, strides, dilations, pads, Relu/Clip)") {
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  rt::ThreadPool two(2);
  constexpr float inf = std::numeric_limits<float>::infinity();
  int64_t poisoned = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const int64_t groups = pick(rng, 1, 9), m = 4 * groups, n = pick(rng, 1, 2);
    const int64_t kh = pick(rng, 1, 3), kw = pick(rng, 1, 3);
    cf::Window win;
    win.kernel = {kh, kw};
    win.stride = {pick(rng, 1, 2), pick(rng, 1, 2)};
    win.dilation = {pick(rng, 0, 3) == 0 ? 2 : 1, 1};
    win.pad_begin = {pick(rng, 0, kh - 1), pick(rng, 0, kw - 1)};
    win.pad_end = {pick(rng, 0, kh - 1), pick(rng, 0, kw - 1)};
    const int64_t h = pick(rng, (kh - 1) * win.dilation[0] + 1, 14), w = pick(rng, kw, 14);
    win.in = {h, w};
    for (size_t d = 0; d < 2; ++d)
      win.out.push_back((win.in[d] + win.pad_begin[d] + win.pad_end[d] - (win.kernel[d] - 1) * win.dilation[d] - 1) /
                            win.stride[d] + 1);
    std::vector<float> x(static_cast<size_t>(n * h * w * m)), wt(static_cast<size_t>(m * 4 * kh * kw)), bias(static_cast<size_t>(m));
    for (float& v : x) v = normal(rng);
    for (float& v : wt) v = normal(rng) * 0.3f;
    for (float& v : bias) v = normal(rng) * 0.1f;
    const bool with_bias = iter % 3 != 0;
    const float lo = iter % 4 == 1 ? 0.0f : iter % 4 == 2 ? -0.5f : -inf, hi = iter % 4 == 2 ? 0.75f : inf;
    if (iter % 5 == 0) x[0] = std::numeric_limits<float>::quiet_NaN();  // reaches its outputs through the bounds
    const int64_t oh = win.out[0], ow = win.out[1];
    std::vector<float> got(static_cast<size_t>(n * oh * ow * m), -7.0f);
    const auto packed = rt::cpu::pack_groups4(wt.data(), m, kh, kw);
    rt::cpu::conv_groups4_nhwc(x.data(), n, h, w, m, packed, with_bias ? bias.data() : nullptr, win, lo, hi, got.data(),
                               iter % 2 ? &two : nullptr);
    INFO("case " << iter << " groups " << groups << " n " << n << " " << h << "x" << w << " k " << kh << "x" << kw);
    int64_t bad = 0, nans = 0, want_nans = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox)
          for (int64_t o = 0; o < m; ++o) {
            double acc = with_bias ? bias[static_cast<size_t>(o)] : 0.0;
            for (int64_t ky = 0; ky < kh; ++ky)
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t iy = oy * win.stride[0] - win.pad_begin[0] + ky * win.dilation[0];
                const int64_t ix = ox * win.stride[1] - win.pad_begin[1] + kx * win.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (int64_t j = 0; j < 4; ++j)
                  acc += static_cast<double>(x[static_cast<size_t>(((i * h + iy) * w + ix) * m + o / 4 * 4 + j)]) *
                         wt[static_cast<size_t>(((o * 4 + j) * kh + ky) * kw + kx)];
              }
            const float g = got[static_cast<size_t>(((i * oh + oy) * ow + ox) * m + o)];
            if (std::isnan(acc)) {
              ++want_nans;
              nans += std::isnan(g);
              bad += !std::isnan(g);
              continue;
            }
            const double want = std::min<double>(hi, std::max<double>(lo, acc));
            bad += !(std::abs(g - want) <= 1e-4 * (1.0 + std::abs(want)));  // a NaN counts
          }
    CHECK(bad == 0);
    CHECK(nans == want_nans);
    poisoned += want_nans > 0;
  }
  CHECK(poisoned >= 4);  // the NaN reached outputs in most of the cases that had one
}

}  // namespace
