// Per-tensor quantize and dequantize loops of the dnnl provider (runtime/quant_loops.h), split over the session's threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/quant_loops.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::dnnl_ep {

// Splits [0, n) over the session's threads when it is worth it (elementwise loops over 8-bit or float data):
// in chunks of at least `min_chunk` elements, so waking a thread costs less than the work it takes over.
template <typename F>
void split_loop(KernelContext& ctx, int64_t n, F&& f, int64_t min_chunk = int64_t{1} << 16) {
  ThreadPool* pool = ctx.threads();
  if (!pool || pool->size() < 2 || n < 2 * min_chunk) {
    f(int64_t{0}, n);
    return;
  }
  pool->parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) { f(static_cast<int64_t>(b), static_cast<int64_t>(e)); },
                     min_chunk);
}

}  // namespace ortool::rt::dnnl_ep
