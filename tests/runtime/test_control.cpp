// Unit tests of the control kernels: If, Loop, Scan, sequence and optional ops.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"

using namespace ortool;

namespace {

Tensor f32(std::vector<int64_t> dims, std::vector<float> v) {
  return Tensor::from_vector(DType::Float, std::move(dims), v);
}
Tensor i64(std::vector<int64_t> dims, std::vector<int64_t> v) {
  return Tensor::from_vector(DType::Int64, std::move(dims), v);
}
Tensor boolean(bool b) {
  Tensor t(DType::Bool, {});
  t.mutable_data<bool>()[0] = b;
  return t;
}
std::vector<float> floats(const Tensor& t) {
  REQUIRE(t.dtype() == DType::Float);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// A model under construction: graph inputs by name, nodes added with the graph's own functions.
struct Builder {
  ir::Model model;
  ir::Graph& g = *model.graph;
  explicit Builder(int64_t opset) { model.set_opset("", opset); }
  ir::Value* input(ir::Graph& graph, const std::string& name) {
    ir::Value* v = graph.add_value(name);
    graph.add_input(v);
    return v;
  }
  ir::Value* constant(ir::Graph& graph, const std::string& name, Tensor t) {
    return graph.add_initializer(name, std::make_shared<Tensor>(std::move(t)));
  }
  // A subgraph owned by `owner`'s attribute `attr`.
  ir::Graph& sub(ir::Node* owner, const std::string& attr) {
    auto sg = std::make_shared<ir::Graph>(owner->graph(), owner);
    sg->name = attr;
    ir::Attribute a;
    a.name = attr;
    a.type = ir::AttrType::Graph;
    a.g = sg;
    owner->set_attr(a);
    return *sg;
  }
  Result<std::vector<RValue>> run(const std::map<std::string, RValue>& feeds) {
    auto s = rt::Session::create(model);
    if (!s.is_ok()) return s.status();
    return (*s)->run(feeds);
  }
};

// Runs one node (no subgraphs) on the given inputs.
Result<std::vector<RValue>> run1(const std::string& op, int64_t opset, std::vector<RValue> inputs, size_t outputs = 1,
                                 std::vector<ir::Attribute> attrs = {}) {
  static std::vector<std::unique_ptr<ir::Model>> keep;  // nodes must outlive the call
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", opset);
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ir::Value* v = m->graph->add_value("in" + std::to_string(i));
    m->graph->add_input(v);
    ins.push_back(v);
  }
  std::vector<std::string> outs;
  for (size_t i = 0; i < outputs; ++i) outs.push_back("out" + std::to_string(i));
  ir::Node* n = m->graph->add_node(op, "", ins, outs, "n");
  for (auto& a : attrs) n->set_attr(a);
  auto r = rt::run_node(*n, *m, std::move(inputs));
  keep.push_back(std::move(m));
  return r;
}

RValue seq(std::vector<Tensor> items) {
  DType dt = items.empty() ? DType::Float : items[0].dtype();
  return RValue::seq(std::move(items), dt);
}

}  // namespace

// ------------------------------------------------------------------------------------------ If

TEST_CASE("If runs the branch the condition picks, reading outer-scope values") {
  Builder b(13);
  ir::Value* cond = b.input(b.g, "cond");
  ir::Value* x = b.input(b.g, "x");
  ir::Node* n = b.g.add_node("If", "", {cond}, {"y"}, "if");
  b.g.add_output(n->output(0));
  ir::Graph& then_g = b.sub(n, "then_branch");
  ir::Node* add = then_g.add_node("Add", "", {x, x}, {"twice"});
  then_g.add_output(add->output(0));
  ir::Graph& else_g = b.sub(n, "else_branch");
  ir::Node* id = else_g.add_node("Identity", "", {x}, {"same"});
  else_g.add_output(id->output(0));

  auto t = b.run({{"cond", boolean(true)}, {"x", f32({2}, {1, 2})}});
  REQUIRE(t.is_ok());
  CHECK(floats((*t)[0].tensor) == std::vector<float>{2, 4});
  auto e = b.run({{"cond", boolean(false)}, {"x", f32({2}, {1, 2})}});
  REQUIRE(e.is_ok());
  CHECK(floats((*e)[0].tensor) == std::vector<float>{1, 2});
  // A condition with more than one element is refused.
  auto bad = b.run({{"cond", RValue(Tensor(DType::Bool, {2}))}, {"x", f32({2}, {1, 2})}});
  CHECK_FALSE(bad.is_ok());
}

