// Upper bounds on the element count a node would produce from constant inputs, before running it.
//
// Constant folding must never materialize a huge tensor (ConstantOfShape [1e6, 1e6]): every op it
// folds has a size rule here, computed with saturating arithmetic; other ops are not folded.
#include "passes/fold_size.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>

#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

constexpr uint64_t kHuge = uint64_t{1} << 62;

uint64_t sat_mul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kHuge / b ? kHuge : a * b;
}
uint64_t sat_add(uint64_t a, uint64_t b) { return std::min(kHuge, a + b); }

uint64_t product(const std::vector<int64_t>& dims) {
  uint64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return kHuge;
    n = sat_mul(n, static_cast<uint64_t>(d));
  }
  return n;
}

// Numpy broadcasting of two shapes; nullopt when they do not broadcast.
std::optional<std::vector<int64_t>> broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

using Inputs = std::vector<const Tensor*>;
using Rule = std::optional<uint64_t> (*)(const ir::Node&, const Inputs&);

const Tensor* in(const Inputs& x, size_t i) { return i < x.size() ? x[i] : nullptr; }

std::optional<uint64_t> same_as_first(const ir::Node&, const Inputs& x) {
  if (!in(x, 0)) return std::nullopt;
  return static_cast<uint64_t>(x[0]->numel());
}

std::optional<uint64_t> broadcast_all(const ir::Node&, const Inputs& x) {
  std::vector<int64_t> dims;
  bool any = false;
  for (const Tensor* t : x) {
    if (!t) continue;
    auto b = broadcast(dims, t->dims());
    if (!b) return std::nullopt;
    dims = *b;
    any = true;
  }
  if (!any) return std::nullopt;
  return product(dims);
}

std::optional<uint64_t> sum_of_inputs(const ir::Node&, const Inputs& x) {
  uint64_t n = 0;
  for (const Tensor* t : x) {
    if (!t) return std::nullopt;
    n = sat_add(n, static_cast<uint64_t>(t->numel()));
  }
  return n;
}

std::optional<uint64_t> shape_rule(const ir::Node&, const Inputs& x) {
  if (!in(x, 0)) return std::nullopt;
  return static_cast<uint64_t>(x[0]->rank());
}

std::optional<uint64_t> one(const ir::Node&, const Inputs&) { return 1; }

std::optional<uint64_t> two_of_first(const ir::Node&, const Inputs& x) {
  if (!in(x, 0)) return std::nullopt;
  return sat_mul(2, static_cast<uint64_t>(x[0]->numel()));
}

std::optional<uint64_t> gather(const ir::Node& n, const Inputs& x) {
  if (!in(x, 0) || !in(x, 1)) return std::nullopt;
  auto axis = normalize_axis(n.attr_int("axis", 0), static_cast<int64_t>(x[0]->rank()));
  if (!axis) return std::nullopt;
  std::vector<int64_t> rest = x[0]->dims();
  rest.erase(rest.begin() + *axis);
  return sat_mul(product(rest), static_cast<uint64_t>(x[1]->numel()));
}

std::optional<uint64_t> indices_sized(const ir::Node&, const Inputs& x) {
  if (!in(x, 1)) return std::nullopt;
  return static_cast<uint64_t>(x[1]->numel());
}

std::optional<uint64_t> range(const ir::Node&, const Inputs& x) {
  for (size_t i = 0; i < 3; ++i)
    if (!in(x, i) || x[i]->numel() != 1 || x[i]->is_string()) return std::nullopt;
  double start = x[0]->get_double(0), limit = x[1]->get_double(0), delta = x[2]->get_double(0);
  if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta)) return std::nullopt;
  double n = std::ceil((limit - start) / delta);
  if (!(n > 0)) return 0;
  return n > 1e18 ? kHuge : static_cast<uint64_t>(n);
}

std::optional<uint64_t> constant_of_shape(const ir::Node&, const Inputs& x) {
  if (!in(x, 0) || !dtype_is_integer(x[0]->dtype())) return std::nullopt;
  return product(x[0]->to_int64_vector());
}

std::optional<uint64_t> expand(const ir::Node&, const Inputs& x) {
  if (!in(x, 0) || !in(x, 1) || !dtype_is_integer(x[1]->dtype())) return std::nullopt;
  auto b = broadcast(x[0]->dims(), x[1]->to_int64_vector());
  if (!b) return std::nullopt;
  return product(*b);
}

std::optional<uint64_t> tile(const ir::Node&, const Inputs& x) {
  if (!in(x, 0) || !in(x, 1) || !dtype_is_integer(x[1]->dtype())) return std::nullopt;
  return sat_mul(static_cast<uint64_t>(x[0]->numel()), product(x[1]->to_int64_vector()));
}

std::optional<uint64_t> matmul(const ir::Node&, const Inputs& x) {
  if (!in(x, 0) || !in(x, 1) || x[0]->rank() == 0 || x[1]->rank() == 0) return std::nullopt;
  std::vector<int64_t> a = x[0]->dims(), b = x[1]->dims();
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  auto batch = broadcast(std::vector<int64_t>(a.begin(), a.end() - 2), std::vector<int64_t>(b.begin(), b.end() - 2));
  if (!batch) return std::nullopt;
  return sat_mul(product(*batch), sat_mul(static_cast<uint64_t>(a[a.size() - 2]), static_cast<uint64_t>(b.back())));
}

