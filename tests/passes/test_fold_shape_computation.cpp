// Tests of fold_shape_computation: Shape/Size and reads of known dims become constants.
#include "passes/pass_util.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("fold_shape_computation folds a Shape/Gather/Unsqueeze/Concat chain before Reshape") {
  ModelBuilder b(11);
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* shape = b.node("Shape", {x});
  ir::Value* n = b.node("Gather", {shape, b.init("i0", Tensor::scalar_i64(0))}, {int_attr("axis", 0)});
  ir::Value* u = b.node("Unsqueeze", {n}, {ints_attr("axes", {0})});
  ir::Value* target = b.node("Concat", {u, b.ints("rest", {-1})}, {int_attr("axis", 0)});
  ir::Value* size = b.node("Size", {x});
  ir::Value* y = b.node("Reshape", {x, target});
  b.output(y);
  b.output(b.node("Cast", {size}, {int_attr("to", static_cast<int64_t>(DType::Float))}));
  auto m = optimize_and_compare(*b.model, {"fold_shape_computation", "constant_folding", "eliminate_dead_code"}, true);
  CHECK(count_ops(*m->graph, "Shape") == 0);
  CHECK(count_ops(*m->graph, "Gather") == 0);
  CHECK(count_ops(*m->graph, "Concat") == 0);
  CHECK(count_ops(*m->graph, "Size") == 0);
  CHECK(count_ops(*m->graph, "Reshape") == 1);
}

TEST_CASE("fold_shape_computation leaves Size alone when the declared dims overflow int64") {
  // [2^40, 2^40, 2^40] declared by a (hostile) file: folding multiplied past int64 (UB, found by the dims audit).
  ModelBuilder b(13);
  const int64_t h = int64_t{1} << 40;
  ir::Value* x = b.input("x", {h, h, h});
  b.output(b.node("Size", {x}));
  run_passes(*b.model, {"fold_shape_computation"});
  CHECK(count_ops(b.g(), "Size") == 1);
}

TEST_CASE("fold_shape_computation reads known dims of a partly symbolic shape") {
  ModelBuilder b(13);
  ir::Value* x = b.symbolic_input("x", {-1, 3, 4});
  ir::Value* shape = b.node("Shape", {x});
  ir::Value* batch = b.node("Gather", {shape, b.ints("i0", {0})}, {int_attr("axis", 0)});
  ir::Value* tail = b.node("Slice", {shape, b.ints("s", {1}), b.ints("e", {3})});
  b.output(b.node("Concat", {batch, tail}, {int_attr("axis", 0)}));
  run_passes(*b.model, {"fold_shape_computation"});
  CHECK(count_ops(b.g(), "Shape") == 1);
  CHECK(count_ops(b.g(), "Gather") == 1);  // the batch dim is a symbol
  CHECK(count_ops(b.g(), "Slice") == 0);   // dims 1..2 are known
}

TEST_CASE("fold_shape_computation: Shape -> Cast -> Slice -> Cast -> Concat -> Reshape with a symbolic batch") {
  // As converters from TensorFlow write a flatten; once the target is constant, MatMul + Add becomes Gemm.
  ModelBuilder b(13);
  ir::Value* x = b.symbolic_input("x", {-1, 2, 3, 4});
  ir::Value* r = b.node("Relu", {x});
  ir::Value* s32 = b.node("Cast", {b.node("Shape", {r})}, {int_attr("to", static_cast<int64_t>(DType::Int32))});
  auto i32 = [&](const std::string& n, int32_t v) {
    return b.init(n, Tensor::from_vector(DType::Int32, {1}, std::vector<int32_t>{v}));
  };
  ir::Value* dims = b.node("Slice", {s32, i32("start", 1), i32("end", 4), i32("axes", 0)});
  ir::Value* d64 = b.node("Cast", {dims}, {int_attr("to", static_cast<int64_t>(DType::Int64))});
  ir::Value* feat = b.node("ReduceProd", {d64}, {int_attr("keepdims", 1)});
  ir::Value* target = b.node("Concat", {b.ints("minus_one", {-1}), feat}, {int_attr("axis", 0)});
  ir::Value* flat = b.node("Reshape", {r, target});
  ir::Value* mm = b.node("MatMul", {flat, b.random_init("w", {24, 5})});
  b.output(b.node("Add", {mm, b.random_init("bias", {5})}));
  auto m = optimize_and_compare(*b.model, {"shape_inference", "fold_shape_computation", "constant_folding",
                                           "fuse_matmul_add", "eliminate_dead_code"}, true);
  CHECK(count_ops(*m->graph, "Shape") == 0);
  CHECK(count_ops(*m->graph, "Cast") == 0);
  CHECK(count_ops(*m->graph, "Slice") == 0);
  CHECK(count_ops(*m->graph, "Concat") == 0);
  CHECK(count_ops(*m->graph, "Gemm") == 1);
  CHECK(m->graph->nodes().size() == 3);  // Relu, Reshape, Gemm
}

