// Tests of the op rules not covered by the model-shaped tests: per-channel constants, PRelu,
// InstanceNormalization, Resize sizes, Pad, Squeeze/Unsqueeze, reductions, Gemm's C, even Split,
// depthwise ConvTranspose, Shape readers, subgraph readers and empty weights.
#include "tests/prune/prune_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("per-channel Mul/Add constants, PRelu slopes and InstanceNormalization are sliced with the channels") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.conv("conv", x, 3, 8);
  ir::Value* m = b.node("Mul", {c, b.random_init("scale", {1, 8, 1, 1}, 0.5f, 1.5f)});
  ir::Value* a = b.node("Add", {b.random_init("shift", {8, 1, 1}), m});
  ir::Value* p = b.node("PRelu", {a, b.random_init("slope", {8, 1, 1}, 0.1f, 0.3f)});
  ir::Value* in = b.node("InstanceNormalization", {p, b.random_init("in.s", {8}), b.random_init("in.b", {8})});
  ir::Value* s = b.node("Sub", {in, b.scalar("one", 1.0f)});
  b.output(b.conv("out", s, 8, 2));
  auto r = prune_zeroed(*b.model, 0.5);
  CHECK(layer_report(r, "conv").kept == 4);
  CHECK(passes::constant_tensor(b.g().find_value("slope"))->dims() == std::vector<int64_t>{4, 1, 1});
}

TEST_CASE("Resize with sizes gets the new channel count; Pad leaving the channel axis alone passes") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* r = b.node("Resize", {c, nullptr, nullptr, b.ints("sizes", {1, 8, 16, 16})},
                        {ir::Attribute::make_string("mode", "nearest")});
  ir::Value* p = b.node("Pad", {r, b.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1})});
  b.output(b.conv("out", p, 8, 2));
  prune_zeroed(*b.model, 0.5);
  for (const ir::Node* n : b.g().nodes())
    if (n->op_type() == "Resize") CHECK(*passes::constant_ints(n->input(3)) == std::vector<int64_t>{1, 4, 16, 16});
}

TEST_CASE("ReduceMean over space without keepdims, then Unsqueeze back: squeeze-excite by hand") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* f = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* m = b.node("ReduceMean", {f}, {ints_attr("axes", {2, 3}), int_attr("keepdims", 0)});  // [1, 8]
  ir::Value* h = b.relu(b.gemm("fc1", m, 8, 4));
  ir::Value* e = b.node("Sigmoid", {b.gemm("fc2", h, 4, 8)});
  ir::Value* u = b.node("Unsqueeze", {e, b.ints("axes", {2, 3})});  // [1, 8, 1, 1]
  b.output(b.conv("out", b.node("Mul", {f, u}), 8, 2));
  auto d = analyse(*b.model);
  CHECK(group_of(d, "conv") == group_of(d, "fc2"));
  prune_zeroed(*b.model, 0.5);
}

TEST_CASE("Gemm's C per feature, 2-D, is sliced; an even Split without sizes gets explicit ones") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {2, 6});
  ir::Value* h = b.node("Gemm", {x, b.random_init("w1", {6, 8}), b.random_init("c1", {1, 8})});
  b.last->name = "fc1";
  ir::Value* halves = b.node("Split", {b.relu(h)}, {int_attr("axis", 1)}, 2);
  ir::Node* split = b.last;
  ir::Value* y = b.node("Add", {b.gemm("fa", halves, 4, 3), b.gemm("fb", split->output(1), 4, 3)});
  b.output(y);
  auto r = prune_zeroed(*b.model, 0.5, {0, 1, 4, 5});
  CHECK(layer_report(r, "fc1").kept == 4);
  for (const ir::Node* n : b.g().nodes())
    if (n->op_type() == "Split") CHECK(*passes::constant_ints(n->input(1)) == std::vector<int64_t>{2, 2});
}

TEST_CASE("depthwise ConvTranspose passes channels and follows with its group count") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 4, 4});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 6));
  ir::Value* up = b.node("ConvTranspose", {c, b.random_init("up.w", {6, 1, 2, 2})},
                         {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2}), int_attr("group", 6)});
  b.last->name = "up";
  b.output(b.conv("out", up, 6, 2));
  auto d = analyse(*b.model);
  CHECK(group_of(d, "conv") == group_of(d, "up"));
  prune_zeroed(*b.model, 0.5);
  for (const ir::Node* n : b.g().nodes())
    if (n->name == "up") CHECK(n->attr_int("group", 0) == 3);
}

TEST_CASE("Shape read for the batch size leaves channels free; read for the channel count pins them") {
  for (int64_t index : {0, 1}) {
    PruneBuilder b;
    ir::Value* x = b.input("x", {1, 3, 8, 8});
    ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
    ir::Value* dim = b.node("Gather", {b.node("Shape", {c}), b.ints("i", {index})}, {int_attr("axis", 0)});
    b.output(dim);
    b.output(b.conv("out", c, 8, 2));
    auto d = analyse(*b.model);
    CHECK(d.groups[static_cast<size_t>(group_of(d, "conv"))].whole() == (index == 1));
  }
}

TEST_CASE("a value read inside a subgraph is pinned") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* cond = b.input("cond", {}, DType::Bool);
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* y = b.node("If", {cond});
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sg = std::make_shared<ir::Graph>(&b.g(), b.last);
    ir::Node* n = sg->add_node("Neg", "", {c}, {std::string(branch) + "_out"});
    sg->add_output(n->output(0));
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::Graph;
    a.g = sg;
    b.last->set_attr(a);
  }
  b.output(y);
  auto d = analyse(*b.model);
  const prune::Group& g = d.groups[static_cast<size_t>(group_of(d, "conv"))];
  CHECK(g.whole());
  CHECK(g.pin_reasons.front().find("subgraph") != std::string::npos);
}

TEST_CASE("a layer with an empty weight is left whole, not crashed on (BAD_INPUTS 14)") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* e = b.node("Conv", {c, b.init("empty.w", Tensor(DType::Float, {0, 8, 1, 1}))}, {ints_attr("kernel_shape", {1, 1})});
  b.last->name = "empty";
  b.output(e);
  auto d = analyse(*b.model);
  CHECK(d.find_layer("empty") == nullptr);
  const prune::Group& g = d.groups[static_cast<size_t>(group_of(d, "conv"))];
  CHECK(g.whole());
  CHECK(g.pin_reasons.front().find("empty") != std::string::npos);
}

TEST_CASE("unnamed layers are named by their output") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  for (ir::Node* n : b.g().nodes()) n->name.clear();
  b.output(b.conv("out", c, 8, 2));
  auto d = analyse(*b.model);
  REQUIRE(d.layers.size() == 2);
  CHECK(d.find_layer(d.layers[0].node->output(0)->name()) == &d.layers[0]);
}