std::optional<uint64_t> gemm(const ir::Node& n, const Inputs& x) {
  if (!in(x, 0) || !in(x, 1) || x[0]->rank() != 2 || x[1]->rank() != 2) return std::nullopt;
  int64_t m = n.attr_int("transA", 0) ? x[0]->dims()[1] : x[0]->dims()[0];
  int64_t k = n.attr_int("transB", 0) ? x[1]->dims()[0] : x[1]->dims()[1];
  return product({m, k});
}

std::optional<uint64_t> pad(const ir::Node& n, const Inputs& x) {
  if (!in(x, 0)) return std::nullopt;
  std::vector<int64_t> pads = n.attr_ints("pads");
  if (in(x, 1)) {
    if (!dtype_is_integer(x[1]->dtype())) return std::nullopt;
    pads = x[1]->to_int64_vector();
  }
  std::vector<int64_t> dims = x[0]->dims();
  size_t r = dims.size();
  std::vector<int64_t> axes(r);
  for (size_t i = 0; i < r; ++i) axes[i] = static_cast<int64_t>(i);
  if (in(x, 3)) {
    if (!dtype_is_integer(x[3]->dtype())) return std::nullopt;
    axes = x[3]->to_int64_vector();
  }
  if (pads.size() != 2 * axes.size()) return std::nullopt;
  for (size_t i = 0; i < axes.size(); ++i) {
    auto a = normalize_axis(axes[i], static_cast<int64_t>(r));
    if (!a) return std::nullopt;
    int64_t d = dims[static_cast<size_t>(*a)];
    int64_t lo = pads[i], hi = pads[i + axes.size()];
    if (std::abs(lo) > (int64_t{1} << 40) || std::abs(hi) > (int64_t{1} << 40)) return std::nullopt;
    d += lo + hi;
    if (d < 0) return std::nullopt;
    dims[static_cast<size_t>(*a)] = d;
  }
  return product(dims);
}

std::optional<uint64_t> nonzero(const ir::Node&, const Inputs& x) {
  if (!in(x, 0)) return std::nullopt;
  return sat_mul(std::max<uint64_t>(1, x[0]->rank()), static_cast<uint64_t>(x[0]->numel()));
}

std::optional<uint64_t> one_hot(const ir::Node&, const Inputs& x) {
  if (!in(x, 0) || !in(x, 1) || x[1]->numel() != 1 || x[1]->is_string()) return std::nullopt;
  double depth = x[1]->get_double(0);
  if (!(depth >= 0) || depth > 1e15) return std::nullopt;
  return sat_mul(static_cast<uint64_t>(x[0]->numel()), static_cast<uint64_t>(depth));
}

const std::unordered_map<std::string_view, Rule>& rules() {
  static const std::unordered_map<std::string_view, Rule> kRules = [] {
    std::unordered_map<std::string_view, Rule> r;
    for (std::string_view op :
         {"Abs",         "Acos",     "Acosh",     "Asin",         "Asinh",       "Atan",      "Atanh",
          "BitwiseNot",  "Cast",     "CastLike",  "Ceil",         "Celu",        "Clip",      "Cos",
          "Cosh",        "CumSum",   "DepthToSpace", "Elu",       "Erf",         "Exp",       "EyeLike",
          "Flatten",     "Floor",    "Gelu",      "HardSigmoid",  "HardSwish",   "Hardmax",   "Identity",
          "IsInf",       "IsNaN",    "LeakyRelu", "Log",          "LogSoftmax",  "LpNormalization", "Mish",
          "Neg",         "Not",      "QuantizeLinear", "Reciprocal", "Relu",     "Reshape",   "ReverseSequence",
          "Round",       "Scatter",  "ScatterElements", "ScatterND", "Selu",     "Shrink",    "Sigmoid",
          "Sign",        "Sin",      "Sinh",      "Slice",        "Softmax",     "Softplus",  "Softsign",
          "SpaceToDepth", "Split",   "Sqrt",      "Squeeze",      "Tan",         "Tanh",      "ThresholdedRelu",
          "Transpose",   "Trilu",    "Unsqueeze", "ArgMax",       "ArgMin",      "ReduceL1",  "ReduceL2",
          "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
          "ReduceSumSquare"})
      r[op] = same_as_first;
    for (std::string_view op : {"Add", "And", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Div", "Equal",
                                "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max", "Mean", "Min", "Mod",
                                "Mul", "Or", "Pow", "PRelu", "Sub", "Sum", "Where", "Xor"})
      r[op] = broadcast_all;
    r["Concat"] = sum_of_inputs;
    r["Shape"] = shape_rule;
    r["Size"] = one;
    r["TopK"] = two_of_first;
    r["Gather"] = gather;
    r["GatherElements"] = indices_sized;
    r["Range"] = range;
    r["ConstantOfShape"] = constant_of_shape;
    r["Expand"] = expand;
    r["Tile"] = tile;
    r["MatMul"] = matmul;
    r["Gemm"] = gemm;
    r["Pad"] = pad;
    r["NonZero"] = nonzero;
    r["OneHot"] = one_hot;
    return r;
  }();
  return kRules;
}

}  // namespace

std::optional<uint64_t> fold_output_elements(const ir::Node& n, const std::vector<const Tensor*>& inputs) {
  if (!ir::is_default_domain(n.domain())) return std::nullopt;
  if (!n.subgraphs().empty()) return std::nullopt;
  auto it = rules().find(n.op_type());
  if (it == rules().end()) return std::nullopt;
  return it->second(n, inputs);
}

}  // namespace ortool::passes
