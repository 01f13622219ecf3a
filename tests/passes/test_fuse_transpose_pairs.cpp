// Tests of fuse_transpose_pairs: cancelling and merging consecutive Transposes.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("fuse_transpose_pairs cancels inverse permutations") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* r = b.node("Relu", {x});
  ir::Value* t1 = b.node("Transpose", {r}, {ints_attr("perm", {1, 2, 0})});
  ir::Value* t2 = b.node("Transpose", {t1}, {ints_attr("perm", {2, 0, 1})});
  b.output(b.node("Exp", {t2}));
  auto m = optimize_and_compare(*b.model, {"fuse_transpose_pairs"});
  CHECK(count_ops(*m->graph, "Transpose") == 0);
}

TEST_CASE("fuse_transpose_pairs merges into one Transpose") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* t1 = b.node("Transpose", {x}, {ints_attr("perm", {1, 0, 2})});
  ir::Value* t2 = b.node("Transpose", {t1}, {ints_attr("perm", {0, 2, 1})});
  b.output(t2);
  auto m = optimize_and_compare(*b.model, {"fuse_transpose_pairs"});
  CHECK(count_ops(*m->graph, "Transpose") == 1);
  CHECK(m->graph->outputs()[0]->name() == t2->name());
}
