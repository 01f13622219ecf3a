// "DQ -> GlobalAveragePool -> Q": a quantized global average written as QDQ, which ONNX Runtime fuses into
// QLinearGlobalAveragePool (an int32 sum requantized once, runtime/cpu/qlinear_gap.h). The cpu provider
// claims it to compute the same bytes; the dnnl provider's int8 steps do the same in their region.
//
// The group is the pool and its QuantizeLinear, and the DequantizeLinear when only the pool reads it (the
// group then reads the 8-bit tensor; otherwise the float output, whose stored values come back exactly).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/qdq_group.h"

namespace ortool::rt::qdq {

struct GapGroup {
  const ir::Node* pool = nullptr;
  const ir::Node* q = nullptr;
  const ir::Node* x_dq = nullptr;  // in the group, or null
  ActQuant x, y;                   // of one 8-bit type, per tensor
  std::vector<const ir::Node*> nodes;  // execution order
  size_t x_input = 0;                  // the step input holding x (8-bit, or the DequantizeLinear's output)
};

std::optional<GapGroup> match_gap_group(const GraphView& view, const ir::Node& pool, std::string* why = nullptr);

}  // namespace ortool::rt::qdq
