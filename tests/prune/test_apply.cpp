// Tests of applying plans: the structure after pruning (weights, shapes, attributes, value types) and
// the strong numeric check: channels whose weights are exactly zero prune away with every output
// unchanged, for each kind of coupling.
#include "tests/prune/prune_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

const Tensor& weight_of(const ir::Graph& g, const std::string& node, size_t input = 1) {
  for (const ir::Node* n : g.nodes())
    if (n->name == node) return *passes::constant_tensor(n->input(input));
  FAIL("no node " << node);
  static Tensor none;
  return none;
}

using Dims = std::vector<int64_t>;

// resnet basic block: conv-bn-relu-conv-bn + identity, relu; then a downsampling block.
void resnet_blocks(PruneBuilder& b) {
  ir::Value* x = b.input("x", {1, 3, 16, 16});
  ir::Value* stem = b.relu(b.bn("bn0", b.conv("stem", x, 3, 8), 8));
  ir::Value* y = b.relu(b.bn("bn1", b.conv("b1.conv1", stem, 8, 8), 8));
  y = b.bn("bn2", b.conv("b1.conv2", y, 8, 8), 8);
  ir::Value* s = b.relu(b.node("Add", {y, stem}));
  ir::Value* z = b.relu(b.bn("bn3", b.conv("b2.conv1", s, 8, 16), 16));
  z = b.bn("bn4", b.conv("b2.conv2", z, 16, 16), 16);
  ir::Value* down = b.bn("bn5", b.conv("b2.down", s, 8, 16, 1), 16);
  ir::Value* t = b.relu(b.node("Add", {z, down}));
  ir::Value* f = b.node("Flatten", {b.node("GlobalAveragePool", {t})});
  b.output(b.gemm("fc", f, 16, 10));
}

// MobileNetV2 inverted residual: expand 1x1, depthwise 3x3, project 1x1, residual.
void inverted_residual(PruneBuilder& b) {
  ir::Value* x = b.input("x", {1, 3, 16, 16});
  ir::Value* stem = b.node("Clip", {b.bn("bn0", b.conv("stem", x, 3, 8), 8), b.scalar("lo", 0), b.scalar("hi", 6)});
  ir::Value* e = b.node("Clip", {b.bn("bn1", b.conv("expand", stem, 8, 24, 1), 24), b.scalar("lo2", 0), b.scalar("hi2", 6)});
  ir::Value* dw = b.node("Clip", {b.bn("bn2", b.conv("dw", e, 24, 24, 3, 24), 24), b.scalar("lo3", 0), b.scalar("hi3", 6)});
  ir::Value* p = b.bn("bn3", b.conv("project", dw, 24, 8, 1), 8);
  ir::Value* r = b.node("Add", {p, stem});
  b.output(b.conv("head", r, 8, 4, 1));
}

// ShuffleNetV2 unit: split, one branch through 1x1-dw-1x1, concat, channel shuffle; twice.
ir::Value* shuffle_unit(PruneBuilder& b, ir::Value* x, int64_t c, const std::string& p) {
  ir::Value* halves = b.node("Split", {x, b.ints(p + "sizes", {c / 2, c / 2})}, {int_attr("axis", 1)}, 2);
  ir::Node* split = b.last;
  ir::Value* y = b.relu(b.bn(p + "bn1", b.conv(p + "pw1", split->output(1), c / 2, c / 2, 1), c / 2));
  y = b.bn(p + "bn2", b.conv(p + "dw", y, c / 2, c / 2, 3, c / 2), c / 2);
  y = b.relu(b.bn(p + "bn3", b.conv(p + "pw2", y, c / 2, c / 2, 1), c / 2));
  ir::Value* cat = b.node("Concat", {halves, y}, {int_attr("axis", 1)});
  ir::Value* r1 = b.node("Reshape", {cat, b.ints(p + "s1", {1, 2, c / 2, 8, 8})});
  ir::Value* t = b.node("Transpose", {r1}, {ints_attr("perm", {0, 2, 1, 3, 4})});
  return b.node("Reshape", {t, b.ints(p + "s2", {1, c, 8, 8})});
}

void shufflenet(PruneBuilder& b) {
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* stem = b.relu(b.bn("bn0", b.conv("stem", x, 3, 16), 16));
  ir::Value* y = shuffle_unit(b, stem, 16, "u1.");
  y = shuffle_unit(b, y, 16, "u2.");
  b.output(b.conv("head", y, 16, 4, 1));
}

