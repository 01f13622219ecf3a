// Tests of compare_layerwise: values are paired by name (a QDQ model's quantized tensor with its float
// source), judged in graph order, and the first node whose output moves past the gates is named.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "lib/model_clone.h"
#include "lib/onnx_shape_inference.h"
#include "runtime/layerwise_compare.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

// x [1,3,8,8] -> Conv c1 -> Relu r1 -> Conv c2 -> Relu r2 -> GlobalAveragePool gap -> y
std::unique_ptr<ir::Model> two_convs(std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, shape_from_dims({1, 3, 8, 8}));
  g.add_input(x);
  auto node = [&](const std::string& op, std::vector<ir::Value*> ins, const std::string& name) {
    return g.add_node(op, "", std::move(ins), {name}, name);
  };
  ir::Value* c1 = node("Conv", {x, initializer(g, "w1", random_tensor({4, 3, 3, 3}, rng))}, "c1")->output(0);
  ir::Value* r1 = node("Relu", {c1}, "r1")->output(0);
  ir::Value* c2 = node("Conv", {r1, initializer(g, "w2", random_tensor({4, 4, 3, 3}, rng))}, "c2")->output(0);
  ir::Value* r2 = node("Relu", {c2}, "r2")->output(0);
  g.add_output(node("GlobalAveragePool", {r2}, "y")->output(0));
  REQUIRE(infer_shapes(*m).is_ok());
  return m;
}

std::unique_ptr<rt::SampleSource> random_feeds(int n) {
  std::mt19937 rng(7);
  std::vector<rt::Sample> s;
  for (int i = 0; i < n; ++i) s.push_back({"s" + std::to_string(i), {{"x", random_tensor({1, 3, 8, 8}, rng)}}, {}});
  return rt::samples_in_memory(std::move(s), "random");
}

// Inserts QuantizeLinear -> DequantizeLinear (uint8, zero point 0) after `name` and returns the
// DequantizeLinear's output; the caller points readers at it.
ir::Value* add_qdq(ir::Graph& g, const std::string& name, float step) {
  ir::Value* scale = initializer(g, name + "_scale", Tensor::scalar_f32(step));
  ir::Value* zp = initializer(g, name + "_zp", Tensor::from_vector<uint8_t>(DType::UInt8, {}, {0}));
  ir::Node* q = g.add_node("QuantizeLinear", "", {g.find_value(name), scale, zp}, {name + "_QuantizeLinear_Output"},
                           name + "_q");
  return g.add_node("DequantizeLinear", "", {q->output(0), scale, zp}, {name + "_DequantizeLinear_Output"}, name + "_dq")
      ->output(0);
}

}  // namespace

TEST_CASE("compare_layerwise: identical models have no divergent node and every value is exact") {
  std::mt19937 rng(1);
  auto a = two_convs(rng);
  auto b = clone_model(*a);
  REQUIRE(b.is_ok());
  auto r = rt::compare_layerwise(*a, **b, *random_feeds(2), {});
  REQUIRE(r.is_ok());
  REQUIRE(r->layers.size() == 5);  // c1 r1 c2 r2 y in graph order; the shared input is left out
  CHECK(r->layers[0].pair.tensor_a == "c1");
  CHECK(r->layers[2].node == "c2");
  CHECK(r->layers[2].op_type == "Conv");
  CHECK(r->layers[4].pair.tensor_a == "y");
  for (const auto& l : r->layers) {
    CHECK(l.accuracy.samples == 2);
    CHECK(l.accuracy.max_abs == 0);
  }
  CHECK_FALSE(r->first_divergent);
  CHECK(r->outputs->passed());
}

TEST_CASE("compare_layerwise: a perturbed weight makes its Conv the first divergent node") {
  std::mt19937 rng(2);
  auto a = two_convs(rng);
  auto b = clone_model(*a);
  REQUIRE(b.is_ok());
  ir::Graph& g = *(*b)->graph;
  Tensor w2 = g.find_value("w2")->constant()->clone();
  w2.mutable_data<float>()[5] += 0.5f;
  g.set_constant(g.find_value("w2"), std::make_shared<const Tensor>(std::move(w2)));
  auto r = rt::compare_layerwise(*a, **b, *random_feeds(3), {});
  REQUIRE(r.is_ok());
  REQUIRE(r->first_divergent);
  const rt::LayerStats& d = r->layers[*r->first_divergent];
  CHECK(d.node == "c2");
  CHECK(d.op_type == "Conv");
  CHECK(d.pair.tensor_a == "c2");
  CHECK(r->layers[0].verdict.passed);  // c1 and r1 are untouched
  CHECK(r->layers[1].verdict.passed);
  CHECK(d.accuracy.max_abs > 0.01);
}