// If nodes nested `depth` levels deep ('if_1' outermost); the innermost branch passes x on or, with
// `failing`, adds a [3] tensor to x [2] (an error at run time).
struct NestedIfs {
  Builder b{13};
  explicit NestedIfs(int depth, bool failing) {
    ir::Value* cond = b.input(b.g, "cond");
    ir::Value* x = b.input(b.g, "x");
    ir::Graph* g = &b.g;
    ir::Node* outer = nullptr;
    for (int level = 1; level <= depth; ++level) {
      ir::Node* n = g->add_node("If", "", {cond}, {"o" + std::to_string(level)}, "if_" + std::to_string(level));
      g->add_output(n->output(0));
      if (!outer) outer = n;
      ir::Graph& else_g = b.sub(n, "else_branch");
      else_g.add_output(else_g.add_node("Identity", "", {x}, {"e" + std::to_string(level)})->output(0));
      g = &b.sub(n, "then_branch");
    }
    ir::Node* leaf = failing ? g->add_node("Add", "", {x, b.constant(b.g, "three", f32({3}, {1, 2, 3}))}, {"leaf"}, "leaf")
                             : g->add_node("Identity", "", {x}, {"leaf"}, "leaf");
    g->add_output(leaf->output(0));
  }
  Result<std::vector<RValue>> run(int max_depth) {
    rt::SessionOptions o;
    o.max_subgraph_depth = max_depth;
    auto s = rt::Session::create(b.model, o);
    if (!s.is_ok()) return s.status();
    return (*s)->run({{"cond", boolean(true)}, {"x", f32({2}, {1, 2})}});
  }
};

TEST_CASE("Subgraphs nested past SessionOptions::max_subgraph_depth are refused, naming the first and last levels") {
  NestedIfs five(5, false);
  REQUIRE(five.run(5).is_ok());
  REQUIRE(five.run(0).is_ok());  // no limit
  auto r = five.run(3);
  REQUIRE_FALSE(r.is_ok());
  const std::string& msg = r.status().message();
  CHECK(msg == "node 'if_1' (If): subgraphs nested deeper than 3 levels at run time (level 4: node 'if_4' (If))");
  CHECK(r.status().code() == StatusCode::kResourceLimit);
}

TEST_CASE("An error deep inside nested subgraphs names the outermost and the failing node only") {
  // A breadcrumb per level would make one line of kilobytes from 60 levels.
  NestedIfs deep(60, true);
  auto r = deep.run(64);
  REQUIRE_FALSE(r.is_ok());
  const std::string& msg = r.status().message();
  CHECK(msg.find("node 'if_1' (If)") == 0);
  CHECK(msg.find("'leaf'") != std::string::npos);
  CHECK(msg.find("if_2") == std::string::npos);
  CHECK(msg.size() < 300);
}

TEST_CASE("If forwards sequences and empty optionals") {
  Builder b(16);
  ir::Value* cond = b.input(b.g, "cond");
  ir::Value* x = b.input(b.g, "x");
  ir::Node* n = b.g.add_node("If", "", {cond}, {"y"}, "if");
  b.g.add_output(n->output(0));
  ir::Graph& then_g = b.sub(n, "then_branch");
  then_g.add_output(then_g.add_node("SequenceConstruct", "", {x, x}, {"s"})->output(0));
  ir::Graph& else_g = b.sub(n, "else_branch");
  else_g.add_output(else_g.add_node("Optional", "", {}, {"none"})->output(0));

  auto t = b.run({{"cond", boolean(true)}, {"x", f32({1}, {5})}});
  REQUIRE(t.is_ok());
  REQUIRE((*t)[0].is_sequence());
  CHECK((*t)[0].sequence.size() == 2);
  auto e = b.run({{"cond", boolean(false)}, {"x", f32({1}, {5})}});
  REQUIRE(e.is_ok());
  CHECK((*e)[0].is_none());
}

