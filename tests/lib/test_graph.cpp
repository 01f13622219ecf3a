// Unit tests of the graph IR: use lists, edits, topological order, verification, subgraphs.
#include <doctest/doctest.h>

#include "lib/graph.h"

using namespace ortool;
using namespace ortool::ir;

namespace {
// x -> Relu -> a -> Identity -> b -> Add(b, w) -> y
struct Chain {
  Graph g;
  Value *x, *w, *a, *b, *y;
  Node *relu, *id, *add;
  Chain() {
    x = g.add_value("x");
    g.add_input(x);
    w = g.add_initializer("w", std::make_shared<Tensor>(Tensor::scalar_f32(2.0f)));
    relu = g.add_node("Relu", "", {x}, {"a"}, "relu");
    a = relu->output(0);
    id = g.add_node("Identity", "", {a}, {"b"}, "id");
    b = id->output(0);
    add = g.add_node("Add", "", {b, w}, {"y"}, "add");
    y = add->output(0);
    g.add_output(y);
  }
};
}  // namespace

TEST_CASE("use lists follow node creation") {
  Chain c;
  CHECK(c.g.verify().is_ok());
  REQUIRE(c.a->uses().size() == 1);
  CHECK(c.a->uses()[0].node == c.id);
  CHECK(c.b->producer() == c.id);
  CHECK(c.w->is_constant());
  CHECK(c.x->is_graph_input());
  CHECK(c.y->is_graph_output());
  CHECK(c.g.initializers().size() == 1);
}

TEST_CASE("replace_all_uses then remove_node eliminates an Identity") {
  Chain c;
  c.g.replace_all_uses(c.b, c.a);
  CHECK(c.add->input(0) == c.a);
  CHECK(c.a->uses().size() == 2);  // the Identity still reads it
  CHECK_FALSE(c.b->has_uses());
  c.g.remove_node(c.id);
  CHECK(c.g.num_nodes() == 2);
  CHECK(c.g.find_value("b") == nullptr);
  CHECK(c.a->uses().size() == 1);
  CHECK(c.g.verify().is_ok());
}

TEST_CASE("replace_all_uses moves graph outputs") {
  Chain c;
  c.g.replace_all_uses(c.y, c.a);
  CHECK(c.g.outputs()[0] == c.a);
  CHECK(c.a->is_graph_output());
  CHECK_FALSE(c.y->is_graph_output());
}

TEST_CASE("verify catches use before definition and sort fixes it") {
  Chain c;
  c.g.move_before(c.add, c.relu);  // Add now precedes the producer of its input
  CHECK_FALSE(c.g.verify().is_ok());
  CHECK(c.g.sort_topologically().is_ok());
  CHECK(c.g.verify().is_ok());
  auto order = c.g.nodes();
  CHECK(order.front() == c.relu);
  CHECK(order.back() == c.add);
}

TEST_CASE("cycle is reported with a node name") {
  Graph g;
  Value* x = g.add_value("x");
  g.add_input(x);
  Node* n1 = g.add_node("Add", "", {x, nullptr}, {"p"}, "n1");
  Node* n2 = g.add_node("Relu", "", {n1->output(0)}, {"q"}, "n2");
  g.set_input(n1, 1, n2->output(0));
  auto r = g.topological_order();
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("cycle") != std::string::npos);
}

TEST_CASE("unique names avoid enclosing and nested scopes") {
  Chain c;
  CHECK(c.g.unique_name("fresh") == "fresh");
  std::string n = c.g.unique_name("a");
  CHECK(n != "a");
  CHECK(c.g.find_value(n) == nullptr);
  Value* v = c.g.add_value("a");  // taken: renamed
  CHECK(v->name() != "a");
}

TEST_CASE("subgraph reads an outer value; topological order respects it") {
  Graph g;
  Value* cond = g.add_value("cond");
  g.add_input(cond);
  Node* ifn = g.add_node("If", "", {cond}, {"r"}, "if");
  Node* prod = g.add_node("Neg", "", {cond}, {"outer"}, "prod");  // defined after If in list order
  auto body = std::make_shared<Graph>(&g, ifn);
  Node* inner = body->add_node("Identity", "", {prod->output(0)}, {"inner"}, "inner");
  body->add_output(inner->output(0));
  Attribute a;
  a.name = "then_branch";
  a.type = AttrType::Graph;
  a.g = body;
  ifn->set_attr(a);
  CHECK(prod->output(0)->uses().size() == 1);
  CHECK_FALSE(g.verify().is_ok());  // If reads 'outer' before Neg defines it
  CHECK(g.sort_topologically().is_ok());
  CHECK(g.nodes().front() == prod);
  CHECK(g.verify().is_ok());
  CHECK(body->depth() == 1);
  CHECK(body->lookup("cond") == cond);
  // Removing the If node drops the subgraph's use of the outer value.
  g.remove_node(ifn);
  CHECK_FALSE(prod->output(0)->has_uses());
}

TEST_CASE("remove_value keeps values still in use") {
  Chain c;
  c.g.remove_value(c.a);
  CHECK(c.g.find_value("a") == c.a);
  Value* loose = c.g.add_value("loose");
  c.g.remove_value(loose);
  CHECK(c.g.find_value("loose") == nullptr);
}

TEST_CASE("attributes: typed getters with fallbacks") {
  Chain c;
  c.relu->set_attr(Attribute::make_ints("pads", {1, 2}));
  c.relu->set_attr(Attribute::make_int("axis", -1));
  CHECK(c.relu->attr_ints("pads") == std::vector<int64_t>{1, 2});
  CHECK(c.relu->attr_int("axis", 0) == -1);
  CHECK(c.relu->attr_int("missing", 7) == 7);
  CHECK(c.relu->attr_float("axis", 1.5f) == 1.5f);  // wrong kind: fallback
  CHECK(c.relu->remove_attr("axis"));
  CHECK_FALSE(c.relu->has_attr("axis"));
}

TEST_CASE("model opsets treat ai.onnx as the default domain") {
  Model m;
  m.set_opset("", 13);
  m.set_opset("com.microsoft", 1);
  CHECK(m.opset("ai.onnx") == 13);
  CHECK(m.opset("") == 13);
  CHECK(m.opset("com.microsoft") == 1);
  CHECK(m.opset("x") == 0);
}
