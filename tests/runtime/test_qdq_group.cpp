// Tests of the int8 group description (runtime/qdq_group.h): what a group holds and what does not match.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/qdq_group.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

Tensor filled(DType t, std::vector<int64_t> dims, double v) {
  Tensor x(t, std::move(dims));
  for (int64_t i = 0; i < x.numel(); ++i) {
    switch (t) {
      case DType::Float: x.mutable_data<float>()[i] = static_cast<float>(v * (1 + 0.5 * i)); break;
      case DType::Int32: x.mutable_data<int32_t>()[i] = static_cast<int32_t>(v) * static_cast<int32_t>(i + 1); break;
      case DType::Int8: x.mutable_data<int8_t>()[i] = static_cast<int8_t>(v); break;
      default: x.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    }
  }
  return x;
}

// x (uint8 [1,3,4,4]) -> DQ -> Conv(DQ(w per channel), DQ(bias)) -> Relu -> Q (per tensor) -> y, with knobs.
struct Knobs {
  double w_zp = 0;           // weight zero point
  bool q_per_axis = false;   // a QuantizeLinear with a scale per channel
  bool conv_out_read = false;  // the conv's float output also a graph output
  int64_t w_axis = 0;
};

struct Net {
  std::unique_ptr<ir::Model> m = std::make_unique<ir::Model>();
  ir::Node* conv = nullptr;
};

Net conv_net(const Knobs& k) {
  Net n;
  n.m->set_opset("", 13);
  ir::Graph& g = *n.m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::UInt8, Shape{Dim::known(1), Dim::known(3), Dim::known(4), Dim::known(4)});
  g.add_input(x);
  ir::Value* xf = g.add_node("DequantizeLinear", "", {x, initializer(g, "xs", filled(DType::Float, {}, 0.5)),
                                                      initializer(g, "xz", filled(DType::UInt8, {}, 7))},
                             {"xf"}, "dqx")->output(0);
  ir::Node* dw = g.add_node("DequantizeLinear", "",
                            {initializer(g, "wq", filled(DType::Int8, {2, 3, 1, 1}, 3)),
                             initializer(g, "ws", filled(DType::Float, {2}, 0.25)),
                             initializer(g, "wz", filled(DType::Int8, {2}, k.w_zp))},
                            {"wf"}, "dqw");
  dw->set_attr(ir::Attribute::make_int("axis", k.w_axis));
  ir::Node* db = g.add_node("DequantizeLinear", "",
                            {initializer(g, "bq", filled(DType::Int32, {2}, 10)),
                             initializer(g, "bs", filled(DType::Float, {2}, 0.125)),
                             initializer(g, "bz", filled(DType::Int32, {2}, 0))},
                            {"bf"}, "dqb");
  db->set_attr(ir::Attribute::make_int("axis", 0));
  n.conv = g.add_node("Conv", "", {xf, dw->output(0), db->output(0)}, {"c"}, "conv");
  ir::Value* r = g.add_node("Relu", "", {n.conv->output(0)}, {"r"}, "relu")->output(0);
  ir::Node* q = g.add_node("QuantizeLinear", "",
                           {r, initializer(g, "ys", filled(DType::Float, k.q_per_axis ? std::vector<int64_t>{2} : std::vector<int64_t>{}, 2.0)),
                            initializer(g, "yz", filled(DType::UInt8, k.q_per_axis ? std::vector<int64_t>{2} : std::vector<int64_t>{}, 9))},
                           {"y"}, "q");
  g.add_output(q->output(0));
  if (k.conv_out_read) g.add_output(n.conv->output(0));
  return n;
}

std::optional<rt::qdq::Int8Group> match(const Net& n, std::string* why = nullptr) {
  auto order = n.m->graph->topological_order();
  REQUIRE(order.is_ok());
  rt::GraphView view(*n.m->graph, *n.m, *order);
  return rt::qdq::match_int8_group(view, *n.conv, why);
}

TEST_CASE("int8 group: DQ(x) + DQ(per-channel w) + DQ(bias) -> Conv -> Relu -> Q, parameters read once") {
  Net n = conv_net({});
  std::string why;
  auto g = match(n, &why);
  INFO(why);
  REQUIRE(g);
  CHECK(g->rule->op == rt::qdq::Int8Op::Conv);
  CHECK(g->nodes.size() == 6);  // dqx, dqw, dqb, conv, relu, q
  CHECK(g->nodes.back()->name == "q");
  CHECK_FALSE(g->x_dq_shared);
  CHECK(g->x.scale == 0.5f);
  CHECK(g->x.zero_point == 7);
  CHECK(g->x.type == DType::UInt8);
  CHECK(g->y.scale == 2.0f);
  CHECK(g->y.zero_point == 9);
  REQUIRE(g->w_scale.size() == 2);
  CHECK(g->w_scale[0] == 0.25f);
  CHECK(g->w_scale[1] == 0.375f);
  // Bias in accumulator units: (10 * 0.125) / (0.5 * 0.25) = 10; (20 * 0.1875) / (0.5 * 0.375) = 20.
  REQUIRE(g->bias.size() == 2);
  CHECK(g->bias[0] == doctest::Approx(10.0));
  CHECK(g->bias[1] == doctest::Approx(20.0));
  CHECK(g->act_lo == 0.0f);
  CHECK(std::isinf(g->act_hi));
  CHECK(g->x_input == 0);  // the uint8 x enters first
}

TEST_CASE("int8 group: what does not match says why") {
  std::string why;
  Knobs k;
  k.w_zp = 1;
  CHECK_FALSE(match(conv_net(k), &why));
  CHECK(why.find("zero point") != std::string::npos);
  k = {};
  k.q_per_axis = true;
  CHECK_FALSE(match(conv_net(k), &why));
  CHECK(why.find("QuantizeLinear") != std::string::npos);
  k = {};
  k.conv_out_read = true;
  CHECK_FALSE(match(conv_net(k), &why));
  k = {};
  k.w_axis = 1;  // per-channel scales on the input-channel axis: not per output channel
  CHECK_FALSE(match(conv_net(k), &why));
}

TEST_CASE("int8 group rules: one row per core op, QOperator parameters where ONNX puts them") {
  const auto& rules = rt::qdq::int8_rules();
  CHECK(rules.size() == 6);
  for (const auto& r : rules) {
    if (std::string(r.op_type) == "QLinearConv") {
      CHECK(r.w_input == 3);
      CHECK(r.b_input == 8);
      CHECK(r.ys == 6);
    }
    if (std::string(r.op_type) == "MatMul") CHECK(r.b_input == -1);
  }
}

}  // namespace
