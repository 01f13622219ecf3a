// Cross-layer equalization: the float function is kept (outputs on seeded inputs within 1e-5 relative),
// the channel ranges of every pair get more balanced, and the pairs found are the right ones.
#include <algorithm>
#include <cmath>

#include "passes/freeze_inputs.h"
#include "passes/optimize.h"
#include "quant/equalize.h"
#include "tests/quant/quant_doctest_util.h"

using namespace ortool;
using namespace ortool::quant;
using namespace ortool::quant_testing;
using ortool::testing::float_attr;
using ortool::testing::int_attr;
using ortool::testing::ints_attr;
using ortool::testing::ModelBuilder;

namespace {

// A float32 weight of uniform values whose output channel c (axis 0) is scaled by 10^(2 * ((c * 7) % 5 - 2) / 2):
// ranges spread over four decades, as after BatchNormalization folding.
ir::Value* skewed_weight(ModelBuilder& b, const std::string& name, std::vector<int64_t> dims) {
  ir::Value* v = b.random_init(name, dims);
  Tensor t = v->constant()->clone();
  const int64_t per = t.numel() / dims[0];
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] *= std::pow(10.0f, static_cast<float>((i / per * 7) % 5 - 2));
  b.g().set_constant(v, std::make_shared<const Tensor>(std::move(t)));
  return v;
}

// x[1,8,10,10] -> pw Conv0 [16,8,1,1] -> Relu -> dw Conv2 [16,1,3,3] group 16 -> `act` -> pw Conv4 [6,16,1,1]
std::unique_ptr<ir::Model> depthwise_net(const std::string& act = "Relu") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 8, 10, 10});
  ir::Value* c0 = b.node("Conv", {x, skewed_weight(b, "w0", {16, 8, 1, 1}), b.random_init("b0", {16})});
  ir::Value* r1 = b.node("Relu", {c0});
  ir::Value* c2 = b.node("Conv", {r1, skewed_weight(b, "w2", {16, 1, 3, 3}), b.random_init("b2", {16})},
                         {int_attr("group", 16), ints_attr("pads", {1, 1, 1, 1})});
  ir::Value* a3 = act == "Clip" ? b.node("Clip", {c2, b.scalar("lo", 0.0f), b.scalar("hi", 6.0f)}) : b.node(act, {c2});
  ir::Value* y = b.node("Conv", {a3, b.random_init("w4", {6, 16, 1, 1}), b.random_init("b4", {6})});
  b.output(y);
  return std::move(b.model);
}

const ir::Node* node_named(const ir::Model& m, const std::string& name) {
  for (const ir::Node* n : m.graph->nodes())
    if (n->name == name) return n;
  FAIL("no node ", name);
  return nullptr;
}

double min_over_max(const std::vector<double>& r) {
  REQUIRE(!r.empty());
  return *std::min_element(r.begin(), r.end()) / *std::max_element(r.begin(), r.end());
}

