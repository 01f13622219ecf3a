// A node checked against its libonnx operator schema: attribute types, required attributes, input and output counts.
#pragma once

#include <cstdint>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

// Error naming the node when it breaks its libonnx schema at `opset` (the opset its domain imports): an
// attribute of the wrong type (pads given as a float) or a required one missing (Concat without axis),
// more inputs or outputs than the op has, or fewer than it needs. Kernels read attributes with defaults,
// so such a node would otherwise run with a value its author never gave; ONNX Runtime refuses it at load.
// Nodes libonnx has no schema for (other domains) and opsets newer than it knows pass unchecked.
Status check_node_schema(const ir::Node& node, int64_t opset);

}  // namespace ortool
