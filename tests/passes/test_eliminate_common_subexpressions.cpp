// Tests of eliminate_common_subexpressions: identical nodes merge; different attributes do not.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("eliminate_common_subexpressions merges identical nodes") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 4});
  ir::Value* a1 = b.node("Softmax", {x}, {int_attr("axis", 1)});
  ir::Value* a2 = b.node("Softmax", {x}, {int_attr("axis", 1)});
  ir::Value* a3 = b.node("Softmax", {x}, {int_attr("axis", 0)});
  ir::Value* s = b.node("Add", {a1, a2});
  b.output(b.node("Add", {s, a3}));
  auto m = optimize_and_compare(*b.model, {"eliminate_common_subexpressions"});
  CHECK(count_ops(*m->graph, "Softmax") == 2);
}

TEST_CASE("eliminate_common_subexpressions cascades and keeps output names") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* e1 = b.node("Exp", {x});
  ir::Value* e2 = b.node("Exp", {x});
  ir::Value* n1 = b.node("Neg", {e1});
  ir::Value* n2 = b.node("Neg", {e2});
  b.output(n1);
  b.output(n2);
  std::string out2 = n2->name();
  auto m = optimize_and_compare(*b.model, {"eliminate_common_subexpressions"});
  CHECK(count_ops(*m->graph, "Exp") == 1);
  // Two graph outputs cannot share one node output: both Neg stay, reading one Exp.
  CHECK(count_ops(*m->graph, "Neg") == 2);
  CHECK(m->graph->outputs()[1]->name() == out2);
}

TEST_CASE("eliminate_common_subexpressions leaves random ops alone") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* r1 = b.node("RandomUniformLike", {x});
  ir::Value* r2 = b.node("RandomUniformLike", {x});
  b.output(b.node("Sub", {r1, r2}));
  run_passes(*b.model, {"eliminate_common_subexpressions"});
  CHECK(count_ops(b.g(), "RandomUniformLike") == 2);
}
