// Tests of the pass registry and manager: listing, pipelines, fixpoint, rewrite cap, IR dumps,
// verification after each pass, and recursion into subgraphs.
#include <algorithm>

#include "passes/ir_printer.h"
#include "passes/pass_registry.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("the registry is sorted, every pass has a description, pipelines name known passes") {
  auto list = passes::list_passes();
  REQUIRE(list.size() >= 18);
  for (size_t i = 1; i < list.size(); ++i) CHECK(list[i - 1].name < list[i].name);
  for (const auto& p : list) {
    CHECK_FALSE(p.description.empty());
    auto made = passes::create_pass(p.name);
    REQUIRE(made != nullptr);
    CHECK(made->name() == p.name);
  }
  for (const char* level : {"basic", "extended"}) {
    auto names = passes::pipeline_passes(level);
    REQUIRE(names.is_ok());
    for (const auto& n : *names) CHECK(passes::create_pass(n) != nullptr);
  }
  CHECK_FALSE(passes::pipeline_passes("turbo").is_ok());
  passes::PassManager pm;
  CHECK_FALSE(pm.add("no_such_pass").is_ok());
}

namespace {
// x -> Identity -> Identity -> ... -> Relu
std::unique_ptr<ir::Model> identity_chain(int n) {
  ModelBuilder b;
  ir::Value* v = b.input("x", {2});
  for (int i = 0; i < n; ++i) v = b.node("Identity", {v});
  b.output(b.node("Relu", {v}));
  return std::move(b.model);
}
}  // namespace

TEST_CASE("the rewrite cap stops after exactly N rewrites") {
  auto m = identity_chain(5);
  passes::PassManagerOptions o;
  o.max_rewrites = 3;
  passes::PassManager pm(o);
  REQUIRE(pm.add("eliminate_identity").is_ok());
  auto r = pm.run(*m, {});
  REQUIRE(r.is_ok());
  CHECK(r->rewrite_cap_reached);
  CHECK(r->rewrites == 3);
  CHECK(count_ops(*m->graph, "Identity") == 2);
  CHECK(m->graph->verify().is_ok());
}

TEST_CASE("a fixpoint run reports convergence and a second run changes nothing") {
  auto m = identity_chain(3);
  auto r = run_passes(*m, {"eliminate_identity", "eliminate_dead_code"}, true);
  CHECK(r.converged);
  CHECK(r.changed);
  auto again = run_passes(*m, {"eliminate_identity", "eliminate_dead_code"}, true);
  CHECK_FALSE(again.changed);
  CHECK(again.iterations == 1);
}

TEST_CASE("print-ir-after dumps the IR of the named pass") {
  auto m = identity_chain(1);
  std::string dump;
  passes::PassManagerOptions o;
  o.print_ir_after = "eliminate_identity";
  o.print = [&](const std::string& s) { dump += s; };
  passes::PassManager pm(o);
  REQUIRE(pm.add("eliminate_identity").is_ok());
  REQUIRE(pm.add("eliminate_dead_code").is_ok());
  REQUIRE(pm.run(*m, {}).is_ok());
  CHECK(dump.find("// IR after eliminate_identity") != std::string::npos);
  CHECK(dump.find("= Relu(x)") != std::string::npos);
  CHECK(dump.find("after eliminate_dead_code") == std::string::npos);
}

namespace {
// A pass that breaks the IR, to see --verify-each catch it.
class BreakingPass final : public passes::Pass {
 public:
  std::string_view name() const override { return "breaking"; }
  std::string_view description() const override { return "moves the last node first"; }
  Result<bool> run(ir::Model&, ir::Graph& g, const passes::PassContext&) override {
    auto nodes = g.nodes();
    g.move_before(nodes.back(), nodes.front());
    return true;
  }
};
}  // namespace

TEST_CASE("verify-each names the pass that broke the IR") {
  auto m = identity_chain(2);
  passes::PassManagerOptions o;
  o.verify_each = true;
  passes::PassManager pm(o);
  pm.add(std::make_unique<BreakingPass>());
  auto r = pm.run(*m, {});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("breaking") != std::string::npos);
}

TEST_CASE("passes run inside If branches too") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* cond = b.input("cond", {}, DType::Bool);
  ir::Value* y = b.node("If", {cond});
  ir::Node* if_node = b.last;
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sg = std::make_shared<ir::Graph>(&b.g(), if_node);
    ir::Node* id = sg->add_node("Identity", "", {x}, {std::string(branch) + "_id"});
    ir::Node* neg = sg->add_node("Neg", "", {id->output(0)}, {std::string(branch) + "_out"});
    sg->add_output(neg->output(0));
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::Graph;
    a.g = sg;
    if_node->set_attr(a);
  }
  b.output(y);
  auto m = optimize_and_compare(*b.model, {"eliminate_identity"});
  for (ir::Graph* sg : m->graph->nodes()[0]->subgraphs()) CHECK(count_ops(*sg, "Identity") == 0);
}

TEST_CASE("print_graph writes one line per node") {
  auto m = identity_chain(1);
  std::string text = passes::print_graph(*m->graph);
  CHECK(text.find("graph main (x: float32[2])") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
}
