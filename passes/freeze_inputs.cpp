// Turning initializer-backed graph inputs into constants (optimize --freeze-inputs).
#include "passes/freeze_inputs.h"

#include <vector>

namespace ortool::passes {

int64_t count_initializer_inputs(const ir::Graph& g) {
  int64_t n = 0;
  for (const ir::Value* v : g.inputs()) n += v->is_constant() ? 1 : 0;
  return n;
}

int64_t freeze_initializer_inputs(ir::Model& model) {
  ir::Graph& g = *model.graph;
  std::vector<ir::Value*> frozen;
  for (ir::Value* v : g.inputs())
    if (v->is_constant()) frozen.push_back(v);
  for (ir::Value* v : frozen) g.remove_input(v);
  // IR 3 says every initializer is a graph input; IR 4 made that optional (and the value overridable).
  if (!frozen.empty() && model.ir_version < 4) model.ir_version = 4;
  return static_cast<int64_t>(frozen.size());
}

}  // namespace ortool::passes
