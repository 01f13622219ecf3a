// "DQ(a), DQ(b) -> Add -> Q": a quantized Add written as QDQ, as providers claim it to compute it the way
// ONNX Runtime's QLinearAdd does (runtime/cpu/qlinear_add.h) instead of in float between the Q/DQ pairs.
//
// The group is the Add, its QuantizeLinear, and each operand's DequantizeLinear that only the Add reads
// (the group then reads that operand's 8-bit tensor). A DequantizeLinear other nodes read too stays
// outside, and the group reads its float output, from which the stored values come back exactly:
// (q - z) * s / s rounds to q - z, the error being far below half a step for 8-bit values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/qdq_group.h"

namespace ortool::rt::qdq {

struct AddGroup {
  const ir::Node* add = nullptr;
  const ir::Node* q = nullptr;
  // The DequantizeLinear of each operand when it belongs to the group, else null (the same node for
  // both when the Add adds a value to itself).
  const ir::Node* a_dq = nullptr;
  const ir::Node* b_dq = nullptr;
  ActQuant a, b, y;  // all of one 8-bit type, per tensor
  // The group's nodes in execution order, and the step inputs (group_inputs(nodes())) holding each
  // operand: its 8-bit tensor when its DequantizeLinear is in the group, else the float output.
  std::vector<const ir::Node*> nodes;
  size_t a_input = 0, b_input = 1;
};

// The group whose Add is `add`, or nullopt; `why` (optional) says what did not fit.
std::optional<AddGroup> match_add_group(const GraphView& view, const ir::Node& add, std::string* why = nullptr);

}  // namespace ortool::rt::qdq
