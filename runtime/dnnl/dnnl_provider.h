// The dnnl execution provider: float32 CNN ops (Conv with fusions, pools, Gemm/MatMul, ...) on oneDNN, NHWC inside.
#pragma once

#include <memory>

#include "runtime/provider.h"

namespace ortool::rt {

std::unique_ptr<Provider> make_dnnl_provider(const ProviderOptions& options);

}  // namespace ortool::rt
