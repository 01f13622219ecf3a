// Op rules, part one: the dispatch from op type to rule, ops that pass channels through unchanged
// (activations, pooling, normalization over other axes), and broadcasting elementwise ops (residual
// Add/Mul/Max join their operands' channels; a per-channel constant operand is sliced with them).
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

namespace {

// Ops that compute each element from the same element of their first input (extra inputs, where
// any, are scalars by the ONNX spec or are checked by the rule).
const std::set<std::string_view> kUnary = {
    "Abs",      "Acos",    "Acosh",    "Asin",     "Asinh",  "Atan",     "Atanh",           "Cast",   "Ceil",
    "Celu",     "Clip",    "Cos",      "Cosh",     "Elu",    "Erf",      "Exp",             "Floor",  "Gelu",
    "HardSigmoid", "HardSwish", "Identity", "IsInf", "IsNaN", "LeakyRelu", "Log",          "Mish",   "Neg",
    "Not",      "Reciprocal", "Relu",  "Round",    "Selu",   "Shrink",   "Sigmoid",         "Sign",   "Sin",
    "Sinh",     "Softplus", "Softsign", "Sqrt",    "Tan",    "Tanh",     "ThresholdedRelu",
};

// Broadcasting elementwise ops over all their inputs.
const std::set<std::string_view> kBroadcast = {
    "Add", "And", "BitShift", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max",
    "Mean", "Min", "Mod", "Mul", "Or", "Pow", "PRelu", "Sub", "Sum", "Where", "Xor",
};

const std::set<std::string_view> kPools = {"AveragePool", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool",
                                           "LpPool", "MaxPool"};

bool output_read(const ir::Node& n, size_t i) {
  const ir::Value* v = n.output(i);
  return v && (v->has_uses() || v->is_graph_output());
}

void unary_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  for (size_t i = 1; i < n.num_inputs(); ++i)
    if (b.map(n.input(i))) return b.pin_inputs(n, "a tracked value is a scalar operand");
  if (!m) return;
  ChannelMap copy = *m;
  b.set_map(n.output(0), copy);
  // CastLike and Dropout's mask have the shape of the input too.
  if (ir::is_op(n, "Dropout") && n.output(1)) b.set_map(n.output(1), copy);
}

// The dim of a broadcast operand that lines up with the channel axis of the output (1 when the
// operand has no such axis), or nullopt when unknown.
std::optional<int64_t> aligned_dim(GraphBuilder& b, const ir::Value* v, int64_t out_rank, int64_t out_axis) {
  int64_t r = b.rank(v);
  int64_t i = out_axis - (out_rank - r);
  if (i < 0) return 1;
  return b.dim(v, i);
}

void broadcast_rule(GraphBuilder& b, ir::Node& n) {
  std::vector<int> operands;
  bool any_tracked = false;
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (n.input(i)) {
      operands.push_back(static_cast<int>(i));
      any_tracked = any_tracked || b.map(n.input(i));
    }
  if (!any_tracked) return;
  int64_t out_rank = 0;
  for (int i : operands) {
    int64_t r = b.rank(n.input(static_cast<size_t>(i)));
    if (r < 0) return b.pin_inputs(n, "the rank of an operand is unknown");
    out_rank = std::max(out_rank, r);
  }
  // The widest tracked operand defines the output's channels; the others must match it entry for
  // entry (they are joined), or broadcast one channel, or be constants sliced along with it.
  const ChannelMap* full = nullptr;
  int64_t out_axis = -1;
  for (int i : operands)
    if (const ChannelMap* m = b.map(n.input(static_cast<size_t>(i)))) {
      int64_t ax = m->axis + (out_rank - m->rank);
      if (out_axis >= 0 && ax != out_axis) return b.pin_inputs(n, "its operands carry channels on different axes");
      out_axis = ax;
      if (!full || m->length() > full->length()) full = m;
    }
  const int64_t len = full->length();
  std::vector<const ChannelMap*> joined, single;
  std::vector<std::pair<int, int64_t>> sliced;  // constant operands to slice: input, axis
  for (int i : operands) {
    const ir::Value* v = n.input(static_cast<size_t>(i));
    if (const ChannelMap* m = b.map(v)) {
      if (m->length() == len && m->block == full->block) joined.push_back(m);
      else if (m->length() == 1) single.push_back(m);
      else return b.pin_inputs(n, "its operands' channels do not line up");
      continue;
    }
    std::optional<int64_t> d = aligned_dim(b, v, out_rank, out_axis);
    if (!d) return b.pin_inputs(n, "the shape of operand '" + v->name() + "' is unknown");
    if (*d == 1) continue;
    if (*d == len && passes::constant_tensor(v)) {
      sliced.emplace_back(i, out_axis - (out_rank - b.rank(v)));
      continue;
    }
    return b.pin_inputs(n, "its operand '" + v->name() + "' brings " + std::to_string(*d) +
                               " channels that cannot be pruned with these (a graph input, or made by an op "
                               "no rule covers)");
  }
  for (const ChannelMap* m : joined) b.join_entries(*full, *m);
  for (const ChannelMap* m : single)
    if (len > 1) b.pin(*m, where(n) + ": one channel broadcast against " + std::to_string(len));
  for (auto [i, axis] : sliced) b.slice(&n, i, axis, *full, SliceRole::kParam);
  ChannelMap out = *full;
  out.rank = out_rank;
  out.axis = out_axis;
  b.set_map(n.output(0), std::move(out));
}

