// Shared pieces of the xnnpack provider: library init, operators and thread pools as RAII, errors, fusions, transposes.
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/op_id.h"
#include "lib/status.h"
#include "runtime/claim_util.h"
#include "runtime/kernel.h"
#include "runtime/provider.h"
#include "runtime/qdq_group.h"

namespace ortool::rt::xnn_ep {

// Initializes XNNPACK once per process (thread-safe); the error says why it cannot run here.
Status initialize();

// An XNNPACK call's status as a Status naming `what` (the node) and the call.
Status check(xnn_status s, const std::string& what, const char* call);

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, OperatorDeleter>;

// A session's pthreadpool, shared by its kernels; null for one thread (XNNPACK then runs inline).
using ThreadPoolPtr = std::shared_ptr<pthreadpool>;
ThreadPoolPtr make_thread_pool(int threads);

// An activation XNNPACK applies as the operator's output clamp: Relu, or Clip with constant bounds.
struct Clamp {
  const ir::Node* node = nullptr;  // null: no fused activation
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
};
// The clamp a Relu or Clip node applies (Clip's bounds fixed, ordered and not NaN); no node otherwise.
Clamp clamp_of(const GraphView& view, const ir::Node& c);
// The clamp for the activation reading `producer`'s only output, when it is the only reader and a
// free float Relu or Clip with fixed bounds; a Clamp without node otherwise.
Clamp fusable_clamp(const GraphView& view, const ir::Node& producer);

// Layout changes at the borders of XNNPACK's NHWC operators: `n` images of `c` channels by `hw`
// pixels. Tiles run in parallel on `pool` (may be null).
void nchw_to_nhwc(const float* src, float* dst, size_t n, size_t c, size_t hw, pthreadpool_t pool);
void nhwc_to_nchw(const float* src, float* dst, size_t n, size_t c, size_t hw, pthreadpool_t pool);
// The same for 8-bit tensors, each byte XORed with `flip` on the way (0x80 turns uint8 into int8 with
// the zero point moved by 128, and back).
void nchw_to_nhwc8(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw, uint8_t flip, pthreadpool_t pool);
void nhwc_to_nchw8(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw, uint8_t flip, pthreadpool_t pool);

// Where a kernel's 4-D activation lives in memory. Between two xnnpack steps a value may stay NHWC
// (the provider decides after claiming, see XnnClaim): the tensor keeps its logical NCHW dims and
// holds the bytes in NHWC order, so no transposes run inside an xnnpack region.
struct Layout {
  bool in_nhwc = false;   // input 0 arrives NHWC
  bool out_nhwc = false;  // output 0 is written NHWC
  std::vector<bool> inputs_nhwc;  // per input of the claim's first node (elementwise operands)
};

// True when a tensor of these dims (rank <= 4, right-aligned to [N, C, H, W]) has the same bytes in
// NCHW and NHWC order: one channel or one pixel.
bool layout_neutral_dims(std::span<const int64_t> dims);

// A claim with what the provider needs to place NHWC values: which sides may be NHWC, and the
// flags the factory reads when the session makes the kernel (after claim() has set them).
struct XnnClaim {
  Claim claim;
  bool nhwc_in_ok = false;   // input 0 (of in_node) may arrive NHWC
  const ir::Node* in_node = nullptr;  // the node whose input 0 that is; null: the first node
  bool nhwc_out_ok = false;  // output 0 may be written NHWC
  bool elementwise = false;  // layout-free: NHWC in and out when all its 4-D operands are
  std::shared_ptr<Layout> layout = std::make_shared<Layout>();
};

// Claims made by the op files (after a successful initialize()): nullopt when the node (or its
// group) is not for XNNPACK.
std::optional<XnnClaim> claim_conv(const GraphView& view, const ir::Node& conv, const ThreadPoolPtr& pool);
std::optional<XnnClaim> claim_deconv(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
std::optional<XnnClaim> claim_gemm(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
std::optional<XnnClaim> claim_pool(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
std::optional<XnnClaim> claim_elementwise(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
std::optional<XnnClaim> claim_concat(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
std::optional<XnnClaim> claim_softmax(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
// Standalone per-tensor 8-bit QuantizeLinear and DequantizeLinear.
std::optional<XnnClaim> claim_qdq(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool);
// The int8 groups (runtime/qdq_group.h) XNNPACK runs, in graph order; made before the float claims.
std::vector<XnnClaim> claim_int8(const GraphView& view, const ThreadPoolPtr& pool);
// One int8 group's claim, or why XNNPACK does not run it (xnnpack_int8_refusal).
Result<XnnClaim> claim_group(qdq::Int8Group group, const ThreadPoolPtr& pool);

// Picks the values that stay NHWC between the claims (all made by one claim() call) and sets each
// claim's layout flags.
void place_nhwc(const GraphView& view, std::vector<XnnClaim>& claims);

}  // namespace ortool::rt::xnn_ep