TEST_CASE("fold_shape_computation: a Reshape copying its own symbolic batch gets a constant target") {
  // x.view(x.size(0), -1) as PyTorch exports it, and the Slice form of Paddle's exporter: the batch
  // becomes 0 (copy), so the Reshape's rank is known and the graph after it can be typed.
  for (bool slice_form : {false, true}) {
    CAPTURE(slice_form);
    ModelBuilder b(13);
    ir::Value* x = b.symbolic_input("x", {-1, 2, 3, 4});
    ir::Value* r = b.node("Relu", {x});
    ir::Value* shape = b.node("Shape", {r});
    ir::Value* batch = nullptr;
    if (slice_form) {
      ir::Value* s32 = b.node("Cast", {shape}, {int_attr("to", static_cast<int64_t>(DType::Int32))});
      ir::Value* sl = b.node("Slice", {s32, b.ints("s", {0}), b.ints("e", {1}), b.ints("a", {0})});
      batch = b.node("Cast", {sl}, {int_attr("to", static_cast<int64_t>(DType::Int64))});
    } else {
      ir::Value* g = b.node("Gather", {shape, b.init("i0", Tensor::scalar_i64(0))}, {int_attr("axis", 0)});
      batch = b.node("Unsqueeze", {g, b.ints("axes", {0})});
    }
    ir::Value* target = b.node("Concat", {batch, b.ints("rest", {-1})}, {int_attr("axis", 0)});
    ir::Value* flat = b.node("Reshape", {r, target});
    b.output(b.node("Softmax", {flat}, {int_attr("axis", 1)}));
    auto m = optimize_and_compare(*b.model, {"shape_inference", "fold_shape_computation", "constant_folding",
                                             "eliminate_dead_code", "shape_inference"}, true);
    CHECK(count_ops(*m->graph, "Shape") == 0);
    CHECK(count_ops(*m->graph, "Concat") == 0);
    const ir::Node* reshape = nullptr;
    for (const ir::Node* n : m->graph->nodes())
      if (n->op_type() == "Reshape") reshape = n;
    REQUIRE(reshape);
    CHECK(passes::constant_ints(reshape->input(1)) == std::vector<int64_t>{0, -1});
    CHECK(passes::value_rank(reshape->output(0)) == 2);
  }
}

TEST_CASE("fold_shape_computation leaves a Reshape whose target moves or invents dims") {
  // Dim 1 of x read into position 0 is not a copy.
  ModelBuilder b(13);
  ir::Value* x = b.symbolic_input("x", {-1, -1, 4});
  ir::Value* shape = b.node("Shape", {x});
  ir::Value* d1 = b.node("Slice", {shape, b.ints("s", {1}), b.ints("e", {2})});
  ir::Value* target = b.node("Concat", {d1, b.ints("rest", {-1})}, {int_attr("axis", 0)});
  b.output(b.node("Reshape", {x, target}));
  run_passes(*b.model, {"shape_inference", "fold_shape_computation"});
  CHECK(count_ops(b.g(), "Concat") == 1);
  CHECK(count_ops(b.g(), "Shape") == 1);
}

TEST_CASE("fold_shape_computation leaves a Reshape whose target reads another value's symbolic dim") {
  ModelBuilder b(13);
  ir::Value* x = b.symbolic_input("x", {-1, 4});
  ir::Value* y = b.symbolic_input("y", {-1, 4});
  ir::Value* batch = b.node("Slice", {b.node("Shape", {y}), b.ints("s", {0}), b.ints("e", {1})});
  ir::Value* target = b.node("Concat", {batch, b.ints("rest", {-1})}, {int_attr("axis", 0)});
  b.output(b.node("Reshape", {x, target}));
  run_passes(*b.model, {"shape_inference", "fold_shape_computation"});
  CHECK(count_ops(b.g(), "Concat") == 1);
}
