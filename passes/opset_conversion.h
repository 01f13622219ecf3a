// Converting a model to another default-domain opset with onnx's version converter.
#pragma once

#include <cstdint>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool::passes {

// Converts `model` in place to ai.onnx opset `target` (onnx::version_conversion::ConvertVersion).
// A model already at `target` is left alone. Errors (kUnsupported) name both opsets: libonnx knows
// opsets up to 17 and cannot convert every op between every pair of versions.
Status convert_opset(ir::Model& model, int64_t target);

}  // namespace ortool::passes
