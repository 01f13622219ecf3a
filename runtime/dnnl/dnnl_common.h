// Shared pieces of the dnnl provider: the engine, oneDNN errors as Status, thread count, post-op specs.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/op_id.h"
#include "lib/status.h"
#include "runtime/claim_util.h"
#include "runtime/kernel.h"
#include "runtime/provider.h"

namespace ortool::rt::qdq {
struct Int8Group;
}

namespace ortool::rt::dnnl_ep {

// The process-wide CPU engine (oneDNN engines are cheap to share and expensive to make per kernel).
const dnnl::engine& cpu_engine();

// Runs `f` (returning Status) and turns oneDNN and allocation exceptions into errors naming `what`.
template <typename F>
Status guarded(const std::string& what, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    return unsupported("{}: oneDNN: {} (status {})", what, e.what(), static_cast<int>(e.status));
  } catch (const std::bad_alloc&) {
    return resource_limit("{}: out of memory in oneDNN", what);
  } catch (const std::exception& e) {
    return internal_error("{}: {}", what, e.what());
  }
}

// The prepared primitives of a kernel, one per input shape, most recently used last: shapes rarely
// vary, so a few entries cover a model fed two or three sizes. P has `src_dims`.
template <typename P>
class ShapeCache {
 public:
  // The entry for input dims `x` (moved to the back), or null.
  P* find(const std::vector<int64_t>& x) {
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i]->src_dims != x) continue;
      auto it = items_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, items_.end());
      return items_.back().get();
    }
    return nullptr;
  }
  // Keeps `p`, dropping the least recently used entry when full.
  P* add(std::unique_ptr<P> p) {
    if (items_.size() >= 4) items_.erase(items_.begin());
    items_.push_back(std::move(p));
    return items_.back().get();
  }

 private:
  std::vector<std::unique_ptr<P>> items_;
};

// Sizes oneDNN's OpenMP team (omp_set_num_threads) for primitives created and run after it. Called
// before every oneDNN primitive creation and execution, at session creation too: oneDNN fixes a
// primitive's thread count when it creates it, so a primitive made under OpenMP's default (every
// core) would ignore --threads 1 for good.
void set_threads(int n);
// set_threads with the session's --threads.
void use_threads(const KernelContext& ctx);
// The team for a primitive created now (under set_threads/use_threads with the session's count) for
// about `work` multiply-adds: one thread when that is a few microseconds of work, else the current
// count; sets it. Waking a second thread and joining it costs microseconds on idle cores and a whole
// scheduler slice on busy ones, more than such a step saves (a tiny model at --threads 2 went from
// 0.01 to 16 ms on a loaded machine). Kernels keep the team with the primitive (oneDNN fixes a
// primitive's thread count when it creates it) and set it again before each execution.
int team_for_work(double work);
// Whether oneDNN runs AVX-512 kernels on this CPU (its effective ISA): the rules that pick our own loops over
// oneDNN's AVX2 ones (team sizes, NHWC pools) differ there.
bool avx512_kernels();
// Elements of a tensor of dims `d`.
inline int64_t numel_of(const std::vector<int64_t>& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}
// Work of an elementwise step over `elements` values, in team_for_work's unit (multiply-adds).
inline double elementwise_work(double elements) { return 8.0 * elements; }

