// cpu::pool2d_nhwc (the dnnl provider's NHWC MaxPool / AveragePool) against the reference kernels on
// random geometries: bit-equal values, NaN where the reference has NaN.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "lib/graph.h"
#include "runtime/cpu/conv.h"
#include "runtime/cpu/pool_nhwc.h"
#include "runtime/cpu/transpose_tiled.h"
#include "runtime/session.h"
#include "runtime/thread_pool.h"

using namespace ortool;
namespace cf = ortool::rt::cpu::conv_family;

namespace {

struct Geometry {
  int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  bool ceil, include_pad, max;
};

Geometry random_geometry(std::mt19937& rng) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  Geometry g{};
  g.n = pick(1, 2);
  const int64_t channels[] = {1, 3, 8, 13, 16, 24, 37};
  g.c = channels[pick(0, 6)];
  g.h = pick(1, 12);
  g.w = pick(1, 12);
  g.max = pick(0, 1) == 1;
  g.kh = pick(1, std::min<int64_t>(4, g.h));
  g.kw = pick(1, std::min<int64_t>(4, g.w));
  g.sh = pick(1, 3);
  g.sw = pick(1, 3);
  g.dh = pick(0, 3) == 0 ? 2 : 1;
  g.dw = pick(0, 3) == 0 ? 2 : 1;
  if ((g.kh - 1) * g.dh + 1 > g.h) g.dh = 1;
  if ((g.kw - 1) * g.dw + 1 > g.w) g.dw = 1;
  // Pads up to the kernel's size: ONNX does not forbid windows that lie wholly in the padding.
  g.pt = pick(0, g.kh);
  g.pb = pick(0, g.kh);
  g.pl = pick(0, g.kw);
  g.pr = pick(0, g.kw);
  g.ceil = pick(0, 2) == 0;
  g.include_pad = pick(0, 1) == 1;
  return g;
}