// Largest |a - b| over the largest |a|, per output, over `seeds` seeded inputs.
double max_relative_error(const ir::Model& a, const ir::Model& b, int seeds = 2) {
  double worst = 0;
  for (const rt::Feeds& f : seeded_feeds(a, seeds)) {
    auto x = run_model(a, f);
    REQUIRE_MESSAGE(x.is_ok(), x.status().message());
    auto y = run_model(b, f);
    REQUIRE_MESSAGE(y.is_ok(), y.status().message());
    REQUIRE(x->size() == y->size());
    for (size_t i = 0; i < x->size(); ++i) {
      const Tensor& p = (*x)[i].tensor;
      const Tensor& q = (*y)[i].tensor;
      REQUIRE(p.numel() == q.numel());
      double diff = 0, ref = 0;
      for (int64_t k = 0; k < p.numel(); ++k) {
        diff = std::max(diff, static_cast<double>(std::fabs(p.data<float>()[k] - q.data<float>()[k])));
        ref = std::max(ref, static_cast<double>(std::fabs(p.data<float>()[k])));
      }
      REQUIRE(ref > 0);
      worst = std::max(worst, diff / ref);
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("equalize: a pointwise -> depthwise -> pointwise chain keeps its outputs and balances its ranges") {
  auto m = depthwise_net();
  auto before = copy_model(*m);
  REQUIRE(before.is_ok());
  auto r = equalize(*m);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE(m->graph->verify().is_ok());
  REQUIRE(r->pairs.size() == 2);
  CHECK(r->pairs[0].first == "Conv0");
  CHECK(r->pairs[0].second == "Conv2");
  CHECK(r->pairs[0].through == "Relu");
  CHECK(r->pairs[0].channels == 16);
  CHECK(r->pairs[0].depthwise);
  CHECK(r->pairs[1].first == "Conv2");
  CHECK(r->pairs[1].second == "Conv4");
  CHECK(r->converged);
  CHECK(r->iterations > 1);  // the depthwise conv is in both pairs: one sweep cannot settle both
  CHECK(r->skipped_clip == 0);

  CHECK(max_relative_error(**before, *m) < 1e-5);

  // Channel ranges: layer 1's outputs and layer 2's inputs, before and after.
  const auto& b = **before;
  const double pw_out_before = min_over_max(weight_channel_ranges(*node_named(b, "Conv0"), true));
  const double pw_out_after = min_over_max(weight_channel_ranges(*node_named(*m, "Conv0"), true));
  const double dw_before = min_over_max(weight_channel_ranges(*node_named(b, "Conv2"), false));
  const double dw_after = min_over_max(weight_channel_ranges(*node_named(*m, "Conv2"), false));
  INFO("Conv0 outputs ", pw_out_before, " -> ", pw_out_after, ", Conv2 inputs ", dw_before, " -> ", dw_after);
  CHECK(pw_out_before < 0.02);  // the skewed weights span four decades
  CHECK(pw_out_after > 10 * pw_out_before);
  CHECK(dw_after > 10 * dw_before);
  CHECK(r->balance_after > r->balance_before);
  // Converged: layer 1's output range equals layer 2's input range per channel (the paper's fixed point).
  const auto r1 = weight_channel_ranges(*node_named(*m, "Conv2"), true);
  const auto r2 = weight_channel_ranges(*node_named(*m, "Conv4"), false);
  for (size_t i = 0; i < r1.size(); ++i) CHECK(r1[i] == doctest::Approx(r2[i]).epsilon(1e-3));
}

TEST_CASE("equalize: LeakyRelu and PRelu pairs are equalized, a ReLU6 Clip ends the chain untouched") {
  for (const std::string act : {"LeakyRelu", "Clip"}) {
    CAPTURE(act);
    auto m = depthwise_net(act);
    auto before = copy_model(*m);
    REQUIRE(before.is_ok());
    auto r = equalize(*m);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(max_relative_error(**before, *m) < 1e-5);
    if (act == "Clip") {
      REQUIRE(r->pairs.size() == 1);  // Conv0 -> Relu -> Conv2 only
      CHECK(r->skipped_clip == 1);
      CHECK(weight_channel_ranges(*node_named(*m, "Conv4"), false) ==
            weight_channel_ranges(*node_named(**before, "Conv4"), false));
    } else {
      CHECK(r->pairs.size() == 2);
      CHECK(r->pairs[1].through == "LeakyRelu");
    }
  }
}

TEST_CASE("equalize: a layer output read by two layers makes no pair") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 4, 6, 6});
  ir::Value* c0 = b.node("Conv", {x, skewed_weight(b, "w0", {8, 4, 1, 1})});
  ir::Value* c1 = b.node("Conv", {c0, b.random_init("w1", {3, 8, 1, 1})});
  ir::Value* c2 = b.node("Conv", {c0, b.random_init("w2", {3, 8, 1, 1})});
  b.output(c1);
  b.output(c2);
  auto r = equalize(*b.model);
  REQUIRE(r.is_ok());
  CHECK(r->pairs.empty());
}

TEST_CASE("equalize: Gemm -> Relu -> MatMul keeps its outputs, a shared weight gets its own copy") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {5, 12});
  ir::Value* w0 = skewed_weight(b, "w0", {10, 12});
  ir::Value* g0 = b.node("Gemm", {x, w0, b.random_init("c0", {10})}, {int_attr("transB", 1)});
  ir::Value* r1 = b.node("Relu", {g0});
  ir::Value* y = b.node("MatMul", {r1, b.random_init("w2", {10, 7})});
  ir::Value* z = b.node("Gemm", {x, w0}, {int_attr("transB", 1)});  // reads w0 too
  b.output(y);
  b.output(z);
  auto before = copy_model(*b.model);
  REQUIRE(before.is_ok());
  auto r = equalize(*b.model);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE(r->pairs.size() == 1);
  CHECK(r->pairs[0].first == "Gemm0");
  CHECK(r->pairs[0].second == "MatMul2");
  CHECK(!r->pairs[0].depthwise);
  CHECK(b.model->graph->verify().is_ok());
  CHECK(max_relative_error(**before, *b.model) < 1e-5);
  CHECK(min_over_max(weight_channel_ranges(*node_named(*b.model, "Gemm0"), true)) >
        10 * min_over_max(weight_channel_ranges(*node_named(**before, "Gemm0"), true)));
  CHECK(node_named(*b.model, "Gemm0")->input(1) != node_named(*b.model, "Gemm3")->input(1));
}

TEST_CASE("equalize: a real depthwise net (ultraface RFB, folded BatchNormalization) keeps its outputs") {
  const auto path = source_dir() / ".." / "shared" / "models" / "ultraface_rfb640" / "model.onnx";
  auto loaded = load_model(path);
  REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().message());
  ir::Model& m = **loaded;
  passes::freeze_initializer_inputs(m);
  auto opt = passes::optimize_model(m, {});
  REQUIRE_MESSAGE(opt.is_ok(), opt.status().message());
  auto before = copy_model(m);
  REQUIRE(before.is_ok());
  auto r = equalize(m);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE(m.graph->verify().is_ok());
  const auto depthwise = std::count_if(r->pairs.begin(), r->pairs.end(), [](const EqualizedPair& p) { return p.depthwise; });
  INFO(r->pairs.size(), " pairs, ", depthwise, " depthwise, balance ", r->balance_before, " -> ", r->balance_after);
  CHECK(r->pairs.size() >= 30);
  CHECK(depthwise >= 20);
  CHECK(r->converged);
  CHECK(r->balance_after > 1.5 * r->balance_before);
  CHECK(max_relative_error(**before, m, 1) < 1e-5);
}
