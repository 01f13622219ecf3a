// Calls onnx's checker and strict shape inference on a model file, reporting findings as a Status.
#include "lib/onnx_check.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>

#include "lib/file_util.h"
#include "lib/onnx_shape_inference.h"
#include "lib/proto_convert.h"

namespace ortool {

namespace {

constexpr int kRecursionLimit = 1000;

// The checker resolves external data against the current folder when given a proto, so point the
// (already validated) locations at the model's folder explicitly.
void anchor_external_data(onnx::TensorProto& t, const std::filesystem::path& dir) {
  if (t.data_location() != onnx::TensorProto::EXTERNAL) return;
  for (auto& e : *t.mutable_external_data())
    if (e.key() == "location") e.set_value((dir / e.value()).string());
}

void anchor_external_data(onnx::GraphProto& g, const std::filesystem::path& dir) {
  for (auto& t : *g.mutable_initializer()) anchor_external_data(t, dir);
  for (auto& n : *g.mutable_node())
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_t()) anchor_external_data(*a.mutable_t(), dir);
      for (auto& t : *a.mutable_tensors()) anchor_external_data(t, dir);
      if (a.has_g()) anchor_external_data(*a.mutable_g(), dir);
      for (auto& sg : *a.mutable_graphs()) anchor_external_data(sg, dir);
    }
}

}  // namespace

Status onnx_check_model_file(const std::filesystem::path& path, bool full_check, OnnxCheckReport* report) {
  OnnxCheckReport local;
  OnnxCheckReport& r = report ? *report : local;
  r = {};
  const std::string name = path.string();
  ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  onnx::ModelProto model;
  TRY(proto::parse_model_proto(bytes, &model, name, kRecursionLimit));
  bytes.clear();
  bytes.shrink_to_fit();

  std::vector<std::string> notes;
  if (model.ir_version() > onnx::IR_VERSION) {
    notes.push_back(fmt::format("ir_version {} is newer than libonnx's checker ({}); checked as {}",
                                model.ir_version(), static_cast<int>(onnx::IR_VERSION),
                                static_cast<int>(onnx::IR_VERSION)));
    model.set_ir_version(onnx::IR_VERSION);
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  anchor_external_data(*model.mutable_graph(), dir);

  std::string too_new;
  for (const auto& op : model.opset_import())
    if (too_new.empty()) too_new = opset_newer_than_onnx(op.domain(), op.version());
  if (!too_new.empty()) notes.push_back(too_new + ": ops are checked against older schemas");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    r.note = fmt::format("{}", fmt::join(notes, "; "));
    return check_failed("{}: onnx checker: {}{}", name, e.what(), r.note.empty() ? "" : " (note: " + r.note + ")");
  }
  if (full_check) {
    const std::string hazard = too_new.empty() ? onnx_inference_hazard(model) : std::string();
    if (!too_new.empty()) {
      notes.push_back("strict shape inference skipped");
    } else if (!hazard.empty()) {
      notes.push_back("strict shape inference skipped: " + hazard);
    } else {
      try {
        onnx::ShapeInferenceOptions options(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/false);
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
        r.full_check_ran = true;
      } catch (const std::exception& e) {
        r.note = fmt::format("{}", fmt::join(notes, "; "));
        return check_failed("{}: onnx shape inference (full check): {}", name, e.what());
      }
    }
  }
  r.note = fmt::format("{}", fmt::join(notes, "; "));
  return Status::ok();
}

}  // namespace ortool
