// Tests of constant_folding: what folds, what must not (graph-input initializers, random ops,
// huge results, graph outputs), and that the numbers stay the same.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("constant_folding evaluates a constant subexpression") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3});
  ir::Value* c1 = b.random_init("c1", {2, 3});
  ir::Value* c2 = b.random_init("c2", {3});
  ir::Value* s = b.node("Add", {c1, c2});
  ir::Value* e = b.node("Exp", {s});
  b.output(b.node("Mul", {x, e}));
  auto m = optimize_and_compare(*b.model, {"constant_folding"}, true);
  CHECK(count_ops(*m->graph, "Add") == 0);
  CHECK(count_ops(*m->graph, "Exp") == 0);
  CHECK(count_ops(*m->graph, "Mul") == 1);
  // The folded value keeps its name.
  CHECK(m->graph->find_value(e->name()) != nullptr);
  CHECK(m->graph->find_value(e->name())->is_constant());
}

TEST_CASE("constant_folding leaves initializers that are graph inputs alone") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* w = b.random_init("w", {3});
  b.g().add_input(w);  // the caller may feed another w
  ir::Value* c = b.random_init("c", {3});
  ir::Value* s = b.node("Add", {w, c});
  b.output(b.node("Mul", {x, s}));
  run_passes(*b.model, {"constant_folding"});
  CHECK(count_ops(b.g(), "Add") == 1);
}

TEST_CASE("constant_folding skips nondeterministic ops and graph outputs") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* c = b.random_init("c", {3});
  ir::Value* r = b.node("RandomNormalLike", {c});
  b.output(b.node("Add", {x, r}));
  ir::Value* neg = b.node("Neg", {c});
  b.output(neg);
  run_passes(*b.model, {"constant_folding"});
  CHECK(count_ops(b.g(), "RandomNormalLike") == 1);
  CHECK(count_ops(b.g(), "Neg") == 1);
}

TEST_CASE("constant_folding never materializes a huge result") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {1});
  ir::Value* shape = b.ints("shape", {1000000, 1000000});
  ir::Value* big = b.node("ConstantOfShape", {shape});
  ir::Value* sum = b.node("ReduceSum", {big}, {int_attr("keepdims", 0)});
  b.output(b.node("Add", {x, sum}));
  auto r = run_passes(*b.model, {"constant_folding"});
  CHECK_FALSE(r.changed);
  CHECK(count_ops(b.g(), "ConstantOfShape") == 1);

  // Below the cap it folds; above a small cap it does not.
  ModelBuilder s;
  ir::Value* y = s.input("y", {4, 4});
  ir::Value* e = s.node("Expand", {s.scalar("one", 1.0f), s.ints("dims", {4, 4})});
  s.output(s.node("Add", {y, e}));
  auto small = clone_model(*s.model);
  run_passes(*small, {"constant_folding"}, false, /*fold_max_bytes=*/32);
  CHECK(count_ops(*small->graph, "Expand") == 1);
  run_passes(*s.model, {"constant_folding"}, false, /*fold_max_bytes=*/64);
  CHECK(count_ops(s.g(), "Expand") == 0);
}

TEST_CASE("constant_folding reads Constant nodes and folds shape arithmetic") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 6});
  ir::Node* k = b.g().add_node("Constant", "", {}, {"k"});
  k->set_attr(ir::Attribute::make_tensor("value", std::make_shared<const Tensor>(
                                                      Tensor::from_vector<int64_t>(DType::Int64, {2}, {3, 4}))));
  ir::Value* shape = b.node("Concat", {b.ints("lead", {1}), k->output(0)}, {int_attr("axis", 0)});
  b.output(b.node("Reshape", {x, shape}));
  auto m = optimize_and_compare(*b.model, {"constant_folding"});
  CHECK(count_ops(*m->graph, "Concat") == 0);
  CHECK(count_ops(*m->graph, "Reshape") == 1);
}