// BatchNormalization and InstanceNormalization: per-channel parameters on axis 1.
void norm_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  bool bn = ir::is_op(n, "BatchNormalization");
  size_t params = bn ? 5 : 3;
  if (!m) {
    for (size_t i = 1; i < n.num_inputs(); ++i)
      if (b.map(n.input(i))) return b.pin_inputs(n, "a tracked value is a normalization parameter");
    return;
  }
  if (m->axis != 1) return b.pin_inputs(n, "it normalizes axis 1 but the channels are on axis " + std::to_string(m->axis));
  if (bn && (n.attr_int("training_mode", 0) != 0 || output_read(n, 1) || output_read(n, 2)))
    return b.pin_inputs(n, "it runs in training mode");
  if (n.num_inputs() != params) return b.pin_inputs(n, "unexpected number of inputs");
  for (size_t i = 1; i < params; ++i) {
    const Tensor* t = passes::constant_tensor(n.input(i));
    if (!t || t->rank() != 1 || t->dims()[0] != m->length())
      return b.pin_inputs(n, "parameter '" + (n.input(i) ? n.input(i)->name() : std::string("?")) +
                                 "' is not a constant of one value per channel");
  }
  for (size_t i = 1; i < params; ++i)
    b.slice(&n, static_cast<int>(i), 0, *m, i == 1 ? SliceRole::kNormScale : SliceRole::kParam);
  b.set_map(n.output(0), *m);
}

void pool_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (!m) return;
  if (m->axis != 1) return b.pin_inputs(n, "it pools over the axis the channels are on");
  if (output_read(n, 1)) return b.pin_inputs(n, "its indices output depends on the channel count");
  b.set_map(n.output(0), *m);
}

// Softmax, LogSoftmax, Hardmax, LpNormalization, LayerNormalization: pass channels through when
// they are not on the axes the op normalizes over.
void normalize_over_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  bool ln = ir::is_op(n, "LayerNormalization");
  for (size_t i = 1; i < n.num_inputs(); ++i)
    if (b.map(n.input(i))) return b.pin_inputs(n, "a tracked value is a normalization parameter");
  if (!m) return;
  bool legacy = !ln && !ir::is_op(n, "LpNormalization") && b.opset() < 13;
  int64_t axis = n.attr_int("axis", legacy ? 1 : -1);
  auto ax = norm_axis(axis, m->rank);
  if (!ax) return b.pin_inputs(n, "its axis is out of range");
  // Before opset 13 softmax flattens [axis, rank) into one axis; LayerNormalization normalizes
  // [axis, rank); the others normalize the one axis.
  bool spans = legacy || ln;
  bool reads = spans ? m->axis >= *ax : m->axis == *ax;
  if (reads) return b.pin_inputs(n, "it normalizes over the channel axis");
  if (ln && (output_read(n, 1) || output_read(n, 2))) return b.pin_inputs(n, "its statistics outputs are read");
  b.set_map(n.output(0), *m);
}

using Rule = void (*)(GraphBuilder&, ir::Node&);

const std::map<std::string_view, Rule>& rules() {
  static const std::map<std::string_view, Rule> table = [] {
    std::map<std::string_view, Rule> t;
    for (std::string_view op : kUnary) t[op] = unary_rule;
    t["Dropout"] = unary_rule;
    for (std::string_view op : kBroadcast) t[op] = broadcast_rule;
    for (std::string_view op : kPools) t[op] = pool_rule;
    t["BatchNormalization"] = norm_rule;
    t["InstanceNormalization"] = norm_rule;
    for (std::string_view op : {"Softmax", "LogSoftmax", "Hardmax", "LpNormalization", "LayerNormalization"})
      t[op] = normalize_over_rule;
    t["Conv"] = conv_rule;
    t["ConvTranspose"] = conv_transpose_rule;
    t["Gemm"] = gemm_rule;
    t["MatMul"] = matmul_rule;
    t["Concat"] = concat_rule;
    t["Split"] = split_rule;
    t["Slice"] = slice_rule;
    t["Transpose"] = transpose_rule;
    t["Squeeze"] = squeeze_rule;
    t["Unsqueeze"] = unsqueeze_rule;
    for (std::string_view op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                                "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin"})
      t[op] = reduce_rule;
    t["Resize"] = resize_rule;
    t["Upsample"] = resize_rule;
    t["Pad"] = pad_rule;
    t["Shape"] = shape_rule;
    t["Flatten"] = flatten_rule;
    t["Reshape"] = reshape_rule;
    return t;
  }();
  return table;
}

}  // namespace

void apply_op_rule(GraphBuilder& b, ir::Node& n) {
  if (ir::is_default_domain(n.domain()) && n.subgraphs().empty()) {
    auto it = rules().find(n.op_type());
    if (it != rules().end()) return it->second(b, n);
  }
  b.pin_inputs(n, "no rule says how it uses channels");
}

}  // namespace ortool::prune
