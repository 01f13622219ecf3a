// Shared helpers and registration functions of the control family (If, Loop, Scan, sequences, optionals).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "lib/graph.h"
#include "runtime/kernel.h"
#include "runtime/registry.h"

namespace ortool::rt::cpu {

void register_if_ops(KernelRegistry& r);              // control_if.cpp: If
void register_loop_ops(KernelRegistry& r);            // control_loop.cpp: Loop
void register_scan_ops(KernelRegistry& r);            // control_scan.cpp: Scan (opset 8 and 9+)
void register_sequence_ops(KernelRegistry& r);        // sequence.cpp: SequenceEmpty/Construct/Insert/At/Erase/Length
void register_sequence_split_ops(KernelRegistry& r);  // sequence_split_concat.cpp: SplitToSequence, ConcatFromSequence
void register_sequence_map_ops(KernelRegistry& r);    // sequence_map.cpp: SequenceMap
void register_optional_ops(KernelRegistry& r);        // optional.cpp: Optional, OptionalHasElement, OptionalGetElement

// The graph held by the node's graph attribute `name`, or an error naming the node.
Result<const ir::Graph*> graph_attr(const ir::Node& node, std::string_view name);

// A one-element bool tensor's value (`what` names the input in the error).
Result<bool> bool_scalar(const ir::Node& node, const RValue* v, std::string_view what);
// A one-element int32/int64 tensor's value.
Result<int64_t> int_scalar(const ir::Node& node, const Tensor& t, std::string_view what);

Tensor make_bool_scalar(bool v);

// Copies `count` elements from src[src_off..] to dst[dst_off..] (same dtype; strings included).
void copy_elements(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off, int64_t count);

// Index `index` of `t` along `axis` (the axis removed): t[..., index, ...].
Tensor slice_along_axis(const Tensor& t, size_t axis, int64_t index);

// Stacks equally shaped tensors along a new axis `axis` (0..rank) into `out`, which must already
// have the stacked shape; `positions[i]` says where parts[i] goes along that axis.
void stack_into(const std::vector<Tensor>& parts, const std::vector<int64_t>& positions, size_t axis, Tensor& out);

// Element type and dims of a scan output that received no iterations: the body output's declared
// type with `count` (0) inserted at `axis`; unknown dims become 0.
std::pair<DType, std::vector<int64_t>> empty_scan_output(const ir::Value* body_output, size_t axis, int64_t count);

// Error unless the parts have one dtype and one shape (`what` names the output in the error).
Status check_same_shape(const ir::Node& node, const std::vector<Tensor>& parts, std::string_view what);

}  // namespace ortool::rt::cpu
