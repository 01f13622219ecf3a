// ONNX ModelProto bytes -> ir::Model, lossless and defensive (see BAD_INPUTS.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/external_data.h"
#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

// ONNX IR versions ortool accepts (IR 11: onnx 1.18, opset 23, float4e2m1; the newer types are refused by tensor).
inline constexpr int64_t kMaxIrVersion = 11;

struct ImportOptions {
  // Named at the start of every error message ("model.onnx: node 'conv1' (Conv): ...").
  std::string source_name = "model";
  // Where external tensor data may be read from; null refuses external data.
  const ExternalDataContext* external_data = nullptr;
  // Subgraphs (If/Loop/Scan bodies) nested deeper than this are refused.
  int max_subgraph_depth = 64;
};

// Parses and imports a serialized ModelProto. Nodes come out topologically sorted; the file order is
// kept in Graph::original_order for export.
Result<std::unique_ptr<ir::Model>> import_model_proto(std::string_view bytes, const ImportOptions& options);

}  // namespace ortool
