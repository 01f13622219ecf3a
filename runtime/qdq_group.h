// Int8 node groups as fast providers claim them: "DQ(x) + DQ(weight) [+ DQ(bias)] -> op [-> Relu/Clip] -> Q"
// (QDQ form) and the QOperator ops, with their scales and zero points read once at claim time.
//
// One description shared by the providers (dnnl and xnnpack): a provider asks match_int8_group
// for a candidate core node, then checks the op against its own capability row (Int8OpRule) and
// geometry. Everything here is about the graph; nothing about a backend.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/tensor.h"
#include "runtime/provider.h"

namespace ortool::rt::qdq {

// What the core node computes.
enum class Int8Op { Conv, ConvTranspose, Gemm, MatMul };

// How an op's quantized tensors sit on it: one row per (form, op type). Providers keep their own
// capability flags per Int8Op; this table is the graph side, shared.
struct Int8OpRule {
  const char* op_type;  // the core node's op type (default domain)
  bool qoperator;       // QLinearConv/QLinearMatMul (parameters are inputs of the node itself)
  Int8Op op;
  int x_input;          // the activation on the core node
  int w_input;          // the constant weight on the core node
  int b_input;          // the bias (-1: none, or Gemm's C)
  // QOperator only: the inputs holding x_scale, x_zp, w_scale, w_zp, y_scale, y_zp.
  int xs, xz, ws, wz, ys, yz;
};
// The rule for `core` (default domain), or null when no int8 group starts at such a node.
const Int8OpRule* int8_rule(const ir::Node& core);
// All rules, for documentation and tests.
const std::vector<Int8OpRule>& int8_rules();

// A per-tensor quantization of an activation.
struct ActQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
  DType type = DType::UInt8;  // UInt8 or Int8
};

// The per-tensor quantization of a default-domain QuantizeLinear or DequantizeLinear with constant
// parameters (8-bit type from the zero point, else Q's output_dtype or uint8, DQ's declared input), or
// nullopt (per axis, blocked, 16-bit, not constant).
std::optional<ActQuant> node_quant(const GraphView& view, const ir::Node& qdq);

// One matched group.
struct Int8Group {
  const Int8OpRule* rule = nullptr;
  const ir::Node* core = nullptr;
  // Every node of the group in execution order; the last writes the group's 8-bit output.
  std::vector<const ir::Node*> nodes;
  // QDQ form: the DequantizeLinear of the activation. When it is read by other nodes too it stays
  // out of `nodes` (x_dq_shared) and the group reads its output, which the provider must then carry
  // as the quantized tensor (see DnnlProvider).
  const ir::Node* x_dq = nullptr;
  bool x_dq_shared = false;
  size_t x_input = 0;  // the step input (group_inputs(nodes)) holding the 8-bit activation
  ActQuant x, y;
  // The weight as int8 values in the op's layout (Conv [M, C/g, k...], ConvTranspose [C, M/g, k...],
  // Gemm B as stored (see trans_b), MatMul [K, N]); zero points all 0 (checked).
  TensorPtr w;
  std::vector<float> w_scale;  // one value, or one per output channel
  // The bias in accumulator units (x_scale * w_scale[m] each), one per output channel, or empty.
  // Computing it here lets an int32 bias at any scale and a float Gemm C be added the same way.
  std::vector<float> bias;
  // Gemm: alpha folded into w_scale, beta into the bias; B stored transposed ([N, K]).
  bool trans_b = false;
  // Relu/Clip between the op and the Q, in float units (lo = -inf, hi = +inf when none).
  float act_lo = -std::numeric_limits<float>::infinity();
  float act_hi = std::numeric_limits<float>::infinity();
  int64_t out_channels() const;
};

// The group whose core node is `core`, or nullopt; `why` (optional) says what did not fit. Nodes
// already taken in the view are never part of a group. The caller checks what its backend supports
// (ranks, attributes, geometry).
std::optional<Int8Group> match_int8_group(const GraphView& view, const ir::Node& core, std::string* why = nullptr);

// The rank the graph declares for the group's activation (on the core's input, or on the 8-bit tensor
// its DequantizeLinear reads), or -1. A provider claiming a 2-D conv needs it: a model without shapes
// could feed a 1-D or 3-D one at run time.
int64_t declared_x_rank(const Int8Group& g);

}  // namespace ortool::rt::qdq
