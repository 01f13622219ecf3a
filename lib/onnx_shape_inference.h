// libonnx's shape inference run over an ir::Model, with the inferred value types written back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/graph.h"
#include "lib/status.h"

namespace onnx {
class ModelProto;
}

namespace ortool {

struct ShapeInferenceReport {
  bool ran = false;          // onnx's inference ran to the end and its types were taken
  size_t values_typed = 0;   // values whose type it added or refined
  std::string note;          // why it did not run, or what it could not do
};

// Exports `model` to an onnx ModelProto, runs onnx::shape_inference::InferShapes on it (node-level
// failures skipped, data propagation on) and writes the inferred types back into the values of the
// main graph and of every subgraph. Graph::value_info keeps its order; values typed for the first
// time are appended. Models with an opset newer than libonnx knows are left alone (ok, with a
// note): its older schemas could infer wrong shapes. An exception from onnx becomes an error
// status and leaves the model unchanged.
Status infer_shapes(ir::Model& model, ShapeInferenceReport* report = nullptr);

// Empty, or the first node (at any depth) whose attributes would crash libonnx 1.12's own shape
// inference (its conv/pool shape function divides by the strides and reads the kernel dims for
// every spatial axis of the input without checking them): strides, dilations or kernel_shape not
// positive, or a weight whose rank differs from its input's; or a node without a required attribute
// of its schema at the model's opset (or with it of another type: libonnx's shape functions read them
// unchecked). Such models skip onnx's inference; the runtime's kernels then refuse the node with a
// clean error.
std::string onnx_inference_hazard(const onnx::ModelProto& model);

// Empty when libonnx knows opset `version` of `domain` (or does not know the domain at all);
// otherwise a phrase such as "ai.onnx opset 18 is newer than libonnx's 17".
std::string opset_newer_than_onnx(std::string_view domain, int64_t version);
// The same over every opset `model` imports; empty when none is too new.
std::string opsets_newer_than_onnx(const ir::Model& model);

}  // namespace ortool
