// Partitioning of a graph among execution providers (first claim wins) and the provider list of a session.
#include "runtime/partition.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "lib/op_id.h"

#include "runtime/qdq_group.h"
#ifdef ORTOOL_HAVE_DNNL
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_provider.h"
#endif
#ifdef ORTOOL_HAVE_XNNPACK
#include "runtime/xnnpack/xnn_provider.h"
#endif

namespace ortool::rt {

namespace {

// Values of `g` that a subgraph (at any depth) lists among its outputs: they are read without a Use.
void collect_subgraph_outputs(const ir::Graph& sub, const ir::Graph& g, std::unordered_set<const ir::Value*>& out) {
  for (const ir::Value* v : sub.outputs())
    if (v && v->graph() == &g) out.insert(v);
  for (const ir::Node* n : sub.nodes())
    for (const ir::Graph* s : n->subgraphs()) collect_subgraph_outputs(*s, g, out);
}

std::string describe_group(std::span<const ir::Node* const> nodes) {
  std::string s;
  for (const ir::Node* n : nodes) s += (s.empty() ? "" : " + ") + (n ? n->describe() : std::string("null node"));
  return s;
}

// Checks one claim against the rules of Claim; returns the positions of its nodes.
Result<std::vector<size_t>> check_claim(const Claim& c, const GraphView& view, const Provider& p) {
  if (c.nodes.empty()) return internal_error("provider '{}' made an empty claim", p.name());
  std::vector<size_t> pos;
  for (const ir::Node* n : c.nodes) {
    const int64_t i = n ? view.index_of(n) : -1;
    if (i < 0)
      return internal_error("provider '{}' claimed {}, which is not a node of graph '{}'", p.name(),
                            n ? n->describe() : "a null node", view.graph().name);
    if (view.taken()[static_cast<size_t>(i)])
      return internal_error("provider '{}' claimed {}, which is already taken", p.name(), n->describe());
    if (!pos.empty() && static_cast<size_t>(i) <= pos.back())
      return internal_error("provider '{}': the nodes of group {} are not in execution order", p.name(),
                            describe_group(c.nodes));
    pos.push_back(static_cast<size_t>(i));
  }
  if (c.nodes.size() == 1) return pos;
  if (!c.factory)
    return internal_error("provider '{}': group {} has no kernel factory", p.name(), describe_group(c.nodes));
  for (size_t k = 0; k < c.nodes.size(); ++k) {
    const ir::Node* n = c.nodes[k];
    if (!n->subgraphs().empty())
      return internal_error("provider '{}': group {} holds {}, which has subgraphs", p.name(),
                            describe_group(c.nodes), n->describe());
    if (k + 1 == c.nodes.size()) break;
    for (const ir::Value* o : n->outputs())
      if (o && !view.read_only_by(*o, c.nodes))
        return internal_error("provider '{}': group {} hides '{}', which is read outside the group", p.name(),
                              describe_group(c.nodes), o->name());
  }
  return pos;
}

}  // namespace

GraphView::GraphView(const ir::Graph& g, const ir::Model& m, std::vector<ir::Node*> order,
                     std::span<const ir::Value* const> observed, InitializerInputs inits)
    : graph_(g), model_(m), order_(std::move(order)), taken_(order_.size(), false), inits_(inits) {
  for (size_t i = 0; i < order_.size(); ++i) index_.emplace(order_[i], i);
  for (const ir::Node* n : order_)
    for (const ir::Graph* s : n->subgraphs()) collect_subgraph_outputs(*s, g, borders_);
  borders_.insert(observed.begin(), observed.end());
}

int64_t GraphView::index_of(const ir::Node* n) const {
  auto it = index_.find(n);
  return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
}

bool GraphView::is_taken(const ir::Node* n) const {
  const int64_t i = index_of(n);
  return i < 0 || taken_[static_cast<size_t>(i)];
}

int64_t GraphView::opset(const ir::Node& n) const { return ir::node_opset(model_, n); }

bool GraphView::read_only_by(const ir::Value& v, std::span<const ir::Node* const> group) const {
  if (v.is_graph_output() || borders_.count(&v)) return false;
  for (const ir::Use& u : v.uses())
    if (std::find(group.begin(), group.end(), u.node) == group.end()) return false;
  return true;
}

bool GraphView::is_read(const ir::Value& v) const {
  return v.has_uses() || v.is_graph_output() || borders_.count(&v) > 0;
}

std::vector<const ir::Value*> group_inputs(std::span<const ir::Node* const> nodes) {
  std::unordered_set<const ir::Value*> inside;
  std::vector<const ir::Value*> out;
  for (const ir::Node* n : nodes) {
    for (const ir::Value* v : n->inputs())
      if (!v || !inside.count(v)) out.push_back(v);
    for (const ir::Value* o : n->outputs())
      if (o) inside.insert(o);
  }
  return out;
}

Result<std::vector<PartitionStep>> partition_graph(const ir::Graph& g, const ir::Model& m,
                                                   std::span<const std::unique_ptr<Provider>> providers,
                                                   std::span<const ir::Value* const> observed,
                                                   InitializerInputs inits) {
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
  GraphView view(g, m, std::move(order), observed, inits);
  std::vector<PartitionStep> groups;
  // The group that runs at each position: the one whose last node stands there.
  std::vector<int64_t> runs_at(view.order().size(), -1);
  for (const auto& p : providers) {
    for (Claim& c : p->claim(view)) {
      ASSIGN_OR_RETURN(std::vector<size_t> pos, check_claim(c, view, *p));
      for (size_t i : pos) view.take(i);
      runs_at[pos.back()] = static_cast<int64_t>(groups.size());
      PartitionStep s;
      s.inputs = group_inputs(c.nodes);
      s.nodes = std::move(c.nodes);
      s.provider = p.get();
      s.factory = std::move(c.factory);
      groups.push_back(std::move(s));
    }
  }
  for (size_t i = 0; i < view.order().size(); ++i)
    if (!view.taken()[i])
      return unsupported("{}: no execution provider claimed it (providers: {})", view.order()[i]->describe(),
                         fmt::join(available_providers(), ", "));
  std::vector<PartitionStep> steps;
  steps.reserve(groups.size());
  for (int64_t gi : runs_at)
    if (gi >= 0) steps.push_back(std::move(groups[static_cast<size_t>(gi)]));
  return steps;
}

std::vector<std::string> default_providers() {
  // oneDNN where it is built (x86: the fastest here), else XNNPACK (the portable choice), then cpu.
  std::vector<std::string> names;
#if defined(ORTOOL_HAVE_DNNL)
  names.push_back("dnnl");
#elif defined(ORTOOL_HAVE_XNNPACK)
  names.push_back("xnnpack");
#endif
  names.push_back("cpu");
  return names;
}

std::vector<std::string> default_providers_for(const ir::Model& model) {
#if defined(ORTOOL_HAVE_DNNL) && defined(ORTOOL_HAVE_XNNPACK)
  if (dnnl_ep::int8_exact_on_this_cpu()) return default_providers();
  auto order = model.graph->topological_order();
  if (!order.is_ok()) return default_providers();
  const GraphView view(*model.graph, model, std::move(order).value(), {}, InitializerInputs::NotFed);
  for (const ir::Node* n : view.order()) {
    if (!qdq::int8_rule(*n)) continue;
    const std::optional<qdq::Int8Group> g = qdq::match_int8_group(view, *n);
    // XNNPACK's int8 kernels widen to 16 bits: exact. dnnl listed too would cost more than it brings: its
    // OpenMP team keeps the second core spinning between its steps, and XNNPACK's pool then ran no faster on
    // two threads than on one.
    if (g && g->w && !dnnl_ep::int8_group_exact(*g)) return {"xnnpack", "cpu"};
  }
#else
  (void)model;
#endif
  return default_providers();
}

bool dnnl_int8_needs_reduce_range() {
#ifdef ORTOOL_HAVE_DNNL
  return !dnnl_ep::int8_exact_on_this_cpu();
#else
  return false;
#endif
}

std::vector<std::string> available_providers() {
  std::vector<std::string> names;
#ifdef ORTOOL_HAVE_DNNL
  names.push_back("dnnl");
#endif
#ifdef ORTOOL_HAVE_XNNPACK
  names.push_back("xnnpack");
#endif
  names.push_back("cpu");
  return names;
}

Result<std::unique_ptr<Provider>> make_provider(const std::string& name, const ProviderOptions& options) {
  if (name == "cpu") return make_cpu_provider();
#ifdef ORTOOL_HAVE_DNNL
  if (name == "dnnl") return make_dnnl_provider(options);
#else
  (void)options;
  if (name == "dnnl")
    return unsupported("execution provider 'dnnl' is not built in (oneDNN was not found at build time; available: {})",
                       fmt::join(available_providers(), ", "));
#endif
#ifdef ORTOOL_HAVE_XNNPACK
  if (name == "xnnpack") return make_xnnpack_provider(options);
#else
  if (name == "xnnpack")
    return unsupported(
        "execution provider 'xnnpack' is not built in (XNNPACK was not found at build time; available: {})",
        fmt::join(available_providers(), ", "));
#endif
  return unsupported("unknown execution provider '{}' (available: {})", name, fmt::join(available_providers(), ", "));
}

Result<std::vector<std::unique_ptr<Provider>>> make_providers(const std::vector<std::string>& names,
                                                              const ProviderOptions& options) {
  std::vector<std::unique_ptr<Provider>> out;
  std::vector<std::string> seen;
  for (const std::string& n : names) {
    if (n.empty())
      return invalid("empty name in the execution provider list (available: {})", fmt::join(available_providers(), ", "));
    if (std::find(seen.begin(), seen.end(), n) != seen.end())
      return invalid("execution provider '{}' is listed twice", n);
    // oneDNN's OpenMP team and XNNPACK's pthreadpool both spin between jobs: sharing the cores
    // they took turns preempting each other (ppocr_cls at 2 threads: 1.7 ms with either alone,
    // 120 ms with both). With both in one session, XNNPACK runs its (fewer) nodes on one thread.
    ProviderOptions o = options;
    if (n == "xnnpack" && std::find(names.begin(), names.end(), "dnnl") != names.end()) o.threads = 1;
    ASSIGN_OR_RETURN(std::unique_ptr<Provider> p, make_provider(n, o));
    seen.push_back(n);
    out.push_back(std::move(p));
  }
  if (std::find(seen.begin(), seen.end(), "cpu") == seen.end()) out.push_back(make_cpu_provider());
  return out;
}

}  // namespace ortool::rt