// The reference kernel's output for `g` on NCHW `x`, and the window it resolved.
std::vector<float> reference(const Geometry& g, const Tensor& x, cf::Window& win) {
  ir::Model m;
  m.set_opset("", 19);  // AveragePool's dilations
  ir::Value* in = m.graph->add_value("x");
  m.graph->add_input(in);
  ir::Node* node = m.graph->add_node(g.max ? "MaxPool" : "AveragePool", "", {in}, {"y"}, "pool");
  node->set_attr(ir::Attribute::make_ints("kernel_shape", {g.kh, g.kw}));
  node->set_attr(ir::Attribute::make_ints("strides", {g.sh, g.sw}));
  node->set_attr(ir::Attribute::make_ints("dilations", {g.dh, g.dw}));
  node->set_attr(ir::Attribute::make_ints("pads", {g.pt, g.pl, g.pb, g.pr}));
  node->set_attr(ir::Attribute::make_int("ceil_mode", g.ceil ? 1 : 0));
  if (!g.max) node->set_attr(ir::Attribute::make_int("count_include_pad", g.include_pad ? 1 : 0));
  m.graph->add_output(node->output(0));
  cf::WindowAttrs attrs;
  REQUIRE(cf::parse_window_attrs(*node, attrs).is_ok());
  const int64_t spatial[] = {g.h, g.w};
  auto w = cf::resolve_window(*node, attrs, std::span<const int64_t>(spatial, 2), attrs.kernel_shape,
                              cf::WindowKind::Pool);
  REQUIRE(w.is_ok());
  win = *w;
  auto r = rt::run_node(*node, m, {RValue(x)});
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  const Tensor& y = (*r)[0].tensor;
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

bool same_float(float a, float b) { return std::isnan(a) ? std::isnan(b) : std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("pool2d_nhwc matches the reference MaxPool and AveragePool bit for bit") {
  std::mt19937 rng(41);
  rt::ThreadPool two(2);
  int cases = 0, nan_cases = 0, empty_windows = 0;
  for (int iter = 0; iter < 400; ++iter) {
    const Geometry g = random_geometry(rng);
    CAPTURE(iter);
    Tensor x(DType::Float, {g.n, g.c, g.h, g.w});
    std::uniform_real_distribution<float> d(-3, 3);
    float* xp = x.mutable_data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) xp[i] = d(rng);
    // Equal values (the first is kept, -0 vs 0), and now and then a NaN that must come through.
    if (x.numel() > 4) {
      xp[1] = -0.0f;
      xp[2] = 0.0f;
    }
    const bool with_nan = iter % 5 == 0;
    if (with_nan) xp[std::uniform_int_distribution<int64_t>(0, x.numel() - 1)(rng)] = std::nanf("");
    cf::Window win;
    const std::vector<float> want = reference(g, x, win);
    const int64_t oh = win.out[0], ow = win.out[1];
    std::vector<float> x_nhwc(static_cast<size_t>(x.numel())), y_nhwc(static_cast<size_t>(g.n * g.c * oh * ow));
    rt::cpu::transpose_tiled(xp, x_nhwc.data(), g.n, g.c, g.h * g.w, g.c * g.h * g.w, g.h * g.w);
    const rt::cpu::NhwcPool kind = g.max               ? rt::cpu::NhwcPool::Max
                                   : g.include_pad ? rt::cpu::NhwcPool::AverageIncludePad
                                                   : rt::cpu::NhwcPool::Average;
    rt::cpu::pool2d_nhwc(kind, win, x_nhwc.data(), y_nhwc.data(), g.n, g.c, iter % 2 ? &two : nullptr);
    REQUIRE(static_cast<int64_t>(want.size()) == g.n * g.c * oh * ow);
    int bad = 0;
    for (int64_t b = 0; b < g.n; ++b)
      for (int64_t ch = 0; ch < g.c; ++ch)
        for (int64_t i = 0; i < oh * ow; ++i) {
          const float got = y_nhwc[static_cast<size_t>((b * oh * ow + i) * g.c + ch)];
          const float ref = want[static_cast<size_t>((b * g.c + ch) * oh * ow + i)];
          if (!same_float(got, ref) && ++bad <= 3)
            FAIL_CHECK(fmt::format("{} {}x{}x{}x{} k{}x{} s{}x{} d{}x{} p{},{},{},{} ceil {} pad {}: [{},{},{}] {} vs {}",
                                   g.max ? "max" : "avg", g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw,
                                   g.pt, g.pl, g.pb, g.pr, g.ceil, g.include_pad, b, ch, i, got, ref));
        }
    CHECK(bad == 0);
    ++cases;
    nan_cases += with_nan;
    for (int64_t o = 0; o < ow; ++o) {  // windows over no input column
      const int64_t start = o * win.stride[1] - win.pad_begin[1];
      empty_windows += start >= win.in[1] || start + (win.kernel[1] - 1) * win.dilation[1] < 0;
    }
  }
  CHECK(cases == 400);
  CHECK(nan_cases == 80);
  CHECK(empty_windows > 0);  // the empty-window rule was exercised
}

TEST_CASE("pool2d_nhwc: a large output split over two threads equals one thread") {
  // 2 x 32 x 40 x 40 with a 3 x 3 window: above the size where the rows are split.
  std::mt19937 rng(42);
  const int64_t n = 2, c = 32, h = 40, w = 40;
  std::vector<float> x(static_cast<size_t>(n * c * h * w));
  std::uniform_real_distribution<float> d(-1, 1);
  for (float& v : x) v = d(rng);
  cf::Window win;
  win.in = {h, w};
  win.kernel = {3, 3};
  win.stride = {1, 1};
  win.dilation = {1, 1};
  win.pad_begin = win.pad_end = {1, 1};
  win.out = {h, w};
  rt::ThreadPool two(2);
  for (auto kind : {rt::cpu::NhwcPool::Max, rt::cpu::NhwcPool::Average, rt::cpu::NhwcPool::AverageIncludePad}) {
    std::vector<float> one(x.size()), split(x.size());
    rt::cpu::pool2d_nhwc(kind, win, x.data(), one.data(), n, c, nullptr);
    rt::cpu::pool2d_nhwc(kind, win, x.data(), split.data(), n, c, &two);
    CHECK(std::memcmp(one.data(), split.data(), one.size() * sizeof(float)) == 0);
    // Not all zero: the kernel wrote every output.
    int zeros = 0;
    for (float v : one) zeros += v == 0.0f;
    CHECK(zeros < 10);
  }
}

TEST_CASE("max_pool2d_nhwc_bytes equals the float max pool on 8-bit values, through the table") {
  // Channel counts that take every vector width (32, 16, 8 lanes) and the scalar tail.
  std::mt19937 rng(43);
  rt::ThreadPool two(2);
  std::vector<uint8_t> table(256);
  for (int i = 0; i < 256; ++i) table[static_cast<size_t>(i)] = static_cast<uint8_t>((i * 7 + 3) & 0xff);
  int checked = 0;
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(iter);
    Geometry g = random_geometry(rng);
    g.max = true;
    const int64_t channels[] = {1, 7, 8, 13, 16, 24, 31, 32, 40, 57, 64, 71};
    g.c = channels[iter % 12];
    const bool is_signed = iter % 2 == 1, with_table = iter % 3 == 0;
    cf::Window win;
    Tensor probe(DType::Float, {g.n, 1, g.h, g.w});
    reference(g, probe, win);  // resolves the window
    std::vector<uint8_t> x(static_cast<size_t>(g.n * g.h * g.w * g.c));
    std::vector<float> xf(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
      xf[i] = is_signed ? static_cast<float>(static_cast<int8_t>(x[i])) : static_cast<float>(x[i]);
    }
    const size_t outs = static_cast<size_t>(g.n * win.out[0] * win.out[1] * g.c);
    std::vector<uint8_t> y(outs);
    std::vector<float> yf(outs);
    rt::cpu::max_pool2d_nhwc_bytes(is_signed, win, x.data(), y.data(), g.n, g.c, with_table ? table.data() : nullptr,
                                   iter % 4 == 1 ? &two : nullptr);
    rt::cpu::pool2d_nhwc(rt::cpu::NhwcPool::Max, win, xf.data(), yf.data(), g.n, g.c, nullptr);
    int bad = 0;
    for (size_t i = 0; i < outs; ++i) {
      const float lowest = is_signed ? -128.0f : 0.0f;
      const float m = yf[i] == std::numeric_limits<float>::lowest() ? lowest : yf[i];  // a window over padding only
      uint8_t want = is_signed ? static_cast<uint8_t>(static_cast<int8_t>(m)) : static_cast<uint8_t>(m);
      if (with_table) want = table[want];
      if (y[i] != want && ++bad <= 3) FAIL_CHECK(fmt::format("element {}: {} vs {}", i, y[i], want));
    }
    CHECK(bad == 0);
    ++checked;
  }
  CHECK(checked == 300);
}
