// Tests of fuse_pad_into_conv: spatial zero Pad moves into Conv and AveragePool pads.
#include <cmath>
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
  ir::Value* a = b.node("AveragePool", {p3}, {ints_attr("kernel_shape", {2, 2}), ints_attr("pads", {1, 0, 0, 1})});
  // A pool with ceil_mode: its last window may start in the Pad's end padding (7 -> 4 outputs here, 3 with
  // the pads moved into the pool).
  ir::Value* p4 = b.node("Pad", {a, b.ints("pads4", {0, 0, 0, 2, 0, 0, 0, 2}), b.scalar("ninf", -INFINITY)});
  b.output(b.node("MaxPool", {p4}, {ints_attr("kernel_shape", {1, 2}), ints_attr("strides", {1, 2}),
                                    int_attr("ceil_mode", 1)}));
  auto m = optimize_and_compare(*b.model, {"fuse_pad_into_conv"});
  CHECK(count_ops(*m->graph, "Pad") == 4);
}

TEST_CASE("fuse_pad_into_conv: an AveragePool without pads of its own takes the Pad whatever count_include_pad") {
  // torchvision's Inception: Pad(1) -> AveragePool(3x3, stride 1) with count_include_pad 0 (the default).
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 3, 6, 7});
  ir::Value* p = b.node("Pad", {x, b.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1})});
  b.output(b.node("AveragePool", {p}, {ints_attr("kernel_shape", {3, 3})}));
  auto m = optimize_and_compare(*b.model, {"fuse_pad_into_conv"});
  CHECK(count_ops(*m->graph, "Pad") == 0);
  const ir::Node* pool = nullptr;
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "AveragePool") pool = n;
  REQUIRE(pool);
  CHECK(pool->attr_int("count_include_pad", 0) == 1);
  CHECK(pool->attr_ints("pads") == std::vector<int64_t>{1, 1, 1, 1});
}
