// build_dependency_graph: the walk over the graph, graph outputs and subgraph readers pinned, and the
// groups formed from the units layers share. The per-op coupling lives in op_rules.cpp.
#include "prune/dependency_graph.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

int64_t Removal::kept(const std::vector<AtomId>& atoms, int64_t block) const {
  int64_t n = 0;
  for (AtomId a : atoms) n += !removed(a);
  return n * block;
}

std::string layer_name(const ir::Node& n) {
  if (!n.name.empty() || !n.output(0)) return n.name;
  return n.output(0)->name();
}

const Layer* DependencyGraph::find_layer(std::string_view name) const {
  for (const Layer& l : layers)
    if (layer_name(*l.node) == name) return &l;
  return nullptr;
}

int DependencyGraph::layer_group(const Layer& l) const {
  for (AtomId a : l.out) {
    int g = unit_group[static_cast<size_t>(atoms.root(a))];
    if (g >= 0) return g;
  }
  return -1;
}

// --- GraphBuilder ---

int64_t GraphBuilder::opset() const { return passes::onnx_opset(model_); }

const ChannelMap* GraphBuilder::map(const ir::Value* v) const {
  if (!v) return nullptr;
  auto it = map_index_.find(v);
  return it == map_index_.end() ? nullptr : &out_.values[it->second].second;
}

void GraphBuilder::set_map(ir::Value* v, ChannelMap m) {
  if (!v) return;
  auto it = map_index_.find(v);
  if (it != map_index_.end()) {
    out_.values[it->second].second = std::move(m);
    return;
  }
  map_index_[v] = out_.values.size();
  out_.values.emplace_back(v, std::move(m));
}

std::vector<AtomId> GraphBuilder::layer_atoms(ir::Node* layer, int64_t n) {
  AtomId first = out_.atoms.add(n);
  std::vector<AtomId> atoms(static_cast<size_t>(n));
  std::iota(atoms.begin(), atoms.end(), first);
  add_layer(layer, atoms);
  return atoms;
}

std::vector<AtomId> GraphBuilder::pinned_atoms(int64_t n, const std::string& reason) {
  AtomId first = out_.atoms.add_pinned(n, reason);
  std::vector<AtomId> atoms(static_cast<size_t>(n));
  std::iota(atoms.begin(), atoms.end(), first);
  return atoms;
}

void GraphBuilder::add_layer(ir::Node* layer, std::vector<AtomId> out) { out_.layers.push_back({layer, std::move(out)}); }

void GraphBuilder::join_entries(const ChannelMap& a, const ChannelMap& b) {
  // Same length and block: entry i of each is channel i / block.
  for (size_t i = 0; i < a.atoms.size() && i < b.atoms.size(); ++i) join(a.atoms[i], b.atoms[i]);
}

void GraphBuilder::pin(const ChannelMap& m, const std::string& reason) {
  for (AtomId a : m.atoms) out_.atoms.pin(a, reason);
}

void GraphBuilder::pin_inputs(const ir::Node& n, const std::string& why) {
  std::string reason = where(n) + ": " + why;
  for (const ir::Value* v : n.inputs())
    if (const ChannelMap* m = map(v)) pin(*m, reason);
}

void GraphBuilder::slice(ir::Node* n, int input, int64_t axis, const ChannelMap& m, SliceRole role) {
  slice(n, input, axis, m.atoms, m.block, role);
}

void GraphBuilder::slice(ir::Node* n, int input, int64_t axis, std::vector<AtomId> atoms, int64_t block,
                         SliceRole role) {
  out_.slices.push_back({n, input, axis, std::move(atoms), block, role});
}

int64_t GraphBuilder::rank(const ir::Value* v) const {
  if (const ChannelMap* m = map(v)) return m->rank;
  return passes::value_rank(v);
}

std::optional<std::vector<int64_t>> GraphBuilder::dims(const ir::Value* v) const { return passes::static_shape(v); }

std::optional<int64_t> GraphBuilder::dim(const ir::Value* v, int64_t axis) const {
  auto s = passes::value_shape(v);
  if (!s) return std::nullopt;
  auto a = norm_axis(axis, static_cast<int64_t>(s->size()));
  if (!a || !(*s)[static_cast<size_t>(*a)].is_known()) return std::nullopt;
  return (*s)[static_cast<size_t>(*a)].value;
}

