// Matching the decomposed layer normalization (layer_norm_pattern.h).
#include "passes/layer_norm_pattern.h"

#include <set>

#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

namespace {

ir::Node* producer_in(const ir::Value* v, const ir::Graph& g, std::string_view op) {
  ir::Node* p = v ? v->producer() : nullptr;
  return is_op(p, op) && p->graph() == &g ? p : nullptr;
}

// Axes of a ReduceMean (attribute through opset 17, input since 18) as negative axes, when keepdims.
std::optional<std::set<int64_t>> mean_axes(const ir::Node& n, int64_t rank) {
  if (n.attr_int("keepdims", 1) != 1) return std::nullopt;
  std::optional<std::vector<int64_t>> axes;
  if (n.has_attr("axes")) axes = n.attr_ints("axes");
  else if (n.input(1)) axes = constant_ints(n.input(1));
  if (!axes || axes->empty()) return std::nullopt;
  std::set<int64_t> out;
  for (int64_t a : *axes) {
    if (a >= 0) {
      if (rank < 0 || a >= rank) return std::nullopt;
      a -= rank;
    }
    out.insert(a);
  }
  return out;
}

// A float32 constant that broadcasts to exactly `dims` (leading 1s, or one value), as a tensor of `dims`.
std::optional<Tensor> as_normalized(const Tensor& t, const std::vector<int64_t>& dims, int64_t x_rank) {
  if (t.dtype() != DType::Float || static_cast<int64_t>(t.rank()) > x_rank) return std::nullopt;
  auto v = float_values(t);
  if (!v) return std::nullopt;
  // `dims` are declared by the file: a scalar is only spread over a checked, modest element count.
  auto numel = checked_numel(dims);
  if (!numel.is_ok() || *numel > (int64_t{1} << 24)) return std::nullopt;
  if (v->size() == 1) return float_tensor(dims, std::vector<double>(static_cast<size_t>(*numel), (*v)[0]));
  std::vector<int64_t> td = t.dims();
  while (!td.empty() && td.front() == 1 && td.size() > dims.size()) td.erase(td.begin());
  if (td != dims) return std::nullopt;
  return t.reshaped(dims);
}

// The normalization core anchored at a Div.
std::optional<LayerNormMatch> match_core(ir::Node* div, const ir::Graph& g, LayerNormCheck check) {
  if (!is_op(div, "Div") || div->num_inputs() != 2) return std::nullopt;
  ir::Node* sub = producer_in(div->input(0), g, "Sub");
  ir::Node* sqrt = producer_in(div->input(1), g, "Sqrt");
  if (!sub || !sqrt) return std::nullopt;
  ir::Node* add_eps = producer_in(sqrt->input(0), g, "Add");
  if (!add_eps || add_eps->num_inputs() != 2) return std::nullopt;
  size_t var_side = producer_in(add_eps->input(0), g, "ReduceMean") ? 0 : 1;
  ir::Node* var = producer_in(add_eps->input(var_side), g, "ReduceMean");
  auto eps = constant_scalar(add_eps->input(1 - var_side));
  if (!var || !eps) return std::nullopt;
  ir::Value* d = sub->output(0);
  ir::Node* sq = var->input(0) ? var->input(0)->producer() : nullptr;
  bool pow = is_op(sq, "Pow") && sq->input(0) == d && constant_scalar(sq->input(1)) == 2.0;
  bool mul = is_op(sq, "Mul") && sq->input(0) == d && sq->input(1) == d;
  if (!pow && !mul) return std::nullopt;
  ir::Value* x = sub->input(0);
  ir::Node* mean = producer_in(sub->input(1), g, "ReduceMean");
  const bool structure = check == LayerNormCheck::Structure;
  if (!mean || mean->input(0) != x || (elem_type(x) != DType::Float && !(structure && elem_type(x) == DType::Undefined)))
    return std::nullopt;
  // Every intermediate is read only inside the pattern.
  for (ir::Node* n : {mean, sq, var, add_eps, sqrt})
    if (!single_consumer(n->output(0))) return std::nullopt;
  if (d->is_graph_output()) return std::nullopt;
  for (const ir::Use& u : d->uses())
    if (u.node != sq && u.node != div) return std::nullopt;
  if (structure) {
    LayerNormMatch m;
    m.x = x;
    m.eps = *eps;
    m.nodes = {mean, sub, sq, var, add_eps, sqrt, div};
    return m;
  }
  auto shape = value_shape(x);
  int64_t rank = shape ? static_cast<int64_t>(shape->size()) : -1;
  auto a1 = mean_axes(*mean, rank), a2 = mean_axes(*var, rank);
  if (!a1 || !a2 || *a1 != *a2 || rank < 0) return std::nullopt;
  // The axes must be the trailing ones: -k..-1.
  int64_t k = static_cast<int64_t>(a1->size());
  if (*a1->begin() != -k || *a1->rbegin() != -1 || k > rank) return std::nullopt;
  LayerNormMatch m;
  m.x = x;
  m.axis = -k;
  m.eps = *eps;
  for (int64_t i = rank - k; i < rank; ++i) {
    const Dim& dim = (*shape)[static_cast<size_t>(i)];
    if (!dim.is_known()) return std::nullopt;
    m.dims.push_back(dim.value);
  }
  m.nodes = {mean, sub, sq, var, add_eps, sqrt, div};
  return m;
}

}  // namespace

std::optional<LayerNormMatch> match_layer_norm(ir::Node* n, const ir::Graph& g, LayerNormCheck check) {
  if (is_op(n, "Div")) return match_core(n, g, check);
  if ((!is_op(n, "Mul") && !is_op(n, "Add")) || n->num_inputs() != 2) return std::nullopt;
  bool add = is_op(n, "Add");
  for (size_t side = 0; side < 2; ++side) {
    ir::Node* inner = n->input(side) ? n->input(side)->producer() : nullptr;
    const Tensor* c = constant_tensor(n->input(1 - side));
    if (!inner || !c || inner->graph() != &g || single_consumer(inner->output(0)) != n) continue;
    if (add && !is_op(inner, "Mul")) continue;
    std::optional<LayerNormMatch> m = add ? match_layer_norm(inner, g, check) : match_core(inner, g, check);
    if (!m || (add && !m->scale)) continue;
    auto t = check == LayerNormCheck::Structure ? std::optional<Tensor>(*c) : as_normalized(*c, m->dims, value_rank(m->x));
    if (!t) continue;
    (add ? m->bias : m->scale) = std::move(*t);
    m->nodes.push_back(n);
    return m;
  }
  return std::nullopt;
}

std::unordered_set<const ir::Node*> layer_norm_nodes(const ir::Graph& g) {
  std::unordered_set<const ir::Node*> out;
  for (ir::Node* n : g.nodes())
    if (std::optional<LayerNormMatch> m = match_layer_norm(n, g, LayerNormCheck::Structure))
      out.insert(m->nodes.begin(), m->nodes.end());
  return out;
}

}  // namespace ortool::passes
