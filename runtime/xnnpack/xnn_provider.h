// The xnnpack execution provider: int8 Conv/Gemm/MatMul groups, float32 Conv (with a fused Relu/Clip), Gemm/MatMul and pools on XNNPACK.
#pragma once

#include <memory>
#include <string>

#include "runtime/provider.h"

namespace ortool::rt {

std::unique_ptr<Provider> make_xnnpack_provider(const ProviderOptions& options);

// Why the xnnpack provider does not run the int8 group (runtime/qdq_group.h) whose core is `core` as
// an XNNPACK quantized operator; "" when it does, or when no group matches there (bench --profile).
std::string xnnpack_int8_refusal(const GraphView& view, const ir::Node& core);

}  // namespace ortool::rt