// An activation run as oneDNN eltwise post-ops on the producer's output.
struct PostOp {
  const ir::Node* node = nullptr;    // the node writing the activation's result
  // The activation's other nodes, in execution order: SiLU's Sigmoid (Mul(v, Sigmoid(v))), or a
  // hard-swish written out as Add, Clip, Mul and Div.
  std::vector<const ir::Node*> before;
  dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
  float alpha = 0, beta = 0;
  // A clip to [lo, hi] after `alg` (HardSigmoid: linear, then clip to [0, 1]): a second post-op.
  // The standalone eltwise and the deconv's activation run one step, so they decline these.
  std::optional<std::pair<float, float>> clip_after;
};
// The post-op reading `v` (the producer's first output), when it is an activation oneDNN can fuse:
// Relu, LeakyRelu, Clip (constant bounds), Sigmoid, Tanh, HardSigmoid, HardSwish, SiLU (Sigmoid(v)
// and Mul(v, that) as v's only two readers) or hard-swish written out (v * Clip(v + 3, 0, 6) / 6 in
// the orders exporters write, or v * HardSigmoid(v) with alpha 1/6 and beta 1/2). `v` must be read
// by nothing else; the consumers must be free.
std::optional<PostOp> fusable_activation(const GraphView& view, const ir::Node& producer);
// The activation `node` computes on its first input, when oneDNN's eltwise does it (the single-node
// ops of fusable_activation); the node must be free.
std::optional<PostOp> activation_of(const GraphView& view, const ir::Node& node);
// SiLU starting at this Sigmoid: Mul(v, Sigmoid(v)) with the Sigmoid's output read by that Mul
// only (v may have other readers); node is the Mul.
std::optional<PostOp> silu_from(const GraphView& view, const ir::Node& sigmoid);
// Appends the post-op's nodes to a group, in execution order.
void append_nodes(std::vector<const ir::Node*>& group, const PostOp& p);
// The post-ops: with `sum`, first add what the destination holds (a fused residual Add), then `p`.
dnnl::post_ops make_post_ops(const std::optional<PostOp>& p, bool sum = false);

// Tensors between dnnl steps may hold their elements in NHWC order while their dims stay the logical
// [N, C, H, W] (the same buffer size: NHWC has no padding). The provider decides per value once all
// its claims are made; a kernel learns from its spec which step inputs and whether its output are
// NHWC (the flags are set before the session builds the kernel). Values read by anything but dnnl
// steps stay NCHW.
//
// Between two float convs, on CPUs where oneDNN's conv kernels work in 8-channel blocks (AVX2: its
// NHWC kernels for 3 x 3 convs are 5-35% slower), a value may instead be stored in those blocks
// (oneDNN's nChw8c: [N, C/8, H, W, 8], no padding when C is a multiple of 8), so that no reorder
// runs between the convs.
struct Layouts {
  std::vector<bool> in_nhwc;  // per step input; missing entries are NCHW
  bool out_nhwc = false;
  std::vector<bool> in_blocked;  // per step input: 8-channel blocks (only conv inputs)
  bool out_blocked = false;
  bool input_nhwc(size_t i) const { return i < in_nhwc.size() && in_nhwc[i]; }
  bool input_blocked(size_t i) const { return i < in_blocked.size() && in_blocked[i]; }
};
// The memory descriptor of a 4-D activation tensor of logical dims `d` in either order.
dnnl::memory::desc act_desc(const std::vector<int64_t>& d, bool nhwc);
// The same in any of the three layouts (8-channel blocks when `blocked`).
dnnl::memory::desc act_desc(const std::vector<int64_t>& d, bool nhwc, bool blocked);
// Whether oneDNN's float conv kernels on this CPU take 8-channel blocks when left to choose (a 3 x 3
// conv of 64 channels): then values between float convs are stored so. Asked once.
bool convs_prefer_blocked8();
// Whether oneDNN picked its reference (unoptimized) implementation for a primitive descriptor: callers
// that have another way to run the step (another layout, another primitive) take that instead.
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

// A claim and what its kernel can take, for the provider's layout decision.
struct DnnlClaim {
  Claim claim;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();  // shared with the kernel factory
  // Per step input: the kernel can read that input in NHWC order (when it is a float 4-D tensor).
  std::vector<bool> nhwc_ok;
  bool out_nhwc_ok = false;  // the kernel can write its output in NHWC order
  // The output is float and 4-D whenever the step succeeds: always (Conv), or when every input
  // marked in `nhwc_ok` is (pools, binaries, concat).
  bool out_float4_always = false;
  // NHWC inputs only when every input marked in `nhwc_ok` is a float 4-D tensor (binaries, concat:
  // their shape checks need all operands 4-D).
  bool nhwc_needs_all_float4 = false;
  // 8-bit steps (int8 groups, QuantizeLinear, the carried DequantizeLinear): the output holds 8-bit
  // integers (whatever the graph declares), and per step input the kernel can read 8-bit data there
  // in NHWC order (as `nhwc_ok` says for float data). A value is kept NHWC only when every reader takes
  // the kind of data its producer writes, so no float kernel meets 8-bit NHWC data or the reverse.
  bool out_8bit = false;
  std::vector<bool> nhwc_8bit_ok;
  // The output must have the layout of input 0 (elementwise loops and pass-throughs).
  bool same_layout = false;
  // Float convs: per step input, the kernel can read 8-channel blocks there; it can write them, and
  // the output's channel count (blocks need a multiple of 8).
  std::vector<bool> blocked_ok;
  bool out_blocked_ok = false;
  int64_t out_channels = 0;
};

