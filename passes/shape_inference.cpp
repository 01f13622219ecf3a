// Pass shape_inference: onnx's shape inference over the whole model; inferred types go to value_info.
#include "lib/onnx_shape_inference.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"

namespace ortool::passes {

namespace {

class ShapeInference final : public Pass {
 public:
  std::string_view name() const override { return "shape_inference"; }
  std::string_view description() const override {
    return "Infer value types and shapes with onnx's shape inference (kept in value_info)";
  }
  bool whole_model() const override { return true; }
  bool is_analysis() const override { return true; }

  Result<bool> run(ir::Model& model, ir::Graph&, const PassContext&) override {
    ShapeInferenceReport report;
    // onnx failing on a model it does not fully understand leaves the types as they are.
    if (!infer_shapes(model, &report).is_ok()) return false;
    return report.values_typed > 0;
  }
};

}  // namespace

std::unique_ptr<Pass> make_shape_inference() { return std::make_unique<ShapeInference>(); }

}  // namespace ortool::passes
