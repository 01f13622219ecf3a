// What became of a quantized model's int8 groups in a profiled run: the steps that ran DQ/Q groups
// (as "DQ->Conv->Relu->Q" under the op's name) and the int8 ops that fell back, with qdq_group's reason.
#pragma once

#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"

namespace ortool::rt::qdq {

struct GroupRow {
  const ir::Node* op = nullptr;  // the group's op (Conv, Mul, ...; a lone Q/DQ chain's first node)
  std::string label;             // the step's ops, weight and bias DequantizeLinears left out: "DQ->Conv->Q"
  std::string provider;
  bool fused = false;            // ran as one int8 step (8-bit in and out, no float tensor between)
  std::string reason;            // fell back: why (qdq_group's matcher, or the providers' choice)
  double ms = 0;                 // the step's time per run
};

// Rows for the int8 groups of `model` (the graph a session ran on `providers` with `threads`): the
// session's partition made again (it is deterministic) gives each step's nodes, its timings over `runs`
// runs the times. Every step holding a QuantizeLinear or DequantizeLinear with other ops (fused), every
// int8 op (Conv/Gemm/MatMul/QLinearConv/QLinearMatMul) not in such a step, and every other op run alone
// between a DequantizeLinear and a QuantizeLinear (fell back). Fused rows first, slowest first.
Result<std::vector<GroupRow>> int8_group_report(const ir::Model& model, const std::vector<std::string>& providers,
                                                int threads, const std::vector<NodeTiming>& timings, double runs);

}  // namespace ortool::rt::qdq
