// Tests of build_dependency_graph: the groups found for each kind of channel coupling, and the
// groups left whole (with their reason) where coupling cannot be proven.
#include "tests/prune/prune_test_util.h"

using namespace ortool;
using namespace ortool::testing;

using Names = std::vector<std::string>;

TEST_CASE("residual Add joins the channels of both branches into one group") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* a = b.relu(b.bn("bn1", b.conv("conv1", x, 3, 8), 8));
  ir::Value* c = b.bn("bn2", b.conv("conv2", b.relu(b.conv("mid", a, 8, 4)), 4, 8), 8);
  ir::Value* s = b.relu(b.node("Add", {a, c}));
  b.output(b.conv("head", s, 8, 2));
  auto d = analyse(*b.model);
  CHECK(group_of(d, "conv1") == group_of(d, "conv2"));
  CHECK(layers_of(d, group_of(d, "conv1")) == Names{"conv1", "conv2"});
  CHECK(d.groups[static_cast<size_t>(group_of(d, "conv1"))].units.size() == 8);
  CHECK(d.groups[static_cast<size_t>(group_of(d, "mid"))].units.size() == 4);
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "conv1"))].whole());
  // The head makes a graph output: whole, with the reason.
  const prune::Group& head = d.groups[static_cast<size_t>(group_of(d, "head"))];
  CHECK(head.whole());
  CHECK(head.pin_reasons.front().find("graph output") != std::string::npos);
}

TEST_CASE("Concat keeps its inputs' groups apart and the next layer reads both") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* p = b.conv("a", x, 3, 4);
  ir::Value* q = b.conv("b", x, 3, 6);
  ir::Value* cat = b.node("Concat", {p, q}, {int_attr("axis", 1)});
  b.output(b.conv("c", b.relu(cat), 10, 5));
  auto d = analyse(*b.model);
  CHECK(group_of(d, "a") != group_of(d, "b"));
  CHECK(d.groups[static_cast<size_t>(group_of(d, "a"))].units.size() == 4);
  CHECK(d.groups[static_cast<size_t>(group_of(d, "b"))].units.size() == 6);
  // c's weight is sliced along its input axis with the concatenated channels.
  bool found = false;
  for (const auto& s : d.slices)
    if (s.node->name == "c" && s.role == prune::SliceRole::kInWeight) found = s.atoms.size() == 10;
  CHECK(found);
}

TEST_CASE("depthwise convolution passes its input's channels through; grouped ties channels across groups") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* e = b.relu(b.conv("expand", x, 3, 8, 1));
  ir::Value* dw = b.relu(b.conv("dw", e, 8, 8, 3, 8));
  ir::Value* g = b.conv("grouped", dw, 8, 6, 3, 2);
  b.output(b.conv("project", b.relu(g), 6, 4, 1));
  auto d = analyse(*b.model);
  CHECK(group_of(d, "expand") == group_of(d, "dw"));
  CHECK(layers_of(d, group_of(d, "expand")) == Names{"dw", "expand"});
  // The grouped conv (2 groups of 4 inputs) ties input j with input 4 + j: 4 units of 2 channels.
  CHECK(d.groups[static_cast<size_t>(group_of(d, "expand"))].units.size() == 4);
  // Its outputs (2 groups of 3) likewise: 3 units.
  CHECK(d.groups[static_cast<size_t>(group_of(d, "grouped"))].units.size() == 3);
}

TEST_CASE("channel shuffle (Reshape-Transpose-Reshape) ties the columns of the shuffle grid") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* p = b.relu(b.conv("left", x, 3, 4, 1));
  ir::Value* q = b.relu(b.conv("right", x, 3, 4, 1));
  ir::Value* cat = b.node("Concat", {p, q}, {int_attr("axis", 1)});
  ir::Value* r1 = b.node("Reshape", {cat, b.ints("s1", {1, 2, 4, 8, 8})});
  ir::Value* t = b.node("Transpose", {r1}, {ints_attr("perm", {0, 2, 1, 3, 4})});
  ir::Value* r2 = b.node("Reshape", {t, b.ints("s2", {1, 8, 8, 8})});
  ir::Value* halves = b.node("Split", {r2, b.ints("sizes", {4, 4})}, {int_attr("axis", 1)}, 2);
  ir::Node* split = b.last;
  ir::Value* u = b.conv("u", halves, 4, 4, 1);
  ir::Value* v = b.conv("v", split->output(1), 4, 4, 1);
  b.output(b.conv("out", b.node("Concat", {u, v}, {int_attr("axis", 1)}), 8, 2, 1));
  auto d = analyse(*b.model);
  // Column j of the 2 x 4 grid is (left j, right j): one unit, so left and right are one group of 4.
  CHECK(group_of(d, "left") == group_of(d, "right"));
  CHECK(d.groups[static_cast<size_t>(group_of(d, "left"))].units.size() == 4);
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "left"))].whole());
  // Each Split output must keep a channel.
  CHECK(d.nonempty.size() == 2);
}

