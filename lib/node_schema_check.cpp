// Checks a node against its libonnx operator schema (the run-time half of what onnx's checker does).
#include "lib/node_schema_check.h"

#include <onnx/defs/schema.h>

#include "lib/onnx_shape_inference.h"

namespace ortool {

Status check_node_schema(const ir::Node& n, int64_t opset) {
  const std::string domain = n.domain() == "ai.onnx" ? std::string() : n.domain();
  if (!opset_newer_than_onnx(domain, opset).empty()) return Status::ok();  // its older schema could be wrong
  const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(opset), domain);
  if (!s) return Status::ok();
  // Trailing omitted optional inputs and outputs do not count.
  size_t inputs = n.num_inputs(), outputs = n.num_outputs();
  while (inputs > 0 && !n.input(inputs - 1)) --inputs;
  while (outputs > 0 && !n.output(outputs - 1)) --outputs;
  if (static_cast<int>(inputs) > s->max_input() || static_cast<int>(inputs) < s->min_input())
    return invalid("{}: {} at opset {} takes {} to {} inputs, the node has {}", n.describe(), n.op_type(), opset,
                   s->min_input(), s->max_input(), inputs);
  if (static_cast<int>(outputs) > s->max_output() || static_cast<int>(outputs) < s->min_output())
    return invalid("{}: {} at opset {} has {} to {} outputs, the node has {}", n.describe(), n.op_type(), opset,
                   s->min_output(), s->max_output(), outputs);
  for (const auto& [name, spec] : s->attributes()) {
    const ir::Attribute* a = n.attr(name);
    if (!a) {
      if (spec.required) return invalid("{}: attribute '{}' is required", n.describe(), name);
      continue;
    }
    if (!a->ref_attr_name.empty() || a->type == ir::AttrType::Undefined) continue;
    const auto want = static_cast<ir::AttrType>(spec.type);
    if (a->type != want)
      return invalid("{}: attribute '{}' must be {}, not {}", n.describe(), name, attr_type_name(want),
                     attr_type_name(a->type));
  }
  return Status::ok();
}

}  // namespace ortool
