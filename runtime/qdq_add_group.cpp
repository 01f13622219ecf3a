// Matching "DQ(a), DQ(b) -> Add -> Q" groups (see qdq_add_group.h).
#include "runtime/qdq_add_group.h"

#include <algorithm>
#include <cmath>

#include "lib/op_id.h"
#include "runtime/claim_util.h"
#include "runtime/partition.h"

namespace ortool::rt::qdq {

namespace {

std::nullopt_t fail(std::string* why, const char* msg) {
  if (why) *why = msg;
  return std::nullopt;
}

// The per-tensor parameters of node `n` when it is a QuantizeLinear/DequantizeLinear (`op`) with constant
// parameters (qdq::node_quant).
std::optional<ActQuant> node_quant_of(const GraphView& view, const ir::Node* n, const char* op) {
  if (!n || !ir::is_op(*n, op)) return std::nullopt;
  return node_quant(view, *n);
}

}  // namespace

std::optional<AddGroup> match_add_group(const GraphView& view, const ir::Node& add, std::string* why) {
  if (!ir::is_op(add, "Add") || add.num_inputs() != 2 || add.num_outputs() != 1 || !add.output(0))
    return fail(why, "not a two-input Add");
  if (view.is_taken(&add)) return fail(why, "taken");
  AddGroup g;
  g.add = &add;
  const ir::Value* out = add.output(0);
  if (out->uses().size() != 1) return fail(why, "the Add's output has other readers");
  g.q = out->uses()[0].node;
  if (view.is_taken(g.q)) return fail(why, "the QuantizeLinear is taken");
  auto y = node_quant_of(view, g.q, "QuantizeLinear");
  if (!y || g.q->input(0) != out) return fail(why, "no per-tensor QuantizeLinear after the Add");
  if (!view.read_only_by(*out, std::vector<const ir::Node*>{&add, g.q}))
    return fail(why, "the Add's output is seen outside the group");
  const ir::Node* da = add.input(0) ? add.input(0)->producer() : nullptr;
  const ir::Node* db = add.input(1) ? add.input(1)->producer() : nullptr;
  auto a = node_quant_of(view, da, "DequantizeLinear");
  auto b = node_quant_of(view, db, "DequantizeLinear");
  if (!a || !b) return fail(why, "an input is not a per-tensor DequantizeLinear");
  if (a->type != y->type || b->type != y->type) return fail(why, "inputs and output of different 8-bit types");
  g.a = *a;
  g.b = *b;
  g.y = *y;
  // Take in each DequantizeLinear that only the Add reads (and that is free).
  std::vector<const ir::Node*> candidate{da};
  if (db != da) candidate.push_back(db);
  candidate.push_back(&add);
  candidate.push_back(g.q);
  for (const ir::Node* dq : {da, db}) {
    if (view.is_taken(dq) || !view.read_only_by(*dq->output(0), candidate)) continue;
    if (dq == da) g.a_dq = dq;
    if (dq == db) g.b_dq = dq;
  }
  if (g.a_dq) g.nodes.push_back(g.a_dq);
  if (g.b_dq && g.b_dq != g.a_dq) g.nodes.push_back(g.b_dq);
  // In execution order (b's DequantizeLinear may come first).
  std::sort(g.nodes.begin(), g.nodes.end(),
            [&](const ir::Node* x, const ir::Node* y) { return view.index_of(x) < view.index_of(y); });
  g.nodes.push_back(&add);
  g.nodes.push_back(g.q);
  const std::vector<const ir::Value*> ins = group_inputs(g.nodes);
  auto position = [&](const ir::Value* v) {
    for (size_t k = 0; k < ins.size(); ++k)
      if (ins[k] == v) return k;
    return ins.size();
  };
  g.a_input = position(g.a_dq ? da->input(0) : add.input(0));
  g.b_input = position(g.b_dq ? db->input(0) : add.input(1));
  if (g.a_input == ins.size() || g.b_input == ins.size()) return fail(why, "an operand is not a step input");
  return g;
}

}  // namespace ortool::rt::qdq
