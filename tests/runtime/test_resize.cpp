// The fast float Resize (nearest and linear over H and W, NCHW and NHWC, threaded) against the reference
// interpolation, on random shapes, scales and sizes, every coordinate transformation and nearest mode.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/cpu/resize.h"
#include "runtime/thread_pool.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;
namespace rz = ortool::rt::cpu::resize;

namespace {

struct Case {
  std::string mode, coord, nearest;
  int64_t opset = 13;
  bool upsample = false;
};

// [N, C, H, W] -> NHWC order (or back with `back`).
std::vector<float> to_nhwc(const Tensor& t, bool back = false) {
  const auto& d = t.dims();
  const int64_t n = d[0], c = d[1], h = d[2], w = d[3];
  std::vector<float> out(static_cast<size_t>(t.numel()));
  const float* s = t.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t p = 0; p < h * w; ++p) {
        const int64_t nchw = (b * c + k) * h * w + p, nhwc = (b * h * w + p) * c + k;
        if (back) out[static_cast<size_t>(nchw)] = s[nhwc];
        else out[static_cast<size_t>(nhwc)] = s[nchw];
      }
  return out;
}

}  // namespace

TEST_CASE("fast Resize matches the reference: nearest and linear, every coordinate mode, NCHW and NHWC, 1-2 threads") {
  std::mt19937 rng(41);
  std::vector<Case> cases;
  for (const char* coord : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                            "tf_crop_and_resize", "half_pixel_symmetric"}) {
    const int64_t opset = std::string(coord) == "half_pixel_symmetric" ? 19 : 13;
    for (const char* nearest : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})
      cases.push_back({"nearest", coord, nearest, opset});
    cases.push_back({"linear", coord, "", opset});
  }
  cases.push_back({"nearest", "", "", 10});  // opset 10: asymmetric, the legacy nearest rounding
  cases.push_back({"linear", "", "", 10});
  cases.push_back({"nearest", "", "", 9, true});  // Upsample-9
  cases.push_back({"linear", "", "", 9, true});
  rt::ThreadPool one(1), two(2);
  int fast = 0, total = 0;
  for (const Case& cs : cases)
    for (int trial = 0; trial < 12; ++trial) {
      const int rank = trial % 4 == 3 ? 3 : 4;
      std::vector<int64_t> in_dims;
      for (int d = 0; d < rank; ++d) in_dims.push_back(std::uniform_int_distribution<int64_t>(1, 7)(rng));
      if (trial == 5) in_dims = {1, 16, 40, 40};  // large enough to be split among threads
      const bool use_sizes = cs.opset >= 11 && trial % 3 == 1;
      std::vector<float> scales(in_dims.size(), 1.0f);
      std::vector<int64_t> sizes = in_dims;
      for (size_t d = in_dims.size() - 2; d < in_dims.size(); ++d) {
        const float choices[] = {2.0f, 0.5f, 1.5f, 3.0f, 0.7f, 1.0f, 2.5f};
        scales[d] = choices[std::uniform_int_distribution<int>(0, 6)(rng)];
        sizes[d] = std::uniform_int_distribution<int64_t>(1, 12)(rng);
      }
      const std::string target =
          use_sizes ? fmt::format("sizes {}", fmt::join(sizes, ",")) : fmt::format("scales {}", fmt::join(scales, ","));
      INFO(fmt::format("mode {} coord {} nearest {} opset {} dims {} {}", cs.mode, cs.coord, cs.nearest, cs.opset,
                       fmt::join(in_dims, "x"), target));
      ir::Model m;
      m.set_opset("", cs.opset);
      ir::Node* n = m.graph->add_node(cs.upsample ? "Upsample" : "Resize", "", {}, {"y"}, "resize");
      n->set_attr(ir::Attribute::make_string("mode", cs.mode));
      if (!cs.coord.empty()) n->set_attr(ir::Attribute::make_string("coordinate_transformation_mode", cs.coord));
      if (!cs.nearest.empty()) n->set_attr(ir::Attribute::make_string("nearest_mode", cs.nearest));
      auto attrs = rz::parse_attrs(*n, cs.opset, cs.upsample);
      REQUIRE(attrs.is_ok());
      const Tensor x = random_tensor(in_dims, rng, -4, 4);
      Tensor scales_t(DType::Float, {static_cast<int64_t>(scales.size())});
      for (size_t i = 0; i < scales.size(); ++i) scales_t.mutable_data<float>()[i] = scales[i];
      Tensor sizes_t(DType::Int64, {static_cast<int64_t>(sizes.size())});
      for (size_t i = 0; i < sizes.size(); ++i) sizes_t.mutable_data<int64_t>()[i] = sizes[i];
      // roi for tf_crop_and_resize: inside the input on odd trials (taps stay in), wider on even ones.
      Tensor roi(DType::Float, {2 * static_cast<int64_t>(in_dims.size())});
      for (size_t i = 0; i < in_dims.size(); ++i) {
        const bool inside = trial % 2 == 1 || i + 2 < in_dims.size();
        roi.mutable_data<float>()[i] = inside ? 0.0f : -0.3f;
        roi.mutable_data<float>()[i + in_dims.size()] = inside ? 1.0f : 1.2f;
      }
      std::vector<const Tensor*> inputs{&x};
      if (cs.upsample || cs.opset < 11) inputs.push_back(&scales_t);
      else inputs.insert(inputs.end(), {&roi, use_sizes ? nullptr : &scales_t, use_sizes ? &sizes_t : nullptr});
      auto g = rz::geometry(*attrs, *n, inputs);
      if (g.is_ok()) rz::build_taps(*attrs, *g);
      INFO(g.status().message());
      REQUIRE(g.is_ok());
      Tensor want(DType::Float, g->out);
      REQUIRE(rz::interpolate(*attrs, *g, x, want, *n).is_ok());
      ++total;
      // The fast path takes every geometry without extrapolated taps whose leading axes are copied
      // unchanged (tf_half_pixel_for_nn shifts even an axis of scale 1).
      bool expect = true;
      for (size_t d = 0; d < g->taps.size(); ++d)
        for (size_t o = 0; o < g->taps[d].size(); ++o) {
          const auto& t = g->taps[d][o];
          expect = expect && !t.extrapolate;
          if (d + 2 < g->taps.size())
            expect = expect && t.index.size() == 1 && t.index[0] == static_cast<int64_t>(o) && t.weight[0] == 1.0;
        }
      auto plan = rz::plan_2d(*g, in_dims, false);
      CHECK(plan.has_value() == expect);
      if (!plan) continue;
      ++fast;
      for (rt::ThreadPool* pool : {&one, &two}) {
        Tensor got(DType::Float, g->out);
        rz::run_2d(*plan, x.data<float>(), got.mutable_data<float>(), pool);
        check_close(RValue(got), RValue(want));
        if (rank != 4) continue;
        auto nhwc_plan = rz::plan_2d(*g, in_dims, true);
        REQUIRE(nhwc_plan.has_value());
        const std::vector<float> xn = to_nhwc(x);
        Tensor yn(DType::Float, g->out);
        rz::run_2d(*nhwc_plan, xn.data(), yn.mutable_data<float>(), pool);
        const std::vector<float> back = to_nhwc(yn, true);
        Tensor got_nchw(DType::Float, g->out);
        std::copy(back.begin(), back.end(), got_nchw.mutable_data<float>());
        check_close(RValue(got_nchw), RValue(want));
      }
    }
  // Most cases take the fast path.
  CHECK(fast > total * 8 / 10);
}

