// Which values stay NHWC between xnnpack steps: the provider's layout plan, made once per graph after claiming.
//
// A value may stay NHWC when an xnnpack claim writes it, every reader is an xnnpack claim that takes
// NHWC at that input, and nothing else sees it (not a graph output, not read by a subgraph). The
// layout-free elementwise claims pass the layout through: one of them runs NHWC only when all its
// 4-D operands and its output are NHWC, with equal shapes (broadcasting would mix the axes up);
// otherwise its operands fall back to NCHW, which may in turn change their neighbours, so the
// choice is repeated until nothing moves.
#include <unordered_map>
#include <unordered_set>

#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

bool rank4(const ir::Value* v) { return v && v->type.is_tensor() && v->type.shape && v->type.shape->size() == 4; }

// Equal declared shapes: every dim the same number or the same symbol.
bool same_declared_shape(const ir::Value& a, const ir::Value& b) {
  if (!rank4(&a) || !rank4(&b)) return false;
  const Shape &sa = *a.type.shape, &sb = *b.type.shape;
  for (size_t i = 0; i < sa.size(); ++i) {
    const bool numbers = sa[i].is_known() && sb[i].is_known() && sa[i].value == sb[i].value;
    const bool symbols = sa[i].kind == Dim::Kind::Param && sb[i].kind == Dim::Kind::Param && sa[i].param == sb[i].param;
    if (!numbers && !symbols) return false;
  }
  return true;
}

const ir::Value* output_of(const XnnClaim& c) { return c.claim.nodes.back()->output(0); }

}  // namespace

void place_nhwc(const GraphView& view, std::vector<XnnClaim>& claims) {
  std::unordered_map<const ir::Node*, size_t> first_of;  // a claim's first node: the one reading its inputs
  for (size_t i = 0; i < claims.size(); ++i) first_of.emplace(claims[i].claim.nodes.front(), i);

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
      std::vector<const ir::Value*> ops;
      for (const ir::Value* v : first.inputs())
        if (v && rank4(v)) ops.push_back(v);
      bool any = nhwc.count(out) > 0, all = any;
      for (const ir::Value* v : ops) {
        any = any || nhwc.count(v);
        all = all && nhwc.count(v) && same_declared_shape(*v, *out);
      }
      // Every input of the first node must be a 4-D operand of the output's shape (no scalars or
      // broadcast vectors next to an NHWC tensor).
      all = all && ops.size() == first.num_inputs();
      if (any && !all) {
        changed = changed || nhwc.erase(out) > 0;
        for (const ir::Value* v : ops) changed = nhwc.erase(v) > 0 || changed;
      }
    }
  }

  for (XnnClaim& c : claims) {
    c.layout->in_nhwc = nhwc.count(c.claim.nodes.front()->input(0)) > 0;
    c.layout->out_nhwc = nhwc.count(output_of(c)) > 0;
  }
}

}  // namespace ortool::rt::xnn_ep