// Squeeze-excite with SiLU (x * sigmoid(x)), as in EfficientNet.
void squeeze_excite(PruneBuilder& b) {
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.bn("bn0", b.conv("conv", x, 3, 16), 16);
  ir::Value* f = b.node("Mul", {c, b.node("Sigmoid", {c})});
  ir::Value* s = b.node("GlobalAveragePool", {f});
  ir::Value* q = b.conv("squeeze", s, 16, 4, 1);
  q = b.node("Mul", {q, b.node("Sigmoid", {q})});
  ir::Value* e = b.node("Sigmoid", {b.conv("expand", q, 4, 16, 1)});
  b.output(b.conv("out", b.node("Mul", {f, e}), 16, 4, 1));
}

void concat_flatten_gemm(PruneBuilder& b) {
  ir::Value* x = b.input("x", {1, 3, 6, 6});
  ir::Value* p = b.relu(b.conv("a", x, 3, 6));
  ir::Value* q = b.relu(b.conv("b", x, 3, 10));
  ir::Value* cat = b.node("Concat", {p, q}, {int_attr("axis", 1)});
  ir::Value* pool = b.node("MaxPool", {cat}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  ir::Value* f = b.node("Flatten", {pool});
  ir::Value* h = b.relu(b.gemm("fc1", f, 16 * 9, 20));
  b.output(b.gemm("fc2", h, 20, 5));
}

void feed_forward(PruneBuilder& b) {
  ir::Value* x = b.input("x", {1, 6, 8});
  ir::Value* h = b.node("Add", {b.matmul("up", x, 8, 32), b.random_init("up.b", {32})});
  h = b.node("Mul", {h, b.node("Sigmoid", {h})});
  ir::Value* y = b.node("Add", {b.matmul("down", h, 32, 8), b.random_init("down.b", {8})});
  b.output(b.node("Add", {x, y}));
}

}  // namespace

TEST_CASE("pruning removes channels physically: weights, biases, BN folded, value types") {
  PruneBuilder b;
  resnet_blocks(b);
  prune::PruneOptions o;
  o.plan.ratio = 0.5;
  auto r = prune::prune_model(*b.model, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  const ir::Graph& g = b.g();
  CHECK(count_ops(g, "BatchNormalization") == 0);  // folded after pruning
  // stem and b1.conv2 share the residual group: 8 -> 4; b1.conv1 alone: 8 -> 4.
  CHECK(weight_of(g, "stem").dims() == Dims{4, 3, 3, 3});
  CHECK(weight_of(g, "b1.conv1").dims() == Dims{4, 4, 3, 3});
  CHECK(weight_of(g, "b1.conv2").dims() == Dims{4, 4, 3, 3});
  CHECK(weight_of(g, "b2.conv1").dims() == Dims{8, 4, 3, 3});
  CHECK(weight_of(g, "b2.conv2").dims() == Dims{8, 8, 3, 3});
  CHECK(weight_of(g, "b2.down").dims() == Dims{8, 4, 1, 1});
  CHECK(weight_of(g, "b2.conv2", 2).dims() == Dims{8});
  CHECK(weight_of(g, "fc").dims() == Dims{10, 8});  // transB: [N, K]
  CHECK(layer_report(*r, "stem").kept == 4);
  CHECK(layer_report(*r, "fc").kept == 10);
  // The graph output keeps its shape; inner types follow the channels.
  CHECK(g.outputs()[0]->type.to_string() == "float32[1,10]");
  for (const ir::Node* n : g.nodes())
    if (n->name == "stem") CHECK(n->output(0)->type.to_string() == "float32[1,4,16,16]");
  auto s = rt::Session::create(*b.model);
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  auto feeds = rt::random_inputs(g, 1, {}, {});
  auto out = (*s)->run(*feeds);
  REQUIRE_MESSAGE(out.is_ok(), out.status().message());
  CHECK((*out)[0].tensor.dims() == Dims{1, 10});
}

TEST_CASE("zero channels prune away exactly: resnet basic blocks") {
  PruneBuilder b;
  resnet_blocks(b);
  prune_zeroed(*b.model, 0.5);
}

TEST_CASE("zero channels prune away exactly: inverted residual with depthwise") {
  PruneBuilder b;
  inverted_residual(b);
  auto r = prune_zeroed(*b.model, 0.3);
  CHECK(layer_report(r, "expand").kept == 17);
  CHECK(layer_report(r, "dw").kept == 17);
  for (const ir::Node* n : b.g().nodes())
    if (n->name == "dw") CHECK(n->attr_int("group", 0) == 17);
}

TEST_CASE("zero channels prune away exactly: shufflenet units with channel shuffle and Split") {
  PruneBuilder b;
  shufflenet(b);
  auto r = prune_zeroed(*b.model, 0.25);
  int64_t removed = 0;
  for (const auto& g : r.groups) removed += g.removed;
  CHECK(removed > 0);
}

TEST_CASE("zero channels prune away exactly: squeeze-excite with SiLU") {
  PruneBuilder b;
  squeeze_excite(b);
  auto r = prune_zeroed(*b.model, 0.5);
  CHECK(layer_report(r, "conv").kept == 8);
  CHECK(layer_report(r, "expand").kept == 8);
  CHECK(layer_report(r, "squeeze").kept == 2);
}

TEST_CASE("zero channels prune away exactly: concat, pooling, flatten into Gemm") {
  PruneBuilder b;
  concat_flatten_gemm(b);
  auto r = prune_zeroed(*b.model, 0.5);
  CHECK(layer_report(r, "a").kept == 3);
  CHECK(layer_report(r, "b").kept == 5);
  CHECK(layer_report(r, "fc1").kept == 10);
  CHECK(weight_of(b.g(), "fc1").dims() == Dims{10, 8 * 9});
}

TEST_CASE("zero channels prune away exactly: transformer feed-forward MatMul pair") {
  PruneBuilder b;
  feed_forward(b);
  auto r = prune_zeroed(*b.model, 0.5);
  CHECK(layer_report(r, "up").kept == 16);
  CHECK(weight_of(b.g(), "down").dims() == Dims{16, 8});
}

TEST_CASE("Slice and Split bounds are rewritten for the channels kept") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* sl = b.node("Slice", {c, b.ints("st", {2}), b.ints("en", {100}), b.ints("ax", {1})});
  ir::Value* parts = b.node("Split", {c, b.ints("sizes", {4, 4})}, {int_attr("axis", 1)}, 2);
  ir::Node* split = b.last;
  ir::Value* y = b.node("Concat", {b.conv("p", sl, 6, 2), b.conv("q", parts, 4, 2), b.conv("r", split->output(1), 4, 2)},
                        {int_attr("axis", 1)});
  b.output(y);
  // Channels 1, 2, 5, 6 go: the slice [2:] keeps 3, 4, 7; the split halves keep 0, 3 and 4, 7.
  auto r = prune_zeroed(*b.model, 0.5, {1, 2, 5, 6});
  CHECK(layer_report(r, "conv").kept == 4);
  for (const ir::Node* n : b.g().nodes()) {
    if (n->op_type() == "Slice") CHECK(*passes::constant_ints(n->input(1)) == Dims{1});
    if (n->op_type() == "Slice") CHECK(*passes::constant_ints(n->input(2)) == Dims{4});
    if (n->op_type() == "Split") CHECK(*passes::constant_ints(n->input(1)) == Dims{2, 2});
  }
}