TEST_CASE("Flatten into Gemm: a channel is a block of features") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 4, 4});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 6));
  ir::Value* f = b.node("Flatten", {c}, {int_attr("axis", 1)});
  ir::Value* h = b.relu(b.gemm("fc1", f, 96, 10));
  b.output(b.gemm("fc2", h, 10, 3));
  auto d = analyse(*b.model);
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "conv"))].whole());
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "fc1"))].whole());
  CHECK(d.groups[static_cast<size_t>(group_of(d, "fc2"))].whole());
  bool blocks = false;
  for (const auto& s : d.slices)
    if (s.node->name == "fc1" && s.role == prune::SliceRole::kInWeight) blocks = s.block == 16 && s.axis == 1;
  CHECK(blocks);
}

TEST_CASE("Reshape to [N, C*H*W] before Gemm is a Flatten; a Reshape splitting channels pins them") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 4, 4});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 6));
  ir::Value* f = b.node("Reshape", {c, b.ints("shape", {1, 96})});
  b.output(b.gemm("fc", f, 96, 3));
  auto d = analyse(*b.model);
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "conv"))].whole());

  PruneBuilder s;
  ir::Value* y = s.input("x", {1, 3, 4, 4});
  ir::Value* k = s.conv("conv", y, 3, 6);
  ir::Value* r = s.node("Reshape", {k, s.ints("shape", {1, 2, 3, 16})});
  s.output(s.node("Relu", {r}));
  auto e = analyse(*s.model);
  const prune::Group& g = e.groups[static_cast<size_t>(group_of(e, "conv"))];
  CHECK(g.whole());
  CHECK(g.pin_reasons.front().find("splits the channel axis") != std::string::npos);
}

TEST_CASE("MatMul pair: the hidden dimension of a feed-forward block is a group") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 5, 8});
  ir::Value* h = b.relu(b.node("Add", {b.matmul("up", x, 8, 16), b.random_init("up.b", {16})}));
  ir::Value* y = b.node("Add", {b.matmul("down", h, 16, 8), b.random_init("down.b", {8})});
  b.output(b.node("Add", {x, y}));
  auto d = analyse(*b.model);
  const prune::Group& up = d.groups[static_cast<size_t>(group_of(d, "up"))];
  CHECK(up.units.size() == 16);
  CHECK_FALSE(up.whole());
  // down's channels meet the graph input x in the residual Add: pinned.
  CHECK(d.groups[static_cast<size_t>(group_of(d, "down"))].whole());
}

TEST_CASE("squeeze-excite: the excitation's channels join the features it scales") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* f = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* s = b.node("GlobalAveragePool", {f});
  ir::Value* e = b.node("Sigmoid", {b.conv("expand", b.relu(b.conv("squeeze", s, 8, 2, 1)), 2, 8, 1)});
  b.output(b.conv("out", b.node("Mul", {f, e}), 8, 4));
  auto d = analyse(*b.model);
  CHECK(group_of(d, "conv") == group_of(d, "expand"));
  CHECK(group_of(d, "squeeze") != group_of(d, "conv"));
}

TEST_CASE("an op without a rule pins the channels it reads, and the group is named with the reason") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.conv("conv", x, 3, 8);
  ir::Value* l = b.node("LRN", {c}, {int_attr("size", 3)});
  b.output(b.conv("out", l, 8, 2));
  auto d = analyse(*b.model);
  const prune::Group& g = d.groups[static_cast<size_t>(group_of(d, "conv"))];
  CHECK(g.whole());
  CHECK(g.pin_reasons.front().find("LRN") != std::string::npos);
  CHECK(g.pin_reasons.front().find("no rule") != std::string::npos);
}

TEST_CASE("Softmax over channels pins them; over another axis passes them") {
  for (int64_t axis : {1, 3}) {
    PruneBuilder b;
    ir::Value* x = b.input("x", {1, 3, 8, 8});
    ir::Value* c = b.conv("conv", x, 3, 8);
    ir::Value* s = b.node("Softmax", {c}, {int_attr("axis", axis)});
    b.output(b.conv("out", s, 8, 2));
    auto d = analyse(*b.model);
    CHECK(d.groups[static_cast<size_t>(group_of(d, "conv"))].whole() == (axis == 1));
  }
}

TEST_CASE("pass-through ops: pooling, Resize, Pad, Slice and Split on other axes, Transpose") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* p = b.node("MaxPool", {c}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  ir::Value* r = b.node("Resize", {p, nullptr, b.init("scales", Tensor::from_vector(DType::Float, {4}, std::vector<float>{1, 1, 2, 2}))},
                        {ir::Attribute::make_string("mode", "nearest")});
  ir::Value* pad = b.node("Pad", {r, b.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1})});
  ir::Value* sl = b.node("Slice", {pad, b.ints("st", {1}), b.ints("en", {9}), b.ints("ax", {2})});
  ir::Value* t = b.node("Transpose", {sl}, {ints_attr("perm", {0, 2, 3, 1})});
  ir::Value* back = b.node("Transpose", {t}, {ints_attr("perm", {0, 3, 1, 2})});
  b.output(b.conv("out", back, 8, 2));
  auto d = analyse(*b.model);
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "conv"))].whole());
}

TEST_CASE("Slice on the channel axis keeps a range that a plan may not empty") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* sl = b.node("Slice", {c, b.ints("st", {2}), b.ints("en", {6}), b.ints("ax", {1})});
  b.output(b.conv("out", sl, 4, 2));
  auto d = analyse(*b.model);
  CHECK_FALSE(d.groups[static_cast<size_t>(group_of(d, "conv"))].whole());
  CHECK(d.nonempty.size() == 1);
  CHECK(d.nonempty[0].size() == 4);
}
