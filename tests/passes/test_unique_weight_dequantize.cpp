// Tests of unique_weight_dequantize: a quantized weight's DequantizeLinear read by several nodes is copied per
// reader (same initializer), and eliminate_common_subexpressions does not merge the copies back.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

// x [4, 4] -> MatMul(x, DQ(w)) -> MatMul(., DQ(w)) -> Add(., DQ(w)); DQ(w) a graph output too when `out`.
std::unique_ptr<ir::Model> shared_weight_model(bool out) {
  ModelBuilder b;
  ir::Value* x = b.input("x", {4, 4});
  Tensor w(DType::Int8, {4, 4});
  for (int64_t i = 0; i < w.numel(); ++i) w.mutable_data<int8_t>()[i] = static_cast<int8_t>(i * 7 % 19 - 9);
  ir::Value* wq = b.init("wq", std::move(w));
  ir::Value* ws = b.init("ws", Tensor::from_vector<float>(DType::Float, {}, {0.05f}));
  ir::Value* wz = b.init("wz", Tensor::from_vector<int8_t>(DType::Int8, {}, {0}));
  ir::Value* wf = b.node("DequantizeLinear", {wq, ws, wz});
  ir::Value* y = b.node("MatMul", {x, wf});
  y = b.node("MatMul", {y, wf});
  b.output(b.node("Add", {y, wf}));
  if (out) b.output(wf);
  return std::move(b.model);
}

}  // namespace

TEST_CASE("unique_weight_dequantize gives each reader its own DequantizeLinear (in memory: of the same initializer)") {
  for (bool out : {false, true})
    for (bool in_memory : {true, false}) {
      INFO("DQ output is a graph output: " << out << ", in memory: " << in_memory);
      auto m = optimize_and_compare(*shared_weight_model(out), {"unique_weight_dequantize"}, false, {1e-5, 1e-4}, in_memory);
      CHECK(count_ops(*m->graph, "DequantizeLinear") == 3);
      const ir::Value* wq = m->graph->find_value("wq");
      REQUIRE(wq);
      for (const ir::Node* n : m->graph->nodes())
        if (n->op_type() == "DequantizeLinear") CHECK(n->output(0)->uses().size() <= 1);
      if (in_memory) {
        CHECK(wq->uses().size() == 3);  // no copy of the weight data: all read the one initializer
        CHECK(m->graph->initializers().size() == 3);
      } else {
        // Written: each DQ its own int8 weight and zero point (ONNX Runtime's exact int8 mode rewrites them per
        // node); the float scale stays shared.
        CHECK(wq->uses().size() == 1);
        CHECK(m->graph->initializers().size() == 3 + 2 * 2);
        for (const ir::Node* n : m->graph->nodes())
          if (n->op_type() == "DequantizeLinear") {
            CHECK(n->input(0)->uses().size() == 1);
            CHECK(n->input(2)->uses().size() == 1);
          }
      }
    }
}

TEST_CASE("unique_weight_dequantize and eliminate_common_subexpressions reach a fixpoint with the copies kept") {
  auto m = optimize_and_compare(*shared_weight_model(false), {"eliminate_common_subexpressions", "unique_weight_dequantize"},
                                true, {1e-5, 1e-4}, true);
  CHECK(count_ops(*m->graph, "DequantizeLinear") == 3);
}

TEST_CASE("unique_weight_dequantize leaves an activation's DequantizeLinear shared") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 4}, DType::UInt8);
  ir::Value* s = b.init("s", Tensor::from_vector<float>(DType::Float, {}, {0.1f}));
  ir::Value* z = b.init("z", Tensor::from_vector<uint8_t>(DType::UInt8, {}, {128}));
  ir::Value* xf = b.node("DequantizeLinear", {x, s, z});
  b.output(b.node("Add", {b.node("Relu", {xf}), b.node("Neg", {xf})}));
  auto m = optimize_and_compare(*b.model, {"unique_weight_dequantize"});
  CHECK(count_ops(*m->graph, "DequantizeLinear") == 1);
}