TEST_CASE("If refuses branches whose output count differs from the node's") {
  Builder b(13);
  ir::Value* cond = b.input(b.g, "cond");
  ir::Value* x = b.input(b.g, "x");
  ir::Node* n = b.g.add_node("If", "", {cond}, {"y"}, "if");
  b.g.add_output(n->output(0));
  ir::Graph& then_g = b.sub(n, "then_branch");
  then_g.add_output(then_g.add_node("Identity", "", {x}, {"a"})->output(0));
  ir::Graph& else_g = b.sub(n, "else_branch");
  ir::Value* e1 = else_g.add_node("Identity", "", {x}, {"b"})->output(0);
  else_g.add_output(e1);
  else_g.add_output(e1);
  auto r = b.run({{"cond", boolean(true)}, {"x", f32({1}, {5})}});
  CHECK_FALSE(r.is_ok());
}

// ------------------------------------------------------------------------------------------ Loop

namespace {
// y_final, ys = Loop(M, cond, y0) with body: y = y + x (outer), scan output y, cond = i < limit (outer).
struct AccumulateLoop {
  Builder b{13};
  AccumulateLoop(bool with_m, bool with_cond) {
    ir::Value* m = with_m ? b.input(b.g, "M") : nullptr;
    ir::Value* cond = with_cond ? b.input(b.g, "cond") : nullptr;
    ir::Value* y0 = b.input(b.g, "y0");
    ir::Value* x = b.input(b.g, "x");
    ir::Value* limit = b.input(b.g, "limit");
    ir::Node* loop = b.g.add_node("Loop", "", {m, cond, y0}, {"y_final", "ys"}, "loop");
    b.g.add_output(loop->output(0));
    b.g.add_output(loop->output(1));
    ir::Graph& body = b.sub(loop, "body");
    ir::Value* i = b.input(body, "i");
    b.input(body, "cond_in");
    ir::Value* y = b.input(body, "y_in");
    ir::Value* keep_going = body.add_node("Less", "", {i, limit}, {"cond_out"})->output(0);
    ir::Value* y_out = body.add_node("Add", "", {y, x}, {"y_out"})->output(0);
    ir::Value* scan = body.add_node("Identity", "", {y_out}, {"scan"})->output(0);
    body.add_output(keep_going);
    body.add_output(y_out);
    body.add_output(scan);
    scan->type = Type::tensor(DType::Float, shape_from_dims({2}));
  }
};
}  // namespace

TEST_CASE("Loop with a trip count carries values and stacks scan outputs") {
  AccumulateLoop l(true, true);
  auto r = l.b.run({{"M", i64({}, {3})},
                    {"cond", boolean(true)},
                    {"y0", f32({2}, {0, 10})},
                    {"x", f32({2}, {1, 2})},
                    {"limit", i64({}, {100})}});
  REQUIRE(r.is_ok());
  CHECK(floats((*r)[0].tensor) == std::vector<float>{3, 16});
  CHECK((*r)[1].tensor.dims() == std::vector<int64_t>{3, 2});
  CHECK(floats((*r)[1].tensor) == std::vector<float>{1, 12, 2, 14, 3, 16});
}

TEST_CASE("Loop stops when the body's condition turns false") {
  AccumulateLoop l(false, true);
  // Iterations 0, 1, 2 run; iteration 2 yields cond = (2 < 2) = false.
  auto r =
      l.b.run({{"cond", boolean(true)}, {"y0", f32({2}, {0, 0})}, {"x", f32({2}, {1, 1})}, {"limit", i64({}, {2})}});
  REQUIRE(r.is_ok());
  CHECK(floats((*r)[0].tensor) == std::vector<float>{3, 3});
  CHECK((*r)[1].tensor.dims() == std::vector<int64_t>{3, 2});
}

