// Tests of fuse_relu_clip: chains of Relu and Clip merge into one node.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("fuse_relu_clip merges Relu/Clip chains (opset 13, bounds as inputs)") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {4, 5});
  ir::Value* v = b.node("Relu", {x});
  v = b.node("Clip", {v, b.scalar("lo", -1.0f), b.scalar("hi", 0.5f)});
  v = b.node("Clip", {v, b.scalar("lo2", 0.1f)});
  b.output(v);
  ir::Value* r = b.node("Relu", {b.node("Relu", {x})});
  b.output(r);
  auto m = optimize_and_compare(*b.model, {"fuse_relu_clip"}, true);
  CHECK(count_ops(*m->graph, "Clip") == 1);
  CHECK(count_ops(*m->graph, "Relu") == 1);
}

TEST_CASE("fuse_relu_clip merges with attribute bounds (opset 6)") {
  ModelBuilder b(6);
  ir::Value* x = b.input("x", {4, 5});
  ir::Value* v = b.node("Clip", {x}, {float_attr("min", -0.5f), float_attr("max", 6.0f)});
  v = b.node("Relu", {v});
  b.output(v);
  auto m = optimize_and_compare(*b.model, {"fuse_relu_clip"}, true);
  CHECK(count_ops(*m->graph, "Clip") == 1);
  CHECK(count_ops(*m->graph, "Relu") == 0);
}

TEST_CASE("fuse_relu_clip leaves disjoint ranges") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {3});
  ir::Value* v = b.node("Clip", {x, b.scalar("lo", -3.0f), b.scalar("hi", -1.0f)});
  b.output(b.node("Relu", {v}));
  auto r = run_passes(*b.model, {"fuse_relu_clip"});
  CHECK_FALSE(r.changed);
}
