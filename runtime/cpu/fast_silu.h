// SiLU (x * sigmoid(x)) in place over a float32 array, with a reciprocal estimate refined by one Newton step
// instead of a division: the dnnl provider's pass over a conv's output where that beats oneDNN's fused swish.
#pragma once

#include <cstdint>

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::cpu {

// y[i] = y[i] / (1 + exp(-y[i])), within 4e-7 relative of the exact value; with AVX-512, from -88 down (|SiLU| <
// 6e-37) 0 * y[i]: -0, and NaN for -inf as Sigmoid then Mul give it; NaN stays NaN, +inf gives +inf. Split over
// `pool` (may be null) when n is large.
void silu_in_place(float* y, int64_t n, ThreadPool* pool);

// Whether silu_in_place runs its 16-lane (AVX-512) body on this CPU (else vec::silu_f32, the cpu kernels').
bool silu_in_place_wide();

}  // namespace ortool::rt::cpu
