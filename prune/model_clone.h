// A deep copy of a model (through the ONNX bytes), for the pruning runs that must leave the model
// they start from untouched: the sensitivity sweep, the --target-macs search.
#pragma once

#include <memory>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool::prune {

Result<std::unique_ptr<ir::Model>> clone_model(const ir::Model& model);

}  // namespace ortool::prune
