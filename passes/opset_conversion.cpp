// Converting a model to another default-domain opset with onnx's version converter.
//
// The converter works on protobuf: the model goes out through lib's export and comes back
// through lib's import, so the IR itself never meets a protobuf type.
#include "passes/opset_conversion.h"

#include <onnx/version_converter/convert.h>

#include <exception>

#include "lib/onnx_export.h"
#include "lib/onnx_import.h"
#include "lib/onnx_shape_inference.h"
#include "passes/pass_util.h"

namespace ortool::passes {

Status convert_opset(ir::Model& model, int64_t target) {
  int64_t from = model.opset("");
  if (from == target) return Status::ok();
  if (target < 1) return invalid("--target-opset {}: expected an opset version of 1 or more", target);
  if (std::string too_new = opset_newer_than_onnx("", target); !too_new.empty())
    return unsupported("--target-opset {}: {}", target, too_new);
  if (std::string too_new = opset_newer_than_onnx("", from); !too_new.empty())
    return unsupported("cannot convert from opset {}: {}", from, too_new);
  ASSIGN_OR_RETURN(std::string bytes, export_model_proto_bytes(model));
  std::string converted;
  try {
    onnx::ModelProto mp;
    if (!mp.ParseFromString(bytes)) return internal_error("opset conversion: cannot re-read the exported model");
    // The converter runs libonnx's shape inference, which crashes on some malformed nodes.
    if (std::string hazard = onnx_inference_hazard(mp); !hazard.empty())
      return invalid("cannot convert the model from opset {} to {}: {}", from, target, hazard);
    onnx::ModelProto out = onnx::version_conversion::ConvertVersion(mp, static_cast<int>(target));
    converted = out.SerializeAsString();
  } catch (const std::exception& e) {
    return unsupported("cannot convert the model from opset {} to {}: {}", from, target, e.what());
  }
  ImportOptions options;
  options.source_name = "converted model";
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> result, import_model_proto(converted, options));
  model = std::move(*result);
  return Status::ok();
}

}  // namespace ortool::passes