TEST_CASE("Loop with zero iterations returns the initial values and empty scan outputs") {
  AccumulateLoop l(true, true);
  auto r = l.b.run({{"M", i64({}, {0})},
                    {"cond", boolean(true)},
                    {"y0", f32({2}, {7, 8})},
                    {"x", f32({2}, {1, 2})},
                    {"limit", i64({}, {100})}});
  REQUIRE(r.is_ok());
  CHECK(floats((*r)[0].tensor) == std::vector<float>{7, 8});
  CHECK((*r)[1].tensor.dims() == std::vector<int64_t>{0, 2});
  // A false initial condition also runs nothing.
  auto f = l.b.run({{"M", i64({}, {5})},
                    {"cond", boolean(false)},
                    {"y0", f32({2}, {7, 8})},
                    {"x", f32({2}, {1, 2})},
                    {"limit", i64({}, {100})}});
  REQUIRE(f.is_ok());
  CHECK(floats((*f)[0].tensor) == std::vector<float>{7, 8});
}

TEST_CASE("Loop refuses a trip count that is not an integer scalar") {
  AccumulateLoop l(true, true);
  auto r = l.b.run({{"M", f32({}, {3})},
                    {"cond", boolean(true)},
                    {"y0", f32({2}, {0, 0})},
                    {"x", f32({2}, {1, 1})},
                    {"limit", i64({}, {100})}});
  CHECK_FALSE(r.is_ok());
}

TEST_CASE("Loop refuses scan outputs whose shape changes between iterations") {
  Builder b(13);
  ir::Value* m = b.input(b.g, "M");
  ir::Node* loop = b.g.add_node("Loop", "", {m, nullptr}, {"ys"}, "loop");
  b.g.add_output(loop->output(0));
  ir::Graph& body = b.sub(loop, "body");
  ir::Value* i = b.input(body, "i");
  ir::Value* c = b.input(body, "c");
  ir::Value* one = b.constant(body, "one", i64({}, {1}));
  ir::Value* n = body.add_node("Add", "", {i, one}, {"n"})->output(0);
  ir::Value* shape = body.add_node("Unsqueeze", "", {n, b.constant(body, "axes", i64({1}, {0}))}, {"shape"})->output(0);
  ir::Value* grow = body.add_node("ConstantOfShape", "", {shape}, {"grow"})->output(0);
  body.add_output(c);
  body.add_output(grow);
  auto r = b.run({{"M", i64({}, {3})}});
  CHECK_FALSE(r.is_ok());
}

TEST_CASE("Loop carries a sequence") {
  Builder b(13);
  ir::Value* m = b.input(b.g, "M");
  ir::Value* s0 = b.input(b.g, "s0");
  ir::Node* loop = b.g.add_node("Loop", "", {m, nullptr, s0}, {"s"}, "loop");
  b.g.add_output(loop->output(0));
  ir::Graph& body = b.sub(loop, "body");
  ir::Value* i = b.input(body, "i");
  ir::Value* c = b.input(body, "c");
  ir::Value* s = b.input(body, "s_in");
  ir::Value* s_out = body.add_node("SequenceInsert", "", {s, i}, {"s_out"})->output(0);
  body.add_output(c);
  body.add_output(s_out);
  auto r = b.run({{"M", i64({}, {4})}, {"s0", RValue::seq({}, DType::Int64)}});
  REQUIRE(r.is_ok());
  REQUIRE((*r)[0].is_sequence());
  REQUIRE((*r)[0].sequence.size() == 4);
  for (int64_t k = 0; k < 4; ++k) CHECK((*r)[0].sequence[static_cast<size_t>(k)].get_int64(0) == k);
}

// ------------------------------------------------------------------------------------------ Scan

