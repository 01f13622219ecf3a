// Tests of share_duplicate_constants: equal initializers become one.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("share_duplicate_constants merges equal initializers only") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* a = b.init("a", Tensor::from_vector<float>(DType::Float, {3}, {1, 2, 3}));
  ir::Value* a2 = b.init("a2", Tensor::from_vector<float>(DType::Float, {3}, {1, 2, 3}));
  ir::Value* c = b.init("c", Tensor::from_vector<float>(DType::Float, {3}, {1, 2, 4}));
  ir::Value* d = b.init("d", Tensor::from_vector<float>(DType::Float, {1, 3}, {1, 2, 3}));
  ir::Value* v = b.node("Add", {x, a});
  v = b.node("Mul", {v, a2});
  v = b.node("Sub", {v, c});
  b.output(b.node("Add", {v, d}));
  auto m = optimize_and_compare(*b.model, {"share_duplicate_constants"});
  CHECK(m->graph->initializers().size() == 3);
  CHECK(m->graph->find_value("a2") == nullptr);
}

TEST_CASE("share_duplicate_constants keeps int8 weights and zero points of Q/DQ nodes one per node in a written model") {
  // Two DequantizeLinear nodes of equal int8 weights and zero points, and two equal float scales.
  ModelBuilder b(13);
  auto dq = [&](const std::string& n) {
    Tensor w(DType::Int8, {2, 2});
    for (int64_t i = 0; i < 4; ++i) w.mutable_data<int8_t>()[i] = static_cast<int8_t>(3 * i - 5);
    return b.node("DequantizeLinear", {b.init(n + "_w", std::move(w)), b.init(n + "_s", Tensor::from_vector<float>(DType::Float, {}, {0.1f})),
                                       b.init(n + "_z", Tensor::from_vector<int8_t>(DType::Int8, {}, {0}))});
  };
  ir::Value* x = b.input("x", {2, 2});
  b.output(b.node("MatMul", {b.node("MatMul", {x, dq("a")}), dq("b")}));
  for (bool in_memory : {false, true}) {
    INFO("in memory: " << in_memory);
    auto m = optimize_and_compare(*b.model, {"share_duplicate_constants"}, false, {1e-5, 1e-4}, in_memory);
    // Written: the scales merge, the int8 weights and zero points do not. In memory everything equal merges.
    CHECK(m->graph->initializers().size() == (in_memory ? 3u : 5u));
  }
}

TEST_CASE("share_duplicate_constants keeps the int8 weights of MatMulInteger nodes one per node in a written model") {
  ModelBuilder b(13);
  auto w = [&](const std::string& n) {
    Tensor t(DType::Int8, {2, 2});
    for (int64_t i = 0; i < 4; ++i) t.mutable_data<int8_t>()[i] = static_cast<int8_t>(2 * i - 3);
    return b.init(n, std::move(t));
  };
  ir::Value* x = b.input("x", {2, 2}, DType::UInt8);
  ir::Value* zx = b.init("zx", Tensor::from_vector<uint8_t>(DType::UInt8, {}, {3}));
  b.output(b.node("MatMulInteger", {x, w("wa"), zx}));
  b.output(b.node("MatMulInteger", {x, w("wb"), zx}));
  for (bool in_memory : {false, true}) {
    INFO("in memory: " << in_memory);
    auto m = optimize_and_compare(*b.model, {"share_duplicate_constants"}, false, {0, 0}, in_memory);
    CHECK(m->graph->initializers().size() == (in_memory ? 2u : 3u));
  }
}
