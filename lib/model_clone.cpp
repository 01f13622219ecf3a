// clone_model: export to ONNX bytes and import again.
#include "lib/model_clone.h"

#include "lib/onnx_export.h"
#include "lib/onnx_import.h"

namespace ortool {

Result<std::unique_ptr<ir::Model>> clone_model(const ir::Model& model) {
  ASSIGN_OR_RETURN(std::string bytes, export_model_proto_bytes(model));
  auto copy = import_model_proto(bytes, {});
  if (!copy.is_ok()) return internal_error("copying the model: {}", copy.status().message());
  return std::move(copy).value();
}

}  // namespace ortool
