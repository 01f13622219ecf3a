// The int8 group report of `bench --profile` (runtime/qdq_group_report.h).
#include "runtime/qdq_group_report.h"

#include <algorithm>
#include <fmt/format.h>

#include <unordered_map>

#include "lib/op_id.h"
#include "runtime/partition.h"
#include "runtime/provider.h"
#include "runtime/qdq_group.h"
#ifdef ORTOOL_HAVE_XNNPACK
#include "runtime/xnnpack/xnn_provider.h"
#endif

namespace ortool::rt::qdq {

namespace {

bool is_qdq(const ir::Node& n) { return ir::is_op(n, "QuantizeLinear") || ir::is_op(n, "DequantizeLinear"); }

// A DequantizeLinear of a constant (weights, bias): left out of labels.
bool const_dq(const ir::Node& n) {
  return ir::is_op(n, "DequantizeLinear") && n.num_inputs() > 0 && n.input(0) && n.input(0)->is_constant();
}

std::string short_name(const ir::Node& n) {
  if (ir::is_op(n, "QuantizeLinear")) return "Q";
  if (ir::is_op(n, "DequantizeLinear")) return "DQ";
  return n.op_type();
}

// Why no provider ran a matched group as int8: each fast provider's part.
std::string fell_back_why(const GraphView& view, const ir::Node& n, const std::vector<std::string>& providers, bool qop) {
  std::string why = qop ? "QLinear op on the reference kernels" : "the group matches, but no provider ran it as int8";
  const auto has = [&](const char* p) { return std::find(providers.begin(), providers.end(), p) != providers.end(); };
  if (has("dnnl") && !qop)
    why += " (dnnl takes 2-D Conv, Gemm and MatMul groups on any x86 CPU, ConvTranspose with VNNI or, without it, "
           "only upsampling blocks: kernel == strides, no pads, dilations or output padding, group 1)";
#ifdef ORTOOL_HAVE_XNNPACK
  if (has("xnnpack"))
    if (const std::string x = xnnpack_int8_refusal(view, n); !x.empty()) why += "; xnnpack: " + x;
#else
  (void)view;
  (void)n;
#endif
  return why;
}

}  // namespace

Result<std::vector<GroupRow>> int8_group_report(const ir::Model& model, const std::vector<std::string>& providers,
                                                int threads, const std::vector<NodeTiming>& timings, double runs) {
  std::vector<GroupRow> fused, fell;
  const ir::Graph& g = *model.graph;
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
  const GraphView view(g, model, std::move(order));
  ASSIGN_OR_RETURN(auto made, make_providers(providers, ProviderOptions{threads}));
  // The session's plan for runs that do not feed initializer-backed inputs (what bench runs).
  ASSIGN_OR_RETURN(std::vector<PartitionStep> steps, partition_graph(g, model, made, {}, InitializerInputs::NotFed));
  std::unordered_map<const ir::Node*, double> ms_of;
  for (const NodeTiming& t : timings) ms_of[t.node] = runs > 0 ? t.total_ms / runs : 0;
  for (const PartitionStep& st : steps) {
    const std::vector<const ir::Node*>& nodes = st.nodes;
    const std::string provider = st.provider ? st.provider->name() : "?";
    const double ms = ms_of.count(nodes.front()) ? ms_of[nodes.front()] : 0;
    bool has_qdq = false, has_other = false;
    for (const ir::Node* n : nodes) (is_qdq(*n) ? has_qdq : has_other) = true;
    const ir::Node* op = nullptr;
    for (const ir::Node* n : nodes)
      if (!is_qdq(*n) && !op) op = n;
    const bool qop = nodes.size() == 1 && int8_rule(*nodes[0]) && int8_rule(*nodes[0])->qoperator;
    if ((has_qdq && (has_other || nodes.size() > 2)) || (qop && provider != "cpu")) {
      std::string label;
      for (const ir::Node* n : nodes)
        if (!const_dq(*n)) label += (label.empty() ? "" : "->") + short_name(*n);
      fused.push_back({op ? op : nodes.front(), label, provider, true, "", ms});
      continue;
    }
    if (nodes.size() != 1 || is_qdq(*nodes[0])) continue;
    const ir::Node& n = *nodes[0];
    // Where the op stands: reading a DequantizeLinear (of an activation, or of a weight) and feeding a QuantizeLinear.
    bool from_dq = false, from_weight_dq = false, to_q = false;
    for (const ir::Value* v : n.inputs()) {
      const ir::Node* p = v ? v->producer() : nullptr;
      if (!p || !ir::is_op(*p, "DequantizeLinear")) continue;
      (const_dq(*p) ? from_weight_dq : from_dq) = true;
    }
    for (const ir::Value* v : n.outputs())
      if (v)
        for (const ir::Use& u : v->uses()) to_q = to_q || ir::is_op(*u.node, "QuantizeLinear");
    std::string why;
    if (int8_rule(n)) {
      // A Conv or MatMul with no Q/DQ around it is a float op (a float model's, or a dynamic model's attention):
      // nothing fell back.
      if (!qop && !from_dq && !from_weight_dq && !to_q) continue;
      if (match_int8_group(view, n, &why)) why = fell_back_why(view, n, providers, qop);
    } else {
      // A float op between a DequantizeLinear and a QuantizeLinear run alone.
      if (!from_dq || !to_q) continue;
      why = fmt::format("no int8 step for {} between DequantizeLinear and QuantizeLinear here: ran in float", n.op_type());
    }
    fell.push_back({&n, short_name(n), provider, false, why, ms});
  }
  std::stable_sort(fused.begin(), fused.end(), [](const GroupRow& a, const GroupRow& b) { return a.ms > b.ms; });
  fused.insert(fused.end(), fell.begin(), fell.end());
  return fused;
}

}  // namespace ortool::rt::qdq
