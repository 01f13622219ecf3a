// The quantizers: rewrite a float ir::Model into an INT8 one, static (from tensor ranges) or dynamic.
//
// Static quantization takes the float range of every tensor that needs one (`tensors_to_calibrate`
// lists them; calibration measures them into a RangeTable) and writes either
//   - QDQ (default): QuantizeLinear/DequantizeLinear pairs around the float ops, int8 weights with a
//     DequantizeLinear, int32 biases; the layout ONNX Runtime's quantizer writes and its runtime fuses, or
//   - QOperator: the same, with the DQ -> op -> Q groups ONNX Runtime's CPU kernels run lowered to
//     QLinearConv, QLinearMatMul and the com.microsoft QLinear ops; the rest stays in QDQ form.
// Dynamic quantization stores MatMul/Gemm (and, on request, Conv) weights as int8 and quantizes their
// activations at run time (DynamicQuantizeLinear + MatMulInteger / ConvInteger + a scale multiply).
//
// Every file written runs in ONNX Runtime's CPU provider and in ortool's cpu provider: op and type
// combinations ONNX Runtime lacks are avoided (ConvInteger keeps scalar zero points, no int8
// activations with uint8 weights). Only the main graph is quantized; subgraph nodes stay float.
//
// Typical use (the model first goes through `optimize`, so BatchNormalization is folded):
// Weights an old exporter lists as graph inputs must first become plain initializers
// (passes::freeze_initializer_inputs): `optimize` folds BatchNormalization only into constant weights.
//     QuantizeOptions o;                                   // QDQ, uint8 activations, int8 per-channel weights
//     auto names = tensors_to_calibrate(model, o);         // what calibration must measure
//     RangeTable ranges = ...;                             // min/max (or entropy, ...) per name
//     auto report = quantize_static(model, ranges, o);     // model rewritten in place
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "quant/ranges.h"

namespace ortool::quant {

enum class QuantFormat { QDQ, QOperator };

struct QuantizeOptions {
  QuantFormat format = QuantFormat::QDQ;       // static only; dynamic writes its own integer ops
  DType activation_type = DType::UInt8;        // UInt8 or Int8 (static only: DynamicQuantizeLinear is uint8)
  DType weight_type = DType::Int8;             // Int8 (symmetric, zero point 0) or UInt8
  bool per_channel = true;                     // weights: one scale per output channel; false: per tensor
  bool symmetric_activations = false;          // activation zero point at the middle of the type's range
  bool reduce_range = false;                   // 7-bit weights, for CPUs whose 8-bit products saturate (no VNNI)
  // A float weight several nodes read stored once, quantized, behind one shared DequantizeLinear (static) or
  // read by every MatMulInteger/ConvInteger (dynamic). Off: one quantized copy per node, which ONNX Runtime's
  // exact int8 mode on x86 (session.x64quantprecision=1) needs: it cannot load int8 weights nodes share.
  bool share_weights = false;
  std::vector<std::string> op_types;           // op types to quantize; empty: every supported one of the mode
  std::vector<std::string> exclude_nodes;      // node names left in float
  std::vector<std::string> exclude_op_types;   // op types left in float
  bool dynamic_conv = false;                   // dynamic: also Conv (ConvInteger), off by default
  // Cross-layer equalization of the float model before calibration (quant/equalize.h). quantize_model
  // runs it; quantize_static ignores it (its ranges must already be those of the equalized model).
  bool equalize = false;
  // Static: each Conv/Gemm/MatMul bias corrected for the mean output shift its weight rounding causes
  // (quant/bias_correction.h); quantize_static then needs the per-channel means of the layers' inputs.
  bool bias_correction = false;
};

enum class QuantMode { Static, Dynamic };

// Op types each mode can quantize (sorted), for option validation and --help.
const std::vector<std::string>& supported_op_types(QuantMode mode, bool dynamic_conv = false);

// Checks the options against the mode and the model: types, unknown op types, exclude-nodes naming no
// node of the main graph. Errors are kInvalid and name the offending value.
Status validate_options(const ir::Model& model, const QuantizeOptions& options, QuantMode mode);

// The float tensors of the main graph whose range quantize_static needs for `options`: inputs and
// outputs of the nodes it will quantize (weights and biases excluded: their ranges come from their
// values). Sorted by name, no duplicates.
Result<std::vector<std::string>> tensors_to_calibrate(const ir::Model& model, const QuantizeOptions& options);

// One node of the float model in the report.
struct NodeOutcome {
  std::string node;     // node name (or a description for unnamed nodes)
  std::string op_type;
  std::string detail;   // quantized: how ("QDQ", "QLinearConv", "folded into the range of 'conv1'", ...);
                        // left float: why ("excluded by name", "weight is not a constant", ...)
};

// One bias corrected for the rounding of its layer's weight (--bias-correction).
struct BiasCorrection {
  std::string node;
  int64_t channels = 0;
  double max_shift = 0;        // largest |correction| over the channels
  double mean_abs_shift = 0;   // mean |correction|
  bool created = false;        // the layer had no bias: one was added to hold the correction
};

struct QuantizeReport {
  std::vector<NodeOutcome> quantized;
  std::vector<NodeOutcome> left_float;       // every other node of the main graph, with the reason
  std::vector<std::string> notes;            // opset raised, bias scales raised, per-tensor fallbacks, ...
  int64_t opset_before = 0;
  int64_t opset_after = 0;
  int64_t weights_quantized = 0;             // initializers stored as 8-bit
  int64_t biases_quantized = 0;              // initializers stored as int32
  int64_t weight_scales_raised = 0;          // channels whose weight scale was raised for an int32 bias
  std::vector<BiasCorrection> bias_corrections;  // bias_correction: one per corrected layer
};

// Rewrites `model` in place into an INT8 model. `ranges` must hold every name tensors_to_calibrate
// lists (a missing, NaN or infinite range is kInvalid naming the tensor). The model's default opset is
// raised to 13 when per-channel weights need it (never lowered). An error leaves the graph as it was
// (option, range and model checks come first), with at most inferred value types added.
// With options.bias_correction, `means` must hold what bias_correction_inputs lists.
Result<QuantizeReport> quantize_static(ir::Model& model, const RangeTable& ranges, const QuantizeOptions& options,
                                       const ChannelMeans* means = nullptr);

// Rewrites `model` in place with dynamically quantized MatMul/Gemm (and Conv with dynamic_conv).
Result<QuantizeReport> quantize_dynamic(ir::Model& model, const QuantizeOptions& options);

}  // namespace ortool::quant
