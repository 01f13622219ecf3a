// Which values stay NHWC between xnnpack steps: the provider's layout plan, made once per graph after claiming.
//
// A value may stay NHWC when an xnnpack claim writes it, every reader is an xnnpack claim that takes
// NHWC at that input, and nothing else sees it (not a graph output, not read by a subgraph). The
// layout-free elementwise claims pass the layout through: one of them runs NHWC when its output and
// every operand are NHWC or layout-neutral (one channel, or one pixel: e.g. a squeeze-excite gate
// [N, C, 1, 1] broadcast over an NHWC map, the kernel handing XNNPACK the dims in NHWC order);
// otherwise its operands fall back to NCHW, which may in turn change their neighbours, so the
// choice is repeated until nothing moves.
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

bool rank4(const ir::Value* v) { return v && v->type.is_tensor() && v->type.shape && v->type.shape->size() == 4; }

}  // namespace

bool layout_neutral_dims(std::span<const int64_t> d) {
  if (d.size() > 4) return false;
  // Right-aligned as numpy broadcasting pads: [..., C, H, W].
  auto at = [&](size_t k) { return k + d.size() >= 4 ? d[k + d.size() - 4] : int64_t{1}; };
  return at(1) == 1 || (at(2) == 1 && at(3) == 1);
}

namespace {

// A declared shape (or a session constant's) whose NCHW and NHWC orders are the same bytes: a
// QuantizeLinear's scalar scale and zero point (initializers carry no declared type).
bool layout_neutral(const GraphView& view, const ir::Value& v) {
  if (view.is_session_constant(&v)) return layout_neutral_dims(v.constant()->dims());
  if (!v.type.is_tensor() || !v.type.shape) return false;
  std::vector<int64_t> d;
  for (const Dim& x : *v.type.shape) d.push_back(x.is_known() ? x.value : -1);
  return layout_neutral_dims(d);
}

const ir::Value* output_of(const XnnClaim& c) { return c.claim.nodes.back()->output(0); }
const ir::Node* in_node_of(const XnnClaim& c) { return c.in_node ? c.in_node : c.claim.nodes.front(); }

}  // namespace

void place_nhwc(const GraphView& view, std::vector<XnnClaim>& claims) {
  // A claim's node reading its NHWC-able input 0: the first node, or in_node (an int8 group's
  // DequantizeLinear of the activation, which may come after the weights' one, or its core when that
  // DequantizeLinear is shared and runs alone).
  std::unordered_map<const ir::Node*, size_t> first_of;
  for (size_t i = 0; i < claims.size(); ++i) first_of.emplace(in_node_of(claims[i]), i);

  std::unordered_set<const ir::Value*> nhwc;
  for (const XnnClaim& c : claims) {
    const ir::Value* v = output_of(c);
    if (!(c.nhwc_out_ok || c.elementwise) || !rank4(v) || v->uses().empty()) continue;
    std::vector<const ir::Node*> readers;
    bool ok = true;
    for (const ir::Use& u : v->uses()) {
      auto it = first_of.find(u.node);
      if (it == first_of.end()) { ok = false; break; }
      const XnnClaim& r = claims[it->second];
      ok = r.elementwise || (r.nhwc_in_ok && u.index == 0);
      if (!ok) break;
      readers.push_back(u.node);
    }
    if (ok && view.read_only_by(*v, readers)) nhwc.insert(v);
  }

  for (bool changed = true; changed;) {
    changed = false;
    for (const XnnClaim& c : claims) {
      if (!c.elementwise) continue;
      const ir::Node& first = *c.claim.nodes.front();
      const ir::Value* out = output_of(c);
      bool ok = true;
      if (nhwc.count(out)) {
        // NHWC out: every operand NHWC, or one whose NCHW bytes are its NHWC bytes.
        for (const ir::Value* v : first.inputs()) ok = ok && v && (nhwc.count(v) || layout_neutral(view, *v));
        if (!ok) nhwc.erase(out);
      }
      if (!ok || !nhwc.count(out))  // NCHW out: every operand NCHW
        for (const ir::Value* v : first.inputs()) changed = nhwc.erase(v) > 0 || changed;
      changed = changed || !ok;
    }
  }

  for (XnnClaim& c : claims) {
    const ir::Node& first = *c.claim.nodes.front();
    c.layout->in_nhwc = nhwc.count(in_node_of(c)->input(0)) > 0;
    c.layout->out_nhwc = nhwc.count(output_of(c)) > 0;
    c.layout->inputs_nhwc.clear();
    for (const ir::Value* v : first.inputs()) c.layout->inputs_nhwc.push_back(nhwc.count(v) > 0);
  }
}

}  // namespace ortool::rt::xnn_ep
