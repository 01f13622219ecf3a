// Tests of rt::record_types: value types from one run, where onnx's shape inference cannot give them
// (opset 18 and later, ortool's own domain), and on the real models checked against onnx's inference.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/model_io.h"
#include "lib/onnx_shape_inference.h"
#include "runtime/feeds.h"
#include "runtime/record_types.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;
namespace fs = std::filesystem;

namespace {

// x float[N,4,6] -> ReduceMean(axes as an input, opset 18) -> m [N,4] -> ortool's LayerNormalization
// -> ln [N,4] -> ArgMax -> idx int64[N]; Shape(x) -> s int64[3]; ln is declared [?, 4] (partly known).
std::unique_ptr<ir::Model> opset18_model(std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 18);
  m->set_opset(kRuntimeDomain, 1);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(4), Dim::known(6)});
  g.add_input(x);
  ir::Value* axes =
      g.add_initializer("axes", std::make_shared<Tensor>(Tensor::from_vector<int64_t>(DType::Int64, {1}, {2})));
  ir::Node* mean = g.add_node("ReduceMean", "", {x, axes}, {"m"}, "mean");
  mean->set_attr(ir::Attribute::make_int("keepdims", 0));
  ir::Node* ln = g.add_node("LayerNormalization", kRuntimeDomain,
                            {mean->output(0), initializer(g, "gamma", random_tensor({4}, rng)),
                             initializer(g, "beta", random_tensor({4}, rng))},
                            {"ln"}, "ln");
  ln->output(0)->type = Type::tensor(DType::Undefined, Shape{Dim{}, Dim::known(4)});
  g.value_info.push_back(ln->output(0));
  ir::Node* arg = g.add_node("ArgMax", "", {ln->output(0)}, {"idx"}, "argmax");
  arg->set_attr(ir::Attribute::make_int("axis", 1));
  arg->set_attr(ir::Attribute::make_int("keepdims", 0));
  g.add_output(arg->output(0));
  g.add_output(g.add_node("Shape", "", {x}, {"s"}, "shape")->output(0));
  return m;
}

}  // namespace

TEST_CASE("record_types types what onnx's inference cannot: opset 18 ReduceMean, ortool's LayerNormalization") {
  std::mt19937 rng(21);
  auto m = opset18_model(rng);
  ShapeInferenceReport onnx_report;
  REQUIRE(infer_shapes(*m, &onnx_report).is_ok());
  CHECK_FALSE(onnx_report.ran);  // libonnx stops at opset 17: nothing typed
  CHECK(m->graph->find_value("m")->type.kind == Type::Kind::None);

  SUBCASE("a batch of 5 tells N apart: symbolic where the input's N went") {
    auto r = rt::record_types(*m, {{"x", RValue(random_tensor({5, 4, 6}, rng))}});
    INFO(r.status().message());
    REQUIRE(r.is_ok());
    CHECK(r->values_seen == 5);   // x, m, ln, idx, s
    CHECK(r->values_typed == 4);  // all but the input
    const Shape n4{Dim::symbol("N"), Dim::known(4)};
    CHECK(m->graph->find_value("m")->type == Type::tensor(DType::Float, n4));
    CHECK(m->graph->find_value("ln")->type == Type::tensor(DType::Float, n4));  // declared 4 kept, ? filled
    CHECK(m->graph->find_value("idx")->type == Type::tensor(DType::Int64, Shape{Dim::symbol("N")}));
    CHECK(m->graph->find_value("s")->type == Type::tensor(DType::Int64, Shape{Dim::known(3)}));
    // The input keeps its declared type; newly typed values are listed in value_info once.
    CHECK(m->graph->find_value("x")->type.shape->at(0) == Dim::symbol("N"));
    const auto& vi = m->graph->value_info;
    CHECK(std::count(vi.begin(), vi.end(), m->graph->find_value("m")) == 1);
    CHECK(std::count(vi.begin(), vi.end(), m->graph->find_value("ln")) == 1);
    CHECK(std::count(vi.begin(), vi.end(), m->graph->find_value("idx")) == 0);  // a graph output
    // A second recording finds nothing left to type.
    auto again = rt::record_types(*m, {{"x", RValue(random_tensor({5, 4, 6}, rng))}});
    REQUIRE(again.is_ok());
    CHECK(again->values_typed == 0);
  }
  SUBCASE("a batch of 4 cannot be told from the fixed dim 4, nor 1 from any size: numbers then") {
    for (int64_t n : {4, 1}) {
      auto mm = opset18_model(rng);
      REQUIRE(rt::record_types(*mm, {{"x", RValue(random_tensor({n, 4, 6}, rng))}}).is_ok());
      CHECK(mm->graph->find_value("m")->type == Type::tensor(DType::Float, shape_from_dims({n, 4})));
      CHECK(mm->graph->find_value("idx")->type == Type::tensor(DType::Int64, shape_from_dims({n})));
    }
  }
  SUBCASE("bad feeds are the session's error, and the model is left as it was") {
    auto r = rt::record_types(*m, {{"x", RValue(random_tensor({5, 4, 7}, rng))}});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("'x'") != std::string::npos);
    CHECK(m->graph->find_value("m")->type.kind == Type::Kind::None);
  }
}

