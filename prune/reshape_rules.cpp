// Op rules, part four: Flatten and Reshape. A reshape that keeps the channel axis whole (possibly
// merged with the dims after it, so that a channel becomes a block of features, as Flatten before a
// Gemm does) passes channels through. A reshape that splits the channel axis is only understood as
// the first step of a channel shuffle, Reshape [.., C, ..] -> [.., g, C/g, ..], Transpose swapping
// the two, Reshape back: column j of the g x C/g grid goes together, so the shuffle stays a shuffle
// of the channels kept.
#include <numeric>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

namespace {

// Product of the dims of `v` from `from` to the end, when known.
std::optional<int64_t> inner_size(GraphBuilder& b, const ir::Value* v, int64_t from, int64_t rank) {
  int64_t p = 1;
  for (int64_t i = from; i < rank; ++i) {
    std::optional<int64_t> d = b.dim(v, i);
    if (!d || *d < 0) return std::nullopt;
    p *= *d;
  }
  return p;
}

// Features per channel read by the single Gemm/MatMul with a constant weight after `v` (when the
// dims of `v` are unknown, the weight still says how many features a channel became).
std::optional<int64_t> block_from_reader(const ir::Value* v, int64_t channels) {
  const ir::Node* r = passes::single_consumer(v);
  if (!r || channels <= 0) return std::nullopt;
  const Tensor* w = passes::constant_tensor(r->input(1));
  if (!w || w->rank() != 2 || r->input(0) != v) return std::nullopt;
  int64_t k = 0;
  if (ir::is_op(*r, "Gemm") && r->attr_int("transA", 0) == 0) k = w->dims()[r->attr_int("transB", 0) ? 1 : 0];
  else if (ir::is_op(*r, "MatMul")) k = w->dims()[0];
  if (k <= 0 || k % channels != 0) return std::nullopt;
  return k / channels;
}

// Output dims of a Reshape as far as known: the inferred type where it has them, else the shape
// constant with 0 (copy) and positive entries resolved; -1 entries stay unknown.
std::vector<std::optional<int64_t>> reshape_dims(GraphBuilder& b, const ir::Node& n, const std::vector<int64_t>& shape) {
  const bool allowzero = n.attr_int("allowzero", 0) != 0;
  std::vector<std::optional<int64_t>> out(shape.size());
  for (size_t j = 0; j < shape.size(); ++j) {
    if (auto d = b.dim(n.output(0), static_cast<int64_t>(j)); d && b.rank(n.output(0)) == static_cast<int64_t>(shape.size()))
      out[j] = d;
    else if (shape[j] > 0 || (shape[j] == 0 && allowzero)) out[j] = shape[j];
    else if (shape[j] == 0) out[j] = b.dim(n.input(0), static_cast<int64_t>(j));
  }
  return out;
}

std::optional<int64_t> product(const std::vector<std::optional<int64_t>>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) {
    if (!d[i]) return std::nullopt;
    p *= *d[i];
  }
  return p;
}

// Replaces entry `j` of a Reshape's shape constant with `value` (a -1 there is left: it still resolves).
void set_shape_entry(ir::Graph& g, ir::Node* n, size_t j, int64_t value) {
  std::vector<int64_t> s = *constant_input_ints(*n, 1);
  if (s[j] == -1) return;
  s[j] = value;
  set_constant_input(g, n, 1, Tensor::from_vector(DType::Int64, {static_cast<int64_t>(s.size())}, s));
}

void set_type_dim(ir::Value* v, size_t axis, int64_t value) {
  if (v->type.is_tensor() && v->type.shape && axis < v->type.shape->size()) (*v->type.shape)[axis] = Dim::known(value);
}

