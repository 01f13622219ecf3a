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
