// Tests of lib/input_shapes: --shape resolved against a model's inputs, and the dims made-up data gets.
#include <doctest/doctest.h>

#include "lib/input_shapes.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

// x [batch, 3, H, W], mask [batch, 7], weight w (initializer, also a graph input).
std::unique_ptr<ir::Model> two_inputs() {
  ModelBuilder b;
  ir::Value* x = b.input("x", {});
  x->type.shape = Shape{Dim::symbol("batch"), Dim::known(3), Dim::symbol("H"), Dim::symbol("W")};
  ir::Value* m = b.input("mask", {});
  m->type.shape = Shape{Dim::symbol("batch"), Dim::known(7)};
  ir::Value* w = b.random_init("w", {3});
  b.g().add_input(w);
  b.output(b.node("Identity", {x}));
  b.output(b.node("Identity", {m}));
  return std::move(b.model);
}

std::string error_of(const ir::Graph& g, std::vector<std::string> args) {
  auto r = resolve_shape_args(g, args);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kInvalid);
  return r.status().message();
}

}  // namespace

TEST_CASE("resolve_shape_args binds inputs and symbols") {
  auto m = two_inputs();
  auto r = resolve_shape_args(*m->graph, {"x=2,3,64,48", "mask=2,7"});
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(r->input_shapes.at("x") == std::vector<int64_t>{2, 3, 64, 48});
  CHECK(r->dim_bindings == std::map<std::string, int64_t>{{"batch", 2}, {"H", 64}, {"W", 48}});
  auto s = resolve_shape_args(*m->graph, {"H=10", "batch=4"});
  REQUIRE(s.is_ok());
  CHECK(s->input_shapes.empty());
  CHECK(s->dim_bindings == std::map<std::string, int64_t>{{"H", 10}, {"batch", 4}});
}

TEST_CASE("resolve_shape_args refuses a --shape that binds nothing or contradicts the model") {
  auto m = two_inputs();
  const ir::Graph& g = *m->graph;
  std::string e = error_of(g, {"nosuch=3"});
  CHECK(e.find("'nosuch'") != std::string::npos);
  CHECK(e.find("inputs: x, mask") != std::string::npos);
  CHECK(e.find("symbolic dims: batch, H, W") != std::string::npos);
  CHECK(error_of(g, {"x=1,3"}).find("rank 4") != std::string::npos);
  CHECK(error_of(g, {"x=1,4,8,8"}).find("fixed to 3") != std::string::npos);
  CHECK(error_of(g, {"batch=1,2"}).find("one number") != std::string::npos);
  CHECK(error_of(g, {"w=3"}).find("initializer") != std::string::npos);
  CHECK(error_of(g, {"batch=2", "x=1,3,8,8"}).find("already 2") != std::string::npos);
  CHECK(error_of(g, {"x=1,3,8,8", "mask=2,7"}).find("'batch' is already 1") != std::string::npos);
  CHECK(error_of(g, {"x=1,3,-8,8"}).find("not a dimension") != std::string::npos);
}

TEST_CASE("concrete_input_dims names every dim it had to default") {
  auto m = two_inputs();
  const ir::Value& x = *m->graph->find_value("x");
  std::vector<std::string> defaulted;
  CHECK(concrete_input_dims(x, {}, &defaulted) == std::vector<int64_t>{1, 3, 1, 1});
  CHECK(defaulted == std::vector<std::string>{"batch", "H", "W"});

  defaulted.clear();
  ShapeBindings b;
  b.dim_bindings = {{"H", 32}, {"W", 16}};
  CHECK(concrete_input_dims(x, b, &defaulted) == std::vector<int64_t>{1, 3, 32, 16});
  CHECK(defaulted == std::vector<std::string>{"batch"});

  defaulted.clear();
  b.input_shapes["x"] = {2, 3, 4, 5};
  CHECK(concrete_input_dims(x, b, &defaulted) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(defaulted.empty());

  // An unnamed dim is named by input and position; no shape at all makes a scalar, and says so.
  ir::Value* y = m->graph->add_value("y");
  y->type = Type::tensor(DType::Float, Shape{Dim{}, Dim::known(2)});
  defaulted.clear();
  CHECK(concrete_input_dims(*y, {}, &defaulted) == std::vector<int64_t>{1, 2});
  CHECK(defaulted == std::vector<std::string>{"y[0]"});
  y->type.shape.reset();
  defaulted.clear();
  CHECK(concrete_input_dims(*y, {}, &defaulted).empty());
  CHECK(defaulted == std::vector<std::string>{"y: rank unknown"});
}

TEST_CASE("random_inputs uses the same concrete dims") {
  auto m = two_inputs();
  auto feeds = rt::random_inputs(*m->graph, 0, {}, {{"H", 5}});
  REQUIRE(feeds.is_ok());
  CHECK(feeds->at("x").tensor.dims() == std::vector<int64_t>{1, 3, 5, 1});
  CHECK(feeds->count("w") == 0);
}

TEST_CASE("resolve_shape_args with allow_unknown records names the model lacks instead of failing") {
  auto m = two_inputs();
  auto r = resolve_shape_args(*m->graph, {"batch=2", "seq=5"}, /*allow_unknown=*/true);
  REQUIRE(r.is_ok());
  CHECK(r->dim_bindings == std::map<std::string, int64_t>{{"batch", 2}});
  REQUIRE(r->unmatched.size() == 1);
  CHECK(r->unmatched[0].find("'seq'") != std::string::npos);
  // Contradictions are errors all the same.
  CHECK_FALSE(resolve_shape_args(*m->graph, {"x=1,3"}, true).is_ok());
}