TEST_CASE("grouped convolution and ConvTranspose prune consistently") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.relu(b.conv("conv", x, 3, 8));
  ir::Value* g = b.relu(b.conv("grouped", c, 8, 8, 3, 2));
  ir::Value* up = b.node("ConvTranspose", {g, b.random_init("up.w", {8, 6, 2, 2}), b.random_init("up.b", {6})},
                         {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  b.last->name = "up";
  b.output(b.conv("out", b.relu(up), 6, 2));
  auto r = prune_zeroed(*b.model, 0.5);
  CHECK(layer_report(r, "up").kept == 3);
  CHECK(weight_of(b.g(), "up").dims() == Dims{4, 3, 2, 2});
  CHECK(weight_of(b.g(), "grouped").dims() == Dims{4, 2, 3, 3});
}

TEST_CASE("take_along_axis keeps entries in order along any axis") {
  Tensor t = Tensor::from_vector(DType::Float, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor a = prune::take_along_axis(t, 1, {0, 2});
  CHECK(a.dims() == Dims{2, 2});
  CHECK(std::vector<float>(a.data<float>(), a.data<float>() + 4) == std::vector<float>{1, 3, 4, 6});
  Tensor b = prune::take_along_axis(t, 0, {1});
  CHECK(std::vector<float>(b.data<float>(), b.data<float>() + 3) == std::vector<float>{4, 5, 6});
}

TEST_CASE("take_along_axis on an empty tensor whose other dims multiply past int64") {
  // [2^62, 5, 0] holds nothing; the outer count 2^62 * 5 overflowed and the copy loop ran 2^62 times.
  const int64_t huge = int64_t{1} << 62;
  Tensor t(DType::Float, {huge, 5, 0});
  Tensor a = prune::take_along_axis(t, 1, {0, 2});
  CHECK(a.dims() == Dims{huge, 2, 0});
}
