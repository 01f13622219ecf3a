// --freeze-inputs: initializers that are also graph inputs become plain constants the passes may fold.
//
// From IR version 4 on, an initializer listed among the graph inputs is only a default: a caller may
// feed another value, so no pass may fold it (old PyTorch exports list every weight this way, which
// stops Conv+BatchNormalization fusion and constant folding cold). Freezing removes them from the
// graph inputs, as onnx-simplifier and ONNX Runtime's optimizer do for such models.
#pragma once

#include <cstdint>

#include "lib/graph.h"

namespace ortool::passes {

// Main-graph inputs that are backed by an initializer.
int64_t count_initializer_inputs(const ir::Graph& g);

// Removes those inputs from the main graph's input list (their initializers stay) and returns how
// many. IR version 3 requires every initializer to be an input, so such a model moves to IR 4.
int64_t freeze_initializer_inputs(ir::Model& model);

}  // namespace ortool::passes