// The other input of a two-input node that reads `v` (once), or null.
const ir::Value* other_input(const ir::Node& n, const ir::Value* v);
// The free default-domain node that alone reads `x`, with one output, or null.
const ir::Node* sole_reader(const GraphView& view, const ir::Value* x);

// The int64 values of a session-fixed 1-D tensor, or nullopt.
std::optional<std::vector<int64_t>> fixed_ints(const GraphView& view, const ir::Value* v);
// ONNX Reshape's target (allowzero 0) for input dims `in`: 0 copies the input dim, one -1 takes what is left.
std::optional<std::vector<int64_t>> resolve_reshape(const std::vector<int64_t>& in, const std::vector<int64_t>& shape);

// Claims made by the op files: nullopt when the node (or its group) is not for oneDNN. `threads`:
// the session's, for work the kernel factories do.
std::optional<DnnlClaim> claim_conv(const GraphView& view, const ir::Node& conv, int threads);
// 2-D float ConvTranspose with constant weights (and bias), plus a following activation.
std::optional<DnnlClaim> claim_deconv(const GraphView& view, const ir::Node& node, int threads);
std::optional<DnnlClaim> claim_gemm(const GraphView& view, const ir::Node& node, int threads);
// MatMul of two computed float tensors of rank 2 or more (batch dims broadcast); ask claim_gemm first.
std::optional<DnnlClaim> claim_matmul(const GraphView& view, const ir::Node& node, int threads);
std::optional<DnnlClaim> claim_pool(const GraphView& view, const ir::Node& node, int threads);
std::optional<DnnlClaim> claim_batch_norm(const GraphView& view, const ir::Node& node, int threads);
// Add/Mul and Concat: the provider asks only when every input is a float 4-D tensor from its steps.
std::optional<DnnlClaim> claim_binary(const GraphView& view, const ir::Node& node, int threads);
std::optional<DnnlClaim> claim_concat(const GraphView& view, const ir::Node& node, int threads);
// ShuffleNet's channel shuffle starting at this Reshape (or at a Concat along channels feeding
// it), and a Slice of a channel range: the provider asks only when the data inputs are float 4-D
// tensors from its steps.
std::optional<DnnlClaim> claim_shuffle(const GraphView& view, const ir::Node& first);
// An activation (or SiLU) on a float 4-D tensor from the provider's steps that no producer fused.
std::optional<DnnlClaim> claim_eltwise(const GraphView& view, const ir::Node& node, int threads);
std::optional<DnnlClaim> claim_channel_slice(const GraphView& view, const ir::Node& slice);
// RNN, GRU and LSTM on float32 (the cpu float path with oneDNN's sgemm for the input projection).
std::optional<DnnlClaim> claim_recurrent(const GraphView& view, const ir::Node& node);
// Resize / Upsample, nearest or linear, on a float 4-D tensor from the provider's steps (any layout).
std::optional<DnnlClaim> claim_resize(const GraphView& view, const ir::Node& node);
// Softmax (any axis, any opset) and LayerNormalization (default domain or the runtime's "ortool"
// one, Y output only) on plain-layout tensors; the cpu kernel runs what oneDNN does not take.
std::optional<DnnlClaim> claim_softmax(const GraphView& view, const ir::Node& node, int threads);
std::optional<DnnlClaim> claim_layer_norm(const GraphView& view, const ir::Node& node, int threads);
// Int8 groups (runtime/qdq_group.h) oneDNN runs, and the shared activation DequantizeLinears carried
// as 8-bit tensors between them; takes their nodes in `view` (the provider's local copy).
std::vector<DnnlClaim> claim_int8(GraphView& view, int threads);
// An int8 step of dnnl_int8_ops.cpp (a table for an elementwise chain, Add/Mul, GlobalAveragePool, MaxPool,
// AveragePool, Resize, Concat between DQ and Q), and the shared DequantizeLinears it reads (DQ, reading node): claim_int8
// carries such a DQ as 8-bit when all its readers take 8-bit data.
struct Int8OpClaim {
  DnnlClaim claim;
  std::vector<std::pair<const ir::Node*, const ir::Node*>> shared;
};
// Takes the steps' nodes in `view`; called by claim_int8 after its conv/matmul groups.
std::vector<Int8OpClaim> claim_int8_ops(GraphView& view);
// A QuantizeLinear or DequantizeLinear outside int8 groups, per tensor with constant 8-bit parameters.
std::optional<DnnlClaim> claim_qdq(const GraphView& view, const ir::Node& node);
// What MatMulInteger and ConvInteger need to run on the dnnl provider (dnnl_{matmul,conv}_integer.cpp): a
// constant int8 weight of `rank` with zero zero points (input 3) and an 8-bit activation type known at claim
// time. The weight, the activation's type, and whether oneDNN is exact for them here; or nullopt.
struct IntegerOperands {
  TensorPtr w;
  DType x_type = DType::UInt8;
  bool wide = false;  // oneDNN is not exact for them on this CPU: the widened kernels (MatMulInteger only)
};
std::optional<IntegerOperands> integer_operands(const GraphView& view, const ir::Node& node, size_t rank);
// MatMulInteger with a constant 2-D int8 weight (zero point 0), int32 out (dynamic quantization).
std::optional<DnnlClaim> claim_matmul_integer(const GraphView& view, const ir::Node& node, int threads);
// 2-D ConvInteger with a constant int8 weight (zero point 0), int32 out (dynamic quantization of convs).
std::optional<DnnlClaim> claim_conv_integer(const GraphView& view, const ir::Node& node, int threads);
// Whether oneDNN's int8 kernels give exact results on this CPU (VNNI); see dnnl_int8.cpp.
bool int8_exact_on_this_cpu();
// Whether oneDNN's int8 primitives are exact with this constant int8 weight and activation type on this CPU:
// always with VNNI; without it (u8 x s8 products summed in pairs into saturating 16 bits by vpmaddubsw) when
// the activation is uint8 and every weight lies in [-64, 64], as `quantize --reduce-range` (ONNX Runtime's
// reduce_range) writes them: two products then stay within 255 * 64 * 2 = 32640. An int8 activation is not
// exact there even so: oneDNN then halves the weights (and doubles the output scale), which rounds odd ones.
bool int8_exact_for(const Tensor& w, DType activation);
// Tests: int8 groups and MatMulInteger go to the widened kernels even where oneDNN's are exact (they run only on
// CPUs without VNNI otherwise), for sessions created while it is on.
void force_widened_int8(bool on);
bool widened_int8_forced();
// Tests: which widened Conv groups run on the float convolution (dnnl_int8_float_conv.cpp) in sessions created
// while it is set: the provider's choice (Default), every one whose sums are exact in float (Always), none
// (Never); and how many such kernels were made.
enum class FloatConvMode { Default, Always, Never };
void set_float_int8_conv_mode(FloatConvMode mode);
int64_t float_int8_conv_kernels_made();
// Tests: where the provider has its own loop beside oneDNN's kernel for the same work, which one sessions created
// while it is set use: the provider's choice for this CPU (Default), its own (Own) or oneDNN's (Dnnl).
enum class KernelChoice { Default, Own, Dnnl };
// Windowed float pools over NHWC inputs: cpu::pool2d_nhwc (Default without AVX-512) or oneDNN's (Default with
// it; where oneDNN refuses a geometry in NHWC the loop runs it anyway).
void set_nhwc_pool_mode(KernelChoice mode);
// SiLU after a float Conv: cpu::silu_in_place over the output (Default with AVX-512) or oneDNN's swish post-op.
void set_silu_mode(KernelChoice mode);
// Whether the provider runs the int8 group exactly on this CPU, on oneDNN or on its widened kernels
// (dnnl_int8_wide.cpp: Conv, Gemm and MatMul groups oneDNN is not exact for, ConvTranspose upsampling blocks);
// other ConvTranspose geometries without VNNI not.
bool int8_group_exact(const qdq::Int8Group& g);
// "DQ, DQ -> Add -> Q" (static shapes, or one element on the second side), in QLinearAdd's arithmetic.
std::optional<DnnlClaim> claim_add_group(const GraphView& view, const ir::Node& add);

}  // namespace ortool::rt::dnnl_ep