std::string where(const ir::Node& n) { return n.describe(); }

std::optional<int64_t> norm_axis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

void set_constant_input(ir::Graph& g, ir::Node* n, int input, Tensor t) {
  ir::Value* old = n->input(static_cast<size_t>(input));
  std::string name = old ? old->name() : n->name + "_pruned";
  ir::Value* v = passes::add_constant(g, name, std::move(t));
  g.set_input(n, static_cast<size_t>(input), v);
  // The old initializer goes when nothing else reads it, and the new one takes its name.
  if (old && old->is_constant() && !old->producer() && !old->has_uses() && !old->is_graph_input() &&
      !old->is_graph_output()) {
    g.remove_value(old);
    g.rename_value(v, name);
  }
}

std::optional<std::vector<int64_t>> constant_input_ints(const ir::Node& n, int input) {
  return passes::constant_ints(n.input(static_cast<size_t>(input)));
}

// --- groups ---

namespace {

// Groups: units joined when one layer makes both. A small union-find over representative atoms.
void form_groups(DependencyGraph& d) {
  const AtomTable& at = d.atoms;
  std::vector<AtomId> parent(at.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](AtomId a) {
    while (parent[static_cast<size_t>(a)] != a) a = parent[static_cast<size_t>(a)];
    return a;
  };
  auto unite = [&](AtomId a, AtomId b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (b < a) std::swap(a, b);
    parent[static_cast<size_t>(b)] = a;
  };
  for (const Layer& l : d.layers)
    for (AtomId a : l.out) unite(at.root(l.out[0]), at.root(a));
  // Number groups and list units in order of first appearance (layer order, channel order).
  d.unit_group.assign(at.size(), -1);
  std::map<AtomId, int> group_of_component;
  for (size_t li = 0; li < d.layers.size(); ++li) {
    const Layer& l = d.layers[li];
    for (AtomId a : l.out) {
      AtomId unit = at.root(a);
      AtomId comp = find(unit);
      auto [it, fresh] = group_of_component.emplace(comp, static_cast<int>(d.groups.size()));
      if (fresh) {
        d.groups.emplace_back();
        d.groups.back().id = it->second;
      }
      Group& g = d.groups[static_cast<size_t>(it->second)];
      if (g.layers.empty() || g.layers.back() != li) g.layers.push_back(li);
      if (d.unit_group[static_cast<size_t>(unit)] < 0) {
        d.unit_group[static_cast<size_t>(unit)] = g.id;
        g.units.push_back(unit);
        if (at.pinned(unit)) {
          ++g.pinned_units;
          const std::string& why = at.pin_reason(unit);
          if (std::find(g.pin_reasons.begin(), g.pin_reasons.end(), why) == g.pin_reasons.end())
            g.pin_reasons.push_back(why);
        }
      }
    }
  }
  // A layer whose channels span several groups is listed in each; keep the lists sorted and unique.
  for (Group& g : d.groups) {
    std::sort(g.layers.begin(), g.layers.end());
    g.layers.erase(std::unique(g.layers.begin(), g.layers.end()), g.layers.end());
  }
}

}  // namespace

Result<DependencyGraph> build_dependency_graph(ir::Model& model) {
  DependencyGraph d;
  GraphBuilder b(model, d);
  ir::Graph& g = *model.graph;
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
  for (ir::Node* n : order)
    if (!b.handled(n)) apply_op_rule(b, *n);

  // Graph outputs keep their shapes.
  for (const ir::Value* v : g.outputs())
    if (const ChannelMap* m = b.map(v)) b.pin(*m, "graph output '" + v->name() + "' keeps its shape");
  // A value read inside a subgraph (If/Loop/Scan body) is read by code no rule looked at.
  for (const auto& [v, m] : d.values)
    for (const ir::Use& u : v->uses())
      if (u.node->graph() != &g) {
        b.pin(m, "'" + v->name() + "' is read inside a subgraph");
        break;
      }
  d.atoms.freeze();
  form_groups(d);
  return d;
}

}  // namespace ortool::prune