TEST_CASE("compare_layerwise: a QDQ tensor is paired with its float source and dequantized") {
  std::mt19937 rng(3);
  auto a = two_convs(rng);
  auto b = clone_model(*a);
  REQUIRE(b.is_ok());
  // r1 -> QuantizeLinear -> DequantizeLinear -> c2, with a coarse scale so the error is visible.
  ir::Graph& g = *(*b)->graph;
  g.set_input(g.find_value("c2")->producer(), 0, add_qdq(g, "r1", 0.05f));
  REQUIRE(g.sort_topologically().is_ok());
  REQUIRE(infer_shapes(**b).is_ok());

  auto pairs = rt::match_layer_values(*a->graph, g);
  REQUIRE(pairs.is_ok());
  REQUIRE(pairs->size() == 5);
  CHECK((*pairs)[1].tensor_a == "r1");
  CHECK((*pairs)[1].tensor_b == "r1_QuantizeLinear_Output");
  CHECK((*pairs)[1].dequantize);
  CHECK((*pairs)[1].scale == doctest::Approx(0.05));

  rt::LayerwiseOptions o;
  o.gates.check_elements = false;
  o.gates.min_sqnr_db = 60;  // int8 rounding stays well under this: r1 is where it starts
  auto r = rt::compare_layerwise(*a, **b, *random_feeds(2), o);
  REQUIRE(r.is_ok());
  const rt::LayerStats& l = r->layers[1];
  REQUIRE(l.accuracy.min_sqnr_db);
  CHECK(std::isfinite(*l.accuracy.min_sqnr_db));
  CHECK(*l.accuracy.min_sqnr_db > 10);  // rounding to a 0.05 step: noise far under the signal
  CHECK(l.accuracy.max_abs <= 0.05 * 0.5 + 1e-6);
  REQUIRE(r->first_divergent);
  CHECK(r->layers[*r->first_divergent].pair.tensor_a == "r1");
  CHECK(r->layers[0].verdict.passed);  // c1 is computed in float in both
  auto low = r->lowest_sqnr(1);
  REQUIRE(low.size() == 1);
  CHECK(r->layers[low[0]].accuracy.min_sqnr_db <= l.accuracy.min_sqnr_db);
}

TEST_CASE("compare_layerwise: a Relu folded into the quantization is compared at the Relu's output") {
  std::mt19937 rng(4);
  auto a = two_convs(rng);
  auto b = clone_model(*a);
  REQUIRE(b.is_ok());
  // B: c1 -> QuantizeLinear (zero point 0: negatives clip, as the Relu would) -> DequantizeLinear -> c2; no r1.
  ir::Graph& g = *(*b)->graph;
  g.set_input(g.find_value("c2")->producer(), 0, add_qdq(g, "c1", 0.05f));
  g.remove_node(g.find_value("r1")->producer());
  REQUIRE(g.sort_topologically().is_ok());
  REQUIRE(infer_shapes(**b).is_ok());

  auto pairs = rt::match_layer_values(*a->graph, g);
  REQUIRE(pairs.is_ok());
  REQUIRE(pairs->size() == 5);
  CHECK((*pairs)[0].tensor_a == "c1");  // with B's float c1
  CHECK((*pairs)[0].tensor_b == "c1");
  CHECK_FALSE((*pairs)[0].dequantize);
  CHECK((*pairs)[1].tensor_a == "r1");  // with the 8-bit c1, which stands for relu(c1)
  CHECK((*pairs)[1].tensor_b == "c1_QuantizeLinear_Output");
  CHECK((*pairs)[1].dequantize);

  auto r = rt::compare_layerwise(*a, **b, *random_feeds(2), {});
  REQUIRE(r.is_ok());
  CHECK(r->layers[0].accuracy.max_abs == 0);  // c1 is float in both
  CHECK(r->layers[1].accuracy.max_abs <= 0.05 * 0.5 + 1e-6);  // rounding only: negatives are clipped in both
  REQUIRE(r->layers[1].accuracy.min_sqnr_db);
  CHECK(*r->layers[1].accuracy.min_sqnr_db > 20);
}
