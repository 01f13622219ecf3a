// Tests of fuse_conv_add and fuse_conv_mul: per-channel Add and Mul after a Conv fold into it.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("fuse_conv_mul and fuse_conv_add fold a decomposed affine") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {1, 3, 5, 5});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3})}, {ints_attr("kernel_shape", {3, 3})});
  ir::Value* m = b.node("Mul", {b.random_init("s", {1, 4, 1, 1}), c});
  ir::Value* a = b.node("Add", {m, b.random_init("t", {4, 1, 1})});
  ir::Value* a2 = b.node("Add", {a, b.scalar("k", 0.25f)});
  b.output(b.node("Relu", {a2}));
  auto out = optimize_and_compare(*b.model, {"fuse_conv_mul", "fuse_conv_add"}, true);
  CHECK(count_ops(*out->graph, "Mul") == 0);
  CHECK(count_ops(*out->graph, "Add") == 0);
  CHECK(count_ops(*out->graph, "Conv") == 1);
}

TEST_CASE("fuse_conv_add leaves adds that are not per channel") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {1, 3, 5, 5});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3})}, {ints_attr("kernel_shape", {3, 3})});
  ir::Value* a = b.node("Add", {c, b.random_init("t", {1, 4, 3, 3})});  // per position
  ir::Value* m = b.node("Mul", {a, b.random_init("s", {2, 4, 1, 1})});   // broadcasts the batch
  b.output(m);
  auto out = optimize_and_compare(*b.model, {"fuse_conv_mul", "fuse_conv_add"}, true);
  CHECK(count_ops(*out->graph, "Add") == 1);
  CHECK(count_ops(*out->graph, "Mul") == 1);
}
