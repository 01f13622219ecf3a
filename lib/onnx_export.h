// ir::Model -> serialized ONNX ModelProto (all tensors inline; save_model handles external data).
#pragma once

#include <string>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

// Serializes the model with every tensor inline (raw_data). Nodes keep their file order while a
// graph is unedited, else the current list order. Refuses models over protobuf's 2 GiB limit.
Result<std::string> export_model_proto_bytes(const ir::Model& model);

}  // namespace ortool
