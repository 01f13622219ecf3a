// libonnx's model checker run over a written model file (`ortool convert --check`).
#pragma once

#include <filesystem>
#include <string>

#include "lib/status.h"

namespace ortool {

struct OnnxCheckReport {
  bool full_check_ran = false;  // strict shape inference ran too
  std::string note;             // what libonnx could not check, if anything
};

// Runs onnx::checker::check_model on the model at `path` (external data resolved beside it) and,
// with `full_check`, onnx's strict shape inference as onnx.checker.check_model(full_check=True)
// does, unless the model imports an opset newer than libonnx knows. A finding is a kCheckFailed
// status naming the file; an unreadable file is kInvalid.
Status onnx_check_model_file(const std::filesystem::path& path, bool full_check, OnnxCheckReport* report = nullptr);

}  // namespace ortool
