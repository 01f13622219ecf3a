// The xnnpack execution provider: float32 Conv (with a fused Relu/Clip), Gemm/MatMul and pools on XNNPACK.
#pragma once

#include <memory>

#include "runtime/provider.h"

namespace ortool::rt {

std::unique_ptr<Provider> make_xnnpack_provider(const ProviderOptions& options);

}  // namespace ortool::rt