TEST_CASE("fast Resize declines what it does not run: cubic, antialias, resized batch or channel axes") {
  ir::Model m;
  m.set_opset("", 18);
  std::mt19937 rng(43);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  auto plan_for = [&](const std::string& mode, bool antialias, std::vector<float> scales) {
    ir::Node* n = m.graph->add_node("Resize", "", {}, {"y" + std::to_string(m.graph->nodes().size())}, "r");
    n->set_attr(ir::Attribute::make_string("mode", mode));
    if (antialias) n->set_attr(ir::Attribute::make_int("antialias", 1));
    auto a = rz::parse_attrs(*n, 18, false);
    REQUIRE(a.is_ok());
    Tensor s(DType::Float, {4});
    for (size_t i = 0; i < 4; ++i) s.mutable_data<float>()[i] = scales[i];
    const Tensor* in[] = {&x, nullptr, &s, nullptr};
    auto g = rz::geometry(*a, *n, in);
    if (g.is_ok()) rz::build_taps(*a, *g);
    REQUIRE(g.is_ok());
    return rz::plan_2d(*g, x.dims(), false).has_value();
  };
  CHECK(plan_for("linear", false, {1, 1, 2, 2}));
  CHECK_FALSE(plan_for("cubic", false, {1, 1, 2, 2}));
  CHECK_FALSE(plan_for("linear", true, {1, 1, 0.5f, 0.5f}));
  CHECK(plan_for("linear", true, {1, 1, 2, 2}));  // antialias only changes downsampling
  CHECK_FALSE(plan_for("nearest", false, {1, 2, 2, 2}));
  CHECK_FALSE(plan_for("nearest", false, {2, 1, 1, 1}));
}