TEST_CASE("Scan 9 sums along an axis, reversed input and reversed output") {
  // state s (shape [2]), scan input x [2, 3] along axis 1, read backwards; scan output written backwards
  // along output axis 1: ys[:, k] = running sum, so ys holds the reverse running sums in forward order.
  Builder b(11);
  ir::Value* s0 = b.input(b.g, "s0");
  ir::Value* x = b.input(b.g, "x");
  ir::Node* scan = b.g.add_node("Scan", "", {s0, x}, {"s", "ys"}, "scan");
  scan->set_attr(ir::Attribute::make_int("num_scan_inputs", 1));
  scan->set_attr(ir::Attribute::make_ints("scan_input_axes", {1}));
  scan->set_attr(ir::Attribute::make_ints("scan_input_directions", {1}));
  scan->set_attr(ir::Attribute::make_ints("scan_output_axes", {-1}));
  scan->set_attr(ir::Attribute::make_ints("scan_output_directions", {1}));
  b.g.add_output(scan->output(0));
  b.g.add_output(scan->output(1));
  ir::Graph& body = b.sub(scan, "body");
  ir::Value* s = b.input(body, "s_in");
  ir::Value* xi = b.input(body, "x_i");
  ir::Value* sum = body.add_node("Add", "", {s, xi}, {"sum"})->output(0);
  ir::Value* out = body.add_node("Identity", "", {sum}, {"out"})->output(0);
  body.add_output(sum);
  body.add_output(out);
  auto r = b.run({{"s0", f32({2}, {0, 0})}, {"x", f32({2, 3}, {1, 2, 3, 10, 20, 30})}});
  REQUIRE(r.is_ok());
  CHECK(floats((*r)[0].tensor) == std::vector<float>{6, 60});
  CHECK((*r)[1].tensor.dims() == std::vector<int64_t>{2, 3});
  // Iterations see x[:, 2], x[:, 1], x[:, 0]: sums 3, 5, 6 land at positions 2, 1, 0.
  CHECK(floats((*r)[1].tensor) == std::vector<float>{6, 5, 3, 60, 50, 30});
}

TEST_CASE("Scan 9 refuses scan inputs of different lengths and bad axes") {
  Builder b(11);
  ir::Value* x = b.input(b.g, "x");
  ir::Value* z = b.input(b.g, "z");
  ir::Node* scan = b.g.add_node("Scan", "", {x, z}, {"ys"}, "scan");
  scan->set_attr(ir::Attribute::make_int("num_scan_inputs", 2));
  b.g.add_output(scan->output(0));
  ir::Graph& body = b.sub(scan, "body");
  ir::Value* xi = b.input(body, "x_i");
  ir::Value* zi = b.input(body, "z_i");
  body.add_output(body.add_node("Add", "", {xi, zi}, {"sum"})->output(0));
  auto ok = b.run({{"x", f32({2}, {1, 2})}, {"z", f32({2}, {3, 4})}});
  REQUIRE(ok.is_ok());
  CHECK(floats((*ok)[0].tensor) == std::vector<float>{4, 6});
  CHECK_FALSE(b.run({{"x", f32({2}, {1, 2})}, {"z", f32({3}, {3, 4, 5})}}).is_ok());
  scan->set_attr(ir::Attribute::make_ints("scan_input_axes", {1, 0}));
  CHECK_FALSE(b.run({{"x", f32({2}, {1, 2})}, {"z", f32({2}, {3, 4})}}).is_ok());
}

