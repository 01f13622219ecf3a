// Tests of eliminate_noop: every kind of no-op goes, near misses stay, numbers agree.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("eliminate_noop removes Cast, Reshape, Expand, Transpose, Slice, Pad and Concat no-ops") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* v = b.node("Relu", {x});
  v = b.node("Cast", {v}, {int_attr("to", static_cast<int64_t>(DType::Float))});
  v = b.node("Reshape", {v, b.ints("same", {2, -1, 4})});
  v = b.node("Reshape", {v, b.ints("zeros", {0, 0, 4})});
  v = b.node("Expand", {v, b.ints("ones", {1, 4})});
  v = b.node("Transpose", {v}, {ints_attr("perm", {0, 1, 2})});
  v = b.node("Slice", {v, b.ints("st", {0, 0}), b.ints("en", {INT64_MAX, 3}), b.ints("ax", {0, 1})});
  v = b.node("Pad", {v, b.ints("pads", {0, 0, 0, 0, 0, 0})});
  v = b.node("Concat", {v}, {int_attr("axis", 0)});
  b.output(b.node("Exp", {v}));
  auto m = optimize_and_compare(*b.model, {"shape_inference", "eliminate_noop"}, true);
  CHECK(m->graph->num_nodes() == 2);
}

TEST_CASE("eliminate_noop keeps ops that change something") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3});
  ir::Value* v = b.node("Cast", {x}, {int_attr("to", static_cast<int64_t>(DType::Double))});
  v = b.node("Cast", {v}, {int_attr("to", static_cast<int64_t>(DType::Float))});
  v = b.node("Reshape", {v, b.ints("flat", {3, 2})});
  v = b.node("Expand", {v, b.ints("grow", {2, 3, 2})});
  v = b.node("Transpose", {v}, {ints_attr("perm", {0, 2, 1})});
  v = b.node("Slice", {v, b.ints("st", {1}), b.ints("en", {INT64_MAX}), b.ints("ax", {1})});
  b.output(v);
  auto m = optimize_and_compare(*b.model, {"shape_inference", "eliminate_noop"}, true);
  CHECK(m->graph->num_nodes() == 6);
}

TEST_CASE("eliminate_noop cancels Squeeze/Unsqueeze pairs and collapses Reshape chains") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3});
  ir::Value* v = b.node("Unsqueeze", {x, b.ints("a1", {1})});
  v = b.node("Squeeze", {v, b.ints("a2", {-2})});
  v = b.node("Relu", {v});
  v = b.node("Reshape", {v, b.ints("s1", {6})});
  v = b.node("Reshape", {v, b.ints("s2", {3, 2})});
  v = b.node("Reshape", {v, b.ints("s3", {1, 6})});
  b.output(v);
  auto m = optimize_and_compare(*b.model, {"eliminate_noop", "eliminate_dead_code"}, true);
  CHECK(count_ops(*m->graph, "Squeeze") == 0);
  CHECK(count_ops(*m->graph, "Unsqueeze") == 0);
  CHECK(count_ops(*m->graph, "Reshape") == 1);
}

TEST_CASE("eliminate_noop handles symbolic dims") {
  ModelBuilder b(13);
  ir::Value* x = b.symbolic_input("x", {-1, 3});
  ir::Value* v = b.node("Reshape", {x, b.ints("s", {-1, 3})});
  v = b.node("Expand", {v, b.ints("e", {1, 3})});
  v = b.node("Expand", {v, b.ints("e2", {2, 3})});  // may broadcast the symbolic dim: kept
  b.output(v);
  run_passes(*b.model, {"eliminate_noop"}, true);
  CHECK(count_ops(b.g(), "Reshape") == 0);
  CHECK(count_ops(b.g(), "Expand") == 1);
}
