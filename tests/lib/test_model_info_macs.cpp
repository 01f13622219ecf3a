// Tests of lib/model_info's MAC counts for recurrent ops, the reasons it gives for nodes it cannot
// count, and `info --shape` (inspect_model_file with shape arguments).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include "lib/model_info.h"
#include "lib/model_io.h"
#include "tests/passes/pass_test_util.h"

namespace fs = std::filesystem;
using namespace ortool;
using namespace ortool::testing;

namespace {

// X [seq 5, batch 2, input 4] through `op` with hidden size 3, `dirs` directions.
ModelInfo recurrent(const std::string& op, int64_t gates, int64_t dirs) {
  ModelBuilder b(14);
  ir::Value* x = b.input("x", {5, 2, 4});
  ir::Value* w = b.random_init("W", {dirs, gates * 3, 4});
  ir::Value* r = b.random_init("R", {dirs, gates * 3, 3});
  b.node(op, {x, w, r}, {int_attr("hidden_size", 3)}, 2);
  b.output(b.last->output(0));
  b.output(b.last->output(1));
  return summarize_model(*b.model);
}

}  // namespace

TEST_CASE("model_info counts LSTM, GRU and RNN: seq * batch * (W + R) per direction and gate") {
  // 5 steps x 2 sequences, each step gates*H*(input + H) multiply-accumulates per direction.
  CHECK(recurrent("LSTM", 4, 1).macs == 5 * 2 * (4 * 3 * 4 + 4 * 3 * 3));
  CHECK(recurrent("LSTM", 4, 2).macs == 5 * 2 * 2 * (4 * 3 * 4 + 4 * 3 * 3));
  CHECK(recurrent("GRU", 3, 1).macs == 5 * 2 * (3 * 3 * 4 + 3 * 3 * 3));
  CHECK(recurrent("RNN", 1, 2).macs == 5 * 2 * 2 * (3 * 4 + 3 * 3));
  ModelInfo lstm = recurrent("LSTM", 4, 1);
  CHECK(lstm.macs_nodes == 1);
  CHECK(lstm.macs_uncounted.empty());
}

TEST_CASE("model_info says which nodes it could not count and why") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {});
  x->type.shape = Shape{Dim::known(1), Dim::known(4), Dim{}, Dim{}};  // spatial dims unknown
  ir::Value* y = b.node("Conv", {x, b.random_init("w", {2, 4, 3, 3})}, {ints_attr("kernel_shape", {3, 3})});
  y->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(2), Dim{}, Dim{}});
  ir::Value* z = b.node("MatMul", {y, b.random_init("m", {3, 3})});  // z has no type at all
  b.output(b.node("Einsum", {z}, {ir::Attribute::make_string("equation", "ij->ji")}));
  ModelInfo info = summarize_model(*b.model);
  CHECK(info.macs_nodes == 0);
  CHECK(info.macs_unknown_nodes == 3);
  REQUIRE(info.macs_uncounted.size() == 3);
  CHECK(info.macs_uncounted[0].op_type == "Conv");
  CHECK(info.macs_uncounted[0].reason.find("has unknown dims") != std::string::npos);
  CHECK(info.macs_uncounted[0].reason.find("[1,2,?,?]") != std::string::npos);
  CHECK(info.macs_uncounted[1].op_type == "MatMul");
  CHECK(info.macs_uncounted[1].reason.find("is unknown") != std::string::npos);
  CHECK(info.macs_uncounted[2].reason.find("not modeled") != std::string::npos);
}

TEST_CASE("inspect_model_file with --shape counts MACs at the given size") {
  fs::path small = fs::path(ORTOOL_SOURCE_DIR) / "testdata" / "small_convnet.onnx";
  auto one = inspect_model_file(small);
  auto four = inspect_model_file(small, {"batch=4"});
  REQUIRE(one.is_ok());
  REQUIRE_MESSAGE(four.is_ok(), four.status().message());
  CHECK(four->macs == 4 * one->macs);
  CHECK(four->macs_symbols.empty());
  CHECK(four->inputs[0].type == "float32[4,3,32,32]");
  CHECK(four->shapes_bound.dim_bindings.at("batch") == 4);
  auto bad = inspect_model_file(small, {"height=4"});
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("small_convnet.onnx") != std::string::npos);
  CHECK(bad.status().message().find("'height'") != std::string::npos);
}
