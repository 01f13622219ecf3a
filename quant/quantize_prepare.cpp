// Preparing a float model for quantization: weights listed as graph inputs become plain initializers.
#include "quant/quantize.h"

namespace ortool::quant {

int64_t bake_initializer_inputs(ir::Model& model) {
  ir::Graph& g = *model.graph;
  std::vector<ir::Value*> baked;
  for (ir::Value* v : g.inputs())
    if (v->is_constant()) baked.push_back(v);
  for (ir::Value* v : baked) g.remove_input(v);
  return static_cast<int64_t>(baked.size());
}

}  // namespace ortool::quant