TEST_CASE("Scan 8 scans each batch entry up to its sequence length, padding with zeros") {
  Builder b(8);
  ir::Value* lens = b.input(b.g, "lens");
  ir::Value* s0 = b.input(b.g, "s0");
  ir::Value* x = b.input(b.g, "x");
  ir::Node* scan = b.g.add_node("Scan", "", {lens, s0, x}, {"s", "ys"}, "scan");
  scan->set_attr(ir::Attribute::make_int("num_scan_inputs", 1));
  b.g.add_output(scan->output(0));
  b.g.add_output(scan->output(1));
  ir::Graph& body = b.sub(scan, "body");
  ir::Value* s = b.input(body, "s_in");
  ir::Value* xi = b.input(body, "x_i");
  ir::Value* sum = body.add_node("Add", "", {s, xi}, {"sum"})->output(0);
  body.add_output(sum);
  body.add_output(body.add_node("Identity", "", {sum}, {"out"})->output(0));
  // batch 2, sequence 3, element [1]; batch 1 stops after 2 steps.
  auto r =
      b.run({{"lens", i64({2}, {3, 2})}, {"s0", f32({2, 1}, {0, 100})}, {"x", f32({2, 3, 1}, {1, 2, 3, 10, 20, 30})}});
  REQUIRE(r.is_ok());
  CHECK(floats((*r)[0].tensor) == std::vector<float>{6, 130});
  CHECK((*r)[1].tensor.dims() == std::vector<int64_t>{2, 3, 1});
  CHECK(floats((*r)[1].tensor) == std::vector<float>{1, 3, 6, 110, 130, 0});
  CHECK_FALSE(
      b.run({{"lens", i64({2}, {3, 4})}, {"s0", f32({2, 1}, {0, 100})}, {"x", f32({2, 3, 1}, {1, 2, 3, 10, 20, 30})}})
          .is_ok());
}

// ------------------------------------------------------------------------------------------ sequences

TEST_CASE("SequenceConstruct, Insert, At, Erase, Length") {
  Tensor a = f32({1}, {1}), b2 = f32({2}, {2, 3}), c = f32({1}, {4});
  auto s = run1("SequenceConstruct", 11, {a, b2});
  REQUIRE(s.is_ok());
  RValue sq = (*s)[0];
  REQUIRE(sq.is_sequence());
  CHECK(sq.sequence.size() == 2);

  auto ins = run1("SequenceInsert", 11, {sq, c, i64({}, {-2})});  // before element 0
  REQUIRE(ins.is_ok());
  REQUIRE((*ins)[0].sequence.size() == 3);
  CHECK(floats((*ins)[0].sequence[0]) == std::vector<float>{4});
  auto back = run1("SequenceInsert", 11, {sq, c});  // appended
  REQUIRE(back.is_ok());
  CHECK(floats((*back)[0].sequence[2]) == std::vector<float>{4});
  CHECK_FALSE(run1("SequenceInsert", 11, {sq, c, i64({}, {3})}).is_ok());
  CHECK_FALSE(run1("SequenceInsert", 11, {sq, i64({1}, {1})}).is_ok());  // element type differs

  auto at = run1("SequenceAt", 11, {sq, Tensor::from_vector(DType::Int32, {}, std::vector<int32_t>{-1})});
  REQUIRE(at.is_ok());
  CHECK(floats((*at)[0].tensor) == std::vector<float>{2, 3});
  auto at_err = run1("SequenceAt", 11, {sq, i64({}, {2})});
  REQUIRE_FALSE(at_err.is_ok());
  CHECK(at_err.status().message() ==
        "node 'n' (SequenceAt): position 2 is out of range [-2, 1] for a sequence of 2 tensors");
  CHECK_FALSE(run1("SequenceAt", 11, {sq, i64({}, {-3})}).is_ok());

  auto er = run1("SequenceErase", 11, {sq});
  REQUIRE(er.is_ok());
  REQUIRE((*er)[0].sequence.size() == 1);
  CHECK(floats((*er)[0].sequence[0]) == std::vector<float>{1});
  auto er0 = run1("SequenceErase", 11, {sq, i64({}, {0})});
  REQUIRE(er0.is_ok());
  CHECK(floats((*er0)[0].sequence[0]) == std::vector<float>{2, 3});
  CHECK_FALSE(run1("SequenceErase", 11, {seq({})}).is_ok());

  auto len = run1("SequenceLength", 11, {sq});
  REQUIRE(len.is_ok());
  CHECK((*len)[0].tensor.dtype() == DType::Int64);
  CHECK((*len)[0].tensor.get_int64(0) == 2);
  CHECK_FALSE(run1("SequenceLength", 11, {a}).is_ok());  // not a sequence
}