// Reshape [.., C, rest] -> [.., g, C/g, rest] -> Transpose -> Reshape [.., C, rest]; true when taken.
bool channel_shuffle(GraphBuilder& b, ir::Node& r1, const ChannelMap& m, const std::vector<int64_t>& shape1,
                     int64_t inner) {
  const size_t a = static_cast<size_t>(m.axis);
  if (m.block != 1 || shape1.size() != static_cast<size_t>(m.rank) + 1) return false;
  auto d1 = reshape_dims(b, r1, shape1);
  const int64_t c = m.length();
  if (!d1[a] || *d1[a] <= 1 || c % *d1[a] != 0) return false;
  const int64_t groups = *d1[a], cols = c / groups;
  if ((d1[a + 1] && *d1[a + 1] != cols) || product(d1, a + 2, d1.size()) != inner) return false;
  if (shape1[a] <= 0 || shape1[a + 1] == 0) return false;
  ir::Node* t = passes::single_consumer(r1.output(0));
  if (!t || !ir::is_op(*t, "Transpose")) return false;
  std::vector<int64_t> perm = t->attr_ints("perm"), want(shape1.size());
  std::iota(want.begin(), want.end(), 0);
  std::swap(want[a], want[a + 1]);
  if (perm != want) return false;
  ir::Node* r2 = passes::single_consumer(t->output(0));
  if (!r2 || !ir::is_op(*r2, "Reshape") || r2->input(0) != t->output(0)) return false;
  auto shape2 = constant_input_ints(*r2, 1);
  if (!shape2 || shape2->size() != static_cast<size_t>(m.rank) || (*shape2)[a] == 0) return false;
  auto d2 = reshape_dims(b, *r2, *shape2);
  if ((d2[a] && *d2[a] != c) || product(d2, a + 1, d2.size()) != inner) return false;

  // Output channel j*g + r is input channel r*cols + j; column j goes as one.
  std::vector<AtomId> out(static_cast<size_t>(c));
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t r = 0; r < groups; ++r) {
      out[static_cast<size_t>(j * groups + r)] = m.atoms[static_cast<size_t>(r * cols + j)];
      b.join(m.atoms[static_cast<size_t>(r * cols + j)], m.atoms[static_cast<size_t>(j)]);
    }
  b.mark_handled(t);
  b.mark_handled(r2);
  b.set_map(r2->output(0), {m.rank, m.axis, std::move(out), 1});
  b.fixup([r1 = &r1, t, r2, atoms = m.atoms, groups, a](ir::Graph& g, const Removal& rm) {
    const int64_t kept = rm.kept(atoms);
    set_shape_entry(g, r1, a + 1, kept / groups);
    set_shape_entry(g, r2, a, kept);
    set_type_dim(r1->output(0), a + 1, kept / groups);
    set_type_dim(t->output(0), a, kept / groups);
    return Status::ok();
  });
  return true;
}

}  // namespace

void flatten_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (!m) return;
  auto k = norm_axis(n.attr_int("axis", 1), m->rank + 1);
  if (!k || *k != m->axis) return b.pin_inputs(n, "it flattens the channel axis together with the dims before it");
  std::optional<int64_t> inner = inner_size(b, n.input(0), m->axis + 1, m->rank);
  if (!inner) inner = block_from_reader(n.output(0), m->length());
  if (!inner || *inner < 1) return b.pin_inputs(n, "the size of the dims it flattens is unknown");
  b.set_map(n.output(0), {2, 1, m->atoms, m->block * *inner});
}

void reshape_rule(GraphBuilder& b, ir::Node& n) {
  const ChannelMap* m = b.map(n.input(0));
  if (b.map(n.input(1))) return b.pin_inputs(n, "its shape is tracked");
  if (!m) return;
  auto shape = constant_input_ints(n, 1);
  if (!shape) return b.pin_inputs(n, "its shape is computed");
  std::optional<int64_t> inner = inner_size(b, n.input(0), m->axis + 1, m->rank);
  if (!inner) return b.pin_inputs(n, "the dims after the channel axis are unknown");
  if (channel_shuffle(b, n, *m, *shape, *inner)) return;

  // The innermost output axis j where the channel axis and everything after it land, whole:
  // out[j] = C * B and the dims after j hold the remaining inner / B.
  const bool allowzero = n.attr_int("allowzero", 0) != 0;
  const int64_t c = m->length();
  auto d = reshape_dims(b, n, *shape);
  for (size_t j = d.size(); j-- > 0;) {
    auto tail = product(d, j + 1, d.size());
    if (!tail || !d[j] || *d[j] % c != 0 || c == 0) continue;
    const int64_t block = *d[j] / c;
    if (*tail * block != *inner) continue;
    // A 0 entry copies the input dim of the same index: fine where that is the channel axis itself
    // at the same place; anywhere else a copied channel count would go stale.
    for (size_t p = 0; p < shape->size() && !allowzero; ++p) {
      const bool at_axis = static_cast<int64_t>(p) == m->axis;
      if ((*shape)[p] == 0 && (at_axis || p == j) && !(at_axis && p == j && block == 1))
        return b.pin_inputs(n, "its shape copies a dim that changes with the channels");
    }
    if ((*shape)[j] == 0 && allowzero) return b.pin_inputs(n, "its shape has a literal 0 on the channel axis");
    b.set_map(n.output(0), {static_cast<int64_t>(d.size()), static_cast<int64_t>(j), m->atoms, m->block * block});
    if ((*shape)[j] > 0)
      b.fixup([node = &n, j, atoms = m->atoms, blk = m->block * block](ir::Graph& g, const Removal& r) {
        set_shape_entry(g, node, j, r.kept(atoms, blk));
        return Status::ok();
      });
    return;
  }
  b.pin_inputs(n, "it splits the channel axis");
}

}  // namespace ortool::prune
