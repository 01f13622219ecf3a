// The dnnl execution provider: float32 Conv (with a fused activation) and Gemm/MatMul on oneDNN.
#pragma once

#include <memory>

#include "runtime/provider.h"

namespace ortool::rt {

std::unique_ptr<Provider> make_dnnl_provider(const ProviderOptions& options);

}  // namespace ortool::rt