TEST_CASE("SequenceEmpty makes an empty sequence of the dtype attribute") {
  auto e = run1("SequenceEmpty", 11, {}, 1, {ir::Attribute::make_int("dtype", static_cast<int64_t>(DType::Int32))});
  REQUIRE(e.is_ok());
  REQUIRE((*e)[0].is_sequence());
  CHECK((*e)[0].sequence.empty());
  CHECK((*e)[0].sequence_elem == DType::Int32);
  auto d = run1("SequenceEmpty", 11, {});
  REQUIRE(d.is_ok());
  CHECK((*d)[0].sequence_elem == DType::Float);
}

TEST_CASE("SplitToSequence: default unit chunks, keepdims, scalar and list splits") {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto unit = run1("SplitToSequence", 11, {x}, 1, {ir::Attribute::make_int("axis", 1)});
  REQUIRE(unit.is_ok());
  REQUIRE((*unit)[0].sequence.size() == 3);
  CHECK((*unit)[0].sequence[1].dims() == std::vector<int64_t>{2, 1});
  CHECK(floats((*unit)[0].sequence[1]) == std::vector<float>{2, 5});
  auto squeezed = run1("SplitToSequence", 11, {x}, 1,
                       {ir::Attribute::make_int("axis", -1), ir::Attribute::make_int("keepdims", 0)});
  REQUIRE(squeezed.is_ok());
  CHECK((*squeezed)[0].sequence[2].dims() == std::vector<int64_t>{2});
  CHECK(floats((*squeezed)[0].sequence[2]) == std::vector<float>{3, 6});
  auto scalar = run1("SplitToSequence", 11, {x, i64({}, {2})}, 1, {ir::Attribute::make_int("axis", 1)});
  REQUIRE(scalar.is_ok());
  REQUIRE((*scalar)[0].sequence.size() == 2);
  CHECK(floats((*scalar)[0].sequence[0]) == std::vector<float>{1, 2, 4, 5});
  CHECK(floats((*scalar)[0].sequence[1]) == std::vector<float>{3, 6});
  auto list = run1("SplitToSequence", 11, {x, i64({2}, {1, 1})});
  REQUIRE(list.is_ok());
  CHECK(floats((*list)[0].sequence[1]) == std::vector<float>{4, 5, 6});
  CHECK_FALSE(run1("SplitToSequence", 11, {x, i64({2}, {1, 2})}).is_ok());  // sums to 3, axis has 2
  CHECK_FALSE(run1("SplitToSequence", 11, {x, i64({}, {0})}).is_ok());
  CHECK_FALSE(run1("SplitToSequence", 11, {x}, 1, {ir::Attribute::make_int("axis", 2)}).is_ok());
}

TEST_CASE("ConcatFromSequence concatenates or stacks") {
  RValue s = seq({f32({1, 2}, {1, 2}), f32({1, 2}, {3, 4})});
  auto cat = run1("ConcatFromSequence", 11, {s}, 1, {ir::Attribute::make_int("axis", 1)});
  REQUIRE(cat.is_ok());
  CHECK((*cat)[0].tensor.dims() == std::vector<int64_t>{1, 4});
  CHECK(floats((*cat)[0].tensor) == std::vector<float>{1, 2, 3, 4});
  auto stack = run1("ConcatFromSequence", 11, {s}, 1,
                    {ir::Attribute::make_int("axis", -1), ir::Attribute::make_int("new_axis", 1)});
  REQUIRE(stack.is_ok());
  CHECK((*stack)[0].tensor.dims() == std::vector<int64_t>{1, 2, 2});
  CHECK(floats((*stack)[0].tensor) == std::vector<float>{1, 3, 2, 4});
  CHECK_FALSE(run1("ConcatFromSequence", 11, {s}, 1, {ir::Attribute::make_int("axis", 2)}).is_ok());
  RValue mismatched = seq({f32({1, 2}, {1, 2}), f32({1, 3}, {3, 4, 5})});
  CHECK_FALSE(run1("ConcatFromSequence", 11, {mismatched}, 1, {ir::Attribute::make_int("axis", 0)}).is_ok());
  CHECK(run1("ConcatFromSequence", 11, {mismatched}, 1, {ir::Attribute::make_int("axis", 1)}).is_ok());
  CHECK_FALSE(run1("ConcatFromSequence", 11, {s}).is_ok());  // axis is required
}

