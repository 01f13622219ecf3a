// Tests of fuse_pad_into_conv: spatial zero Pad moves into Conv and AveragePool pads.
#include <limits>

#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("fuse_pad_into_conv moves a spatial zero Pad into Conv and AveragePool") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 5, 5});
  ir::Value* p = b.node("Pad", {x, b.ints("pads", {0, 0, 1, 2, 0, 0, 2, 1})});
  ir::Value* c = b.node("Conv", {p, b.random_init("w", {3, 2, 3, 3})},
                        {ints_attr("kernel_shape", {3, 3}), ints_attr("pads", {1, 0, 0, 1})});
  ir::Value* p2 = b.node("Pad", {c, b.ints("pads2", {0, 0, 1, 1, 0, 0, 1, 1}), b.scalar("zero", 0.0f)});
  ir::Value* a = b.node("AveragePool", {p2}, {ints_attr("kernel_shape", {2, 2}), int_attr("count_include_pad", 1)});
  b.output(a);
  auto m = optimize_and_compare(*b.model, {"fuse_pad_into_conv"});
  CHECK(count_ops(*m->graph, "Pad") == 0);
}

TEST_CASE("fuse_pad_into_conv leaves pads that change the result") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 5, 5});
  // Padding channels, a non-zero value, and AveragePool excluding pads: all kept.
  ir::Value* p = b.node("Pad", {x, b.ints("pads", {0, 1, 0, 0, 0, 0, 0, 0})});
  ir::Value* c = b.node("Conv", {p, b.random_init("w", {3, 3, 1, 1})}, {ints_attr("kernel_shape", {1, 1})});
  ir::Value* p2 = b.node("Pad", {c, b.ints("pads2", {0, 0, 1, 1, 0, 0, 1, 1}), b.scalar("one", 1.0f)});
  ir::Value* c2 = b.node("Conv", {p2, b.random_init("w2", {3, 3, 1, 1})}, {ints_attr("kernel_shape", {1, 1})});
  ir::Value* p3 = b.node("Pad", {c2, b.ints("pads3", {0, 0, 1, 1, 0, 0, 1, 1})});
  b.output(b.node("AveragePool", {p3}, {ints_attr("kernel_shape", {2, 2})}));
  auto m = optimize_and_compare(*b.model, {"fuse_pad_into_conv"});
  CHECK(count_ops(*m->graph, "Pad") == 3);
}
