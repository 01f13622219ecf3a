// Tests of the dnnl provider's int8 Conv groups on oneDNN's float convolution (dnnl_int8_float_conv.cpp): exact
// integer sums in float, so the widened kernels' bytes; which convs take it; the float sums' requantization.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/cpu/conv_groups4_nhwc.h"
#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/dnnl/dnnl_common.h"
#include "tests/runtime/int8_test_util.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;
using namespace ortool::int8_test;

#ifdef ORTOOL_HAVE_DNNL

namespace {

// The widened kernels on any CPU (a VNNI machine runs every group on oneDNN's int8 kernels otherwise), and the
// float convolution where `mode` says.
class ScopedKernels {
 public:
  explicit ScopedKernels(rt::dnnl_ep::FloatConvMode mode) {
    rt::dnnl_ep::force_widened_int8(true);
    rt::dnnl_ep::set_float_int8_conv_mode(mode);
  }
  ~ScopedKernels() {
    rt::dnnl_ep::force_widened_int8(false);
    rt::dnnl_ep::set_float_int8_conv_mode(rt::dnnl_ep::FloatConvMode::Default);
  }
  ScopedKernels(const ScopedKernels&) = delete;
  ScopedKernels& operator=(const ScopedKernels&) = delete;
};

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// x (uint8, zero point 0) -> DQ -> a 1x1 Conv over `c` channels, every weight `w` -> Q: the largest sums a weight
// of that size can make.
Built pointwise(int64_t c, int8_t w, std::mt19937& rng) {
  QCase q;
  q.xt = DType::UInt8;
  q.xz = 0;
  q.per_channel = false;
  q.act = "";
  Tensor wt(DType::Int8, {4, c, 1, 1});
  for (int64_t i = 0; i < wt.numel(); ++i) wt.mutable_data<int8_t>()[i] = w;
  // Sums up to c * 127 * 255 * 0.02 * 0.02 (the largest weight scale): about a hundred output steps.
  const float ys = static_cast<float>(c) * 127 * 255 * 0.02f * 0.02f / 100;
  return build(q, "Conv", {1, c, 3, 3}, std::move(wt), 0, 4, rng, [](ir::Node&) {}, ys);
}

TEST_CASE("dnnl int8 Conv groups on oneDNN's float convolution (forced): the cpu reference, and the widened kernels' bytes") {
  const ScopedKernels kernels(rt::dnnl_ep::FloatConvMode::Always);
  int64_t made = 0, cases = 0;
  conv_cases("dnnl", 20261213, 40, [&](const ir::Model& m, const Tensor& x, const std::string& what) {
    INFO(what);
    const std::map<std::string, RValue> feeds{{"x", RValue(x)}};
    const int64_t before = rt::dnnl_ep::float_int8_conv_kernels_made();
    const Ran on_float = run(m, {"dnnl", "cpu"}, feeds, 2);
    made += rt::dnnl_ep::float_int8_conv_kernels_made() - before;
    rt::dnnl_ep::set_float_int8_conv_mode(rt::dnnl_ep::FloatConvMode::Never);
    const Ran widened = run(m, {"dnnl", "cpu"}, feeds);
    rt::dnnl_ep::set_float_int8_conv_mode(rt::dnnl_ep::FloatConvMode::Always);
    CHECK(same_bytes(on_float.outputs[0].tensor, widened.outputs[0].tensor));
    ++cases;
  });
  // Every case's sums are exact (at most 12 x 6 x 3 products of 127 x 255); oneDNN may have only its reference
  // kernel for a few geometries (those stay on the widened kernels).
  CHECK(cases == 40);
  CHECK(made >= 30);
}

TEST_CASE("dnnl int8: an image's first conv (few channels, short windows) takes the float convolution by default") {
  const ScopedKernels kernels(rt::dnnl_ep::FloatConvMode::Default);
  std::mt19937 rng(21);
  struct Shape {
    int64_t c, k;
    bool float_conv;
  };
  // 3x3 over 3 channels (27 products per output), 7x7 over 1 (49); 7x7 over 3 (147) and 3x3 over 8 channels stay.
  for (const Shape& sh : {Shape{3, 3, true}, Shape{1, 7, true}, Shape{3, 7, false}, Shape{8, 3, false}}) {
    INFO("channels " << sh.c << " kernel " << sh.k);
    QCase q;
    q.randomize(rng);
    q.qoperator = false;
    auto attrs = [&](ir::Node& node) {
      node.set_attr(ir::Attribute::make_ints("strides", {2, 2}));
      node.set_attr(ir::Attribute::make_ints("pads", {sh.k / 2, sh.k / 2, sh.k / 2, sh.k / 2}));
    };
    const float ys = q.xs * 0.01f * std::sqrt(static_cast<float>(sh.c * sh.k * sh.k)) * 40.0f;
    Built b = build(q, "Conv", {1, sh.c, 40, 40}, random_w({16, sh.c, sh.k, sh.k}, rng), 0, 16, rng, attrs, ys);
    const int64_t before = rt::dnnl_ep::float_int8_conv_kernels_made();
    check_q8(*b.m, random_q8(q.xt, {1, sh.c, 40, 40}, rng), q.describe(), "dnnl", q.yz, 2);
    CHECK(rt::dnnl_ep::float_int8_conv_kernels_made() - before == (sh.float_conv ? 1 : 0));
    // The same with a symbolic batch and image size (exports' dynamic axes): the choice does not need them.
    b.x->type = Type::tensor(q.xt, ortool::Shape{Dim::symbol("batch"), Dim::known(sh.c), Dim::symbol("h"), Dim::symbol("w")});
    const int64_t again = rt::dnnl_ep::float_int8_conv_kernels_made();
    check_q8(*b.m, random_q8(q.xt, {2, sh.c, 23, 31}, rng), q.describe() + " symbolic", "dnnl", q.yz, 1);
    CHECK(rt::dnnl_ep::float_int8_conv_kernels_made() - again == (sh.float_conv ? 1 : 0));
  }
}

TEST_CASE("dnnl int8: grouped convs of 4-channel groups run on the NHWC groups kernel, the widened kernels' bytes") {
  if (!rt::cpu::conv_groups4_fast()) return;  // the scalar loop is no faster than the widened GEMM
  const ScopedKernels kernels(rt::dnnl_ep::FloatConvMode::Default);
  std::mt19937 rng(24);
  for (int iter = 0; iter < 8; ++iter) {
    QCase q;
    q.randomize(rng);
    const int64_t groups = iter % 2 ? 9 : 8, c = 4 * groups, k = 1 + 2 * (iter % 2), stride = 1 + iter % 3 / 2;
    auto attrs = [&](ir::Node& node) {
      node.set_attr(ir::Attribute::make_int("group", groups));
      node.set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
      node.set_attr(ir::Attribute::make_ints("pads", {k / 2, k / 2, k / 2, k / 2}));
    };
    const float ys = q.xs * 0.01f * std::sqrt(static_cast<float>(4 * k * k)) * 40.0f;
    Built b = build(q, "Conv", {2, c, 9, 7}, random_w({c, 4, k, k}, rng), 0, c, rng, attrs, ys);
    const Tensor x = random_q8(q.xt, {2, c, 9, 7}, rng);
    const std::string what = q.describe() + " groups " + std::to_string(groups) + " kernel " + std::to_string(k);
    const int64_t before = rt::dnnl_ep::float_int8_conv_kernels_made();
    check_q8(*b.m, x, what, "dnnl", q.yz, 1 + iter % 2);
    CHECK(rt::dnnl_ep::float_int8_conv_kernels_made() - before == 1);
    INFO(what);
    const std::map<std::string, RValue> feeds{{"x", RValue(x)}};
    const Ran fast = run(*b.m, {"dnnl", "cpu"}, feeds);
    rt::dnnl_ep::set_float_int8_conv_mode(rt::dnnl_ep::FloatConvMode::Never);
    const Ran widened = run(*b.m, {"dnnl", "cpu"}, feeds);
    rt::dnnl_ep::set_float_int8_conv_mode(rt::dnnl_ep::FloatConvMode::Default);
    CHECK(same_bytes(fast.outputs[0].tensor, widened.outputs[0].tensor));
  }
}

TEST_CASE("dnnl int8: sums that could leave float's exact integers stay on the widened kernels, even forced") {
  const ScopedKernels kernels(rt::dnnl_ep::FloatConvMode::Always);
  std::mt19937 rng(22);
  // 518 x 127 x 255 = 16775310 <= 2^24 = 16777216 < 519 x 127 x 255.
  for (const auto& [c, float_conv] : std::vector<std::pair<int64_t, bool>>{{518, true}, {519, false}}) {
    INFO("channels " << c);
    for (const int8_t w : {int8_t{127}, int8_t{-127}}) {
      Built b = pointwise(c, w, rng);
      Tensor x(DType::UInt8, {1, c, 3, 3});
      for (int64_t i = 0; i < x.numel(); ++i) x.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(i % 7 == 0 ? 200 : 255);
      const int64_t before = rt::dnnl_ep::float_int8_conv_kernels_made();
      check_q8(*b.m, x, "all weights at the limit", "dnnl", 100);
      CHECK(rt::dnnl_ep::float_int8_conv_kernels_made() - before == (float_conv ? 1 : 0));
    }
  }
}

TEST_CASE("wide8::requant_float_sums: the portable loop's bytes, NHWC and 8-channel blocks, partial blocks") {
  std::mt19937 rng(23);
  for (int iter = 0; iter < 24; ++iter) {
    const int64_t pixels = pick(rng, 1, 30), channels = pick(rng, 1, 40);
    const bool blocked = iter % 2 == 1;
    const int64_t blocks = (channels + 7) / 8;
    const int64_t pixel_stride = blocked ? 8 : channels, block_stride = blocked ? pixels * 8 : 8;
    std::vector<float> sums(static_cast<size_t>(blocks * 8 * pixels + 8));
    for (float& v : sums) v = static_cast<float>(pick(rng, -200000, 200000));
    rt::wide8::Requant q;
    for (int64_t c = 0; c < blocks * 8; ++c) {
      q.scale.push_back(pickf(rng, 1e-4f, 1e-3f));
      q.bias.push_back(static_cast<float>(pick(rng, -3000, 3000)));
    }
    q.zero_point = static_cast<int32_t>(pick(rng, -20, 20));
    q.out_signed = iter % 4 < 2;
    q.lo = iter % 3 == 0 ? 0.0f : -1e9f;
    const int64_t out_stride = channels + pick(rng, 0, 3);
    std::vector<uint8_t> fast(static_cast<size_t>(pixels * out_stride), 0xAB), slow(fast.size(), 0xAB);
    rt::wide8::requant_float_sums(sums.data(), pixels, channels, pixel_stride, block_stride, q, fast.data(), out_stride);
    rt::wide8::force_portable(true);
    rt::wide8::requant_float_sums(sums.data(), pixels, channels, pixel_stride, block_stride, q, slow.data(), out_stride);
    rt::wide8::force_portable(false);
    INFO("case " << iter << " pixels " << pixels << " channels " << channels << " blocked " << blocked);
    CHECK(fast == slow);
    // The formula, element by element (and the gaps between rows untouched).
    int64_t varied = 0;
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t c = 0; c < out_stride; ++c) {
        const uint8_t got = slow[static_cast<size_t>(p * out_stride + c)];
        if (c >= channels) {
          CHECK(got == 0xAB);
          continue;
        }
        const float s = sums[static_cast<size_t>(p * pixel_stride + (c / 8) * block_stride + c % 8)];
        float v = (s + q.bias[static_cast<size_t>(c)]) * q.scale[static_cast<size_t>(c)];
        v = std::min(std::max(v, q.lo), q.hi);
        const int32_t y = static_cast<int32_t>(std::nearbyint(v)) + q.zero_point;
        const int32_t want = q.out_signed ? std::clamp(y, -128, 127) : std::clamp(y, 0, 255);
        CHECK(got == static_cast<uint8_t>(want));
        varied += got != slow[0];
      }
    }
    CHECK((pixels * channels < 4 || varied > 0));
  }
}

}  // namespace

#endif
