// A deep copy of a model (through the ONNX bytes), for work that must leave the model it starts
// from untouched: prune's sensitivity sweep and --target-macs search, quantize's fallback rounds,
// the equivalence check's function-expanded copy.
#pragma once

#include <memory>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

Result<std::unique_ptr<ir::Model>> clone_model(const ir::Model& model);

}  // namespace ortool
