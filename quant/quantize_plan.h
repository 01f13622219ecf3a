// The static quantizer's plan: which nodes of the main graph it quantizes, and how each of their
// tensors gets its parameters, decided before any edit (so tensors_to_calibrate and quantize_static
// agree, and every check fails before the model changes).
//
// Per op, as ONNX Runtime's QDQ quantizer does it:
//   Conv, ConvTranspose, Gemm, MatMul   activation input(s), constant weight (per channel: Conv axis 0,
//                                       ConvTranspose axis 1, Gemm/MatMul by output column), int32 bias,
//                                       output with its own range
//   Add, Mul, Concat, GlobalAveragePool, LeakyRelu, Sigmoid, HardSwish, (MaxPool before opset 12)
//                                       every float input and the output with their own ranges
//   Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice, Split, Resize, AveragePool, MaxPool (12+)
//                                       pass-through: the output takes the input's scale and zero
//                                       point when the input is quantized (values are moved, not changed)
//   Relu, Clip                          folded into the producer's output range when that is exact
//                                       (asymmetric activations, Clip bounds around 0); else quantized
//                                       with the input taking the output's range
//   Softmax                             output range fixed to [0, 1]
#pragma once

#include <string>
#include <vector>

#include "lib/graph.h"
#include "quant/quantize.h"

namespace ortool::quant {

// Where an activation tensor's parameters come from.
struct ActivationPlan {
  const ir::Value* value = nullptr;
  enum class Source { Range, SameAs, Fixed, Constant } source = Source::Range;
  std::string range_name;                 // Range: the RangeTable entry (its own name, or a folded Relu's output)
  bool clamp = false;                     // Range: intersect the measured range with [lo, hi] (folded Clip)
  double lo = 0, hi = 0;
  const ir::Value* same_as = nullptr;     // SameAs: the tensor whose scale and zero point it shares
  TensorRange fixed;                      // Fixed: e.g. Softmax [0, 1]
  std::vector<ir::Use> uses;              // Constant: the quantized nodes' input slots reading it
};

// A constant weight read by a quantized node.
struct WeightPlan {
  const ir::Node* node = nullptr;
  int input = 1;
  int64_t axis = -1;  // -1: per tensor
};

// A constant float bias of Conv/ConvTranspose/Gemm, quantized to int32 at input x weight scale.
struct BiasPlan {
  const ir::Node* node = nullptr;
  int input = 2;
  const ir::Value* activation = nullptr;  // the node's input 0
  size_t weight = 0;                      // index into StaticPlan::weights
};

struct FoldPlan {
  const ir::Node* activation = nullptr;  // Relu or Clip, removed
  const ir::Node* producer = nullptr;    // its output now carries the activation's output
};

struct NodePlan {
  const ir::Node* node = nullptr;
  bool quantized = false;
  std::string detail;  // how, or why not
};

struct StaticPlan {
  std::vector<NodePlan> nodes;              // every node of the main graph, in topological order
  std::vector<ActivationPlan> activations;  // in registration order (a tensor appears once)
  std::vector<WeightPlan> weights;
  std::vector<BiasPlan> biases;
  std::vector<FoldPlan> folds;
  bool per_channel = false;                 // some weight is quantized per channel
};

// Plans static quantization of `model` (options already validated).
Result<StaticPlan> plan_static(const ir::Model& model, const QuantizeOptions& options);

// Element type of a value: its constant's or declared type, else followed through the type-preserving
// ops the quantizers handle (exported models often leave intermediate values untyped).
DType resolved_type(const ir::Value* v);

// The float weight a value holds: an initializer (also one backing a graph input: quantizing bakes it
// in) or a Constant node's tensor; null otherwise or when it is not float32.
const Tensor* float_constant(const ir::Value* v);

// kInvalid naming the first node of the main graph that is already quantized (Q/DQ, QLinear*, integer ops).
Status check_not_quantized(const ir::Graph& g);

}  // namespace ortool::quant
