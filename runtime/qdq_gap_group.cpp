// Matching "DQ -> GlobalAveragePool -> Q" groups (see qdq_gap_group.h).
#include "runtime/qdq_gap_group.h"

#include "lib/op_id.h"
#include "runtime/partition.h"

namespace ortool::rt::qdq {

std::optional<GapGroup> match_gap_group(const GraphView& view, const ir::Node& pool, std::string* why) {
  auto fail = [&](const char* msg) -> std::optional<GapGroup> {
    if (why) *why = msg;
    return std::nullopt;
  };
  if (!ir::is_op(pool, "GlobalAveragePool") || pool.num_inputs() != 1 || pool.num_outputs() != 1 || !pool.output(0) ||
      !pool.input(0))
    return fail("not a GlobalAveragePool");
  if (view.is_taken(&pool)) return fail("taken");
  const ir::Value* out = pool.output(0);
  if (out->uses().size() != 1) return fail("the pool's output has other readers");
  GapGroup g;
  g.pool = &pool;
  g.q = out->uses()[0].node;
  if (view.is_taken(g.q) || !ir::is_op(*g.q, "QuantizeLinear") || g.q->input(0) != out)
    return fail("no QuantizeLinear after the pool");
  if (!view.read_only_by(*out, std::vector<const ir::Node*>{&pool, g.q})) return fail("the pool's output is seen outside");
  const ir::Node* dq = pool.input(0)->producer();
  if (!dq || !ir::is_op(*dq, "DequantizeLinear")) return fail("the input is not a DequantizeLinear");
  auto x = node_quant(view, *dq);
  auto y = node_quant(view, *g.q);
  if (!x || !y) return fail("not per-tensor constant quantization");
  if (x->type != y->type) return fail("input and output of different 8-bit types");
  g.x = *x;
  g.y = *y;
  if (!view.is_taken(dq) && view.read_only_by(*dq->output(0), std::vector<const ir::Node*>{dq, &pool, g.q})) g.x_dq = dq;
  if (g.x_dq) g.nodes.push_back(dq);
  g.nodes.push_back(&pool);
  g.nodes.push_back(g.q);
  g.x_input = 0;  // the first node's first input: the 8-bit tensor, or the DequantizeLinear's output
  return g;
}

}  // namespace ortool::rt::qdq