TEST_CASE("Sequence ops move string tensors") {
  Tensor s(DType::String, {2});
  s.mutable_strings() = {"a", "bc"};
  auto split = run1("SplitToSequence", 11, {s});
  REQUIRE(split.is_ok());
  REQUIRE((*split)[0].sequence.size() == 2);
  CHECK((*split)[0].sequence[1].strings()[0] == "bc");
  auto cat = run1("ConcatFromSequence", 11, {(*split)[0]}, 1, {ir::Attribute::make_int("axis", 0)});
  REQUIRE(cat.is_ok());
  CHECK((*cat)[0].tensor.strings() == std::vector<std::string>{"a", "bc"});
}

TEST_CASE("SequenceMap maps sequences element-wise and broadcasts tensors") {
  Builder b(17);
  ir::Value* xs = b.input(b.g, "xs");
  ir::Value* ys = b.input(b.g, "ys");
  ir::Value* t = b.input(b.g, "t");
  ir::Node* map = b.g.add_node("SequenceMap", "", {xs, ys, t}, {"sums", "shapes"}, "map");
  b.g.add_output(map->output(0));
  b.g.add_output(map->output(1));
  ir::Graph& body = b.sub(map, "body");
  ir::Value* x = b.input(body, "x");
  ir::Value* y = b.input(body, "y");
  ir::Value* tt = b.input(body, "tt");
  ir::Value* xy = body.add_node("Add", "", {x, y}, {"xy"})->output(0);
  body.add_output(body.add_node("Add", "", {xy, tt}, {"sum"})->output(0));
  body.add_output(body.add_node("Shape", "", {x}, {"shape"})->output(0));
  auto r = b.run({{"xs", seq({f32({1}, {1}), f32({2}, {2, 3})})},
                  {"ys", seq({f32({1}, {10}), f32({2}, {20, 30})})},
                  {"t", f32({1}, {100})}});
  REQUIRE(r.is_ok());
  REQUIRE((*r)[0].sequence.size() == 2);
  CHECK(floats((*r)[0].sequence[1]) == std::vector<float>{122, 133});
  CHECK((*r)[1].sequence[1].get_int64(0) == 2);
  CHECK((*r)[1].sequence_elem == DType::Int64);
  // Sequences of different lengths are refused.
  CHECK_FALSE(
      b.run({{"xs", seq({f32({1}, {1})})}, {"ys", seq({f32({1}, {1}), f32({1}, {2})})}, {"t", f32({1}, {0})}}).is_ok());
}

// ------------------------------------------------------------------------------------------ optionals

TEST_CASE("Optional, OptionalHasElement, OptionalGetElement") {
  auto some = run1("Optional", 15, {f32({1}, {3})});
  REQUIRE(some.is_ok());
  CHECK((*some)[0].is_tensor());
  auto none = run1("Optional", 15, {});
  REQUIRE(none.is_ok());
  CHECK((*none)[0].is_none());

  auto has = run1("OptionalHasElement", 15, {(*some)[0]});
  REQUIRE(has.is_ok());
  CHECK((*has)[0].tensor.data<bool>()[0]);
  auto has_not = run1("OptionalHasElement", 15, {RValue()});
  REQUIRE(has_not.is_ok());
  CHECK_FALSE((*has_not)[0].tensor.data<bool>()[0]);
  auto has_seq = run1("OptionalHasElement", 15, {seq({})});
  REQUIRE(has_seq.is_ok());
  CHECK((*has_seq)[0].tensor.data<bool>()[0]);

  auto get = run1("OptionalGetElement", 15, {seq({f32({1}, {1})})});
  REQUIRE(get.is_ok());
  CHECK((*get)[0].is_sequence());
  CHECK_FALSE(run1("OptionalGetElement", 15, {RValue()}).is_ok());
}