#ifdef ORTOOL_MODELS_DIR
// On each real model: forget every computed value's type, record them from one run on its reference
// inputs, and compare with what onnx's inference says (these models are of opset <= 11).
TEST_CASE("record_types on the real models agrees with onnx's shape inference") {
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(ORTOOL_MODELS_DIR))
    if (fs::exists(e.path() / "model.onnx")) models.push_back(e.path());
  std::sort(models.begin(), models.end());
  REQUIRE_FALSE(models.empty());
  for (const fs::path& dir : models) {
    INFO(dir.filename().string());
    auto inferred = load_model(dir / "model.onnx");
    auto recorded = load_model(dir / "model.onnx");
    REQUIRE(inferred.is_ok());
    REQUIRE(recorded.is_ok());
    REQUIRE(infer_shapes(**inferred).is_ok());
    ir::Graph& g = *(*recorded)->graph;
    size_t computed = 0;
    for (ir::Value* v : g.values())
      if (v->producer()) {
        v->type = Type{};
        ++computed;
      }
    g.value_info.clear();
    fs::path data;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().find("_set_") != std::string::npos) data = e.path();
    REQUIRE_FALSE(data.empty());
    auto feeds = rt::read_input_dir(g, data);
    REQUIRE(feeds.is_ok());
    auto r = rt::record_types(**recorded, *feeds);
    INFO(r.status().message());
    REQUIRE(r.is_ok());
    CHECK(r->values_typed == computed);
    for (const ir::Value* want : (*inferred)->graph->values()) {
      if (!want->producer() || !want->type.is_tensor()) continue;
      const ir::Value* got = g.find_value(want->name());
      INFO(want->name());
      REQUIRE(got);
      REQUIRE(got->type.is_tensor());
      if (want->type.elem != DType::Undefined) CHECK(got->type.elem == want->type.elem);
      if (!want->type.shape) continue;
      REQUIRE(got->type.shape);
      REQUIRE(got->type.shape->size() == want->type.shape->size());
      for (size_t d = 0; d < want->type.shape->size(); ++d) {
        const Dim &w = (*want->type.shape)[d], &x = (*got->type.shape)[d];
        INFO(fmt::format("dim {}: recorded {}, onnx {}", d, x.to_string(), w.to_string()));
        if (w.is_known()) CHECK(x == w);  // a fixed dim: the same number
        if (w.kind == Dim::Kind::Param && x.kind == Dim::Kind::Param) CHECK(x.param == w.param);  // no other symbol
        CHECK(x.kind != Dim::Kind::Unknown);
      }
    }
  }
}
#endif
