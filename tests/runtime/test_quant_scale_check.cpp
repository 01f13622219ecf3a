// Quantization scales of 0, negative, NaN or Inf are refused: at session creation when the scale is fixed
// (every provider built in), at run time when it is fed, in every quantized kernel.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "lib/graph.h"
#include "lib/quant_scale_check.h"
#include "runtime/provider.h"
#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using namespace ortool::ir;
using namespace ortool::kernel_test;

namespace {

// x float[1,4,4,4] -> QuantizeLinear 'quant_x' (qs, qz) -> DequantizeLinear 'dequant_x' -> Relu -> y.
// The scale 'qs' is an initializer, or a graph input when `fed`.
std::unique_ptr<Model> qdq_model(float scale, bool fed) {
  auto m = std::make_unique<Model>();
  m->set_opset("", 13);
  Graph& g = *m->graph;
  Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(4), Dim::known(4), Dim::known(4)});
  g.add_input(x);
  Value* qs = nullptr;
  if (fed) {
    qs = g.add_value("qs");
    qs->type = Type::tensor(DType::Float, Shape{});
    g.add_input(qs);
  } else {
    qs = g.add_initializer("qs", std::make_shared<Tensor>(f32({}, {scale})));
  }
  Value* qz = g.add_initializer("qz", std::make_shared<Tensor>(u8({}, {128})));
  Node* q = g.add_node("QuantizeLinear", "", {x, qs, qz}, {"xq"}, "quant_x");
  Node* dq = g.add_node("DequantizeLinear", "", {q->output(0), qs, qz}, {"xd"}, "dequant_x");
  Node* relu = g.add_node("Relu", "", {dq->output(0)}, {"y"}, "relu");
  g.add_output(relu->output(0));
  return m;
}

const float kBad[] = {0.0f, -0.1f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};

void check_names_scale(const Status& st) {
  INFO(st.message());
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message().find("'quant_x'") != std::string::npos);
  CHECK(st.message().find("'qs'") != std::string::npos);
  CHECK(st.message().find("positive and finite") != std::string::npos);
}

}  // namespace

TEST_CASE("a fixed quantization scale of 0, negative, NaN or Inf is refused at session creation") {
  for (float bad : kBad) {
    auto m = qdq_model(bad, false);
    // cpu alone, and every provider this build has (dnnl claims QDQ pairs and reads their scales once).
    for (const std::vector<std::string>& providers : {std::vector<std::string>{"cpu"}, rt::available_providers()}) {
      CAPTURE(bad);
      CAPTURE(providers.front());
      rt::SessionOptions o;
      o.providers = providers;
      auto s = rt::Session::create(*m, o);
      REQUIRE_FALSE(s.is_ok());
      check_names_scale(s.status());
    }
  }
  auto good = qdq_model(0.05f, false);
  for (const std::vector<std::string>& providers : {std::vector<std::string>{"cpu"}, rt::available_providers()}) {
    rt::SessionOptions o;
    o.providers = providers;
    auto s = rt::Session::create(*good, o);
    REQUIRE(s.is_ok());
    auto out = (*s)->run({{"x", RValue(f32({1, 4, 4, 4}, random_floats(64, 6)))}});
    CHECK(out.is_ok());
  }
}

TEST_CASE("a fed quantization scale is checked by the kernel at run time") {
  auto m = qdq_model(0, true);
  auto s = rt::Session::create(*m);
  REQUIRE(s.is_ok());
  const RValue x(f32({1, 4, 4, 4}, random_floats(64, 7)));
  CHECK((*s)->run({{"x", x}, {"qs", RValue(f32({}, {0.05f}))}}).is_ok());
  for (float bad : kBad) {
    CAPTURE(bad);
    auto out = (*s)->run({{"x", x}, {"qs", RValue(f32({}, {bad}))}});
    REQUIRE_FALSE(out.is_ok());
    check_names_scale(out.status());
  }
}

TEST_CASE("every quantized kernel refuses a bad scale, naming the node and the input") {
  const RValue zero = RValue(f32({}, {0.0f})), one = RValue(f32({}, {1.0f})), zp = RValue(u8({}, {0}));
  const RValue a = RValue(u8({1, 4}, {1, 2, 3, 4}));
  SUBCASE("DequantizeLinear per axis: the element named") {
    auto r = run1("DequantizeLinear", 13, {RValue(u8({2, 2}, {1, 2, 3, 4})), RValue(f32({2}, {1.0f, -2.0f}))}, 1,
                  {ir::Attribute::make_int("axis", 0)});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("x_scale") != std::string::npos);
    CHECK(r.status().message().find("index 1") != std::string::npos);
  }
  SUBCASE("QuantizeLinear") {
    auto r = run1("QuantizeLinear", 13, {RValue(f32({2}, {1, 2})), RValue(f32({}, {-1.0f}))});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("y_scale") != std::string::npos);
  }
  SUBCASE("QLinearMatMul y_scale") {
    auto r = run1("QLinearMatMul", 10, {a, one, zp, RValue(u8({4, 1}, {1, 1, 1, 1})), one, zp, zero, zp});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("y_scale") != std::string::npos);
  }
  SUBCASE("QLinearConv w_scale") {
    auto r = run1("QLinearConv", 10, {RValue(u8({1, 1, 2, 2}, {1, 2, 3, 4})), one, zp,
                                      RValue(u8({1, 1, 1, 1}, {1})), RValue(f32({}, {std::nanf("")})), zp, one, zp});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("w_scale") != std::string::npos);
  }
  SUBCASE("QLinearAdd (com.microsoft) C_scale") {
    auto r = run1("QLinearAdd", 1, {a, one, zp, a, one, zp, zero, zp}, 1, {}, "n", "com.microsoft");
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("C_scale") != std::string::npos);
  }
  SUBCASE("QLinearConcat (com.microsoft) the second X_scale") {
    auto r = run1("QLinearConcat", 1, {one, zp, a, one, zp, a, RValue(f32({}, {INFINITY})), zp}, 1,
                  {ir::Attribute::make_int("axis", 0)}, "n", "com.microsoft");
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("'in6'") != std::string::npos);
    CHECK(r.status().message().find("X_scale") != std::string::npos);
  }
}

TEST_CASE("quant_scale_inputs lists the scale inputs a node has") {
  Model m;
  Graph& g = *m.graph;
  std::vector<Value*> in;
  for (int i = 0; i < 9; ++i) in.push_back(g.add_value("v" + std::to_string(i)));
  Node* concat = g.add_node("QLinearConcat", "com.microsoft", in, {"y"}, "c");
  std::vector<size_t> idx;
  for (const QuantScaleInput& s : quant_scale_inputs(*concat)) idx.push_back(s.index);
  CHECK(idx == std::vector<size_t>{0, 3, 6});
  Node* relu = g.add_node("Relu", "", {in[0]}, {"r"}, "r");
  CHECK(quant_scale_inputs(*relu).empty());
  Node* other = g.add_node("QLinearAdd", "other.domain", {in[0], in[1]}, {"o"}, "o");
  CHECK(quant_scale_inputs(*other).empty());
}
